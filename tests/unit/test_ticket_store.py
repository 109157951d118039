"""Work orders stored: numbering, transitions written whole or not at all, optimistic locking,
the event log replaying to the stored state, side records, and the light scanner (SQLite)."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, text
from sqlmodel import Session, col, select

from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets import scanner, service
from hotline.tickets.errors import ActionNotAllowed, ConcurrentUpdate, NoSuchTicket, NoSuchUnit
from hotline.tickets.models import (
    Assignment,
    DispatchChoice,
    ExtensionRequest,
    Reply,
    SurveyResult,
    Ticket,
    TicketChange,
    TicketCreate,
    TicketEvent,
    TicketType,
)
from hotline.tickets.rules import allowed_actions
from hotline.tickets.scanner import lights_changed, park_reviews_due
from hotline.tickets.units import load_default_list
from tests.pg import sqlite_engine, sqlite_template  # noqa: F401

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
MAIN, ASSIST = "市城管局", "东城街道"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:  # noqa: F811 - the fixture from tests.pg
    with session_scope(sqlite_engine) as session:
        load_default_list(session=session)
    return sqlite_engine


def create(engine: Engine, *, now: datetime = T0, **fields: object) -> Ticket:
    values: dict[str, object] = {
        "request_type": TicketType.HELP, "description": "路灯坏了", "location": "东城街道",
        "caller_phone": "13800000000",
    }
    values.update(fields)
    with session_scope(engine) as session:
        return service.create_ticket(
            session=session, draft=TicketCreate.model_validate(values), now=now, actor="op-1"
        )


def act(engine: Engine, ticket_id: int, action: lc.Action, *, at: datetime, **kw: object):
    with session_scope(engine) as session:
        return service.act(
            session=session, ticket_id=ticket_id, action=action, actor="actor", now=at, **kw
        )


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def assert_replays(engine: Engine, ticket_id: int) -> None:
    with Session(engine) as session:
        stored = service.state_of(service.get_ticket(session=session, ticket_id=ticket_id))
        assert service.replay_ticket(session=session, ticket_id=ticket_id) == stored


def test_given_a_draft_when_created_then_numbered_per_day_and_logged(engine):
    first, second = create(engine), create(engine, now=T0 + timedelta(hours=1))
    next_day = create(engine, now=T0 + timedelta(days=1))

    assert (first.number, second.number) == ("20260302-00001", "20260302-00002")
    assert next_day.number == "20260303-00001"
    with Session(engine) as session:
        events = service.events_of(session=session, ticket_id=first.id)
    assert [(e.seq, e.action, e.after_status) for e in events] == [(0, "create", "accepted")]
    assert first.status == "accepted" and first.version == 0


def test_given_many_threads_when_creating_then_every_number_is_unique(engine):
    numbers: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                numbers.append(create(engine).number)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(numbers) == [f"20260302-{n:05d}" for n in range(1, 21)]


def test_given_a_ticket_when_walked_through_its_life_then_every_step_is_stored(engine):
    ticket = create(engine)
    t = T0 + timedelta(minutes=1)
    with session_scope(engine) as session:
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=MAIN,
                         assist_units=(ASSIST,), actor="op-1", now=t, expected_seq=0)
    steps = [
        lc.Sign(unit=MAIN), lc.Sign(unit=ASSIST), lc.StartHandling(unit=MAIN),
        lc.RequestExtension(unit=MAIN, days=2, reason="等配件"),
        lc.DecideExtension(approve=True, reason="同意"),
        lc.Reply(unit=ASSIST, text="已配合"), lc.Reply(unit=MAIN, text="已修复"),
        lc.Review(approve=True), lc.StartRevisit(),
        lc.Revisit(result=lc.Satisfaction.SATISFIED), lc.Archive(),
    ]
    for step in steps:
        t += timedelta(minutes=5)
        final = act(engine, ticket.id, step, at=t)

    assert final.status == "archived" and final.version == 12
    assert final.light == "none" and final.next_light_at is None
    with Session(engine) as session:
        events = service.events_of(session=session, ticket_id=ticket.id)
        assignments = session.exec(select(Assignment)).all()
        extension = session.exec(select(ExtensionRequest)).one()
        replies = session.exec(select(Reply).order_by(col(Reply.id))).all()
        survey = session.exec(select(SurveyResult)).one()
    assert [e.seq for e in events] == list(range(13))
    assert [e.action for e in events][1:3] == ["dispatch", "sign"]
    assert {(a.role, a.status) for a in assignments} == {("main", "replied"), ("assist", "replied")}
    assert (extension.days, extension.decision) == (2, "approved")
    assert [r.text for r in replies] == ["已配合", "已修复"]
    assert (survey.result, survey.caller_ticket) == ("满意", ticket.number)
    # help: 3 working days from Monday, plus 2 approved → the next Monday
    assert service.state_of(final).handling_deadline == datetime(2026, 3, 9, 9, 1, tzinfo=CST)
    assert_replays(engine, ticket.id)


def test_given_an_accepted_ticket_when_a_unit_replies_then_refused_and_nothing_written(engine):
    ticket = create(engine)

    with pytest.raises(ActionNotAllowed) as refused:
        act(engine, ticket.id, lc.Reply(unit=MAIN, text="x"), at=T0)

    assert "dispatch" in refused.value.allowed
    assert count(engine, TicketEvent) == 1
    with Session(engine) as session:
        assert service.get_ticket(session=session, ticket_id=ticket.id).version == 0


def test_given_an_unknown_unit_when_dispatched_then_no_such_unit_and_nothing_written(engine):
    ticket = create(engine)

    with pytest.raises(NoSuchUnit):
        act(engine, ticket.id, lc.Dispatch(main_unit="不存在的局"), at=T0)
    with pytest.raises(NoSuchTicket):
        act(engine, 999, lc.Dispatch(main_unit=MAIN), at=T0)

    assert count(engine, TicketEvent) == 1 and count(engine, Assignment) == 0


def test_given_a_failure_after_the_update_when_acting_then_the_transaction_leaves_nothing(
    engine, monkeypatch
):
    ticket = create(engine)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service, "_side_records", broken)
    with pytest.raises(RuntimeError):
        act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)

    with Session(engine) as session:
        stored = service.get_ticket(session=session, ticket_id=ticket.id)
    assert (stored.status, stored.version) == ("accepted", 0)
    assert count(engine, Assignment) == 0 and count(engine, TicketEvent) == 1


def test_given_a_stale_expected_seq_when_acting_then_concurrent_update(engine):
    ticket = create(engine)
    act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0, expected_seq=0)

    with pytest.raises(ConcurrentUpdate) as lost:
        act(engine, ticket.id, lc.Sign(unit=MAIN), at=T0, expected_seq=0)

    assert (lost.value.expected, lost.value.actual) == (0, 1)


def test_given_two_dispatches_interleaved_when_both_write_then_one_wins(engine):
    """B commits between A's read and A's write: A's UPDATE … WHERE version=0 finds no row."""
    ticket = create(engine)
    fired: list[bool] = []

    def other_operator_dispatches(conn, cursor, statement, params, context, many):
        if not fired and statement.lstrip().upper().startswith("SELECT") and "FROM ticket" in (
            statement
        ):
            fired.append(True)
            act(engine, ticket.id, lc.Dispatch(main_unit="市住建局"), at=T0)

    event.listen(engine, "after_cursor_execute", other_operator_dispatches)
    try:
        with pytest.raises(ConcurrentUpdate):
            act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)
    finally:
        event.remove(engine, "after_cursor_execute", other_operator_dispatches)

    with Session(engine) as session:
        stored = service.get_ticket(session=session, ticket_id=ticket.id)
        dispatches = session.exec(select(TicketEvent).where(TicketEvent.action == "dispatch"))
        assert len(dispatches.all()) == 1
    assert service.state_of(stored).main_assignment().unit == "市住建局"


