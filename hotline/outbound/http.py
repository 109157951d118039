"""The outbound calls API: the callback queue, the escalation list, the do-not-call list.

    GET    /api/outbound/callbacks                   surveys whose attempts are used up
    POST   /api/outbound/callbacks/{id}/take         the agent takes one (409: taken by another)
    POST   /api/outbound/callbacks/{id}/result       满意 / 基本满意 / 不满意 + comment → 回访
    GET    /api/outbound/escalations?resolved=       red tickets whose unit did not acknowledge
    POST   /api/outbound/escalations/{id}/resolve    resolved, with a note
    GET    /api/outbound/do-not-call                 numbers never to be called
    POST   /api/outbound/do-not-call                 add (or change the reason of) a number
    DELETE /api/outbound/do-not-call/{phone}         remove a number
    POST   /api/outbound/click-to-call               ring my phone, then the ticket's caller

Callback agents, supervisors and admins use the callback queue and the do-not-call list;
the escalation list is the supervisors' (and admins'); click-to-call is also an operator's
(202 once stored: the call then rings; 409 without a phone or with the number in a call,
503 while Asterisk is away). Unknown ids are 404, a call no longer in
the queue or an escalation resolved already 409, a malformed body 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from hotline.errors import AmiUnavailable
from hotline.outbound import desk
from hotline.outbound.agent_calls import AgentCaller, agent_phone, start_agent_call
from hotline.outbound.errors import NoCallerPhone
from hotline.outbound.models import DoNotCall, Escalation, OutboundAttempt, OutboundCall
from hotline.outbound.store import add_do_not_call, callback_queue, escalation_list
from hotline.tickets import lifecycle as lc
from hotline.tickets.http import TicketRules, announce_change
from hotline.tickets.service import get_by_number
from hotline.users.models import Role
from hotline.web.deps import CurrentUser, Now, PhoneMask, SessionDep, require_roles

router = APIRouter(prefix="/api/outbound", tags=["outbound calls"])

CALLBACK_ROLES = Depends(require_roles(Role.callback_agent, Role.supervisor, Role.admin))
SUPERVISORS = Depends(require_roles(Role.supervisor, Role.admin))


class CallbackView(BaseModel):
    id: int
    ticket: str  # the ticket whose revisit it is
    caller_ticket: str  # whose caller to call: the ticket itself or a merged child
    phone: str | None
    subject: str
    status: str
    attempts: int
    last_outcome: str | None
    waiting_since: datetime
    taken_by: str | None
    taken_at: datetime | None
    result: str | None


class CallbackResult(BaseModel):
    result: lc.Satisfaction
    comment: str = Field(default="", max_length=500)


class EscalationView(BaseModel):
    id: int
    ticket: str
    unit: str | None
    deadline: datetime | None
    reason: str
    at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    call: str | None = None  # a call not accepted in time (超时未受理): no ticket, its uniqueid


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=1000)


class DoNotCallBody(BaseModel):
    phone: str = Field(min_length=3, max_length=32, pattern=r"^[0-9+][0-9 ()\-.]*$")
    reason: str = Field(default="", max_length=500)


class DoNotCallView(BaseModel):
    phone: str
    reason: str
    added_at: datetime
    added_by: str


def _last_outcomes(session: Session, ids: list[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    rows = session.exec(
        select(OutboundAttempt.call_id, OutboundAttempt.outcome)
        .where(col(OutboundAttempt.call_id).in_(ids)).order_by(col(OutboundAttempt.attempt))
    ).all()
    return dict(rows)  # the last attempt of each call wins


def callback_view(call: OutboundCall, *, mask: PhoneMask, last: str | None) -> CallbackView:
    assert call.id is not None
    return CallbackView(
        id=call.id, ticket=call.number, caller_ticket=call.caller_ticket or call.number,
        phone=mask(call.phone), subject=call.subject, status=call.status,
        attempts=call.attempts, last_outcome=last, waiting_since=call.updated_at,
        taken_by=call.taken_by, taken_at=call.taken_at, result=call.result,
    )


def _one_view(session: Session, call: OutboundCall, mask: PhoneMask) -> CallbackView:
    assert call.id is not None
    return callback_view(call, mask=mask, last=_last_outcomes(session, [call.id]).get(call.id))


@router.get("/callbacks", dependencies=[CALLBACK_ROLES],
            summary="The callback queue (回访): surveys whose attempts are used up, oldest first")
def callbacks(session: SessionDep, mask: PhoneMask,
              limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[CallbackView]:
    queue = callback_queue(session=session, limit=limit)
    last = _last_outcomes(session, [c.id for c in queue if c.id is not None])
    return [callback_view(c, mask=mask, last=last.get(c.id or 0)) for c in queue]


@router.post("/callbacks/{call_id}/take", dependencies=[CALLBACK_ROLES],
             summary="Take a call from the callback queue")
def take(call_id: int, session: SessionDep, user: CurrentUser, mask: PhoneMask,
         now: Now) -> CallbackView:
    call = desk.take_callback(session=session, call_id=call_id, agent=user.username, now=now)
    session.commit()
    return _one_view(session, call, mask)


@router.post("/callbacks/{call_id}/result", dependencies=[CALLBACK_ROLES],
             summary="What the citizen said: the rating goes onto the ticket (回访)")
def result(call_id: int, body: CallbackResult, request: Request, session: SessionDep,
           user: CurrentUser, mask: PhoneMask, now: Now, rules: TicketRules) -> CallbackView:
    call = desk.record_callback(session=session, call_id=call_id, agent=user.username,
                                result=body.result, comment=body.comment, now=now, rules=rules)
    session.commit()
    announce_change(request)
    return _one_view(session, call, mask)


def escalation_view(row: Escalation) -> EscalationView:
    assert row.id is not None
    return EscalationView(id=row.id, ticket=row.number, unit=row.unit, deadline=row.deadline,
                          reason=row.reason, at=row.at, resolved_at=row.resolved_at,
                          resolved_by=row.resolved_by, note=row.note, call=row.call_uniqueid)


@router.get("/escalations", dependencies=[SUPERVISORS],
            summary="The supervisors' escalation list (督办), oldest first")
def escalations(session: SessionDep, resolved: bool = False,
                limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[EscalationView]:
    rows = escalation_list(session=session, include_resolved=resolved, limit=limit)
    return [escalation_view(r) for r in rows]


@router.post("/escalations/{escalation_id}/resolve", dependencies=[SUPERVISORS],
             summary="Mark an escalation resolved, with a note")
def resolve(escalation_id: int, body: ResolveBody, session: SessionDep, user: CurrentUser,
            now: Now) -> EscalationView:
    row = desk.resolve_escalation(session=session, escalation_id=escalation_id,
                                  by=user.username, note=body.note, now=now)
    session.commit()
    return escalation_view(row)


def dnc_view(row: DoNotCall, mask: PhoneMask) -> DoNotCallView:
    return DoNotCallView(phone=mask(row.phone) or "", reason=row.reason, added_at=row.added_at,
                         added_by=row.added_by)


@router.get("/do-not-call", dependencies=[CALLBACK_ROLES],
            summary="Numbers that asked not to be called, newest first")
def do_not_call(session: SessionDep, mask: PhoneMask,
                limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[DoNotCallView]:
    return [dnc_view(r, mask) for r in desk.do_not_call_list(session=session, limit=limit)]


@router.post("/do-not-call", status_code=201, dependencies=[CALLBACK_ROLES],
             summary="Put a number on the do-not-call list (never dialled again)")
def add(body: DoNotCallBody, session: SessionDep, user: CurrentUser, mask: PhoneMask,
        now: Now) -> DoNotCallView:
    row = add_do_not_call(session=session, phone=body.phone, reason=body.reason,
                          by=user.username, now=now)
    session.commit()
    return dnc_view(row, mask)


@router.delete("/do-not-call/{phone}", status_code=204, dependencies=[CALLBACK_ROLES],
               summary="Take a number off the do-not-call list")
def remove(phone: str, session: SessionDep) -> Response:
    desk.remove_do_not_call(session=session, phone=phone)
    session.commit()
    return Response(status_code=204)


class ClickToCallBody(BaseModel):
    ticket: str = Field(min_length=1, max_length=16)
    phone: str | None = Field(default=None, min_length=3, max_length=32,
                              pattern=r"^[0-9A-Za-z+][0-9A-Za-z ()\-.]*$")  # default: the caller's


class AgentCallView(BaseModel):
    call_id: int
    attempt_id: int
    ticket: str
    phone: str | None
    agent_phone: str
    uniqueid: str
    recording: str


def agent_caller(request: Request) -> AgentCaller:
    caller = getattr(request.app.state, "agent_caller", None)
    if not isinstance(caller, AgentCaller):
        raise AmiUnavailable("click-to-call is not available: no telephony in this process")
    return caller


@router.post("/click-to-call", status_code=202,
             dependencies=[Depends(require_roles(Role.callback_agent, Role.supervisor,
                                                 Role.operator, Role.admin))],
             summary="Ring my phone, then the ticket's caller, bridged and recorded (回拨)")
async def click_to_call(body: ClickToCallBody, session: SessionDep, user: CurrentUser,
                        mask: PhoneMask, now: Now,
                        caller: Annotated[AgentCaller, Depends(agent_caller)]) -> AgentCallView:
    ticket = get_by_number(session=session, number=body.ticket)
    phone = body.phone or ticket.caller_phone
    if not phone:
        raise NoCallerPhone(ticket.number)
    dial = agent_phone(session=session, user=user, settings=caller.settings)
    call = start_agent_call(session=session, ticket=ticket, phone=phone, agent=user.username,
                            agent_dial=dial, now=now, trunk=caller.settings.trunk,
                            limits=caller.policy.limits)
    session.commit()
    caller.launch(call)
    return AgentCallView(call_id=call.call_id, attempt_id=call.attempt_id, ticket=call.ticket,
                         phone=mask(call.phone), agent_phone=call.agent_phone,
                         uniqueid=call.uniqueid, recording=call.recording)
