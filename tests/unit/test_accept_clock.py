"""The live 受理 clock (``hotline.tickets.accept``) on SQLite and PostgreSQL: a call a seat answered
with no ticket turns yellow at 80 % of the minute and red after it, each published once by the
deadline scheduler (also across a restart), and a red one goes onto the supervisors' escalation
list as 超时未受理; a ticket for the call or its discarded draft stops the clock; the scan's query
leaves out calls no seat answered, outbound calls and calls older than its window, which reaches
back to the previous pass (a day after a start). The seat's pop shows the time left. Everything
is the real code (scheduler, outbound planning, pages over HTTP); the clock is a test clock and
the call records are written as the AMI controller leaves them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.intake.drafts import DraftStatus, TicketDraft
from hotline.outbound.models import Escalation
from hotline.outbound.planning import Planning, plan_batch
from hotline.outbound.rules import CallingHours
from hotline.seats.pop import PopBoard
from hotline.seats.service import bind_seat
from hotline.tickets import service as tickets
from hotline.tickets.accept import (
    AcceptChanged,
    _store,
    due_calls,
    scan_accept,
    window_start,
)
from hotline.tickets.calendar import Light
from hotline.tickets.models import TicketChange, TicketCreate, TicketType
from hotline.tickets.scheduler import LightScheduler
from hotline.users.models import User
from hotline.web.pages import SeatConsole, include_pages
from tests.api import ApiWorld, Clock, make_world
from tests.pg import (  # noqa: F401 - fixtures
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)
from tests.unit import test_supervisor_pages as pages
from tests.unit.test_seat_transfer import NoQueue

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # the seat answers (queue join + wait)
PLANNING = Planning(hours=CallingHours(tz=CST))
REPO = Path(__file__).resolve().parents[2]

world = pages.world  # the supervisor pages' app on SQLite and PostgreSQL


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "pg_engine" if request.param == "postgresql" else "sqlite_engine"
    engine: Engine = request.getfixturevalue(name)
    return engine


def answered(engine: Engine, uid: str, *, at: datetime = T0, seat: str | None = "seat1",
             outcome: str = "answered", direction: str = "in") -> None:
    """A queue call ``seat`` answered at ``at`` after 12 s in the queue, in UTC as the AMI
    controller writes it (``queue_outcome`` and ``answered_by`` from AgentConnect)."""
    joined = (at - timedelta(seconds=12)).astimezone(UTC)
    with session_scope(engine) as session:
        session.add(Call(uniqueid=uid, caller_number="13800000009", direction=direction,
                         started_at=joined - timedelta(seconds=20), queue_joined_at=joined,
                         queue_wait_seconds=12, queue_outcome=outcome, answered_by=seat))


def ticket_for(engine: Engine, uid: str, at: datetime) -> None:
    draft = TicketCreate(request_type=TicketType.HELP, description="楼道灯坏了",
                         caller_phone="13800000009", call_uniqueid=uid)
    with session_scope(engine) as session:
        tickets.create_ticket(session=session, draft=draft, now=at, actor="op")


def accept_changes(engine: Engine) -> list[tuple[str, str]]:
    """(call, light) of every 受理 change published, in order."""
    with Session(engine) as session:
        rows = session.exec(select(TicketChange).where(TicketChange.kind == "accept")
                            .order_by(col(TicketChange.id))).all()
    return [(row.payload["uniqueid"], row.action) for row in rows]


def plan(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        plan_batch(session=session, now=now, planning=PLANNING)


def test_given_an_answered_call_without_a_ticket_then_yellow_then_red_once_onto_the_list(
    engine: Engine,
) -> None:
    plan(engine, T0)  # the planner starts reading the outbox from here
    answered(engine, "c-1")
    clock = Clock(T0 + timedelta(seconds=47))
    scheduler = LightScheduler(engine=engine, clock=clock)

    assert scheduler.run_once() == 0  # 47 s: green
    clock.advance(seconds=1)  # 48 s: 80 % of the minute
    assert scheduler.run_once() == 1
    clock.advance(seconds=12)  # 60 s: the limit itself is still in time
    assert scheduler.run_once() == 0
    clock.advance(seconds=1)
    assert scheduler.run_once() == 1
    clock.advance(seconds=30)
    assert scheduler.run_once() == 0
    restarted = LightScheduler(engine=engine, clock=clock)  # a new process: nothing again
    assert restarted.run_once() == 0
    assert accept_changes(engine) == [("c-1", "yellow"), ("c-1", "red")]

    plan(engine, clock.now)
    plan(engine, clock.now)  # planning again finds nothing new
    with Session(engine) as session:
        [escalation] = session.exec(select(Escalation)).all()
        [red] = session.exec(select(TicketChange).where(TicketChange.action == "red")).all()
    assert (escalation.ticket_id, escalation.number, escalation.reason) == (
        None, "", "not_accepted")
    assert (escalation.call_uniqueid, escalation.unit) == ("c-1", "seat1")
    assert escalation.deadline is not None
    assert escalation.deadline.replace(tzinfo=escalation.deadline.tzinfo or UTC) == (
        T0 + timedelta(minutes=1))
    assert red.ticket_id is None and red.payload["seat"] == "seat1"


def test_given_a_restart_between_yellow_and_red_then_only_red_is_published(
    engine: Engine,
) -> None:
    answered(engine, "c-1")
    clock = Clock(T0 + timedelta(seconds=50))
    assert LightScheduler(engine=engine, clock=clock).run_once() == 1
    clock.advance(seconds=5)
    assert LightScheduler(engine=engine, clock=clock).run_once() == 0  # restarted, still yellow
    clock.advance(seconds=10)
    assert LightScheduler(engine=engine, clock=clock).run_once() == 1
    assert accept_changes(engine) == [("c-1", "yellow"), ("c-1", "red")]


def test_given_a_ticket_or_a_discarded_draft_then_the_clock_stops(engine: Engine) -> None:
    plan(engine, T0)
    for uid in ("in-time", "late", "discarded"):
        answered(engine, uid)
    clock = Clock(T0 + timedelta(seconds=30))
    scheduler = LightScheduler(engine=engine, clock=clock)
    ticket_for(engine, "in-time", clock.now)  # accepted in 30 s: never lit
    clock.advance(seconds=20)  # 50 s: two calls still without a ticket turn yellow
    scheduler.run_once()
    assert scheduler.accepts == 2
    ticket_for(engine, "late", clock.now)
    with session_scope(engine) as session:
        session.add(TicketDraft(call_uniqueid="discarded", source="caller", text="打错了",
                                status=DraftStatus.discarded, created_at=clock.now,
                                updated_at=clock.now))
    clock.advance(minutes=5)
    scheduler.run_once()  # the tickets' own dispatch clocks are lit meanwhile
    assert scheduler.accepts == 2
    plan(engine, clock.now)

    assert accept_changes(engine) == [("late", "yellow"), ("discarded", "yellow")]
    with Session(engine) as session:  # the tickets not dispatched are, not the calls
        assert {e.reason for e in session.exec(select(Escalation)).all()} == {"not_dispatched"}


def test_given_a_pass_that_fails_before_its_commit_then_nothing_is_kept_and_it_is_done_again(
    engine: Engine,
) -> None:
    answered(engine, "c-1")
    now = T0 + timedelta(seconds=50)
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        assert len(scan_accept(session=session, now=now)) == 1
        raise RuntimeError("the process dies before the commit")
    with Session(engine) as session:
        assert session.exec(select(Call.accept_light)).all() == [None]
    assert accept_changes(engine) == []
    assert LightScheduler(engine=engine, clock=Clock(now)).run_once() == 1
    assert accept_changes(engine) == [("c-1", "yellow")]


def test_given_a_call_published_meanwhile_by_another_pass_then_only_the_others_are_stored(
    engine: Engine,
) -> None:
    answered(engine, "theirs")
    answered(engine, "ours")
    with Session(engine) as session:
        ids = {uid: call_id for uid, call_id in session.exec(select(Call.uniqueid, Call.id))
               if call_id is not None}
    with session_scope(engine) as session:  # the other pass, committed first
        theirs = session.get(Call, ids["theirs"])
        assert theirs is not None
        theirs.accept_light = "yellow"
    changed = [AcceptChanged(call_id=ids[uid], uniqueid=uid, before=None, after=Light.YELLOW,
                             answered_at=T0, deadline=T0, seat="seat1", caller="")
               for uid in ("theirs", "ours")]
    with session_scope(engine) as session:
        assert _store(session, changed) == {ids["ours"]}
    with Session(engine) as session:
        assert set(session.exec(select(Call.accept_light)).all()) == {"yellow"}


def test_given_the_scheduler_stopped_for_hours_then_its_start_escalates_the_calls_meanwhile(
    engine: Engine,
) -> None:
    plan(engine, T0 - timedelta(hours=30))
    answered(engine, "while-stopped")  # answered at 09:00, the scheduler starts at 12:00
    answered(engine, "with-ticket")
    ticket_for(engine, "with-ticket", T0 + timedelta(seconds=20))
    answered(engine, "day-before", at=T0 - timedelta(hours=25))  # beyond the day looked back
    clock = Clock(T0 + timedelta(hours=3))
    scheduler = LightScheduler(engine=engine, clock=clock)
    scheduler.run_once()  # the ticket's own dispatch light is published too
    assert scheduler.accepts == 1
    assert accept_changes(engine) == [("while-stopped", "red")]
    plan(engine, clock.now)
    with Session(engine) as session:
        [escalation] = session.exec(select(Escalation).where(
            Escalation.reason == "not_accepted")).all()
    assert escalation.call_uniqueid == "while-stopped"


def test_given_a_gap_between_passes_then_the_next_pass_reads_back_to_the_previous_one(
    engine: Engine,
) -> None:
    clock = Clock(T0 - timedelta(minutes=10))
    scheduler = LightScheduler(engine=engine, clock=clock)
    assert scheduler.run_once() == 0
    answered(engine, "in-the-gap")  # answered at 09:00; the next pass comes two hours later
    clock.advance(hours=2, minutes=10)
    assert scheduler.run_once() == 1  # the call started 2 h ago: older than the last hour
    assert accept_changes(engine) == [("in-the-gap", "red")]
    with Session(engine) as session:  # a pass reading only the last hour would not see it
        assert session.connection().execute(due_calls(now=clock.now)).all() == []
        assert [r.uniqueid for r in session.connection().execute(due_calls(
            now=clock.now, since=T0 - timedelta(minutes=10))).all()] == []  # red: left
    assert window_start(clock.now, None) == clock.now - timedelta(days=1)
    assert window_start(clock.now, T0) == T0 - timedelta(hours=1)
    assert window_start(clock.now, clock.now - timedelta(days=3)) == (
        clock.now - timedelta(days=1))


def test_the_scan_query_finds_only_answered_inbound_calls_of_the_last_hour(
    engine: Engine,
) -> None:
    answered(engine, "due")
    answered(engine, "old", at=T0 - timedelta(hours=2))  # outside the scan's hour
    answered(engine, "abandoned", seat=None, outcome="abandoned")
    answered(engine, "outbound", direction="out")
    answered(engine, "too-young", at=T0 + timedelta(seconds=60))  # joined 22 s ago: green
    answered(engine, "ticket")
    ticket_for(engine, "ticket", T0)
    now = T0 + timedelta(seconds=70)

    with Session(engine) as session:
        rows = session.connection().execute(due_calls(now=now)).all()
    assert [row.uniqueid for row in rows] == ["due"]


def test_given_an_unaccepted_call_then_the_supervisor_sees_it_as_not_accepted(
    world: ApiWorld,
) -> None:
    now = world.clock()
    plan(world.engine, now)
    answered(world.engine, "1795000000.42", at=now)
    world.clock.advance(seconds=61)
    assert LightScheduler(engine=world.engine, clock=world.clock).run_once() == 1
    plan(world.engine, world.clock())

    panel = world.client("supervisor").get("/supervisor/escalations").text
    assert "超时未受理" in panel and "1795000000.42" in panel and "坐席 seat1" in panel
    [listed] = world.client("supervisor").get("/api/outbound/escalations").json()
    assert (listed["ticket"], listed["call"], listed["reason"]) == (
        "", "1795000000.42", "not_accepted")


@pytest.fixture
def seat_world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: F811
    made = make_world(sqlite_engine, tmp_path)
    board = PopBoard(clock=made.clock)
    include_pages(made.app, web_dir=REPO / "web",
                  seats=SeatConsole(board=board, queue=NoQueue(), seats=["PJSIP/seat1"]))
    with Session(sqlite_engine) as session:
        user = session.exec(select(User).where(User.username == "operator")).one()
        bind_seat(session=session, user=user, interface="PJSIP/seat1", seats=["PJSIP/seat1"],
                  now=made.clock())
        session.commit()
    made.board = board  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        made.close()


def test_the_pop_counts_down_the_accept_time_until_a_ticket_is_taken(
    seat_world: ApiWorld,
) -> None:
    uid = "1795000000.43"
    answered(seat_world.engine, uid, at=seat_world.clock())
    board: PopBoard = seat_world.board  # type: ignore[attr-defined]
    common = {"Interface": "PJSIP/seat1", "Uniqueid": uid, "CallerIDNum": "13800000009"}
    asyncio.run(board.on_event({"Event": "AgentConnect", **common}))
    operator = seat_world.client("operator")

    seat_world.clock.advance(seconds=20)
    pop = operator.get("/seat/pop").text
    assert 'id="accept-clock" class="accept-clock green"' in pop and "剩余 40 秒" in pop
    seat_world.clock.advance(seconds=30)
    assert 'class="accept-clock yellow"' in (pop := operator.get("/seat/pop").text)
    assert "剩余 10 秒" in pop
    seat_world.clock.advance(seconds=15)
    assert "已超时 5 秒" in (pop := operator.get("/seat/pop").text)
    assert 'class="accept-clock red"' in pop
    ticket_for(seat_world.engine, uid, seat_world.clock())
    assert 'id="accept-clock"' not in operator.get("/seat/pop").text


def test_given_the_migrations_then_the_accept_columns_are_as_the_models_say(
    engine: Engine,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    ours = ("accept_light", "outbound_escalation")
    assert [d for d in diff if any(name in repr(d) for name in ours)] == []
