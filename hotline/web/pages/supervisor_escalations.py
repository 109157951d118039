"""The escalation list on the supervisor's workspace (督办升级): red tickets whose unit did not
acknowledge the reminder call, or has no duty phone to call (``hotline.outbound``), and calls
a seat answered that were not made a ticket in time (超时未受理, no ticket number), oldest
first; the supervisor resolves one with a note.

    GET  /supervisor/escalations                        the panel (fragment, for htmx)
    POST /supervisor/escalations/{id}/resolve           resolved, with a note (form ``note``)

The workspace includes ``supervisor/escalations.html``, which loads the panel by itself. The
action is ``desk.resolve_escalation``, the same as ``POST /api/outbound/escalations/{id}/
resolve``: one resolved already is refused (409) and the panel shown again with the error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from hotline.errors import HotlineError
from hotline.outbound import desk
from hotline.outbound.store import escalation_list
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep
from hotline.web.errors import status_for
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
LIST_LIMIT = 100
REASON_LABELS = {"not_acknowledged": "督办电话未确认", "no_duty_phone": "单位无值班电话",
                 "park_review": "挂账复核", "not_dispatched": "超时未派单",
                 "not_accepted": "超时未受理"}


def _panel(request: Request, session: Session, user: User, *,
           error: HotlineError | None = None, done: int | None = None) -> HTMLResponse:
    rows = escalation_list(session=session, limit=LIST_LIMIT)
    context: dict[str, Any] = {"escalations": rows, "reasons": REASON_LABELS, "error": error,
                               "done": done}
    return render(request, "supervisor/escalations.html", user=user,
                  status_code=status_for(error) if error is not None else 200, **context)


@router.get("/supervisor/escalations", response_class=HTMLResponse)
def escalations(request: Request, session: SessionDep, user: Supervisor) -> HTMLResponse:
    return _panel(request, session, user)


@router.post("/supervisor/escalations/{escalation_id}/resolve", response_class=HTMLResponse)
def resolve(escalation_id: int, request: Request, session: SessionDep, user: Supervisor,
            now: Now, note: Annotated[str, Form(min_length=1, max_length=1000)]
            ) -> HTMLResponse:
    try:
        desk.resolve_escalation(session=session, escalation_id=escalation_id,
                                by=user.username, note=note.strip(), now=now)
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _panel(request, session, user, error=exc)
    return _panel(request, session, user, done=escalation_id)
