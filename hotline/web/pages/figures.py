"""Public figures (公开制度): the published rates of a past month, no login.

    GET /public/figures?month=2026-10     each unit's 响应率, 办结率, 满意率 and score, ranked,
                                          with the center's 接通率 and 直接答复率

Only complete months are shown (the month before the current one by default; a later month
asked for falls back to it). Installed only when ``web.public_figures`` is set
(``include_pages(..., public_figures=True)``).
"""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import PeriodKind, period
from hotline.oversight.http import OversightRulesDep
from hotline.oversight.queries import ranked_units
from hotline.web.deps import CENTER_TZ, Now, SessionDep
from hotline.web.pages.common import render

router = APIRouter(include_in_schema=False)


def published_month(asked: str | None, today: date) -> date:
    """The first day of the month to show: ``asked`` (YYYY-MM) if complete, else the last
    complete month."""
    latest = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    try:
        first = date.fromisoformat(f"{asked}-01") if asked else latest
    except ValueError:
        first = latest
    return min(first, latest)


@router.get("/public/figures", response_class=HTMLResponse)
def figures(request: Request, session: SessionDep, now: Now, rules: OversightRulesDep,
            month: str | None = None) -> HTMLResponse:
    first = published_month(month, now.astimezone(CENTER_TZ).date())
    p = period(PeriodKind.MONTH, first, zone=CENTER_TZ)
    scores = [s for s in ranked_units(session=session, period=p, as_of=now, rules=rules)
              if s.rank]
    return render(request, "public/figures.html", user=None, month=first.strftime("%Y-%m"),
                  scores=scores, calls=call_rates(session=session, period=p))
