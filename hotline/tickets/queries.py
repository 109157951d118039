"""Finding tickets: filters, free text and keyset pages, the same on SQLite and PostgreSQL.

Lists are newest first, ordered by ``(created_at, id)`` and cut into pages by a cursor (the
last row's ``created_at`` and ``id``), never by OFFSET: page 5,000 costs what page 1 costs.
Every filter has an index that walks in that order (migration 0004).

Free text is matched word by word: the ticket's description, location and caller name are cut
by jieba in search mode into ``search_terms`` when the ticket is created; the query is planned
like a knowledge-base query (``plan_query``: each word with its sub-words and synonyms is one
group) and a ticket matches when it holds some word of every group. The newest tickets are
read first (a frequent word is found among them); a rarer word is looked up in an index: the
FTS5 table ``ticket_fts`` on SQLite, a GIN index on the words as an array on PostgreSQL.

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

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    column,
    exists,
    func,
    inspect,
    literal,
    or_,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Text
from sqlmodel import Session, col, select

from hotline.errors import HotlineError
from hotline.knowledge.search import plan_query, segment
from hotline.tickets.models import Assignment, Light, Ticket, TicketType

PAGE_MAX = 200
WALK_ROWS = 5000  # newest tickets read for the words before asking an index (``_page_ids``)
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


def _word_groups(words: str) -> tuple[list[list[str]], list[str]]:
    """The query's search words by meaning: a ticket matches with a word of every group."""
    plan = plan_query(words)
    groups: dict[int, list[str]] = {}
    for term in plan.terms:
        groups.setdefault(term.group, []).append(term.token)
    return list(groups.values()), plan.tokens()


def _holds(session: Session, groups: list[list[str]]) -> ColumnElement[bool]:
    """The ticket holds some word of every group; PostgreSQL's GIN index answers this too."""
    if session.get_bind().dialect.name == "postgresql":
        array = func.string_to_array(col(Ticket.search_terms), literal(" "))
        return and_(*(array.op("&&")(literal(tokens, ARRAY(Text))) for tokens in groups))
    padded = literal(" ") + col(Ticket.search_terms) + literal(" ")
    return and_(*(or_(*(func.instr(padded, f" {token} ") > 0 for token in tokens))
                   for tokens in groups))


def _fts_condition(groups: list[list[str]]) -> ColumnElement[bool]:
    """SQLite: ``_holds`` answered by the FTS5 table."""
    match = " AND ".join("(" + " OR ".join(map(_fts_phrase, tokens)) + ")" for tokens in groups)
    matching = text("SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :match").bindparams(
        match=match
    ).columns(column("rowid", Integer))
    return col(Ticket.id).in_(matching)


def _fts_phrase(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _page_ids(
    session: Session, groups: list[list[str]], conditions: list[ColumnElement[bool]], need: int
) -> list[int] | None:
    """The ids of the page of tickets holding the words, or None: let FTS5 find them.

    An index of words hands over every matching ticket, and each must then be read to be
    ordered by date: quick for a rare word, seconds for a word in half the tickets. So first
    the newest ``WALK_ROWS`` tickets that pass the other filters are read in order, looking for
    the words in their own ``search_terms``: enough for a frequent word. Only when they hold
    too few does the index answer (PostgreSQL's planner is kept to its GIN index then, since
    it cannot know how rare a word outside its statistics is).
    """
    holds = _holds(session, groups)
    newest = session.execute(
        select(col(Ticket.id), holds).where(*conditions)
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc()).limit(WALK_ROWS)
    ).all()
    found = [ticket_id for ticket_id, held in newest if held][:need]
    if len(found) == need or len(newest) < WALK_ROWS:
        return found
    if session.get_bind().dialect.name != "postgresql":
        return None
    matching = select(col(Ticket.id), col(Ticket.created_at)).where(*conditions, holds).cte(
        "matching"
    ).prefix_with("MATERIALIZED")
    return list(session.execute(
        select(matching.c.id).order_by(matching.c.created_at.desc(), matching.c.id.desc())
        .limit(need)
    ).scalars())


