"""Outbound calls stored, on SQLite and PostgreSQL: surveys planned from approved replies,
reminders from light changes, attempts logged with outcomes, ratings stored on the ticket
(不满意 → 重办 once), retries, the callback queue, escalation, restarts. The dialer is an
in-memory implementation of the ``Dialer`` port that answers from a script; everything else
is the real code."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.db import session_scope
from hotline.outbound.agent_calls import start_agent_call
from hotline.outbound.errors import DoNotCallNumber, NumberBusy, TrunkFull
from hotline.outbound.models import (
    CallStatus,
    Escalation,
    OutboundAttempt,
    OutboundCall,
    QueueCallback,
    QueueCallbackAttempt,
)
from hotline.outbound.ports import CallReport, PlacedCall
from hotline.outbound.rules import CallingHours, Outcome, Purpose, TrunkLimits
from hotline.outbound.scheduler import OutboundScheduler, PassResult
from hotline.outbound.service import Policy, claim_due
from hotline.outbound.store import (
    add_do_not_call,
    callback_queue,
    escalation_list,
    live_calls,
    start_attempt,
    write_cursor,
)
from hotline.tickets import lifecycle as lc
from hotline.tickets import service as tickets
from hotline.tickets.models import Channel, SurveyResult, Ticket, TicketCreate, TicketType, Unit
from hotline.tickets.scanner import lights_changed
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
CITIZEN = "13800000001"


@dataclass
class ScriptedDialer:
    """The ``Dialer`` port in memory: each call placed takes the next report of the script."""

    script: list[CallReport] = field(default_factory=list)
    placed: list[PlacedCall] = field(default_factory=list)
    gate: asyncio.Event | None = None  # when set, calls wait for it before answering

    async def place(self, call: PlacedCall) -> CallReport:
        self.placed.append(call)
        if self.gate is not None:
            await self.gate.wait()
        return self.script.pop(0)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(name)
    with session_scope(engine) as session:
        load_default_list(session=session)
    return engine


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


def world(engine: Engine, clock: Clock, dialer: ScriptedDialer, **policy: object
          ) -> OutboundScheduler:
    scheduler = OutboundScheduler(engine=engine, clock=clock, dialer=dialer,
                                  policy=Policy(hours=CallingHours(tz=CST), **policy))  # type: ignore[arg-type]
    scheduler.plan_and_claim()  # the first pass starts reading the outbox from now
    return scheduler


def act(engine: Engine, ticket_id: int, action: lc.Action, clock: Clock) -> Ticket:
    with session_scope(engine) as session:
        return tickets.act(session=session, ticket_id=ticket_id, action=action, actor="t",
                           now=clock.now)


def replied_ticket(engine: Engine, clock: Clock, *, phone: str = CITIZEN,
                   channel: Channel = Channel.PHONE) -> int:
    draft = TicketCreate(request_type=TicketType.HELP, description="路灯坏了，晚上很黑",
                         caller_phone=phone, channel=channel)
    with session_scope(engine) as session:
        ticket = tickets.create_ticket(session=session, draft=draft, now=clock.now, actor="op")
    assert ticket.id is not None
    for action in (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN),
                   lc.Reply(unit=MAIN, text="已修好")):
        act(engine, ticket.id, action, clock)
    return ticket.id


def approve(engine: Engine, ticket_id: int, clock: Clock) -> None:
    act(engine, ticket_id, lc.Review(approve=True), clock)


def calls(engine: Engine) -> list[OutboundCall]:
    with Session(engine) as session:
        return list(session.exec(select(OutboundCall).order_by(col(OutboundCall.id))).all())


def attempts(engine: Engine) -> list[OutboundAttempt]:
    with Session(engine) as session:
        return list(session.exec(select(OutboundAttempt).order_by(col(OutboundAttempt.id))).all())


def ticket(engine: Engine, ticket_id: int) -> Ticket:
    with Session(engine) as session:
        return tickets.get_ticket(session=session, ticket_id=ticket_id)


def run(scheduler: OutboundScheduler) -> PassResult:
    return asyncio.run(scheduler.run_once(wait=True))


# --- surveys -------------------------------------------------------------------------------


def test_given_a_phone_ticket_approved_when_the_citizen_keys_1_then_satisfied_is_stored(
    engine, clock
):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1", uniqueid="u-1")])
    scheduler = world(engine, clock, dialer)
    ticket_id = replied_ticket(engine, clock)
    approve(engine, ticket_id, clock)

    result = run(scheduler)

    assert result.planned.surveys == 1
    [placed] = dialer.placed
    assert (placed.purpose, placed.phone, placed.attempt) == (Purpose.SURVEY, CITIZEN, 1)
    assert placed.subject == "路灯坏了，晚上很黑"
    assert ticket(engine, ticket_id).status == lc.Status.CLOSED
    [call] = calls(engine)
    assert (call.status, call.result, call.active_number) == (CallStatus.DONE, "满意", None)
    [attempt] = attempts(engine)
    assert (attempt.outcome, attempt.uniqueid, attempt.detail["key"]) == ("answered", "u-1", "1")
    with Session(engine) as session:
        assert session.exec(select(SurveyResult.result)).all() == ["满意"]


def test_given_unsatisfied_then_redo_once_and_the_second_survey_stands(engine, clock):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="3"),
                             CallReport(Outcome.ANSWERED, key="3")])
    scheduler = world(engine, clock, dialer)
    ticket_id = replied_ticket(engine, clock)
    approve(engine, ticket_id, clock)
    run(scheduler)
    after_first = ticket(engine, ticket_id)
    assert after_first.status == lc.Status.IN_PROGRESS  # 重办: back to the unit
    assert tickets.state_of(after_first).redo_count == 1

    act(engine, ticket_id, lc.Reply(unit=MAIN, text="重新处理"), clock)
    approve(engine, ticket_id, clock)
    run(scheduler)

    assert ticket(engine, ticket_id).status == lc.Status.CLOSED  # the second result stands
    assert [c.dedupe_key.rsplit(":", 1)[1] for c in calls(engine)] == ["0", "1"]
    assert [c.result for c in calls(engine)] == ["不满意", "不满意"]


def test_given_no_answer_then_retried_two_hours_later_and_after_three_to_the_callback_queue(
    engine, clock
):
    dialer = ScriptedDialer([CallReport(Outcome.NO_ANSWER), CallReport(Outcome.BUSY),
                             CallReport(Outcome.FAILED)])
    scheduler = world(engine, clock, dialer)
    ticket_id = replied_ticket(engine, clock)
    approve(engine, ticket_id, clock)

    run(scheduler)
    [call] = calls(engine)
    assert call.status == CallStatus.PENDING
    assert call.next_attempt_at == T0 + timedelta(hours=2)
    clock.advance(hours=1, minutes=59)
    assert run(scheduler).placed == []  # not yet
    clock.advance(minutes=1)
    run(scheduler)
    clock.advance(hours=2)
    run(scheduler)

    [call] = calls(engine)
    assert (call.status, call.attempts, call.next_attempt_at) == (CallStatus.CALLBACK, 3, None)
    assert [a.outcome for a in attempts(engine)] == ["no_answer", "busy", "failed"]
    with Session(engine) as session:
        assert [c.id for c in callback_queue(session=session)] == [call.id]
    assert ticket(engine, ticket_id).status == lc.Status.REVISIT  # left to the agents


def test_given_a_hang_up_before_the_rating_then_hung_up_mid_survey_and_retried(engine, clock):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="")])
    scheduler = world(engine, clock, dialer)
    approve(engine, replied_ticket(engine, clock), clock)
    run(scheduler)
    [attempt] = attempts(engine)
    assert attempt.outcome == "hung_up"
    assert calls(engine)[0].next_attempt_at == T0 + timedelta(hours=2)


def test_given_a_retry_falling_after_20_then_it_waits_for_next_morning(engine, clock):
    clock.now = T0.replace(hour=19)
    dialer = ScriptedDialer([CallReport(Outcome.NO_ANSWER)])
    scheduler = world(engine, clock, dialer)
    approve(engine, replied_ticket(engine, clock), clock)
    run(scheduler)
    assert calls(engine)[0].next_attempt_at == datetime(2026, 3, 3, 8, 0, tzinfo=CST)


def test_given_an_approval_at_night_then_the_call_is_deferred_to_8_without_an_attempt(
    engine, clock
):
    clock.now = T0.replace(hour=22)
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="2")])
    scheduler = world(engine, clock, dialer)
    approve(engine, replied_ticket(engine, clock), clock)
    run(scheduler)
    assert dialer.placed == []
    assert calls(engine)[0].next_attempt_at == datetime(2026, 3, 3, 8, 0, tzinfo=CST)

    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=CST)
    run(scheduler)
    assert calls(engine)[0].result == "基本满意"


def test_given_a_citizen_who_asked_not_to_be_called_then_never_dialled(engine, clock):
    dialer = ScriptedDialer()
    scheduler = world(engine, clock, dialer)
    with session_scope(engine) as session:
        add_do_not_call(session=session, phone="138-0000-0001", reason="asked", by="op",
                        now=clock.now)
    approve(engine, replied_ticket(engine, clock), clock)
    run(scheduler)
    assert dialer.placed == []
    assert calls(engine)[0].status == CallStatus.DO_NOT_CALL
    assert attempts(engine) == []


def test_given_a_web_ticket_then_no_survey_call_and_the_ticket_waits_for_agents(engine, clock):
    scheduler = world(engine, clock, ScriptedDialer())
    ticket_id = replied_ticket(engine, clock, channel=Channel.WEB)
    approve(engine, ticket_id, clock)
    run(scheduler)
    assert calls(engine) == []
    assert ticket(engine, ticket_id).status == lc.Status.REVIEWED


def test_given_a_merged_child_then_each_caller_is_surveyed_and_the_child_rating_is_its_own(
    engine, clock
):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1"),
                             CallReport(Outcome.ANSWERED, key="2")])
    scheduler = world(engine, clock, dialer)
    draft = TicketCreate(request_type=TicketType.HELP, description="路灯坏了", caller_phone=CITIZEN)
    with session_scope(engine) as session:
        parent = tickets.create_ticket(session=session, draft=draft, now=clock.now, actor="op")
        child = tickets.create_ticket(
            session=session, draft=draft.model_copy(update={"caller_phone": "13900000002"}),
            now=clock.now, actor="op")
        assert parent.id and child.id
        tickets.merge_tickets(session=session, child_id=child.id, parent_id=parent.id,
                              actor="op", now=clock.now)
    for action in (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN),
                   lc.Reply(unit=MAIN, text="已修好"), lc.Review(approve=True)):
        act(engine, parent.id, action, clock)

    run(scheduler)

    assert sorted(p.phone for p in dialer.placed) == [CITIZEN, "13900000002"]
    assert ticket(engine, parent.id).status == lc.Status.CLOSED
    with Session(engine) as session:
        results = dict(session.exec(select(SurveyResult.caller_ticket, SurveyResult.result)).all())
    assert results == {parent.number: "满意", child.number: "基本满意"}


def test_given_the_outbox_read_twice_then_each_survey_is_planned_once(engine, clock):
    scheduler = world(engine, clock, ScriptedDialer())
    approve(engine, replied_ticket(engine, clock), clock)
    clock.now = T0.replace(hour=22)  # nothing dialled: only planning
    scheduler.plan_and_claim()
    with session_scope(engine) as session:  # a crash before the cursor was stored
        write_cursor(session=session, name="outbound", cursor=0)
    scheduler.plan_and_claim()
    assert len(calls(engine)) == 1


# --- limits --------------------------------------------------------------------------------


def test_given_a_trunk_limit_then_calls_wait_their_turn_and_go_when_one_ends(engine, clock):
    async def scenario() -> None:
        dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1")] * 3,
                                gate=asyncio.Event())
        scheduler = world(engine, clock, dialer, limits=TrunkLimits(default=2))
        for i in range(3):
            approve(engine, replied_ticket(engine, clock, phone=f"1380000000{i}"), clock)
        first = await scheduler.run_once()
        assert len(first.placed) == 2
        assert (await scheduler.run_once()).placed == []  # the trunk is full
        dialer.gate.set()  # type: ignore[union-attr]
        await asyncio.gather(*scheduler._calls)
        third = await scheduler.run_once(wait=True)
        assert len(third.placed) == 1

    asyncio.run(scenario())
    assert [c.status for c in calls(engine)] == [CallStatus.DONE] * 3


def test_given_two_surveys_to_one_number_then_never_both_at_once(engine, clock):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1")] * 2)
    scheduler = world(engine, clock, dialer)
    approve(engine, replied_ticket(engine, clock), clock)
    approve(engine, replied_ticket(engine, clock), clock)
    first = scheduler.plan_and_claim()
    assert len(first.placed) == 1
    with session_scope(engine) as session:  # a second claimer (another process) finds it busy
        assert claim_due(session=session, now=clock.now, policy=scheduler.policy) == []
    with Session(engine) as session:  # and the database refuses it even without looking
        waiting = session.exec(select(OutboundCall).where(
            OutboundCall.status == CallStatus.PENDING)).one()
        with pytest.raises(IntegrityError):
            start_attempt(session=session, call=waiting, now=clock.now)


# --- reminders and escalation --------------------------------------------------------------


def dispatched(engine: Engine, clock: Clock) -> int:
    draft = TicketCreate(request_type=TicketType.CONSULTATION, description="咨询", caller_phone="1")
    with session_scope(engine) as session:
        ticket = tickets.create_ticket(session=session, draft=draft, now=clock.now, actor="op")
    assert ticket.id is not None
    act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), clock)
    act(engine, ticket.id, lc.Sign(unit=MAIN), clock)
    return ticket.id


def scan(engine: Engine, clock: Clock) -> None:
    with session_scope(engine) as session:
        lights_changed(session=session, now=clock.now)


def duty_phone(engine: Engine) -> str:
    with Session(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == MAIN)).one()
        return unit.duty_phone


def test_given_a_ticket_turning_yellow_then_the_unit_is_reminded_and_acknowledges(engine, clock):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1")])
    scheduler = world(engine, clock, dialer)
    ticket_id = dispatched(engine, clock)
    clock.advance(hours=20)  # Tuesday 05:00: 80 % of 1 working day used after 19.2 h
    scan(engine, clock)
    run(scheduler)
    assert dialer.placed == []  # before 08:00: deferred
    clock.advance(hours=3)
    run(scheduler)

    [placed] = dialer.placed
    assert (placed.purpose, placed.phone) == (Purpose.REMINDER, duty_phone(engine))
    assert placed.deadline == ticket(engine, ticket_id).deadline
    [call] = calls(engine)
    assert (call.status, call.result, call.light) == (CallStatus.DONE, "acknowledged", "yellow")


def test_given_a_red_reminder_not_acknowledged_within_a_working_day_then_escalated(
    engine, clock
):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="")] * 3)
    scheduler = world(engine, clock, dialer)
    ticket_id = dispatched(engine, clock)
    clock.advance(days=1, hours=1)  # Tuesday 10:00: red
    scan(engine, clock)
    run(scheduler)
    [call] = [c for c in calls(engine) if c.light == "red"]
    assert call.escalate_at == datetime(2026, 3, 4, 10, 0, tzinfo=CST)
    assert [a.outcome for a in attempts(engine)] == ["hung_up"]  # heard, no key 1

    clock.advance(hours=23, minutes=59)
    run(scheduler)
    with Session(engine) as session:
        assert escalation_list(session=session) == []
    clock.advance(minutes=1)
    run(scheduler)
    with Session(engine) as session:
        [escalation] = escalation_list(session=session)
    assert (escalation.ticket_id, escalation.reason, escalation.unit) == (
        ticket_id, "not_acknowledged", MAIN)


def test_given_a_red_reminder_acknowledged_then_never_escalated(engine, clock):
    dialer = ScriptedDialer([CallReport(Outcome.ANSWERED, key="1")])
    scheduler = world(engine, clock, dialer)
    dispatched(engine, clock)
    clock.advance(days=1, hours=1)
    scan(engine, clock)
    run(scheduler)
    clock.advance(days=3)
    run(scheduler)
    with Session(engine) as session:
        assert session.exec(select(Escalation)).all() == []


def test_given_a_red_ticket_whose_unit_has_no_duty_phone_then_escalated_at_once(engine, clock):
    with session_scope(engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == MAIN)).one()
        unit.duty_phone = ""
        session.add(unit)
    scheduler = world(engine, clock, ScriptedDialer())
    dispatched(engine, clock)
    clock.advance(days=1, hours=1)
    scan(engine, clock)
    run(scheduler)
    with Session(engine) as session:
        [escalation] = escalation_list(session=session)
    assert escalation.reason == "no_duty_phone"
    assert calls(engine) == []


# --- restarts ------------------------------------------------------------------------------



def test_given_a_deferred_survey_when_an_agent_closes_the_ticket_then_it_is_never_dialled(
    engine, clock
):
    clock.now = T0.replace(hour=22)
    dialer = ScriptedDialer()
    scheduler = world(engine, clock, dialer)
    ticket_id = replied_ticket(engine, clock)
    approve(engine, ticket_id, clock)
    run(scheduler)  # planned for 08:00
    act(engine, ticket_id, lc.Close(reason="来电人已当面表示满意"), clock)

    clock.now = datetime(2026, 3, 3, 8, 0, tzinfo=CST)
    result = run(scheduler)

    assert result.planned.cancelled == 1
    assert dialer.placed == [] and attempts(engine) == []
    [call] = calls(engine)
    assert (call.status, call.next_attempt_at) == (CallStatus.CANCELLED, None)


def test_given_a_survey_waiting_for_a_retry_when_the_agent_records_the_revisit_then_cancelled(
    engine, clock
):
    dialer = ScriptedDialer([CallReport(Outcome.NO_ANSWER)])
    scheduler = world(engine, clock, dialer)
    ticket_id = replied_ticket(engine, clock)
    approve(engine, ticket_id, clock)
    run(scheduler)
    assert calls(engine)[0].status == CallStatus.PENDING  # retry at 11:00
    act(engine, ticket_id, lc.Revisit(result=lc.Satisfaction.SATISFIED), clock)  # by hand

    clock.advance(hours=2)
    run(scheduler)

    assert len(dialer.placed) == 1
    assert calls(engine)[0].status == CallStatus.CANCELLED
    assert ticket(engine, ticket_id).status == lc.Status.CLOSED


def test_given_a_deferred_reminder_when_the_unit_replies_first_then_it_is_never_dialled(
    engine, clock
):
    dialer = ScriptedDialer()
    scheduler = world(engine, clock, dialer)
    ticket_id = dispatched(engine, clock)
    clock.advance(hours=20)  # Tuesday 05:00: yellow, the reminder waits for 08:00
    scan(engine, clock)
    run(scheduler)
    assert [c.status for c in calls(engine)] == [CallStatus.PENDING]
    act(engine, ticket_id, lc.StartHandling(unit=MAIN), clock)
    run(scheduler)
    assert [c.status for c in calls(engine)] == [CallStatus.PENDING]  # still the unit's
    act(engine, ticket_id, lc.Reply(unit=MAIN, text="已答复"), clock)

    clock.advance(hours=3)
    run(scheduler)

    assert dialer.placed == []
    assert [c.status for c in calls(engine)] == [CallStatus.CANCELLED]


def test_given_a_stop_in_mid_call_when_restarted_then_the_attempt_fails_and_is_retried(
    engine, clock
):
    async def stopped_in_mid_call() -> None:
        dialer = ScriptedDialer([], gate=asyncio.Event())  # never answers
        scheduler = world(engine, clock, dialer)
        approve(engine, replied_ticket(engine, clock), clock)
        await scheduler.run_once()
        await asyncio.sleep(0)
        await scheduler.stop()

    asyncio.run(stopped_in_mid_call())
    assert calls(engine)[0].status == CallStatus.CALLING

    restarted = world(engine, clock, ScriptedDialer())
    assert restarted.prepare() == 1
    [call] = calls(engine)
    assert (call.status, call.active_number) == (CallStatus.PENDING, None)
    assert call.next_attempt_at == T0 + timedelta(hours=2)
    assert attempts(engine)[0].outcome == "failed"



def test_given_an_agent_call_left_running_when_restarted_then_failed_and_never_redialled(
    engine, clock
):
    ticket_id = replied_ticket(engine, clock)
    with session_scope(engine) as session:
        placed = start_agent_call(session=session, ticket=tickets.get_ticket(
            session=session, ticket_id=ticket_id), phone=CITIZEN, agent="cb",
            agent_dial="PJSIP/seat3", now=clock.now, trunk="default", limits=TrunkLimits())
    with session_scope(engine) as session, pytest.raises(NumberBusy):  # one call per number
        start_agent_call(session=session, ticket=tickets.get_ticket(
            session=session, ticket_id=ticket_id), phone=CITIZEN, agent="cb2",
            agent_dial="PJSIP/seat2", now=clock.now, trunk="default", limits=TrunkLimits())
    dialer = ScriptedDialer()
    restarted = world(engine, clock, dialer)
    assert restarted.prepare() == 1
    clock.advance(hours=3)
    run(restarted)
    assert dialer.placed == []
    [call] = calls(engine)
    assert (call.id, call.status, call.active_number) == (placed.call_id, CallStatus.DONE, None)


def agent_call(engine: Engine, clock: Clock, ticket_id: int, *, phone: str = CITIZEN,
               limits: TrunkLimits | None = None) -> None:
    with session_scope(engine) as session:
        start_agent_call(session=session, ticket=tickets.get_ticket(
            session=session, ticket_id=ticket_id), phone=phone, agent="cb",
            agent_dial="PJSIP/seat3", now=clock.now, trunk="default",
            limits=limits or TrunkLimits())


def test_given_a_number_on_the_do_not_call_list_then_click_to_call_is_refused(engine, clock):
    ticket_id = replied_ticket(engine, clock)
    with session_scope(engine) as session:
        add_do_not_call(session=session, phone=CITIZEN, reason="asked", by="op", now=clock.now)
    with pytest.raises(DoNotCallNumber):
        agent_call(engine, clock, ticket_id)
    assert calls(engine) == []


def test_given_the_trunk_full_then_click_to_call_is_refused_and_counts_on_the_trunk(
    engine, clock
):
    ticket_id = replied_ticket(engine, clock)
    agent_call(engine, clock, ticket_id, phone="13800000002", limits=TrunkLimits(default=2))
    with pytest.raises(TrunkFull):  # one line: the first call holds it
        agent_call(engine, clock, ticket_id, phone="13800000003", limits=TrunkLimits(default=1))
    agent_call(engine, clock, ticket_id, phone="13800000003", limits=TrunkLimits(default=2))
    with pytest.raises(TrunkFull):  # two lines: both held
        agent_call(engine, clock, ticket_id, limits=TrunkLimits(default=2))
    with Session(engine) as session:
        assert sorted(c.trunk for c in live_calls(session=session)) == ["default", "default"]


def test_given_a_queue_call_back_ringing_the_number_then_click_to_call_is_refused(
    engine, clock
):
    ticket_id = replied_ticket(engine, clock)
    with session_scope(engine) as session:
        row = QueueCallback(call_uniqueid="c1", phone=CITIZEN, reason="abandoned",
                            joined_at=T0, created_at=T0, updated_at=T0, status="calling",
                            attempts=1)
        session.add(row)
        session.flush()
        assert row.id is not None
        session.add(QueueCallbackAttempt(callback_id=row.id, attempt=1, phone=CITIZEN,
                                         trunk="default", seat="PJSIP/seat2", started_at=T0))
    with pytest.raises(NumberBusy):
        agent_call(engine, clock, ticket_id)


# --- migration -----------------------------------------------------------------------------


def test_given_the_migrations_then_one_head_and_the_outbound_tables_are_as_the_models_say(
    engine,
):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    from hotline.db import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config(engine)).get_heads()) == 1
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    ours = ("outbound", "do_not_call", "queue_callback")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []
