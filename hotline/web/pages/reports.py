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
    GET /supervisor/reports/generated/{id}/{file}               a file of a scheduled report
                                                                (listed on the page)

``period`` is day, week, month or custom (``day``..``until``); a custom period without a valid
end is the single day. The page shows what the API (``/api/oversight/...``) and its exports
give for the same period: they are read by the same functions (``report_data.gather``).
The scheduled reports (``oversight.generated``) store the page's body as it showed the period
(``ReportHtml``: the same templates, without links), with their CSV and XLSX files.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from hotline.errors import HotlineError
from hotline.oversight.analyses import Compare
from hotline.oversight.definitions import Period, PeriodKind, UnitScore, period
from hotline.oversight.generated import (
    ReportGenerator,
    ReportStatus,
    file_mask,
    listed_reports,
    report_file,
    retry_wait,
)
from hotline.oversight.http import Exporter, OversightRulesDep
from hotline.oversight.models import OversightReport
from hotline.oversight.queries import Measure, Part, tickets_behind
from hotline.oversight.rate_trend import RateTrend
from hotline.oversight.report_data import ReportData, gather
from hotline.oversight.volume import Trend
from hotline.tickets.units import unit_ids
from hotline.users.models import Role, User, as_utc
from hotline.web.charts import (
    Point,
    RatePoint,
    Segment,
    StackedBar,
    rates_chart,
    stacked_bars,
    trend_chart,
)
from hotline.web.deps import CENTER_TZ, Now, SessionDep, client_address
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


def rate_chart(trend: RateTrend) -> Any:
    points = [RatePoint(s.label, {name: (r.numerator, r.denominator) for name, r in (
        ("response", s.response), ("handling", s.handling), ("satisfaction", s.satisfaction))})
        for s in trend.steps]
    return rates_chart(points, title="三率走势", series=RATE_LABELS)


def report_context(data: ReportData, chosen: Chosen) -> dict[str, Any]:
    """What the report body (``supervisor/report_body.html``) shows, for the page and the
    scheduled report's HTML alike."""
    return {"chosen": chosen, "p": data.period, "scores": data.scores, "kinds": KIND_LABELS,
            "rate_labels": RATE_LABELS, "chart": score_chart(data.scores), "calls": data.calls,
            "analysis": data.analysis, "compares": COMPARE_LABELS,
            "trend": volume_chart(data.volume), "rates": rate_chart(data.rates),
            "rates_weekly": data.rates.weekly, "as_of": data.as_of}


def generator_of(request: Request) -> ReportGenerator | None:
    found = getattr(request.app.state, "oversight_reports", None)  # hotline.app sets it
    return found if isinstance(found, ReportGenerator) else None


@router.get("/supervisor/reports", response_class=HTMLResponse)
def reports(request: Request, session: SessionDep, user: Reader, chosen: ChosenDep,
            now: Now, rules: OversightRulesDep) -> HTMLResponse:
    data = gather(session=session, period=chosen.period, as_of=now, rules=rules,
                  compare=chosen.compare)
    generator = generator_of(request)
    generated = [listing(r, every=generator.retry_every)
                 for r in listed_reports(session=session)] if generator is not None else None
    return render(request, "supervisor/reports.html", user=user, snapshot=False,
                  generated=generated, **report_context(data, chosen))


TABLE_LABELS = {"ranking": "排名", "calls": "话务", "analyses": "分析", "rates": "三率走势"}


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} B"


def _local(at: datetime) -> str:
    return as_utc(at).astimezone(CENTER_TZ).strftime("%Y-%m-%d %H:%M")


def listing(row: OversightReport, *, every: timedelta) -> dict[str, Any]:
    """A generated report as the page lists it: local times, each file with its link, a failed
    one with when it is tried again (``every``: the generator's pass interval)."""
    files = []
    order = {".html": 0, ".xlsx": 1}  # the page and the workbook, then the CSV of each table
    for name, size in sorted(row.files.items(),
                             key=lambda f: (order.get(Path(f[0]).suffix, 2), f[0])):
        stem, ext = Path(name).stem, Path(name).suffix.lstrip(".").upper()
        table = next((t for t in TABLE_LABELS if stem.endswith(f"-{t}")), None)
        files.append({"name": name, "size": _size(size),
                      "label": f"{ext} {TABLE_LABELS[table]}" if table else ext,
                      "href": f"/supervisor/reports/generated/{row.id}/{quote(name)}"})
    last = row.period_end - timedelta(days=1)
    retry = _local(row.claimed_at + retry_wait(row.attempts, every)) \
        if row.status == ReportStatus.FAILED else ""
    return {"id": row.id, "kind": row.kind, "kind_label": KIND_LABELS[PeriodKind(row.kind)],
            "start": row.period_start.isoformat(), "status": row.status,
            "period": row.period_start.isoformat() if last == row.period_start
            else f"{row.period_start.isoformat()} 至 {last.isoformat()}",
            "generated_at": _local(row.generated_at) if row.generated_at is not None else "",
            "attempts": row.attempts, "error": row.error, "retry_at": retry, "files": files}


class ReportHtml:
    """The scheduled report's HTML: the page's body for the period, standalone (the console's
    style inline, no links, phones masked as in every file: ``generated.file_mask``)."""

    def __init__(self, web_dir: Path) -> None:
        self.templates = Jinja2Templates(directory=str(web_dir / "templates"))
        self.style = web_dir / "static" / "supervisor.css"

    def __call__(self, data: ReportData) -> str:
        p = data.period
        chosen = Chosen(now=data.as_of, kind=p.kind, day=p.start.astimezone(CENTER_TZ).date(),
                        until=_last_day(p) if p.kind is PeriodKind.CUSTOM else None,
                        compare=data.compare)
        style = self.style.read_text(encoding="utf-8") if self.style.is_file() else ""
        return self.templates.get_template("supervisor/report_file.html").render(
            snapshot=True, style=style, mask=lambda n: n and file_mask(n),
            **report_context(data, chosen))


def _last_day(p: Period) -> date:
    return (p.end.astimezone(CENTER_TZ) - timedelta(days=1)).date()


class NoSuchReportFile(HotlineError):
    error_id = "no-such-report-file"
    status_code = 404

    def __init__(self, report_id: int, name: str) -> None:
        super().__init__(f"no file {name} in generated report {report_id}", report=report_id,
                         file=name)


MEDIA = {".html": "text/html; charset=utf-8", ".csv": "text/csv; charset=utf-8",
         ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/supervisor/reports/generated/{report_id}/{name}")
def generated_file(report_id: int, name: str, request: Request, session: SessionDep,
                   user: Reader, now: Now) -> FileResponse:
    generator = generator_of(request)
    row = session.get(OversightReport, report_id)
    path = report_file(exports_dir=generator.exports_dir, row=row, name=name) \
        if generator is not None else None
    if path is None or row is None:
        raise NoSuchReportFile(report_id, name)
    Exporter(session=session, user=user, client=client_address(request), at=now).log(
        name, report=report_id, kind=row.kind, start=row.period_start.isoformat(),
        bytes=path.stat().st_size)
    inline = path.suffix == ".html"  # read in the browser; the tables are downloaded
    return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"),
                        filename=name, content_disposition_type="inline" if inline
                        else "attachment", headers={"Cache-Control": "private, no-store"})


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
