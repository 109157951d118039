"""Monitoring live calls (通话监听): listen, whisper, barge, each a permission of its own.

    GET  /supervisor/monitor                     calls in progress, the modes the user may use,
                                                 their sessions, the latest sessions logged
    POST /supervisor/monitor                     call=<uniqueid>, mode=listen|whisper|barge:
                                                 the user's phone rings, then ChanSpy
    POST /supervisor/monitor/{entry_id}/stop     结束: hang up an answered session

The modes come from ``monitoring.roles`` / ``monitoring.users`` (``hotline.monitoring``); the
page shows only what the user may do and the server checks again. Every session is in the
audit log (who, which call, mode, start and end), also shown at ``/supervisor/audit``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from hotline.audit import store as audit
from hotline.errors import HotlineError
from hotline.monitoring.errors import NoSuchMonitorSession
from hotline.monitoring.rules import Mode, modes_of
from hotline.monitoring.service import MONITOR_ACTIONS, Monitor, live_calls, open_session
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep, client_address
from hotline.web.errors import status_for
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Watcher = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]


def monitor_of(request: Request) -> Monitor:
    monitor = getattr(request.app.state, "monitor", None)
    if not isinstance(monitor, Monitor):
        raise RuntimeError("no Monitor on the app (hotline.app sets app.state.monitor)")
    return monitor


def _page(request: Request, session: Session, user: User, monitor: Monitor, now: Now, *,
          error: HotlineError | None = None) -> HTMLResponse:
    settings = monitor.settings
    modes = modes_of(user=user.username, role=user.role, settings=settings)
    return render(
        request, "supervisor/monitor.html", user=user, error=error,
        status_code=status_for(error) if error is not None else 200,
        calls=live_calls(session=session, now=now),
        modes=[m for m in Mode if m in modes], phone=settings.phones.get(user.username, ""),
        running=monitor.running(actor=user.username),
        entries=audit.latest(session=session, limit=50, actions=MONITOR_ACTIONS),
        labels={m.value: m.label for m in Mode})


@router.get("/supervisor/monitor", response_class=HTMLResponse)
def monitor_page(request: Request, session: SessionDep, user: Watcher, now: Now) -> HTMLResponse:
    return _page(request, session, user, monitor_of(request), now)


@router.post("/supervisor/monitor", response_class=HTMLResponse)
async def start(request: Request, session: SessionDep, user: Watcher, now: Now,
          call: Annotated[str, Form(max_length=64)],
          mode: Annotated[Mode, Form()]) -> Response:
    monitor = monitor_of(request)
    try:
        ms = open_session(session=session, user=user, call_uniqueid=call, mode=mode,
                          settings=monitor.settings, now=now,
                          client=client_address(request))
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _page(request, session, user, monitor, now, error=exc)
    monitor.launch(ms)
    return RedirectResponse(f"/supervisor/monitor?started={ms.entry_id}", status_code=303)


@router.post("/supervisor/monitor/{entry_id}/stop", response_class=HTMLResponse)
async def stop(entry_id: int, request: Request, user: Watcher) -> Response:
    monitor = monitor_of(request)
    if not any(ms.entry_id == entry_id for ms in monitor.running(actor=user.username)):
        raise NoSuchMonitorSession(entry_id)
    await monitor.hang_up(entry_id)
    return RedirectResponse("/supervisor/monitor", status_code=303)
