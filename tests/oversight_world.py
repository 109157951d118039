"""A database with the default responsibility list, and short hands for walking tickets
through the real service, for the oversight tests (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.models import Matter, TicketCreate, TicketType
from hotline.tickets.units import load_default_list
from tests.api import CENTER

CG, ZJ, SJ = "市城管局", "市住建局", "市市场监管局"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CENTER)  # Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in November/December 2026 in the center (``day`` 33 is 3 December)."""
    return datetime(2026, 11, 1, hour, minute, tzinfo=CENTER) + timedelta(days=day - 1)


@dataclass
class Desk:
    engine: Engine

    def new(self, *, matter: str | None = None, now: datetime = T0 - timedelta(minutes=5),
            kind: TicketType = TicketType.HELP) -> int:
        with session_scope(self.engine) as session:
            matter_id = _matter_id(session, matter) if matter else None
            ticket = service.create_ticket(
                session=session, draft=TicketCreate(request_type=kind, matter_id=matter_id,
                                                    caller_phone="13800000000"),
                now=now, actor="op")
            assert ticket.id is not None
            return ticket.id

    def dispatch(self, ticket_id: int, main: str, *assist: str, now: datetime = T0) -> None:
        with session_scope(self.engine) as session:
            service.dispatch(session=session, ticket_id=ticket_id, main_unit=main,
                             assist_units=assist, actor="op", now=now)

    def do(self, ticket_id: int, action: lc.Action, now: datetime) -> None:
        with session_scope(self.engine) as session:
            service.act(session=session, ticket_id=ticket_id, action=action, actor="x", now=now)

    def merge(self, child: int, parent: int, now: datetime) -> None:
        with session_scope(self.engine) as session:
            service.merge_tickets(session=session, child_id=child, parent_id=parent,
                                  actor="op", now=now)

    def number(self, ticket_id: int) -> str:
        with session_scope(self.engine) as session:
            return service.get_ticket(session=session, ticket_id=ticket_id).number

    def close_with(self, ticket_id: int, unit: str, *, replied: datetime,
                   results: tuple[lc.Satisfaction, ...], caller: str | None = None) -> None:
        """Reply, approve an hour later, revisit two hours later (the callers in order)."""
        self.do(ticket_id, lc.Reply(unit, "done"), replied)
        self.do(ticket_id, lc.Review(approve=True), replied + timedelta(hours=1))
        self.do(ticket_id, lc.StartRevisit(), replied + timedelta(hours=1, minutes=30))
        for i, result in enumerate(results):
            self.do(ticket_id, lc.Revisit(result, ticket_id=caller if i else None),
                    replied + timedelta(hours=2))


def _matter_id(session: Session, code: str) -> int:
    matter = session.exec(select(Matter).where(Matter.code == code)).one()
    assert matter.id is not None
    return matter.id


@pytest.fixture(params=["sqlite", "postgres"])
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                     else "pg_engine")
    with session_scope(engine) as session:
        load_default_list(session=session)
    yield Desk(engine)
