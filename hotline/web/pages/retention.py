"""Retention (数据保留): the periods, what the clean-up would delete now, the clean-ups done.

    GET  /supervisor/retention        periods in days, the dry run of now (counts, bytes, the
                                      first items), kept for open tickets, the last clean-ups
    POST /supervisor/retention/run    立即清理: run the clean-up now (logged as the user)
    POST /supervisor/retention/periods  the periods of the three kinds, in whole days (empty:
                                      forever); stored over the settings' defaults, each
                                      change in the audit log with the old and new days

The clean-up itself is ``hotline.retention``; the app also runs it every
``retention.interval_hours`` and ``hotline retention run`` does from the command line.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.audit import store as audit
from hotline.audit.models import AuditAction
from hotline.retention import periods
from hotline.retention.job import RetentionJob
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep, client_address
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Keeper = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
SHOWN = 50  # items listed per kind


def retention_of(request: Request) -> RetentionJob:
    job = getattr(request.app.state, "retention", None)
    if not isinstance(job, RetentionJob):
        raise RuntimeError("no RetentionJob on the app (hotline.app sets app.state.retention)")
    return job


@router.get("/supervisor/retention", response_class=HTMLResponse)
async def retention_page(request: Request, session: SessionDep, user: Keeper,
                         done: int | None = None, saved: int | None = None) -> HTMLResponse:
    return await _page(request, session, user, done=done, saved=saved)


async def _page(request: Request, session: SessionDep, user: User, *, done: int | None = None,
                saved: int | None = None, error: periods.RetentionPeriodError | None = None,
                typed: dict[str, str] | None = None) -> HTMLResponse:
    job = retention_of(request)
    preview = await asyncio.to_thread(job.run_once, dry_run=True)
    s = preview.plan.settings  # the periods in force (set on this page, else the settings')
    values = typed or {name: "" if getattr(s, name) is None else str(getattr(s, name))
                       for name, _ in periods.KINDS.values()}
    return render(request, "supervisor/retention.html", user=user, s=s, base=job.settings,
                  kinds=periods.KINDS, values=values, error=error, saved=saved,
                  min_days=periods.MIN_DAYS, max_days=periods.MAX_DAYS,
                  plan=preview.plan, counts=preview.plan.counts(), shown=SHOWN, done=done,
                  status_code=400 if error else 200,
                  entries=audit.latest(session=session, limit=20,
                                       actions=[AuditAction.RETENTION]),
                  edits=audit.latest(session=session, limit=10,
                                     actions=[AuditAction.RETENTION_EDIT]))


@router.post("/supervisor/retention/periods", response_class=HTMLResponse)
async def set_periods(request: Request, session: SessionDep, user: Keeper,
                      now: Now) -> Response:
    form = await request.form()
    typed = {name: str(form.get(name, "")) for name, _ in periods.KINDS.values()}
    try:
        days = periods.parse_form(typed)
    except periods.RetentionPeriodError as error:
        return await _page(request, session, user, error=error, typed=typed)
    entry = periods.change(session=session, base=retention_of(request).settings, days=days,
                           at=now, actor=user.username, role=user.role,
                           client=client_address(request))
    saved = entry.id if entry is not None else 0
    session.commit()
    return RedirectResponse(f"/supervisor/retention?saved={saved}", status_code=303)


@router.post("/supervisor/retention/run")
async def run_now(request: Request, user: Keeper) -> RedirectResponse:
    job = retention_of(request)
    report = await asyncio.to_thread(job.run_once, dry_run=False, actor=user.username,
                                     role=user.role)
    return RedirectResponse(f"/supervisor/retention?done={report.audit_id or 0}",
                            status_code=303)
