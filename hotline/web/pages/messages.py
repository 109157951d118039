"""The outbox of messages to citizens, for supervisors and admins (``hotline.notify``).

    GET /supervisor/messages[?status=failed]   newest first, with each one's status and error

Shows whether a gateway is configured: without one every message is listed as ``no_gateway``
(kept, not sent). Phone numbers are masked as the role's rule says; the survey links' tokens
are cut off (they let whoever holds them answer for the caller).
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hotline.notify import store
from hotline.notify.models import MessageStatus
from hotline.users.models import Role, User
from hotline.web.deps import SessionDep
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Supervisor = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
LIST_LIMIT = 200
STATUS_LABELS = {
    MessageStatus.PENDING: "待发送", MessageStatus.SENDING: "发送中", MessageStatus.SENT: "已发送",
    MessageStatus.FAILED: "发送失败", MessageStatus.NO_GATEWAY: "未配置短信网关",
    MessageStatus.DO_NOT_CONTACT: "免打扰号码", MessageStatus.CANCELLED: "已取消",
}
KIND_LABELS = {"accepted": "受理告知", "survey": "满意度评价"}
_SURVEY_TOKEN = re.compile(r"(/public/survey/[^/\s]+/)\S+")


def shown_text(text: str) -> str:
    """The message as sent, the survey link's token cut off."""
    return _SURVEY_TOKEN.sub(r"\1…", text)


@router.get("/supervisor/messages", response_class=HTMLResponse)
def messages(request: Request, session: SessionDep, user: Supervisor,
             status: str = "") -> HTMLResponse:
    wanted = status if status in set(MessageStatus) else ""
    rows = store.recent(session=session, status=wanted or None, limit=LIST_LIMIT)
    sender = getattr(request.app.state, "message_sender", None)
    gateway = bool(getattr(sender, "gateway", None))
    return render(request, "supervisor/messages.html", user=user, messages=rows,
                  counts=store.counts(session=session), status=wanted, gateway=gateway,
                  labels=STATUS_LABELS, kinds=KIND_LABELS, shown_text=shown_text)
