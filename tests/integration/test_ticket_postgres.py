"""The ticket store on a real PostgreSQL (Debian's server, started by ``tests.pg``), migrated
by ``hotline.db.migrate``; and the same sequence giving the same results on SQLite."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.errors import ConcurrentUpdate, ResponsibilityFileError
from hotline.tickets.models import (
    Assignment,
    DispatchChoice,
    Matter,
    SurveyResult,
    Ticket,
    TicketCreate,
    TicketEvent,
    TicketType,
    Unit,
)
from hotline.tickets.scanner import lights_changed
from hotline.tickets.units import export_csv, export_yaml, import_list, load_default_list
from tests.pg import (  # noqa: F401
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)
from tests.unit.test_ticket_store import scan_with_a_race

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
MAIN = "市城管局"


@pytest.fixture
def pg(pg_engine: Engine) -> Engine:  # noqa: F811 - the fixture from tests.pg
    with session_scope(pg_engine) as session:
        load_default_list(session=session)
    return pg_engine


def create(engine: Engine, *, now: datetime = T0, **fields: Any) -> Ticket:
    draft = TicketCreate(request_type=TicketType.COMPLAINT, description="路边流动摊贩占道经营",
                         location="城关街道", **fields)
    with session_scope(engine) as session:
        return service.create_ticket(session=session, draft=draft, now=now, actor="op-1")


def act(engine: Engine, ticket_id: int, action: lc.Action, *, at: datetime, **kw: Any) -> Ticket:
    with session_scope(engine) as session:
        return service.act(session=session, ticket_id=ticket_id, action=action, actor="a",
                           now=at, **kw)


def test_given_postgres_when_tickets_created_then_numbered_per_day(pg):
    numbers = [create(pg).number, create(pg).number, create(pg, now=T0 + timedelta(days=1)).number]

    assert numbers == ["20260302-00001", "20260302-00002", "20260303-00001"]


def test_given_postgres_when_a_ticket_lives_its_whole_life_then_log_replays_to_state(pg):
    ticket = create(pg)
    t = T0
    with session_scope(pg) as session:
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=MAIN,
                         assist_units=("城关街道",), actor="op-1", now=t)
    for step in [lc.Sign(unit=MAIN), lc.Sign(unit="城关街道"), lc.StartHandling(unit=MAIN),
                 lc.Reply(unit="城关街道", text="已配合"), lc.Reply(unit=MAIN, text="已取缔"),
                 lc.Review(approve=True), lc.StartRevisit(),
                 lc.Revisit(result=lc.Satisfaction.UNSATISFIED),  # 重办
                 lc.Reply(unit=MAIN, text="再次整治"), lc.Review(approve=True),
                 lc.StartRevisit(), lc.Revisit(result=lc.Satisfaction.SATISFIED), lc.Archive()]:
        t += timedelta(minutes=10)
        final = act(pg, ticket.id, step, at=t)

    assert (final.status, final.version) == ("archived", 14)
    with Session(pg) as session:
        assert service.replay_ticket(session=session, ticket_id=ticket.id) == service.state_of(
            final
        )
        surveys = session.exec(select(SurveyResult).order_by(col(SurveyResult.id))).all()
        choice = session.exec(select(DispatchChoice)).one()
    assert [(s.result, s.round) for s in surveys] == [("不满意", 0), ("满意", 1)]
    assert choice.followed  # the list said 市城管局 with 城关街道 assisting


def test_given_two_operators_when_dispatching_at_once_then_one_wins_one_conflicts(pg):
    ticket = create(pg)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def operator(unit: str) -> None:
        barrier.wait()
        try:
            act(pg, ticket.id, lc.Dispatch(main_unit=unit), at=T0, expected_seq=0)
            outcomes.append("won")
        except ConcurrentUpdate:
            outcomes.append("conflict")

    threads = [threading.Thread(target=operator, args=(u,)) for u in (MAIN, "市住建局")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict", "won"]
    with Session(pg) as session:
        assert session.exec(select(func.count()).select_from(Assignment)).one() == 1
        assert session.exec(select(func.count()).select_from(TicketEvent)).one() == 2


def test_given_a_read_before_another_commit_when_writing_then_the_version_check_refuses(pg):
    """B commits between A's read and A's UPDATE: READ COMMITTED still sees version 1."""
    ticket = create(pg)
    fired: list[bool] = []

    def other_operator(conn, cursor, statement, params, context, many):
        if not fired and statement.lstrip().upper().startswith("SELECT") and "FROM ticket" in (
            statement
        ):
            fired.append(True)
            act(pg, ticket.id, lc.Dispatch(main_unit="市住建局"), at=T0)

    event.listen(pg, "after_cursor_execute", other_operator)
    try:
        with pytest.raises(ConcurrentUpdate):
            act(pg, ticket.id, lc.Dispatch(main_unit=MAIN), at=T0)
    finally:
        event.remove(pg, "after_cursor_execute", other_operator)
    with Session(pg) as session:
        assert service.get_ticket(session=session, ticket_id=ticket.id).version == 1


def test_given_postgres_when_a_bad_list_is_imported_then_nothing_is_kept(pg):
    with Session(pg) as session:
        matters = session.exec(select(func.count()).select_from(Matter)).one()
    text = export_csv_text(pg) + "Z-1,坏行,市不存在局,,none,词,\n"

    with pytest.raises(ResponsibilityFileError) as bad, session_scope(pg) as session:
        import_list(session=session, text=text, path="bad.csv")

    assert bad.value.field == "main_unit"
    with Session(pg) as session:
        assert session.exec(select(func.count()).select_from(Matter)).one() == matters
        assert session.exec(select(func.count()).select_from(Unit)).one() > 23


def export_csv_text(engine: Engine) -> str:
    with Session(engine) as session:
        return export_csv(session=session)


def run_sequence(engine: Engine) -> dict[str, Any]:
    """One realistic day on a store; the result is everything a user could see of it."""
    with session_scope(engine) as session:
        load_default_list(session=session)
    first, second, third = create(engine), create(engine), create(engine)
    t = T0 + timedelta(minutes=1)
    act(engine, first.id, lc.Dispatch(main_unit=MAIN, assist_units=("城关街道",)), at=t)
    act(engine, first.id, lc.Sign(unit=MAIN), at=t + timedelta(minutes=70))
    act(engine, first.id, lc.RequestExtension(unit=MAIN, days=3, reason="取证"), at=t)
    act(engine, first.id, lc.DecideExtension(approve=True), at=t + timedelta(hours=1))
    with session_scope(engine) as session:
        service.merge_tickets(session=session, child_id=third.id, parent_id=first.id,
                              actor="op-1", now=t)
    act(engine, second.id, lc.Dispatch(main_unit="市住建局"), at=t)
    act(engine, second.id, lc.Return(unit="市住建局", reason="非本单位职责"), at=t)
    act(engine, second.id, lc.ReviewReturn(redispatch_to=MAIN), at=t + timedelta(minutes=5))
    lights = []
    for minutes in (40, 60, 120, 60 * 24 * 3):
        with session_scope(engine) as session:
            lights += [(c.number, c.before, c.after, c.main_unit) for c in lights_changed(
                session=session, now=t + timedelta(minutes=minutes))]
    with Session(engine) as session:
        tickets = session.exec(select(Ticket).order_by(col(Ticket.id))).all()
        events = session.exec(select(TicketEvent).order_by(col(TicketEvent.id))).all()
        return {
            "tickets": [(x.number, x.status, x.version, x.light, x.deadline, x.parent_id,
                         x.handling_deadline, x.state) for x in tickets],
            "events": [(e.ticket_id, e.seq, e.action, e.before_status, e.after_status, e.at,
                        e.payload) for e in events],
            "lights": lights,
            "list": (export_yaml(session=session), export_csv(session=session)),
            "replays": [service.replay_ticket(session=session, ticket_id=x.id)
                        == service.state_of(x) for x in tickets],
        }


def test_given_the_same_sequence_when_run_on_sqlite_and_postgres_then_identical(
    pg_engine, sqlite_engine  # noqa: F811
):
    on_sqlite, on_postgres = run_sequence(sqlite_engine), run_sequence(pg_engine)

    assert on_postgres == on_sqlite
    assert on_postgres["replays"] == [True, True, True]
    assert on_postgres["lights"]  # something turned yellow or red


def test_given_a_ticket_changed_during_the_scan_then_only_the_others_are_published(pg):
    scan_with_a_race(pg, create, act)
