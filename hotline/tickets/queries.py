"""Finding tickets: filters, free text and keyset pages, the same on SQLite and PostgreSQL.

Lists are newest first, ordered by ``(created_at, id)`` and cut into pages by a cursor (the
last row's ``created_at`` and ``id``), never by OFFSET: page 5,000 costs what page 1 costs.
Every filter has an index that walks in that order (migration 0004).

Free text is matched word by word: the ticket's description, location and caller name are cut
by jieba in search mode into ``search_terms`` when the ticket is created; the query is planned
like a knowledge-base query (``plan_query``: each word with its sub-words and synonyms is one
group) and a ticket matches when it holds some word of every group. SQLite answers from the
FTS5 table ``ticket_fts``, PostgreSQL from a GIN index on the words as an array.

    >>> query = TicketQuery(text="路灯 不亮", status=["dispatched"])
    >>> page = list_tickets(session=session, query=query)  # doctest: +SKIP
    >>> page.items, page.next_cursor  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, and_, column, exists, func, literal, or_, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Text
from sqlmodel import Session, col, select

from hotline.errors import HotlineError
from hotline.knowledge.search import plan_query, segment
from hotline.tickets.models import Assignment, Light, Ticket, TicketType

PAGE_MAX = 200
NUMBER = re.compile(r"^\d{8}-\d{1,5}$")


class InvalidQuery(HotlineError):
    """A list request that cannot be answered (a cursor that is not ours, a reversed range)."""

    error_id = "invalid-ticket-query"
    status_code = 422


def search_terms_for(*texts: str) -> str:
    """The space-separated search words stored with a ticket (``Ticket.search_terms``)."""
    words = dict.fromkeys(w for t in texts if t for w in segment(t) if " " not in w)
    return " ".join(words)


@dataclass(frozen=True)
class TicketQuery:
    status: Sequence[str] = ()
    unit_id: int | None = None  # main unit
    request_type: Sequence[TicketType] = ()
    light: Sequence[Light] = ()
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive
    text: str = ""
    caller_phone: str | None = None
    visible_to_unit: int | None = None  # a unit handler: tickets the unit holds an assignment on
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class TicketPage:
    items: list[Ticket]
    next_cursor: str | None  # None on the last page
    words: list[str] = field(default_factory=list)  # the words searched, for highlighting


def encode_cursor(ticket: Ticket) -> str:
    raw = json.dumps([ticket.created_at.isoformat(), ticket.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, ticket_id = json.loads(raw)
        return datetime.fromisoformat(stamp), int(ticket_id)
    except (ValueError, TypeError) as exc:
        raise InvalidQuery(f"cursor {cursor!r} is not one this server gave out",
                           field="cursor") from exc


def _text_condition(session: Session, words: str) -> tuple[ColumnElement[bool] | None, list[str]]:
    plan = plan_query(words)
    if not plan:
        return None, []
    groups: dict[int, list[str]] = {}
    for term in plan.terms:
        groups.setdefault(term.group, []).append(term.token)
    if session.get_bind().dialect.name == "postgresql":
        array = func.string_to_array(col(Ticket.search_terms), literal(" "))
        conditions = [array.op("&&")(literal(tokens, ARRAY(Text))) for tokens in groups.values()]
        return and_(*conditions), plan.tokens()
    match = " AND ".join(
        "(" + " OR ".join(_fts_phrase(t) for t in tokens) + ")" for tokens in groups.values()
    )
    matching = text("SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :match").bindparams(
        match=match
    ).columns(column("rowid", Integer))
    return col(Ticket.id).in_(matching), plan.tokens()


def _fts_phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def list_tickets(*, session: Session, query: TicketQuery) -> TicketPage:
    if query.created_from and query.created_to and query.created_from >= query.created_to:
        raise InvalidQuery("created_from must be before created_to", field="created_from")
    limit = max(1, min(query.limit, PAGE_MAX))
    statement = select(Ticket)
    conditions: list[ColumnElement[bool]] = []
    text_words = query.text.strip()
    words: list[str] = []
    if NUMBER.match(text_words):
        conditions.append(col(Ticket.number) == _pad_number(text_words))
    elif text_words:
        condition, words = _text_condition(session, text_words)
        if condition is None:
            return TicketPage(items=[], next_cursor=None)
        conditions.append(condition)
    if query.status:
        conditions.append(col(Ticket.status).in_(list(query.status)))
    if query.unit_id is not None:
        conditions.append(col(Ticket.main_unit_id) == query.unit_id)
    if query.request_type:
        conditions.append(col(Ticket.request_type).in_([t.value for t in query.request_type]))
    if query.light:
        conditions.append(col(Ticket.light).in_([light.value for light in query.light]))
    if query.created_from is not None:
        conditions.append(col(Ticket.created_at) >= query.created_from)
    if query.created_to is not None:
        conditions.append(col(Ticket.created_at) < query.created_to)
    if query.caller_phone:
        conditions.append(col(Ticket.caller_phone) == query.caller_phone)
    if query.visible_to_unit is not None:
        conditions.append(exists().where(
            col(Assignment.ticket_id) == col(Ticket.id),
            col(Assignment.unit_id) == query.visible_to_unit,
        ))
    if query.cursor is not None:
        created, ticket_id = decode_cursor(query.cursor)
        conditions.append(or_(
            col(Ticket.created_at) < created,
            and_(col(Ticket.created_at) == created, col(Ticket.id) < ticket_id),
        ))
    statement = statement.where(*conditions).order_by(
        col(Ticket.created_at).desc(), col(Ticket.id).desc()
    ).limit(limit + 1)
    rows = list(session.exec(statement).all())
    more = len(rows) > limit
    items = rows[:limit]
    return TicketPage(items=items, next_cursor=encode_cursor(items[-1]) if more else None,
                      words=words)


def _pad_number(number: str) -> str:
    day, _, seq = number.partition("-")
    return f"{day}-{int(seq):05d}"


def count_by_light(*, session: Session, unit_id: int | None = None) -> dict[str, int]:
    """Open tickets by light (``none`` excluded), for the wall and the unit's inbox."""
    statement = select(Ticket.light, func.count()).where(col(Ticket.light) != Light.NONE.value)
    if unit_id is not None:
        statement = statement.where(col(Ticket.main_unit_id) == unit_id)
    rows = session.exec(statement.group_by(col(Ticket.light))).all()
    return {str(light): int(n) for light, n in rows}
