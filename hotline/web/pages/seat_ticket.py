"""Taking the call's ticket from the seat workspace, in one transaction each:

    POST /seat/tickets        the ticket form and what to do with it (``do``):
        dispatch      受理 + 派单 to main_unit (and assist_units), the list's suggestion kept
        answer_now    受理 + 即办 with ``answer`` (or a knowledge ``article_id``'s body)
        merge         受理 + 合并 into ``parent``
        emergency     受理 + 转警 to ``line`` (110 / 119 / 120 / 122)
    POST /seat/transfer       number, line: move the call of a 转警 ticket again (after a failure)
    POST /seat/not-request    call_uniqueid, not_request_reason, not_request_note: 无效来电, no
                              ticket (``hotline.intake.not_request``); the 受理 clock stops
    GET  /seat/knowledge?q=   knowledge base hits beside the form (fragment)

With a ``draft_id`` the call's draft is accepted (its transcript and call are kept); without
one the ticket is created from the form. A refused step writes nothing.

``emergency`` then moves the live call: once the ticket is stored, the caller's channel of the
call on the operator's seat is redirected to the line (``hotline.seats.transfer``). Whether it
moved or not is written to the audit log (action ``transfer``); a moved call's record says
``seat_transferred`` to ``emergency:<line>``; when it did not, the page says
so in red: the ticket keeps its 转警 record, and the operator, whose caller is still on the
line, tells them to dial the number themselves.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from hotline.audit.models import AuditAction
from hotline.audit.store import record_event
from hotline.calls.store import mark_seat_transfer
from hotline.errors import HotlineError
from hotline.intake.drafts import accept_draft
from hotline.intake.not_request import NOT_REQUEST_LABELS, NotRequest, mark_not_request
from hotline.knowledge import service as knowledge
from hotline.seats.service import seat_of
from hotline.seats.transfer import TransferFailed, transfer_to_emergency
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.http import announce_change
from hotline.tickets.models import Channel, Ticket, TicketCreate, TicketType
from hotline.tickets.suggestion import dispatch_suggestion
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep, client_address
from hotline.web.pages.common import error_fragment, page_user, render
from hotline.web.pages.seat_context import seat_console

router = APIRouter(prefix="/seat", include_in_schema=False)
Operator = Annotated[User, Depends(page_user(Role.operator))]
Do = Literal["dispatch", "answer_now", "merge", "emergency"]


class FormInvalid(HotlineError):
    error_id = "invalid-form"
    status_code = 422


def _ticket_fields(form: dict[str, str]) -> TicketCreate:
    try:
        return TicketCreate.model_validate({
            "channel": Channel.PHONE, "caller_phone": form.get("caller_phone", ""),
            "caller_name": form.get("caller_name", ""),
            "request_type": TicketType(form.get("request_type") or "help"),
            "urgency": form.get("urgency") or "normal", "location": form.get("location", ""),
            "description": form.get("description", "").strip(),
            "call_uniqueid": form.get("call_uniqueid") or None,
        })
    except (ValidationError, ValueError) as exc:
        raise FormInvalid(f"工单内容不完整：{exc}") from exc


def _take(session: Session, form: dict[str, str], *, user: User, now: Now) -> Ticket:
    fields = _ticket_fields(form)
    if not fields.description:
        raise FormInvalid("请填写诉求内容")
    draft_id = form.get("draft_id", "")
    if draft_id.isdigit():
        return accept_draft(session=session, draft_id=int(draft_id), ticket=fields,
                            actor=user.username, now=now)
    return service.create_ticket(session=session, draft=fields, now=now, actor=user.username)


def _act(session: Session, ticket: Ticket, do: Do, form: dict[str, str], *, user: User,
         now: Now) -> None:
    assert ticket.id is not None
    if do == "dispatch":
        main = form.get("main_unit", "").strip()
        if not main:
            raise FormInvalid("请选择承办单位")
        assist = tuple(u.strip() for u in form.get("assist_units", "").replace("，", ",")
                       .split(",") if u.strip() and u.strip() != main)
        suggestion = dispatch_suggestion(session=session, text=ticket.description,
                                         location=ticket.location)
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=main,
                         assist_units=assist, suggestion=suggestion, actor=user.username,
                         now=now)
    elif do == "answer_now":
        answer = form.get("answer", "").strip()
        article = form.get("article_id", "")
        if article.isdigit():
            answer = knowledge.get(session=session, article_id=int(article)).body
        if len(answer) < 2:
            raise FormInvalid("请填写答复内容，或从知识库选择")
        service.act(session=session, ticket_id=ticket.id, now=now, actor=user.username,
                    action=lc.AnswerNow(answer=answer,
                                        revisit_wanted=form.get("revisit") == "on"))
    elif do == "merge":
        parent = service.get_by_number(session=session, number=form.get("parent", "").strip())
        assert parent.id is not None
        service.merge_tickets(session=session, child_id=ticket.id, parent_id=parent.id,
                              actor=user.username, now=now)
    else:
        service.act(session=session, ticket_id=ticket.id, now=now, actor=user.username,
                    action=lc.EmergencyTransfer(line=lc.EmergencyLine(form.get("line", ""))))


@router.post("/tickets", response_class=HTMLResponse)
async def take_ticket(request: Request, session: SessionDep, user: Operator,
                      now: Now, do: Annotated[Do, Form()]) -> HTMLResponse:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        ticket = _take(session, form, user=user, now=now)
        _act(session, ticket, do, form, user=user, now=now)
        session.commit()
    except (HotlineError, ValueError) as exc:
        session.rollback()
        error = exc if isinstance(exc, HotlineError) else FormInvalid(str(exc))
        response = error_fragment(request, user, error)
        # shown above the form, which stays as typed (the call is still on the line)
        response.headers.update({"HX-Retarget": "#form-error", "HX-Reswap": "innerHTML"})
        return response
    announce_change(request)
    assert ticket.id is not None
    transfer_error = None
    if do == "emergency":
        transfer_error = await _move_call(request, session, user, ticket, form.get("line", ""),
                                          now=now)
    ticket = service.get_ticket(session=session, ticket_id=ticket.id)
    main = form.get("main_unit") if do == "dispatch" else None
    return render(request, "seat/taken.html", user=user, ticket=ticket, do=do, main_unit=main,
                  line=form.get("line", ""), transfer_error=transfer_error)


async def _move_call(request: Request, session: Session, user: User, ticket: Ticket,
                     line: str, *, now: Now) -> TransferFailed | None:
    """Redirect the caller of my seat's call to ``line``; the failure, if any (logged)."""
    console = seat_console(request)
    assert user.id is not None
    seat = seat_of(session, user.id)
    uniqueid = ticket.call_uniqueid or ""
    error: TransferFailed | None = None
    channel = ""
    try:
        if console.mover is None or seat is None:
            raise TransferFailed(f"本席未接入电话系统，未能转接 {line}", line=line)
        channel = await transfer_to_emergency(mover=console.mover, board=console.board,
                                              interface=seat.interface, uniqueid=uniqueid,
                                              line=line)
    except TransferFailed as exc:
        error = exc
    if error is None and uniqueid:
        mark_seat_transfer(session, uniqueid=uniqueid, line=line)
    record_event(session=session, at=now, actor=user.username, role=user.role,
                 action=AuditAction.TRANSFER, call_uniqueid=uniqueid,
                 client=client_address(request),
                 detail={"ticket": ticket.number, "line": line, "channel": channel,
                         "moved": error is None, "error": str(error) if error else ""})
    session.commit()
    return error