def test_given_a_suggestion_when_the_operator_chooses_otherwise_then_both_are_kept(engine):
    ticket = create(engine, description="人民路流动摊贩占道经营", location="城关街道北关社区")

    with session_scope(engine) as session:
        service.dispatch(session=session, ticket_id=ticket.id, main_unit="市城管局",
                         actor="op-1", now=T0)

    with Session(engine) as session:
        choice = session.exec(select(DispatchChoice)).one()
    assert (choice.suggested_main, choice.suggested_assist) == ("市城管局", ["城关街道"])
    assert (choice.chosen_main, choice.chosen_assist, choice.followed) == ("市城管局", [], False)


def test_given_duplicates_when_merged_then_every_caller_is_revisited(engine):
    parent, child = create(engine), create(engine, caller_phone="13900000000")
    with session_scope(engine) as session:
        merged_child, _ = service.merge_tickets(
            session=session, child_id=child.id, parent_id=parent.id, actor="op-1", now=T0
        )
    assert (merged_child.status, merged_child.parent_id) == ("merged", parent.id)
    t = T0
    for step in [lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN), lc.Reply(unit=MAIN, text="好"),
                 lc.Review(approve=True), lc.StartRevisit(),
                 lc.Revisit(result=lc.Satisfaction.SATISFIED)]:
        t += timedelta(minutes=1)
        after = act(engine, parent.id, step, at=t)
    assert after.status == "revisit"

    done = act(engine, parent.id, lc.Revisit(result=lc.Satisfaction.BASICALLY_SATISFIED,
                                             ticket_id=child.number), at=t)

    assert done.status == "closed"
    assert count(engine, SurveyResult) == 2
    assert_replays(engine, parent.id)
    assert_replays(engine, child.id)


