"""The tickets API: create, find, read, and one endpoint per life-cycle action.

    POST /api/tickets                          受理 (operator, supervisor)
    GET  /api/tickets?status=&unit=&type=&light=&from=&to=&q=&phone=&limit=&cursor=
    GET  /api/tickets/lights                   open tickets by light (a unit handler: theirs)
    GET  /api/tickets/{number}                 detail, with the actions the caller may take now
    GET  /api/tickets/{number}/events          the event log
    GET  /api/tickets/{number}/suggestion      the responsibility list's dispatch suggestion
    POST /api/tickets/{number}/<action>        see ``ACTIONS`` in ``http_actions.py``

Unit handlers see and act on the tickets their unit holds an assignment on, nothing else: a
list is filtered to them, another unit's ticket is 403. Their unit actions (sign, return, …)
act for their own unit; center actions are refused to them (403), as unit actions are to the
center's roles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session, col, select

from hotline.tickets import service
from hotline.tickets.models import (
    Assignment,
    ExtensionRequest,
    Light,
    Matter,
    Reply,
    SurveyResult,
    Ticket,
    TicketEventPublic,
    TicketType,
    Unit,
)
from hotline.tickets.queries import TicketQuery, count_by_light, list_tickets
from hotline.tickets.rules import allowed_actions
from hotline.tickets.schemas import (
    AssignmentView,
    LightCounts,
    TicketCreateRequest,
    TicketDetail,
    TicketList,
    TicketSummary,
)
from hotline.tickets.suggestion import Suggestion, dispatch_suggestion
from hotline.tickets.units import unit_ids
from hotline.users.errors import Forbidden
from hotline.users.models import Role, User
from hotline.web.deps import CurrentUser, Now, PhoneMask, SessionDep, mask_phone, require_roles

router = APIRouter(prefix="/api/tickets", tags=["tickets"])

TAKERS = Depends(require_roles(Role.operator, Role.supervisor))


class NotYourTicket(Forbidden):
    error_id = "ticket-of-another-unit"

    def __init__(self, number: str, unit: str) -> None:
        super().__init__(f"ticket {number} is not assigned to {unit}", ticket=number, unit=unit)


def ticket_rules(request: Request) -> service.Rules:
    """The deployment's rules (``app.state.ticket_rules``, set by ``include_api`` from the
    settings: the calendar with the configured holidays); the defaults when none is set."""
    rules = getattr(request.app.state, "ticket_rules", None)
    return rules if isinstance(rules, service.Rules) else service.DEFAULT_RULES


TicketRules = Annotated[service.Rules, Depends(ticket_rules)]


def announce_change(request: Request) -> None:
    """Wake the event streams after a commit (``app.state.ticket_changed``, if installed)."""
    hook = getattr(request.app.state, "ticket_changed", None)
    if callable(hook):
        hook()


def unit_of(session: Session, user: User) -> int | None:
    """The unit id of a unit handler, None for the center's roles."""
    if user.role != Role.unit_handler:
        return None
    assert user.unit_name is not None
    return unit_ids(session, (user.unit_name,))[user.unit_name]


def visible_ticket(session: Session, number: str, user: User) -> Ticket:
    """The ticket ``number`` if ``user`` may see it: 404 when unknown, 403 another unit's."""
    ticket = service.get_by_number(session=session, number=number)
    unit_id = unit_of(session, user)
    if unit_id is not None:
        held = session.exec(select(Assignment.id).where(
            Assignment.ticket_id == ticket.id, Assignment.unit_id == unit_id)).first()
        if held is None:
            raise NotYourTicket(number, user.unit_name or "")
    return ticket


def _unit_names(session: Session, ids: set[int | None]) -> dict[int | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(wanted))).all()
    return dict(rows)


def summary(ticket: Ticket, *, now: datetime, units: dict[int | None, str],
            phone: str | None) -> TicketSummary:
    left = None
    if ticket.deadline is not None and ticket.light != Light.NONE:
        left = int((ticket.deadline - now).total_seconds())
    return TicketSummary.model_validate(ticket, update={
        "caller_phone": phone, "main_unit": units.get(ticket.main_unit_id),
        "time_left_seconds": left,
    })


@router.post("", status_code=201, dependencies=[TAKERS], summary="Accept a ticket (受理)")
def create(body: TicketCreateRequest, request: Request, session: SessionDep, user: CurrentUser,
           now: Now, rules: TicketRules) -> TicketDetail:
    ticket = service.create_ticket(session=session, draft=body, now=now, actor=user.username,
                                   rules=rules)
    session.commit()
    announce_change(request)
    return detail(session, ticket, user=user, now=now)


