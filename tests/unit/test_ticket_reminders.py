"""Reminders the deadline scheduler publishes, on SQLite and PostgreSQL: a parked ticket's
(挂账) review date, once per date and across restarts, and the on-site clock (到场) of urgent
tickets, turned into reminder calls by outbound planning. Everything is the real code; the
clock is a test clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from hotline.calls.models import Call
from hotline.db import alembic_config, session_scope
from hotline.outbound.models import CallStatus, Escalation, OutboundCall
from hotline.outbound.planning import Planning, plan_batch
from hotline.outbound.rules import CallingHours, Purpose
from hotline.tickets import lifecycle as lc
from hotline.tickets import service as tickets
from hotline.tickets.calendar import Urgency
from hotline.tickets.models import (
    Ticket,
    TicketChange,
    TicketCreate,
    TicketEvent,
    TicketType,
    Unit,
)
from hotline.tickets.scheduler import LightScheduler
from hotline.tickets.units import load_default_list
from tests.api import Clock
from tests.pg import (  # noqa: F401 - fixtures
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
MAIN = "市城管局"
REVIEW = T0 + timedelta(days=30, hours=1)  # Wednesday 2026-04-01 10:00
PLANNING = Planning(hours=CallingHours(tz=CST))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(name)
    with session_scope(engine) as session:
        load_default_list(session=session)
    return engine


def create(engine: Engine, now: datetime = T0) -> int:
    draft = TicketCreate(request_type=TicketType.HELP, description="小区停车位长期不足",
                         caller_phone="13800000002")
    with session_scope(engine) as session:
        ticket = tickets.create_ticket(session=session, draft=draft, now=now, actor="op")
    assert ticket.id is not None
    return ticket.id


def act(engine: Engine, ticket_id: int, action: lc.Action, at: datetime) -> Ticket:
    with session_scope(engine) as session:
        return tickets.act(session=session, ticket_id=ticket_id, action=action, actor="t",
                           now=at)


def parked(engine: Engine, until: datetime = REVIEW) -> int:
    ticket_id = create(engine)
    for action in (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN),
                   lc.Park(until=until, reason="需规划调整，长期跟踪")):
        act(engine, ticket_id, action, T0)
    return ticket_id


def reviews(engine: Engine) -> list[TicketChange]:
    with Session(engine) as session:
        return list(session.exec(
            select(TicketChange).where(TicketChange.kind == "review")
            .order_by(col(TicketChange.id))
        ).all())


def plan(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        plan_batch(session=session, now=now, planning=PLANNING)


def reminder_calls(engine: Engine) -> list[OutboundCall]:
    with Session(engine) as session:
        return list(session.exec(
            select(OutboundCall).where(OutboundCall.purpose == Purpose.REMINDER)
            .order_by(col(OutboundCall.id))
        ).all())


def unit_id(engine: Engine, name: str = MAIN) -> int:
    with Session(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == name)).one()
        assert unit.id is not None
        return unit.id


def test_given_a_parked_ticket_when_its_review_date_comes_then_one_review_is_published(engine):
    ticket_id = parked(engine)
    clock = Clock(REVIEW - timedelta(seconds=1))
    woken: list[int] = []
    scheduler = LightScheduler(engine=engine, clock=clock, on_change=lambda: woken.append(1))

    assert scheduler.run_once() == 0 and reviews(engine) == []
    clock.advance(seconds=1)
    assert scheduler.run_once() == 1
    assert scheduler.run_once() == 0  # the same pass again: not twice
    clock.advance(days=3)
    restarted = LightScheduler(engine=engine, clock=clock)
    assert restarted.run_once() == 0  # a restart does not publish it again

    [review] = reviews(engine)
    assert (review.ticket_id, review.action, review.status, review.light) == (
        ticket_id, "park_review", "parked", "none")
    assert review.unit_ids == [unit_id(engine)]  # the unit's console sees it
    assert datetime.fromisoformat(review.payload["until"]) == REVIEW
    assert review.payload["main_unit"] == MAIN
    assert woken == [1] and scheduler.status()["reviews"] == 1
    with Session(engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
        assert (ticket.status, ticket.next_light_at) == ("parked", None)  # never closed


def test_given_a_review_published_when_planned_then_the_unit_duty_phone_is_reminded(engine):
    ticket_id = parked(engine)
    plan(engine, T0)  # the first pass starts reading the outbox from now
    clock = Clock(REVIEW)
    LightScheduler(engine=engine, clock=clock).run_once()

    plan(engine, REVIEW)
    plan(engine, REVIEW)  # planned again: still one call

    [call] = reminder_calls(engine)
    with Session(engine) as session:
        duty = session.get(Unit, unit_id(engine))
        assert duty is not None
    assert (call.ticket_id, call.light, call.subject, call.status) == (
        ticket_id, "review", MAIN, CallStatus.PENDING)
    assert call.phone == duty.duty_phone
    assert call.deadline == REVIEW and call.escalate_at is None


def test_given_a_review_reminder_pending_when_the_ticket_resumes_then_it_is_cancelled(engine):
    ticket_id = parked(engine)
    plan(engine, T0)
    LightScheduler(engine=engine, clock=Clock(REVIEW)).run_once()
    plan(engine, REVIEW)

    act(engine, ticket_id, lc.Resume(), REVIEW + timedelta(minutes=5))
    plan(engine, REVIEW + timedelta(minutes=5))

    [call] = reminder_calls(engine)
    assert call.status == CallStatus.CANCELLED


def test_given_no_duty_phone_when_a_review_comes_then_the_center_escalation_list_has_it(engine):
    with session_scope(engine) as session:
        session.exec(update(Unit).where(col(Unit.name) == MAIN).values(duty_phone=""))
    ticket_id = parked(engine)
    plan(engine, T0)
    LightScheduler(engine=engine, clock=Clock(REVIEW)).run_once()
    plan(engine, REVIEW)

    assert reminder_calls(engine) == []
    with Session(engine) as session:
        [escalation] = session.exec(select(Escalation)).all()
    assert (escalation.ticket_id, escalation.reason, escalation.deadline) == (
        ticket_id, "park_review", REVIEW)


def test_given_a_reviewed_ticket_parked_again_then_the_new_date_is_reminded_once(engine):
    ticket_id = parked(engine)
    clock = Clock(REVIEW)
    scheduler = LightScheduler(engine=engine, clock=clock)
    scheduler.run_once()
    act(engine, ticket_id, lc.Resume(), REVIEW)
    second = REVIEW + timedelta(days=60)
    act(engine, ticket_id, lc.Park(until=second, reason="仍待规划"), REVIEW)

    clock.advance(days=59)
    scheduler.run_once()
    assert len(reviews(engine)) == 1
    clock.advance(days=2)
    scheduler.run_once()
    scheduler.run_once()

    assert [datetime.fromisoformat(r.payload["until"]) for r in reviews(engine)] == [
        REVIEW, second]


def test_given_a_reminded_parked_ticket_when_a_duplicate_merges_in_then_not_reminded_again(
    engine,
):
    parent_id = parked(engine)
    early_child = create(engine, T0 + timedelta(days=1))
    with session_scope(engine) as session:  # before the review: the date stays watched
        tickets.merge_tickets(session=session, child_id=early_child, parent_id=parent_id,
                              actor="op", now=T0 + timedelta(days=1))
    clock = Clock(REVIEW)
    scheduler = LightScheduler(engine=engine, clock=clock)
    assert scheduler.run_once() == 1

    late_child = create(engine, REVIEW + timedelta(hours=1))
    with session_scope(engine) as session:
        tickets.merge_tickets(session=session, child_id=late_child, parent_id=parent_id,
                              actor="op", now=REVIEW + timedelta(hours=1))
    clock.advance(days=1)
    scheduler.run_once()

    assert len(reviews(engine)) == 1


# --- 到场: the on-site clock of urgent tickets ---------------------------------------------


def test_given_an_urgent_unit_not_on_site_then_yellow_and_red_reminders_until_it_arrives(engine):
    draft = TicketCreate(request_type=TicketType.HELP, description="路面塌陷，车辆无法通行",
                         caller_phone="13800000003", urgency=Urgency.URGENT)
    with session_scope(engine) as session:
        ticket_id = tickets.create_ticket(session=session, draft=draft, now=T0, actor="op").id
    assert ticket_id is not None
    act(engine, ticket_id, lc.Dispatch(main_unit=MAIN), T0)
    act(engine, ticket_id, lc.Sign(unit=MAIN), T0 + timedelta(minutes=2))
    plan(engine, T0)
    clock = Clock(T0 + timedelta(minutes=24))  # 80 % of the 30 on-site minutes
    scheduler = LightScheduler(engine=engine, clock=clock)

    assert scheduler.run_once() == 1
    clock.advance(minutes=6, seconds=1)
    assert scheduler.run_once() == 1
    plan(engine, clock.now)
    on_site = clock.now + timedelta(minutes=3)
    arrived = act(engine, ticket_id, lc.Arrive(unit=MAIN), on_site)
    clock.advance(hours=1)
    LightScheduler(engine=engine, clock=clock).run_once()

    with Session(engine) as session:
        lights = session.exec(
            select(TicketChange.action).where(TicketChange.kind == "light")
            .order_by(col(TicketChange.id))).all()
        [logged] = session.exec(select(TicketEvent).where(
            col(TicketEvent.ticket_id) == ticket_id, col(TicketEvent.action) == "arrive")).all()
    assert lights == ["yellow", "red"]  # none after the arrival: only the handling clock runs
    assert logged.at == on_site and logged.after_status == "signed"
    assert tickets.state_of(arrived).assignments[0].arrived_at == on_site
    assert arrived.deadline == arrived.handling_deadline  # the on-site deadline no longer runs
    assert [c.light for c in reminder_calls(engine)] == ["yellow", "red"]
    plan(engine, on_site)  # the arrival: the red reminder not placed yet is not needed
    assert [(c.light, c.status) for c in reminder_calls(engine)] == [
        ("yellow", CallStatus.CANCELLED), ("red", CallStatus.CANCELLED)]


# --- 派单: the dispatch clock of accepted tickets -----------------------------------------


def test_given_a_ticket_not_dispatched_then_yellow_then_red_onto_the_escalation_list(engine):
    ticket_id = create(engine)
    plan(engine, T0)
    clock = Clock(T0 + timedelta(seconds=95))
    scheduler = LightScheduler(engine=engine, clock=clock)

    assert scheduler.run_once() == 0
    clock.advance(seconds=1)  # 96 s: 80 % of the 2 minutes
    assert scheduler.run_once() == 1
    clock.advance(seconds=24)  # 2 minutes: still yellow
    assert scheduler.run_once() == 0
    clock.advance(seconds=1)
    assert scheduler.run_once() == 1
    plan(engine, clock.now)
    act(engine, ticket_id, lc.Dispatch(main_unit=MAIN), clock.now)
    clock.advance(minutes=10)
    scheduler.run_once()

    with Session(engine) as session:
        lights = session.exec(
            select(TicketChange.action).where(TicketChange.kind == "light")
            .order_by(col(TicketChange.id))).all()
        [escalation] = session.exec(select(Escalation)).all()
    assert lights == ["yellow", "red"]  # dispatched: the sign clock starts green
    assert (escalation.ticket_id, escalation.reason, escalation.deadline) == (
        ticket_id, "not_dispatched", T0 + timedelta(minutes=2))
    assert reminder_calls(engine) == []


# --- 受理: how long after a seat answered the call the ticket was accepted -----------------


def test_given_a_call_a_seat_answered_then_the_ticket_records_its_accept_time(engine):
    joined = T0 - timedelta(seconds=70)
    with session_scope(engine) as session:
        session.add(Call(uniqueid="c-1", started_at=joined - timedelta(seconds=30),
                         queue_joined_at=joined, queue_wait_seconds=10,
                         queue_outcome="answered", answered_by="seat-1"))
        session.add(Call(uniqueid="c-2", started_at=joined, queue_joined_at=joined,
                         queue_wait_seconds=5, queue_outcome="answered", answered_by="seat-2"))
        session.add(Call(uniqueid="c-3", started_at=joined, queue_outcome="abandoned"))
    made = {}
    for uid, at in (("c-1", T0), ("c-2", T0 + timedelta(seconds=5)), ("c-3", T0), (None, T0)):
        draft = TicketCreate(request_type=TicketType.HELP, description="噪音扰民",
                             caller_phone="13800000004", call_uniqueid=uid)
        with session_scope(engine) as session:
            ticket = tickets.create_ticket(session=session, draft=draft, now=at, actor="op")
            assert ticket.id is not None
            [created] = tickets.events_of(session=session, ticket_id=ticket.id)
            made[uid] = created.payload.get("accept")

    answered = (joined + timedelta(seconds=10)).astimezone(CST)
    assert made["c-1"] is not None and made["c-2"] is not None
    assert datetime.fromisoformat(made["c-1"]["answered_at"]) == answered
    assert (made["c-1"]["seconds"], made["c-1"]["within"]) == (60.0, True)  # 1 minute: in time
    assert (made["c-2"]["seconds"], made["c-2"]["within"]) == (70.0, False)
    assert made["c-3"] is None and made[None] is None  # no seat answered: nothing to measure


def test_given_tickets_parked_before_review_dates_were_watched_then_the_migration_adds_them(
    engine,
):
    ticket_id = parked(engine)
    command.downgrade(alembic_config(engine), "0072")  # as they were stored before
    with Session(engine) as session:
        assert tickets.get_ticket(session=session, ticket_id=ticket_id).next_light_at is None

    command.upgrade(alembic_config(engine), "heads")

    with Session(engine) as session:
        assert tickets.get_ticket(session=session, ticket_id=ticket_id).next_light_at == REVIEW
    assert LightScheduler(engine=engine, clock=Clock(REVIEW + timedelta(days=9))).run_once() == 1
    assert [r.ticket_id for r in reviews(engine)] == [ticket_id]