def test_given_a_dispatched_ticket_when_time_passes_then_yellow_then_red_each_once(engine):
    ticket = create(engine)
    act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)  # sign within 1 hour

    def scan(minutes: float):
        with session_scope(engine) as session:
            return [(c.number, c.before, c.after) for c in
                    lights_changed(session=session, now=T0 + timedelta(minutes=minutes))]

    assert scan(47) == []
    assert scan(48) == [(ticket.number, "green", "yellow")]  # 80 % of the hour
    assert scan(55) == []  # a restarted scheduler reads what was published
    assert scan(60) == []  # the deadline itself is still yellow
    assert scan(61) == [(ticket.number, "yellow", "red")]
    assert scan(600) == []


def test_given_a_ticket_changed_during_the_scan_then_only_the_others_are_published(engine):
    scan_with_a_race(engine, create, act)


def scan_with_a_race(engine: Engine, create: Any, act: Any) -> None:
    """Two tickets due; one changes between the scan's read and its write (also on PG)."""
    first, second = create(engine), create(engine)
    for ticket in (first, second):
        act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)
    raced = []

    def someone_else_acts(conn, clause, *args):  # between the scan's read and its write
        if clause is scanner._STORE_LIGHT and not raced:
            raced.append(first.id)
            conn.execute(text("UPDATE ticket SET version = version + 1 WHERE id = :id"),
                         {"id": first.id})

    event.listen(engine, "before_execute", someone_else_acts)
    try:
        with session_scope(engine) as session:
            changes = lights_changed(session=session, now=T0 + timedelta(minutes=50))
    finally:
        event.remove(engine, "before_execute", someone_else_acts)

    assert raced == [first.id]
    assert [c.number for c in changes] == [second.number]
    with Session(engine) as session:
        lights = dict(session.exec(select(Ticket.id, Ticket.light)).all())
        published = session.exec(select(TicketChange.number)
                                 .where(TicketChange.kind == "light")).all()
    assert lights == {first.id: "green", second.id: "yellow"}
    assert published == [second.number]
    with session_scope(engine) as session:  # the next scan reports the one left
        again = lights_changed(session=session, now=T0 + timedelta(minutes=50))
    assert [c.number for c in again] == [first.number]


def test_given_a_red_ticket_when_signed_then_the_light_starts_again(engine):
    ticket = create(engine)
    act(engine, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)
    with session_scope(engine) as session:
        lights_changed(session=session, now=T0 + timedelta(hours=2))

    signed = act(engine, ticket.id, lc.Sign(unit=MAIN), at=T0 + timedelta(hours=2))

    assert signed.light == "green"  # handling clock: 3 working days
    with session_scope(engine) as session:
        changes = lights_changed(session=session, now=datetime(2026, 3, 5, 9, tzinfo=CST))
    assert [c.after for c in changes] == ["yellow"]


def test_given_the_scan_query_when_planned_then_sqlite_uses_the_light_index(engine):
    with Session(engine) as session:
        plan = session.connection().execute(text(
            "EXPLAIN QUERY PLAN SELECT id FROM ticket WHERE next_light_at <= :now "
            "ORDER BY next_light_at LIMIT 1000"), {"now": "2026-03-02"}).all()
    assert "ix_ticket_next_light_at" in " ".join(str(row) for row in plan)


