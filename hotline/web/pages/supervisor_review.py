"""The supervisor's workspace (督办工作台): a small live wall, unit replies to review, extension
requests to decide, and the overdue (red) list.

    GET  /supervisor                                   the workspace
    GET  /supervisor/review                            its review panel (fragment, for htmx)
    GET  /supervisor/wall                              its live wall (fragment, polled by htmx)
    POST /supervisor/tickets/{number}/review           审核: approve, or send back with reason
    POST /supervisor/tickets/{number}/extension        延期审批: approve or refuse

The actions are the life-cycle's ``review`` and ``decide_extension`` (``service.act``, the
same as ``POST /api/tickets/{number}/review`` and ``/extension-decision``), checked against
the version the page showed: a ticket changed meanwhile is refused and shown again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, func, select

from hotline.calls.models import Call
from hotline.errors import HotlineError
from hotline.oversight.notices import recent_warnings
from hotline.seats.models import Seat, SeatState
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.http import (
    ROLES_BY_ACTION,
    _unit_names,
    announce_change,
    summary,
    ticket_rules,
)
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import ExtensionRequest, Light, Reply, Ticket
from hotline.tickets.queries import TicketQuery, count_by_light, list_tickets
from hotline.users.errors import RoleNotAllowed
from hotline.users.models import Role, User, as_utc
from hotline.web.deps import Now, SessionDep
from hotline.web.errors import status_for
from hotline.web.pages.common import page_user, render
from hotline.web.pages.supervisor_charts import workspace_charts

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[User, Depends(page_user(Role.supervisor))]
WallViewer = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
LIST_LIMIT = 50
OPEN_CALL_WINDOW = timedelta(hours=12)  # a call never hung up (lost event) stops counting


def review_context(session: Session, now: datetime) -> dict[str, Any]:
    replied = list_tickets(session=session, query=TicketQuery(
        status=[Status.REPLIED.value], limit=LIST_LIMIT)).items
    red = list_tickets(session=session, query=TicketQuery(
        light=[Light.RED], limit=LIST_LIMIT)).items
    pending = session.exec(
        select(ExtensionRequest, Ticket).join(Ticket, col(Ticket.id) == ExtensionRequest.ticket_id)
        .where(col(ExtensionRequest.decision) == "pending")
        .order_by(col(ExtensionRequest.requested_at)).limit(LIST_LIMIT)).all()
    tickets = [*replied, *red, *(t for _, t in pending)]
    units = _unit_names(session, {t.main_unit_id for t in tickets}
                        | {e.unit_id for e, _ in pending})
    replies = _last_replies(session, [t.id for t in replied if t.id is not None])

    def view(t: Ticket) -> Any:
        return summary(t, now=now, units=units, phone=t.caller_phone)

    return {
        "replied": [(view(t), replies.get(t.id or 0)) for t in replied],
        "extensions": [(e, view(t), units.get(e.unit_id, "")) for e, t in pending],
        "red": [view(t) for t in red],
    }


def _last_replies(session: Session, ticket_ids: list[int]) -> dict[int, Reply]:
    if not ticket_ids:
        return {}
    rows = session.exec(select(Reply).where(col(Reply.ticket_id).in_(ticket_ids))
                        .order_by(col(Reply.id))).all()
    return {r.ticket_id: r for r in rows}  # the last one of each ticket wins


@dataclass(frozen=True)
class SeatView:
    name: str
    interface: str
    state: str  # a SeatState value, or "in_call"
    label: str
    reason: str


SEAT_ORDER = ("in_call", SeatState.ready.value, SeatState.after_call.value,
              SeatState.paused.value, SeatState.offline.value)


def wall(session: Session, now: datetime) -> dict[str, Any]:
    """Calls in progress, callers waiting and the longest wait, seats by state, tickets by
    light. Every call query is a range on the ``started_at`` index (the open-call window)."""
    recent = col(Call.started_at) > now - OPEN_CALL_WINDOW
    open_call = col(Call.ended_at).is_(None)
    in_progress = session.exec(select(func.count()).select_from(Call)
                               .where(open_call, recent)).one()
    waiting, first_joined = session.exec(
        select(func.count(), func.min(Call.queue_joined_at)).select_from(Call).where(
            open_call, col(Call.queue_joined_at).is_not(None),
            col(Call.queue_left_at).is_(None), recent)).one()
    longest = (max(0, int((now - as_utc(first_joined)).total_seconds()))
               if first_joined is not None else None)
    talking = {a for a in session.exec(select(Call.answered_by).where(
        open_call, col(Call.answered_at).is_not(None), recent)).all() if a}
    seats = _seats(session, talking)
    return {"calls": int(in_progress), "waiting": int(waiting), "longest_wait": longest,
            "seats": seats, "lights": count_by_light(session=session)}


def _seats(session: Session, talking: set[str]) -> dict[str, list[SeatView]]:
    """The seats grouped by state; a seat answering an open call is 通话中 whatever its
    stored state (the queue pauses nothing while the member talks)."""
    grouped: dict[str, list[SeatView]] = {state: [] for state in SEAT_ORDER}
    rows = session.exec(select(Seat, User).join(User, col(User.id) == Seat.user_id)
                        .order_by(col(Seat.interface))).all()
    for seat, user in rows:
        name = user.display_name or user.username
        if seat.state != SeatState.offline and (
                seat.member_name in talking or seat.interface in talking):
            view = SeatView(name, seat.interface, "in_call", "通话中", "")
        else:
            state = SeatState(seat.state)
            view = SeatView(name, seat.interface, state.value, state.label,
                            seat.reason if state is SeatState.paused else "")
        grouped[view.state].append(view)
    return grouped


@router.get("/supervisor", response_class=HTMLResponse)
def workspace(request: Request, session: SessionDep, user: Supervisor,
              now: Now) -> HTMLResponse:
    return render(request, "supervisor/workspace.html", user=user, wall=wall(session, now),
                  charts=workspace_charts(session=session, now=now),
                  warnings=recent_warnings(session=session, now=now, unit_id=None),
                  **review_context(session, now))


@router.get("/supervisor/wall", response_class=HTMLResponse)
def wall_fragment(request: Request, session: SessionDep, user: WallViewer,
                  now: Now) -> HTMLResponse:
    return render(request, "supervisor/wall.html", user=user, wall=wall(session, now))


@router.get("/supervisor/review", response_class=HTMLResponse)
def review_panel(request: Request, session: SessionDep, user: Supervisor,
                 now: Now) -> HTMLResponse:
    return _panel(request, session, user, now)


def _panel(request: Request, session: Session, user: User, now: datetime,
           error: HotlineError | None = None, done: str = "") -> HTMLResponse:
    """The review panel; after a refused action, with the error and its status (htmx swaps
    4xx answers in place)."""
    return render(request, "supervisor/review.html", user=user, error=error, done=done,
                  status_code=status_for(error) if error is not None else 200,
                  **review_context(session, now))


def _act(request: Request, session: Session, user: User, now: datetime, *, number: str,
         version: int | None, action: lc.Action) -> HTMLResponse:
    try:
        if user.role not in ROLES_BY_ACTION[action.name]:
            raise RoleNotAllowed(user.role, allowed=sorted(
                r.value for r in ROLES_BY_ACTION[action.name]))
        ticket = service.get_by_number(session=session, number=number)
        assert ticket.id is not None
        service.act(session=session, ticket_id=ticket.id, action=action, actor=user.username,
                    now=now, expected_seq=version, rules=ticket_rules(request))
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _panel(request, session, user, now, error=exc)
    announce_change(request)
    return _panel(request, session, user, now, done=number)


@router.post("/supervisor/tickets/{number}/review", response_class=HTMLResponse)
def review(number: str, request: Request, session: SessionDep, user: Supervisor, now: Now,
           approve: Annotated[bool, Form()],
           reason: Annotated[str, Form(max_length=2000)] = "",
           version: Annotated[int | None, Form()] = None) -> HTMLResponse:
    return _act(request, session, user, now, number=number, version=version,
                action=lc.Review(approve=approve, reason=reason.strip()))


@router.post("/supervisor/tickets/{number}/extension", response_class=HTMLResponse)
def decide_extension(number: str, request: Request, session: SessionDep, user: Supervisor,
                     now: Now, approve: Annotated[bool, Form()],
                     reason: Annotated[str, Form(max_length=2000)] = "",
                     version: Annotated[int | None, Form()] = None) -> HTMLResponse:
    return _act(request, session, user, now, number=number, version=version,
                action=lc.DecideExtension(approve=approve, reason=reason.strip()))
