"""The change outbox reader: order, unit filter, and ids that commit out of order."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from hotline.db import session_scope
from hotline.tickets.changes import changes_after
from hotline.tickets.models import ChangeKind, Light, Ticket, TicketChange

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _rows(engine: Engine, ids_and_ages: list[tuple[int, float, list[int]]]) -> None:
    with session_scope(engine) as session:
        ticket = Ticket(number="20261123-00001", request_type="help", created_at=NOW,
                        updated_at=NOW, status="accepted", state={})
        session.add(ticket)
        session.flush()
        assert ticket.id is not None
        for change_id, age, units in ids_and_ages:
            session.add(TicketChange(
                id=change_id, ticket_id=ticket.id, number=ticket.number, kind=ChangeKind.EVENT,
                action="x", status="accepted", light=Light.GREEN, unit_ids=units,
                at=NOW - timedelta(seconds=age)))


def test_a_young_gap_holds_the_reader_back_until_it_fills_or_grows_old(
        sqlite_engine: Engine) -> None:
    _rows(sqlite_engine, [(1, 60, []), (2, 60, [7]), (4, 1, [7])])
    with session_scope(sqlite_engine) as session:
        batch = changes_after(session=session, cursor=0, now=NOW)
        assert [c.id for c in batch.changes] == [1, 2] and batch.cursor == 2
        later = changes_after(session=session, cursor=2, now=NOW + timedelta(seconds=10))
        assert [c.id for c in later.changes] == [4] and later.cursor == 4  # 3 rolled back


def test_a_unit_gets_only_its_changes_but_its_cursor_moves_past_the_others(
        sqlite_engine: Engine) -> None:
    _rows(sqlite_engine, [(1, 60, [3]), (2, 60, [7]), (3, 60, [3, 7]), (4, 60, [])])
    with session_scope(sqlite_engine) as session:
        batch = changes_after(session=session, cursor=0, now=NOW, unit_id=7)
        assert [c.id for c in batch.changes] == [2, 3] and batch.cursor == 4