def list_tickets(*, session: Session, query: TicketQuery) -> TicketPage:
    if query.created_from and query.created_to and query.created_from >= query.created_to:
        raise InvalidQuery("created_from must be before created_to", field="created_from")
    limit = max(1, min(query.limit, PAGE_MAX))
    conditions = _filters(session, query)
    text_words = query.text.strip()
    words: list[str] = []
    if NUMBER.match(text_words):
        conditions.append(col(Ticket.number) == _pad_number(text_words))
    elif text_words:
        groups, words = _word_groups(text_words)
        if not groups:
            return TicketPage(items=[], next_cursor=None)
        ids = _page_ids(session, groups, conditions, limit + 1)
        conditions.append(_fts_condition(groups) if ids is None else col(Ticket.id).in_(ids))
    statement = select(Ticket).where(*conditions).order_by(
        col(Ticket.created_at).desc(), col(Ticket.id).desc()
    ).limit(limit + 1)
    rows = list(session.exec(statement).all())
    more = len(rows) > limit
    items = rows[:limit]
    return TicketPage(items=items, next_cursor=encode_cursor(items[-1]) if more else None,
                      words=words)


def _filters(session: Session, query: TicketQuery) -> list[ColumnElement[bool]]:
    """Every condition of ``query`` but its words."""
    conditions: list[ColumnElement[bool]] = []
    if query.status and query.unit_id is not None:
        conditions += _unit_and_status(session, query.unit_id, query.status)
    elif query.status:
        conditions.append(col(Ticket.status).in_(list(query.status)))
    elif query.unit_id is not None:
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
        # A row value, so that both databases seek to the cursor in the index of the order.
        # (Typed as the column: a tuple's values would not be stored as ``created_at`` is.)
        created_type = inspect(Ticket).columns["created_at"].type
        conditions.append(tuple_(col(Ticket.created_at), col(Ticket.id)) < tuple_(
            literal(created, created_type), literal(ticket_id)))
    return conditions


def _unit_and_status(
    session: Session, unit_id: int, status: Sequence[str]
) -> list[ColumnElement[bool]]:
    """SQLite walks a unit's tickets newest first and reads each one's status, through every
    ticket of the unit when it rarely has that status (a parked ticket of a large department).
    Fewer than ``WALK_ROWS`` such tickets are taken from ``ix_ticket_main_unit_status`` and
    sorted instead; PostgreSQL's planner knows how many there are."""
    conditions = [col(Ticket.main_unit_id) == unit_id, col(Ticket.status).in_(list(status))]
    if session.get_bind().dialect.name != "sqlite":
        return conditions
    few = select(col(Ticket.id)).where(*conditions)
    counted = select(func.count()).select_from(few.limit(WALK_ROWS).subquery())
    if session.execute(counted).scalar_one() < WALK_ROWS:
        return [col(Ticket.id).in_(few)]
    return conditions


def _pad_number(number: str) -> str:
    day, _, seq = number.partition("-")
    return f"{day}-{int(seq):05d}"


def count_by_light(*, session: Session, unit_id: int | None = None) -> dict[str, int]:
    """Open tickets by light (``none`` excluded), for the wall and the unit's inbox."""
    # IN the lit values, not != none: each value is a seek into ix_ticket_light_unit, where
    # != read the whole index (a million closed tickets: 60 ms on the supervisor's wall)
    lit = [light.value for light in Light if light is not Light.NONE]
    statement = select(Ticket.light, func.count()).where(col(Ticket.light).in_(lit))
    if unit_id is not None:
        statement = statement.where(col(Ticket.main_unit_id) == unit_id)
    rows = session.exec(statement.group_by(col(Ticket.light))).all()
    return {str(light): int(n) for light, n in rows}
