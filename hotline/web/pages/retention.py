"""Retention (数据保留): the periods, what the clean-up would delete now, the clean-ups done.

    GET  /supervisor/retention        periods in days, the dry run of now (counts, bytes, the
                                      first items), kept for open tickets, the last clean-ups
    POST /supervisor/retention/run    立即清理: run the clean-up now (logged as the user)

The clean-up itself is ``hotline.retention``; the app also runs it every
``retention.interval_hours`` and ``hotline retention run`` does from the command line.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from hotline.audit import store as audit
from hotline.audit.models import AuditAction
from hotline.retention.job import RetentionJob
from hotline.users.models import Role, User
from hotline.web.deps import SessionDep
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
                         done: int | None = None) -> HTMLResponse:
    job = retention_of(request)
    preview = await asyncio.to_thread(job.run_once, dry_run=True)
    return render(request, "supervisor/retention.html", user=user, s=job.settings,
                  plan=preview.plan, counts=preview.plan.counts(), shown=SHOWN, done=done,
                  entries=audit.latest(session=session, limit=20,
                                       actions=[AuditAction.RETENTION]))


@router.post("/supervisor/retention/run")
async def run_now(request: Request, user: Keeper) -> RedirectResponse:
    job = retention_of(request)
    report = await asyncio.to_thread(job.run_once, dry_run=False, actor=user.username,
                                     role=user.role)
    return RedirectResponse(f"/supervisor/retention?done={report.audit_id or 0}",
                            status_code=303)
