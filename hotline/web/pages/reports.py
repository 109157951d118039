"""Reports (统计报表) for supervisors and admins: the numbers of ``hotline.oversight`` as pages.

    GET /supervisor/reports?period=month&day=2026-11-01         ranking, score, the three rates
                                                                (each number links to its
                                                                tickets), a bar per unit, call
                                                                rates, the ticket volume trend,
                                                                analyses, CSV/XLSX links
        &compare=last_year                                      trend and analyses against the
                                                                same dates a year before
                                                                (default: the period before)
    GET /supervisor/reports/tickets?unit=&measure=&part=&...    the tickets behind one number

``period`` is day, week, month or custom (``day``..``until``); a custom period without a valid
end is the single day. The page shows what the API (``/api/oversight/...``) and its exports
give for the same period: they are read by the same functions.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hotline.oversight.analyses import Compare, analyse
from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import Period, PeriodKind, UnitScore, period
from hotline.oversight.http import OversightRulesDep
from hotline.oversight.queries import Measure, Part, ranked_units, tickets_behind
from hotline.oversight.volume import Trend, ticket_volume
from hotline.tickets.units import unit_ids
from hotline.users.models import Role, User
from hotline.web.charts import Point, Segment, StackedBar, stacked_bars, trend_chart
from hotline.web.deps import CENTER_TZ, Now, SessionDep
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, Depends(page_user(Role.supervisor, Role.admin))]
KIND_LABELS = {PeriodKind.DAY: "日报", PeriodKind.WEEK: "周报", PeriodKind.MONTH: "月报",
               PeriodKind.CUSTOM: "自定义"}
RATE_LABELS = {"response": "响应率", "handling": "办结率", "satisfaction": "满意率"}
COMPARE_LABELS = {Compare.PREVIOUS: "上期", Compare.LAST_YEAR: "去年同期"}


class Chosen:
    """The period asked for, and the query string that asks for it again."""

    def __init__(self, now: Now, kind: Annotated[PeriodKind, Query(alias="period")] =
                 PeriodKind.MONTH, day: date | None = None, until: date | None = None,
                 compare: Compare = Compare.PREVIOUS) -> None:
        self.kind = kind
        self.compare = compare
        self.day = day or now.astimezone(CENTER_TZ).date()
        if kind is PeriodKind.CUSTOM and (until is None or until < self.day):
            until = self.day
        self.until = until if kind is PeriodKind.CUSTOM else None
        self.period: Period = period(kind, self.day, zone=CENTER_TZ, until=self.until)

    @property
    def query(self) -> str:
        q = {"period": self.kind.value, "day": self.day.isoformat()}
        if self.until is not None:
            q["until"] = self.until.isoformat()
        if self.compare is not Compare.PREVIOUS:
            q["compare"] = self.compare.value
        return urlencode(q)


ChosenDep = Annotated[Chosen, Depends(Chosen)]


def volume_chart(trend: Trend) -> Any:
    points = [Point(s.label, s.now, s.before) for s in trend.steps]
    return trend_chart(points, title="受理量走势",
                       legend=(f"本期 {trend.period.label}",
                               f"{COMPARE_LABELS[trend.compare]} {trend.earlier.label}"))


def score_chart(scores: list[UnitScore]) -> Any:
    rows = [StackedBar(s.rates.unit, [Segment("bar", round(s.score))])
            for s in scores if s.score is not None]
    return stacked_bars(rows, title="各单位综合得分", label_width=140)


@router.get("/supervisor/reports", response_class=HTMLResponse)
def reports(request: Request, session: SessionDep, user: Reader, chosen: ChosenDep,
            now: Now, rules: OversightRulesDep) -> HTMLResponse:
    p = chosen.period
    scores = ranked_units(session=session, period=p, as_of=now, rules=rules)
    return render(
        request, "supervisor/reports.html", user=user, chosen=chosen, p=p, scores=scores,
        kinds=KIND_LABELS, rate_labels=RATE_LABELS, chart=score_chart(scores),
        calls=call_rates(session=session, period=p),
        analysis=analyse(session=session, period=p, compare=chosen.compare),
        compares=COMPARE_LABELS,
        trend=volume_chart(ticket_volume(session=session, period=p, compare=chosen.compare)),
    )


@router.get("/supervisor/reports/tickets", response_class=HTMLResponse)
def report_tickets(
    request: Request, session: SessionDep, user: Reader, chosen: ChosenDep, now: Now,
    rules: OversightRulesDep, unit: str, measure: Measure, part: Part = Part.DENOMINATOR,
) -> HTMLResponse:
    unit_id = unit_ids(session, (unit,))[unit]
    found = tickets_behind(session=session, unit_id=unit_id, measure=measure, part=part,
                           period=chosen.period, as_of=now, rules=rules)
    return render(request, "supervisor/report_tickets.html", user=user, chosen=chosen,
                  p=chosen.period, unit=unit, measure=measure, part=part, tickets=found,
                  rate_labels=RATE_LABELS)
