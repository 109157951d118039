"""The benchmark's seeder (``hotline.bench.seed``) writes work orders the real code can work
with, on SQLite and on PostgreSQL: each replays to its stored state, the service acts on them,
list and search find them, the light scan finds the overdue ones, and new tickets number on.
A small seed; how fast anything runs is the benchmark's business, never asserted here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from hotline.bench.seed import (
    ASSIGNMENT_COLUMNS,
    EVENT_COLUMNS,
    RARE,
    TICKET_COLUMNS,
    SeedPlan,
    SeedReport,
    seed_database,
)
from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.lights import from_stored, marks, worse
from hotline.tickets.models import (
    Assignment,
    Ticket,
    TicketCounter,
    TicketCreate,
    TicketEvent,
    TicketType,
    Unit,
)
from hotline.tickets.queries import TicketQuery, list_tickets
from hotline.tickets.rules import allowed_actions
from hotline.tickets.scheduler import LightScheduler
from hotline.tickets.units import load_default_list
from tests.fresh_db import fresh_database
from tests.pg import postgres_server, sqlite_template  # noqa: F401

# A month of tickets, so that a small seed still holds every kind of open ticket.
PLAN = SeedPlan(n=2000, days=30, seed=3, batch=500)


@dataclass
class Seeded:
    engine: Engine
    report: SeedReport


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Seeded]:
    with fresh_database(request, tmp_path_factory, "bench_seed",
                        postgres=request.param == "postgres") as engine:
        with session_scope(engine) as session:
            load_default_list(session=session)
        yield Seeded(engine, seed_database(engine, PLAN))


def tickets(engine: Engine, *statuses: str) -> list[Ticket]:
    with Session(engine) as session:
        statement = select(Ticket).order_by(col(Ticket.id))
        if statuses:
            statement = statement.where(col(Ticket.status).in_(statuses))
        return list(session.exec(statement).all())


def test_the_seeder_writes_every_column_the_tables_have() -> None:
    assert set(TICKET_COLUMNS) == set(Ticket.__table__.columns.keys())  # type: ignore[attr-defined]
    assert set(EVENT_COLUMNS) == set(TicketEvent.__table__.columns.keys())  # type: ignore[attr-defined]
    assert set(ASSIGNMENT_COLUMNS) == set(Assignment.__table__.columns.keys())  # type: ignore[attr-defined]


def test_given_a_seed_then_numbers_counters_and_spread_are_those_of_real_tickets(
    seeded: Seeded,
) -> None:
    rows = tickets(seeded.engine)
    report = seeded.report
    assert len(rows) == report.tickets == PLAN.n
    assert [t.id for t in rows] == list(range(1, PLAN.n + 1))  # ids in creation order
    assert all(a.created_at <= b.created_at for a, b in zip(rows, rows[1:], strict=False))
    per_day = Counter(t.number[:8] for t in rows)
    with Session(seeded.engine) as session:
        counters = {c.day: c.last for c in session.exec(select(TicketCounter)).all()}
        events = session.execute(text("SELECT count(*) FROM ticketevent")).scalar_one()
    assert counters == dict(per_day)
    assert sorted(t.number for t in rows if t.number[:8] == rows[-1].number[:8])[-1] == (
        f"{rows[-1].number[:8]}-{per_day[rows[-1].number[:8]]:05d}")
    assert events == report.events == sum(t.version + 1 for t in rows)
    statuses = Counter(t.status for t in rows)
    assert statuses == Counter(report.statuses)
    assert {"dispatched", "signed", "in_progress", "replied", "revisit", "closed",
            "archived", "parked", "transferred"} <= set(statuses), statuses
    types = Counter(t.request_type for t in rows)
    assert types.most_common(1)[0][0] == TicketType.CONSULTATION
    assert len({t.caller_phone for t in rows}) < len(rows)  # some callers call again


def test_every_seeded_ticket_replays_to_its_stored_state_and_columns(seeded: Seeded) -> None:
    with Session(seeded.engine) as session:
        names = {u.id: u.name for u in session.exec(select(Unit)).all()}
        held: dict[int, dict[str, str]] = {}
        for a in session.exec(select(Assignment)).all():
            held.setdefault(a.ticket_id, {})[names[a.unit_id]] = a.status
        for ticket in session.exec(select(Ticket)).all():
            assert ticket.id is not None
            state = service.state_of(ticket)
            assert service.replay_ticket(session=session, ticket_id=ticket.id) == state
            assert (ticket.status, ticket.number) == (state.status, state.ticket_id)
            main = state.main_assignment()
            assert names.get(ticket.main_unit_id) == (main.unit if main else None)
            latest = {a.unit: str(a.status) for a in state.assignments}
            assert held.get(ticket.id, {}) == latest, ticket.number
            assert ticket.handling_deadline == state.handling_deadline
            assert (ticket.light == "none") == (not state.running_clocks())


def test_given_seeded_open_tickets_then_the_service_acts_on_them(seeded: Seeded) -> None:
    dispatched = tickets(seeded.engine, "dispatched")
    in_progress = tickets(seeded.engine, "in_progress")
    assert dispatched and in_progress
    now = PLAN.now
    with session_scope(seeded.engine) as session:
        ticket = dispatched[0]
        main = service.state_of(ticket).main_assignment()
        assert main is not None
        signed = service.act(session=session, ticket_id=ticket.id, action=lc.Sign(main.unit),
                             actor="h", now=now, expected_seq=ticket.version)
        assert (signed.status, signed.version) == ("signed", ticket.version + 1)
        worked = next(t for t in in_progress if "reply" in _main_can(t, now))
        main = service.state_of(worked).main_assignment()
        assert main is not None
        replied = service.act(session=session, ticket_id=worked.id,
                              action=lc.Reply(main.unit, "已办理"), actor="h", now=now)
        assert replied.status == "replied"
    with Session(seeded.engine) as session:
        for ticket_id in (ticket.id, worked.id):
            stored = service.state_of(service.get_ticket(session=session, ticket_id=ticket_id))
            assert service.replay_ticket(session=session, ticket_id=ticket_id) == stored


def _main_can(ticket: Ticket, now: datetime) -> tuple[str, ...]:
    state = service.state_of(ticket)
    main = state.main_assignment()
    return allowed_actions(state, now=now, actor_unit=main.unit) if main else ()


def test_a_new_ticket_after_the_seed_takes_the_next_number_and_id(seeded: Seeded) -> None:
    last = tickets(seeded.engine)[-1]
    with session_scope(seeded.engine) as session:
        new = service.create_ticket(
            session=session, now=PLAN.now + timedelta(minutes=1), actor="op",
            draft=TicketCreate(request_type=TicketType.HELP, description="路灯不亮"),
        )
    day = PLAN.now.strftime("%Y%m%d")
    assert new.number == f"{day}-{int(last.number[9:]) + 1:05d}"
    assert new.id == PLAN.n + 1


def test_list_and_search_find_the_seeded_words(seeded: Seeded) -> None:
    rows = tickets(seeded.engine)
    with Session(seeded.engine) as session:
        for ticket in rows[::97]:
            word = ticket.search_terms.split(" ")[0]
            page = list_tickets(session=session, query=TicketQuery(
                text=word, created_from=ticket.created_at,
                created_to=ticket.created_at + timedelta(microseconds=1)))
            assert ticket.id in {t.id for t in page.items}, (word, ticket.number)
        rare = next(w for w in RARE if any(w in t.description for t in rows))
        found, cursor = set(), None
        while True:
            page = list_tickets(session=session, query=TicketQuery(text=rare, cursor=cursor))
            found |= {t.id for t in page.items}
            if (cursor := page.next_cursor) is None:
                break
    assert found == {t.id for t in rows if rare in t.description}


def test_the_light_scan_publishes_every_seeded_ticket_turned_yellow_or_red(
    seeded: Seeded,
) -> None:
    now, limits = PLAN.now, service.DEFAULT_RULES.limits
    expected = {}
    for ticket in tickets(seeded.engine):
        state, before = service.state_of(ticket), from_stored(ticket.light)
        current = marks(state, now=now, published=before, yellow_share=limits.yellow_share,
                        calendar=service.DEFAULT_RULES.calendar).current
        if worse(current, before):
            expected[ticket.id] = str(current)
    assert {"yellow", "red"} <= set(expected.values())
    scheduler = LightScheduler(engine=seeded.engine, clock=lambda: now)
    assert scheduler.run_once() == len(expected)
    assert scheduler.run_once() == 0
    with Session(seeded.engine) as session:
        lights = dict(session.exec(select(Ticket.id, Ticket.light)
                                   .where(col(Ticket.id).in_(expected))).all())
    assert lights == expected