@router.get("", summary="Find tickets, newest first, one page at a time")
def find(
    session: SessionDep, user: CurrentUser, mask: PhoneMask, now: Now,
    status: Annotated[list[str] | None, Query()] = None,
    unit: Annotated[str | None, Query(description="main unit's name")] = None,
    type: Annotated[list[TicketType] | None, Query()] = None,  # noqa: A002
    light: Annotated[list[Light] | None, Query()] = None,
    created_from: Annotated[datetime | None, Query(alias="from")] = None,
    created_to: Annotated[datetime | None, Query(alias="to")] = None,
    q: Annotated[str, Query(max_length=200, description="words, or a ticket number")] = "",
    phone: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TicketList:
    unit_id = unit_ids(session, (unit,))[unit] if unit else None
    page = list_tickets(session=session, query=TicketQuery(
        status=status or (), unit_id=unit_id, request_type=type or (), light=light or (),
        created_from=created_from, created_to=created_to, text=q, caller_phone=phone,
        visible_to_unit=unit_of(session, user), limit=limit, cursor=cursor,
    ))
    units = _unit_names(session, {t.main_unit_id for t in page.items})
    items = [summary(t, now=now, units=units, phone=mask(t.caller_phone)) for t in page.items]
    return TicketList(items=items, next_cursor=page.next_cursor, words=page.words)


@router.get("/lights", summary="Open tickets by light")
def lights(session: SessionDep, user: CurrentUser) -> LightCounts:
    return LightCounts.of(count_by_light(session=session, unit_id=unit_of(session, user)))


@router.get("/{number}", summary="One ticket, with what the caller may do to it now")
def read(number: str, session: SessionDep, user: CurrentUser, now: Now) -> TicketDetail:
    return detail(session, visible_ticket(session, number, user), user=user, now=now)


@router.get("/{number}/events", summary="The ticket's event log, oldest first")
def events(number: str, session: SessionDep, user: CurrentUser) -> list[TicketEventPublic]:
    ticket = visible_ticket(session, number, user)
    assert ticket.id is not None
    return [TicketEventPublic.model_validate(e)
            for e in service.events_of(session=session, ticket_id=ticket.id)]


@router.get("/{number}/suggestion", dependencies=[TAKERS],
            summary="Which unit the responsibility list suggests (谁主管谁负责, 属地管理)")
def suggestion(number: str, session: SessionDep, user: CurrentUser) -> Suggestion:
    ticket = visible_ticket(session, number, user)
    return dispatch_suggestion(session=session, matter_id=ticket.matter_id,
                               text=ticket.description, location=ticket.location)


def detail(session: Session, ticket: Ticket, *, user: User, now: datetime) -> TicketDetail:
    assert ticket.id is not None
    rows = session.exec(select(Assignment).where(Assignment.ticket_id == ticket.id)
                        .order_by(col(Assignment.id))).all()
    unit_id = unit_of(session, user)
    replies = _side(session, Reply, ticket.id)
    wanted: set[int | None] = {ticket.main_unit_id}
    wanted |= {a.unit_id for a in rows} | {r.unit_id for r in replies}
    units = _unit_names(session, wanted)
    state = service.state_of(ticket)
    on_site = {a.unit: (a.on_site_by, a.arrived_at) for a in state.assignments}  # latest wins
    actor_unit = units.get(unit_id) if unit_id is not None else None
    allowed = [a for a in allowed_actions(state, now=now, actor_unit=actor_unit)
               if user.role in ROLES_BY_ACTION.get(a, ())]
    phone = ticket.caller_phone if unit_id is not None else mask_phone(
        ticket.caller_phone, role=user.role)
    parent = session.get(Ticket, ticket.parent_id) if ticket.parent_id else None
    matter = session.get(Matter, ticket.matter_id) if ticket.matter_id else None
    return TicketDetail.model_validate(
        summary(ticket, now=now, units=units, phone=phone).model_dump(),
        update={
            "parent_number": parent.number if parent else None,
            "children": list(state.children),
            "assignments": [AssignmentView(
                unit=units[a.unit_id], role=a.role, status=a.status,
                dispatched_at=a.dispatched_at, sign_by=a.sign_by, signed_at=a.signed_at,
                on_site_by=on_site[units[a.unit_id]][0], arrived_at=on_site[units[a.unit_id]][1],
            ) for a in rows],
            "allowed_actions": allowed,
            "replies": [{"unit": units.get(r.unit_id), "text": r.text, "at": r.at,
                         "actor": r.actor} for r in replies],
            "extensions": [e.model_dump(exclude={"ticket_id"})
                           for e in _side(session, ExtensionRequest, ticket.id)],
            "surveys": [s.model_dump(exclude={"ticket_id"})
                        for s in _side(session, SurveyResult, ticket.id)],
            "matter": f"{matter.code} {matter.name}" if matter else None,
        },
    )


_Side = TypeVar("_Side", Reply, ExtensionRequest, SurveyResult)


def _side(session: Session, table: type[_Side], ticket_id: int) -> list[_Side]:
    return list(session.exec(select(table).where(col(table.ticket_id) == ticket_id)
                             .order_by(col(table.id))).all())


UNIT = frozenset({Role.unit_handler})
CENTER = frozenset({Role.operator, Role.supervisor})
REVISIT = frozenset({Role.callback_agent, Role.supervisor})
SUPERVISOR = frozenset({Role.supervisor})
ROLES_BY_ACTION: dict[str, frozenset[Role]] = {
    "dispatch": CENTER, "answer_now": frozenset({Role.operator}), "merge": CENTER,
    "emergency_transfer": frozenset({Role.operator}), "review_return": CENTER,
    "sign": UNIT, "arrive": UNIT, "return": UNIT, "start_handling": UNIT, "request_extension": UNIT,
    "reply": UNIT,
    "decide_extension": SUPERVISOR, "review": SUPERVISOR, "park": SUPERVISOR,
    "resume": SUPERVISOR, "archive": SUPERVISOR,
    "start_revisit": REVISIT, "revisit": REVISIT, "close": REVISIT,
}
