"""The callback agent's workspace (回访员工作台).

    GET  /callback                         the revisit queue: every caller still to be asked
                                           (tickets reviewed or in 回访, with the automatic
                                           survey call's state: dialling, or attempts used up)
    POST /callback/tickets/{number}/rate   满意 / 基本满意 / 不满意 and a comment for the caller
                                           of ticket ``number`` → Revisit (不满意 once: 重办)
    POST /callback/tickets/{number}/call   拨打: ring my phone, then the caller of ``number``
                                           (the click-to-call of ``hotline.outbound.http``)
    GET  /callback/tickets/{number}/call   that row's 拨打 cell: the last agent call's state

Under the queue, 自动回访意见: the comments callers spoke at the end of the automatic survey
(newest first), with the rating and the transcript once made (``hotline.outbound.comments``;
转写中 until then) and, when the recordings pages are installed, a link to the recording's
player (role-checked there); a caller still in the queue (after a 重办) shows theirs in the row.

拨打 answers with the row's cell: the call's state, polled every second while it runs, then
how it ended; refused (no phone of mine to ring, the number already in a call, no number,
no telephony in this process) the reason in Chinese and the button again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from hotline.calls.models import Recording
from hotline.errors import AmiUnavailable, HotlineError
from hotline.outbound.agent_calls import AgentCaller, agent_phone, start_agent_call
from hotline.outbound.ami import attempt_of
from hotline.outbound.comments import COMMENT_KIND, revisit_event
from hotline.outbound.errors import NoAgentPhone, NoCallerPhone, NumberBusy
from hotline.outbound.models import CallStatus, OutboundAttempt, OutboundCall
from hotline.outbound.rules import Outcome, Purpose
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Ticket, TicketType
from hotline.tickets.revisits import Waiting, rate, revisit_queue
from hotline.tickets.service import get_by_number
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep
from hotline.web.errors import status_for
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Agent = Annotated[User, Depends(page_user(Role.callback_agent, Role.supervisor))]
CALL_LABELS = {
    CallStatus.PENDING: "待自动回访", CallStatus.CALLING: "自动回访拨打中",
    CallStatus.CALLBACK: "自动回访未接通", CallStatus.DO_NOT_CALL: "拒绝来电",
    CallStatus.DONE: "自动回访已完成", CallStatus.CANCELLED: "已取消",
}
# Why 拨打 was refused, by error_id (hotline.outbound.errors, hotline.errors).
REFUSALS = {
    NoAgentPhone.error_id: "您没有可振铃的话机：请管理员在设置 outbound.agent_phones 中"
                           "为您登记话机（或签入一个座席）",
    NumberBusy.error_id: "该号码正在通话中（另一路外呼尚未结束），请稍后再拨",
    NoCallerPhone.error_id: "该工单没有来电号码，无法回拨",
    AmiUnavailable.error_id: "电话系统未接入本服务，无法拨打",
}
# How an agent call ended: by the agent's leg when it was not answered, else by the citizen's.
AGENT_LEG: dict[str, str] = {
    Outcome.NO_ANSWER: "您的话机未接听", Outcome.BUSY: "您的话机忙",
    Outcome.FAILED: "您的话机未能振铃",
}
CITIZEN: dict[str, str] = {
    Outcome.ANSWERED: "已接通，通话已结束", Outcome.NO_ANSWER: "来电人未接听",
    Outcome.BUSY: "来电人忙线", Outcome.FAILED: "未能接通来电人", Outcome.HUNG_UP: "通话中断",
}


def agent_call_state(attempt: OutboundAttempt, call: OutboundCall) -> dict[str, object]:
    """What the 拨打 cell shows of one agent call (running, or how it ended and why)."""
    detail = {str(k): str(v) for k, v in (attempt.detail or {}).items()}
    state: dict[str, object] = {"id": attempt.id, "running": attempt.outcome is None,
                                "outcome": attempt.outcome or "calling", "phone": call.phone,
                                "agent_phone": detail.get("agent_phone", ""),
                                "agent": detail.get("agent", ""), "error": detail.get("error")}
    if attempt.outcome is None:
        state["label"] = "正在呼叫：先振铃您的话机，接听后拨打来电人…"
    elif "error" in detail:
        state["label"] = "呼叫失败：电话系统未能发起呼叫"
    elif detail.get("agent_leg", "answered") != "answered":
        state["label"] = AGENT_LEG.get(detail["agent_leg"], "您的话机未能振铃")
    else:
        state["label"] = CITIZEN.get(attempt.outcome, attempt.outcome)
    return state


def agent_calls(session: Session, ticket_ids: list[int]) -> dict[int, dict[str, object]]:
    """The last agent call (click-to-call) of each ticket, by ticket id."""
    if not ticket_ids:
        return {}
    rows = session.exec(
        select(OutboundAttempt, OutboundCall)
        .join(OutboundCall, col(OutboundCall.id) == OutboundAttempt.call_id)
        .where(OutboundCall.purpose == Purpose.AGENT, col(OutboundCall.ticket_id).in_(ticket_ids))
        .order_by(col(OutboundAttempt.id))
    ).all()
    return {call.ticket_id: agent_call_state(attempt, call) for attempt, call in rows}


def survey_comments(session: Session, *, limit: int = 20) -> list[dict[str, object]]:
    """The automatic survey's spoken comments with sound, newest first: the caller's ticket,
    the rating, the text on the revisit (or the attempt) once transcribed, the recording."""
    recordings = session.exec(
        select(Recording).where(Recording.kind == COMMENT_KIND, col(Recording.complete),
                                col(Recording.duration_seconds) > 0)
        .order_by(col(Recording.started_at).desc(), col(Recording.id).desc()).limit(limit)
    ).all()
    comments: list[dict[str, object]] = []
    for rec in recordings:
        attempt_id = attempt_of(rec.call_uniqueid)
        attempt = session.get(OutboundAttempt, attempt_id) if attempt_id is not None else None
        call = session.get(OutboundCall, attempt.call_id) if attempt is not None else None
        if attempt is None or call is None:
            continue
        seq = attempt.detail.get("revisit_seq")
        event = revisit_event(session, ticket_id=call.ticket_id, seq=int(seq)) \
            if seq is not None else None
        payload = event.payload if event is not None else {}
        text = str(payload.get("comment") or attempt.detail.get("comment_text") or "")
        comments.append({
            "number": call.caller_ticket or call.number, "ticket": call.number,
            "result": call.result or "", "at": rec.started_at, "text": text,
            "transcribed": "comment_text" in attempt.detail or "comment" in payload,
            "recording_id": rec.id, "seconds": rec.duration_seconds or 0,
        })
    return comments


def _row(w: Waiting, calls: dict[int, dict[str, object]],
         spoken: dict[str, dict[str, object]]) -> dict[str, object]:
    return {
        "agent_call": calls.get(w.caller.id or 0), "spoken": spoken.get(w.caller.number),
        "number": w.caller.number, "ticket": w.ticket.number,
        "merged": w.caller.number != w.ticket.number, "status": w.ticket.status,
        "phone": w.caller.caller_phone, "name": w.caller.caller_name,
        "channel": w.caller.channel, "type": TicketType(w.caller.request_type).label,
        "description": w.caller.description, "updated_at": w.ticket.updated_at,
        "call": CALL_LABELS.get(CallStatus(w.call.status), w.call.status) if w.call else "",
        "callback": w.call is not None and w.call.status == CallStatus.CALLBACK,
        "redo": w.redo_count > 0,
    }


def _queue(request: Request, session: SessionDep, user: User, **context: Any) -> HTMLResponse:
    waiting = revisit_queue(session=session)
    calls = agent_calls(session, [w.caller.id for w in waiting if w.caller.id is not None])
    comments = survey_comments(session)
    spoken: dict[str, dict[str, object]] = {}
    for c in reversed(comments):  # the newest comment of each caller wins
        spoken[str(c["number"])] = c
    rows = [_row(w, calls, spoken) for w in waiting]
    rows.sort(key=lambda r: (not r["callback"],))  # attempts used up first: nobody else calls
    template = "callback/queue.html" if request.headers.get("hx-request") == "true" \
        else "callback/workspace.html"
    return render(request, template, user=user, rows=rows, results=list(lc.Satisfaction),
                  comments=comments, can_listen=hasattr(request.app.state,
                                                        "recordings_console"), **context)


@router.get("/callback", response_class=HTMLResponse)
def workspace(request: Request, session: SessionDep, user: Agent) -> HTMLResponse:
    return _queue(request, session, user)


@router.post("/callback/tickets/{number}/rate", response_class=HTMLResponse)
def rate_caller(number: str, request: Request, session: SessionDep, user: Agent, now: Now,
                result: Annotated[lc.Satisfaction, Form()],
                comment: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    rules = getattr(request.app.state, "ticket_rules", None)
    try:
        ticket = rate(session=session, number=number, result=result, comment=comment,
                      actor=user.username, now=now,
                      **({"rules": rules} if rules is not None else {}))
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _queue(request, session, user, error=exc)
    hook = getattr(request.app.state, "ticket_changed", None)
    if callable(hook):
        hook()
    return _queue(request, session, user,
                  done={"number": number, "result": result.value, "status": ticket.status})


def _dial_cell(request: Request, session: Session, user: User, number: str, *,
               error: HotlineError | None = None) -> HTMLResponse:
    ticket_id = session.exec(select(Ticket.id).where(Ticket.number == number)).first()
    calls = agent_calls(session, [ticket_id]) if ticket_id is not None else {}
    # htmx swaps 4xx answers in place (console.js), not 5xx: no telephony is shown with a 200
    status = status_for(error) if error is not None else 200
    status = status if status < 500 else 200
    return render(request, "callback/dial.html", user=user, status_code=status,
                  r={"number": number, "agent_call": calls.get(ticket_id or 0)},
                  refused=None if error is None else {
                      "error_id": error.error_id,
                      "message": REFUSALS.get(error.error_id, error.message)})


@router.get("/callback/tickets/{number}/call", response_class=HTMLResponse)
def dial_state(number: str, request: Request, session: SessionDep, user: Agent) -> HTMLResponse:
    return _dial_cell(request, session, user, number)


@router.post("/callback/tickets/{number}/call", response_class=HTMLResponse)
async def dial(number: str, request: Request, session: SessionDep, user: Agent,
               now: Now) -> HTMLResponse:
    """拨打: the click-to-call of ``hotline.outbound.http`` for the caller of ``number``."""
    try:
        caller = getattr(request.app.state, "agent_caller", None)
        if not isinstance(caller, AgentCaller):
            raise AmiUnavailable("click-to-call is not available: no telephony in this process")
        ticket = get_by_number(session=session, number=number)
        if not ticket.caller_phone:
            raise NoCallerPhone(ticket.number)
        call = start_agent_call(
            session=session, ticket=ticket, phone=ticket.caller_phone, agent=user.username,
            agent_dial=agent_phone(session=session, user=user, settings=caller.settings),
            now=now, trunk=caller.settings.trunk, limits=caller.policy.limits)
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _dial_cell(request, session, user, number, error=exc)
    caller.launch(call)
    return _dial_cell(request, session, user, number)