@router.post("/transfer", response_class=HTMLResponse)
async def retry_transfer(request: Request, session: SessionDep, user: Operator, now: Now,
                         number: Annotated[str, Form(max_length=32)],
                         line: Annotated[lc.EmergencyLine, Form()]) -> HTMLResponse:
    """Try again to move the call of a ticket already taken as 转警 (the first move failed)."""
    try:
        ticket = service.get_by_number(session=session, number=number.strip())
        if ticket.status != lc.Status.TRANSFERRED or not ticket.call_uniqueid:
            raise FormInvalid(f"工单 {ticket.number} 不是本次来电的转警工单")
    except HotlineError as exc:
        return error_fragment(request, user, exc)
    transfer_error = await _move_call(request, session, user, ticket, line.value, now=now)
    return render(request, "seat/taken.html", user=user, ticket=ticket, do="emergency",
                  main_unit=None, line=line.value, transfer_error=transfer_error)


@router.post("/not-request", response_class=HTMLResponse)
def not_request(
    request: Request, session: SessionDep, user: Operator, now: Now,
    call_uniqueid: Annotated[str, Form(min_length=1, max_length=64)],
    reason: Annotated[NotRequest, Form(alias="not_request_reason")],
    note: Annotated[str, Form(alias="not_request_note", max_length=500)] = "",
) -> HTMLResponse:
    """Mark the popped call 无效来电; a refusal is shown above the form, which stays."""
    try:
        draft = mark_not_request(session=session, call_uniqueid=call_uniqueid, reason=reason,
                                 note=note, actor=user.username, now=now)
        session.commit()
    except HotlineError as exc:
        session.rollback()
        response = error_fragment(request, user, exc)
        response.headers.update({"HX-Retarget": "#form-error", "HX-Reswap": "innerHTML"})
        return response
    announce_change(request)
    return render(request, "seat/not_request.html", user=user, draft=draft,
                  label=NOT_REQUEST_LABELS[reason])


@router.get("/knowledge", response_class=HTMLResponse)
def knowledge_hits(request: Request, session: SessionDep, user: Operator, now: Now,
                   q: Annotated[str, Query(max_length=200)] = "") -> HTMLResponse:
    hits = (knowledge.search(session=session, query=q.strip(), on_date=now.date(), limit=8)
            if q.strip() else [])
    return render(request, "seat/knowledge.html", user=user, hits=hits, q=q,
                  today=date.today())
