"""The callback agent's workspace (回访员工作台).

    GET  /callback                         the revisit queue: every caller still to be asked
                                           (tickets reviewed or in 回访, with the automatic
                                           survey call's state: dialling, or attempts used up)
    POST /callback/tickets/{number}/rate   满意 / 基本满意 / 不满意 and a comment for the caller
                                           of ticket ``number`` → Revisit (不满意 once: 重办)

Click-to-call is not offered yet: no endpoint dials an agent's phone (AMI Originate to the
agent, then the citizen) in ``hotline.outbound``; the number is shown in full to dial by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from hotline.errors import HotlineError
from hotline.outbound.models import CallStatus
from hotline.tickets import lifecycle as lc
from hotline.tickets.codec import decode_state
from hotline.tickets.models import TicketType
from hotline.tickets.revisits import Waiting, rate, revisit_queue
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Agent = Annotated[User, Depends(page_user(Role.callback_agent, Role.supervisor))]
CALL_LABELS = {
    CallStatus.PENDING: "待自动回访", CallStatus.CALLING: "自动回访拨打中",
    CallStatus.CALLBACK: "自动回访未接通", CallStatus.DO_NOT_CALL: "拒绝来电",
    CallStatus.DONE: "自动回访已完成", CallStatus.CANCELLED: "已取消",
}


def _row(w: Waiting) -> dict[str, object]:
    return {
        "number": w.caller.number, "ticket": w.ticket.number,
        "merged": w.caller.number != w.ticket.number, "status": w.ticket.status,
        "phone": w.caller.caller_phone, "name": w.caller.caller_name,
        "channel": w.caller.channel, "type": TicketType(w.caller.request_type).label,
        "description": w.caller.description, "updated_at": w.ticket.updated_at,
        "call": CALL_LABELS.get(CallStatus(w.call.status), w.call.status) if w.call else "",
        "callback": w.call is not None and w.call.status == CallStatus.CALLBACK,
        "redo": decode_state(w.ticket.state).redo_count > 0,
    }


def _queue(request: Request, session: SessionDep, user: User, **context: Any) -> HTMLResponse:
    rows = [_row(w) for w in revisit_queue(session=session)]
    rows.sort(key=lambda r: (not r["callback"],))  # attempts used up first: nobody else calls
    template = "callback/queue.html" if request.headers.get("hx-request") == "true" \
        else "callback/workspace.html"
    return render(request, template, user=user, rows=rows, results=list(lc.Satisfaction),
                  **context)


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