def test_given_a_parked_ticket_when_its_review_date_comes_then_it_is_due_not_closed(engine):
    ticket = create(engine)
    for step in [lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN),
                 lc.Park(until=T0 + timedelta(days=30), reason="长期问题")]:
        act(engine, ticket.id, step, at=T0)

    with Session(engine) as session:
        early = park_reviews_due(session=session, now=T0 + timedelta(days=29))
        due = park_reviews_due(session=session, now=T0 + timedelta(days=30))
    assert early == [] and [t.status for t in due] == ["parked"]


def _concrete(name: str, state: lc.TicketState, rng: random.Random) -> lc.Action:
    open_units = [a.unit for a in state.assignments if a.is_open]
    units = ["市城管局", "市住建局", "东城街道", "城关街道"]
    unit = rng.choice(open_units) if open_units else MAIN
    free = [u for u in units if u not in {a.unit for a in state.assignments}] or ["西城街道"]
    match name:
        case "dispatch":
            return lc.Dispatch(main_unit=MAIN, assist_units=tuple(rng.sample(units[2:], 1)))
        case "sign" | "arrive" | "start_handling" | "reply" | "return" | "request_extension":
            candidates = [a.unit for a in state.assignments if a.is_open]
            return {
                "sign": lambda: lc.Sign(unit=unit),
                "arrive": lambda: lc.Arrive(unit=unit),
                "start_handling": lambda: lc.StartHandling(unit=unit),
                "reply": lambda: lc.Reply(unit=unit, text="已办"),
                "return": lambda: lc.Return(unit=unit, reason="非本单位职责"),
                "request_extension": lambda: lc.RequestExtension(unit=unit, days=1, reason="r"),
            }[name]() if candidates else lc.Sign(unit=MAIN)
        case "review_return":
            return (lc.ReviewReturn(insist=True) if rng.random() < 0.5
                    else lc.ReviewReturn(redispatch_to=free[0]))
        case "decide_extension":
            return lc.DecideExtension(approve=rng.random() < 0.5, reason="r")
        case "review":
            return lc.Review(approve=rng.random() < 0.7, reason="补充")
        case "revisit":
            return lc.Revisit(result=rng.choice(list(lc.Satisfaction)))
        case "close":
            return lc.Close(reason="市民不需回访")
        case "answer_now":
            return lc.AnswerNow(answer="已答复", revisit_wanted=rng.random() < 0.5)
        case "park":
            return lc.Park(until=T0 + timedelta(days=60), reason="长期")
        case "emergency_transfer":
            return lc.EmergencyTransfer(line=lc.EmergencyLine.POLICE)
        case _:
            return {"start_revisit": lc.StartRevisit(), "archive": lc.Archive(),
                    "resume": lc.Resume()}[name]


SHORTCUTS = ("merge", "attach_child", "answer_now", "emergency_transfer")  # tested above


@pytest.mark.parametrize("seed", range(6))
def test_given_random_allowed_actions_when_replayed_then_the_stored_state_is_rebuilt(
    engine, seed
):
    rng = random.Random(seed)
    ticket = create(engine, request_type=rng.choice(list(TicketType)))
    now = T0
    for _ in range(25):
        with Session(engine) as session:
            state = service.state_of(service.get_ticket(session=session, ticket_id=ticket.id))
        names = [n for n in allowed_actions(state, now=now) if n not in SHORTCUTS]
        if not names:
            break
        action = _concrete(rng.choice(names), state, rng)
        try:
            act(engine, ticket.id, action, at=now)
        except ActionNotAllowed:
            pass  # the arguments were refused: nothing was written
        now += timedelta(minutes=rng.choice([1, 30, 200]))

    assert_replays(engine, ticket.id)
    with Session(engine) as session:
        stored = service.get_ticket(session=session, ticket_id=ticket.id)
        events = service.events_of(session=session, ticket_id=ticket.id)
    assert [e.seq for e in events] == list(range(stored.version + 1))
    assert stored.version >= 3, [e.action for e in events]


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (lc.AnswerNow(answer="按知识库答复", revisit_wanted=False), "closed"),
        (lc.AnswerNow(answer="按知识库答复", revisit_wanted=True), "revisit"),
        (lc.EmergencyTransfer(line=lc.EmergencyLine.FIRE), "transferred"),
    ],
)
def test_given_an_accepted_ticket_when_answered_or_transferred_at_once_then_stored(
    engine, action, status
):
    ticket = create(engine)

    after = act(engine, ticket.id, action, at=T0)

    assert after.status == status
    assert_replays(engine, ticket.id)
