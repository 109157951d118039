"""The oversight API (supervisor, admin), the same numbers as ``queries``/``calls``:

    GET /api/oversight/units?period=month&day=2026-11-01            ranking with rates
    GET /api/oversight/units.csv?...                                 the same as CSV
    GET /api/oversight/units.xlsx?...                                the same as XLSX
    GET /api/oversight/units/{unit}/tickets?measure=&part=&...       the tickets behind one
    GET /api/oversight/calls?period=day&day=2026-11-23               call rates
    GET /api/oversight/calls.csv?... , calls.xlsx?...                the same as files
    GET /api/oversight/analyses?period=week&compare=previous&...     frequent, hot, repeats
    GET /api/oversight/analyses.csv?... , analyses.xlsx?...          the same as files
    POST /api/oversight/warnings?period=week&...                     tell the early warnings

``period`` is day, week, month or custom (then ``until``, inclusive), in the center's time;
numbers are judged as of now (``definitions.py`` says what counts). Every CSV or XLSX taken
out is logged in the audit log (``export``: who, from where, the file, period and rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from hotline.audit.models import AuditAction
from hotline.audit.store import record_event
from hotline.oversight.alerts import send_warnings
from hotline.oversight.analyses import Analysis, Compare, analyse
from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import (
    DEFAULT_RULES,
    Deduction,
    OversightRules,
    Period,
    PeriodKind,
    Rate,
    UnitScore,
    period,
)
from hotline.oversight.export import (
    Cell,
    analysis_table,
    calls_table,
    csv_text,
    ranking_table,
    rate_value,
    xlsx_bytes,
)
from hotline.oversight.queries import Measure, Part, ranked_units, tickets_behind
from hotline.oversight.trends import AnalysisRules
from hotline.tickets.http import announce_change
from hotline.tickets.units import unit_ids
from hotline.users.models import Role, User
from hotline.web.deps import CENTER_TZ, Now, SessionDep, client_address, mask_phone, require_roles

router = APIRouter(prefix="/api/oversight", tags=["oversight"])
Supervisor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]


def chosen_period(
    now: Now, period_kind: Annotated[PeriodKind, Query(alias="period")] = PeriodKind.MONTH,
    day: date | None = None, until: date | None = None,
) -> Period:
    return period(period_kind, day or now.astimezone(CENTER_TZ).date(), zone=CENTER_TZ,
                  until=until)


PeriodDep = Annotated[Period, Depends(chosen_period)]


def oversight_rules(request: Request) -> OversightRules:
    """The deployment's rules, built once from ``settings.oversight`` by ``include_api``."""
    rules = getattr(request.app.state, "oversight_rules", None)
    return rules if isinstance(rules, OversightRules) else DEFAULT_RULES


OversightRulesDep = Annotated[OversightRules, Depends(oversight_rules)]


def _rate(r: Rate) -> dict[str, Any]:
    return {"numerator": r.numerator, "denominator": r.denominator, "value": rate_value(r)}


def _row(s: UnitScore) -> dict[str, Any]:
    r = s.rates
    return {"unit": r.unit, "rank": s.rank, "score": s.score, "base": s.base,
            "deducted": s.deducted, "response": _rate(r.response),
            "handling": _rate(r.handling), "satisfaction": _rate(r.satisfaction),
            "deductions": {d.value: r.deductions.get(d, 0) for d in Deduction}}


def _ranked(session: SessionDep, p: Period, now: Any,
            rules: OversightRules) -> list[UnitScore]:
    return ranked_units(session=session, period=p, as_of=now, rules=rules)


@router.get("/units", summary="Rates, score and rank of every unit with work in the period")
def units(session: SessionDep, _: Supervisor, p: PeriodDep, now: Now,
          rules: OversightRulesDep) -> dict[str, Any]:
    return {"period": {"kind": p.kind, "start": p.start, "end": p.end, "as_of": now},
            "units": [_row(s) for s in _ranked(session, p, now, rules)]}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FileExt = Literal["csv", "xlsx"]


Table = tuple[list[str], list[list[Cell]]]


@dataclass(frozen=True)
class Exporter:
    """Who takes a table out, to log each export in the audit log before it is sent."""

    session: Session
    user: User
    client: str
    at: datetime

    def log(self, file: str, **detail: Any) -> None:
        record_event(session=self.session, at=self.at, actor=self.user.username,
                     role=self.user.role, action=AuditAction.EXPORT, client=self.client,
                     path=file, detail=detail)
        self.session.commit()


def exporter(request: Request, session: SessionDep, user: Supervisor, now: Now) -> Exporter:
    return Exporter(session=session, user=user, at=now,
                    client=client_address(request))


ExporterDep = Annotated[Exporter, Depends(exporter)]


def download(table: Table, *, name: str, p: Period, ext: str, who: Exporter,
             **detail: Any) -> Response:
    """``table`` as a CSV or XLSX attachment named ``<name>-<period>.<ext>``, logged."""
    file = f"{name}-{p.label}.{ext}"
    who.log(file, period=p.label, start=p.start.isoformat(), end=p.end.isoformat(),
            rows=len(table[1]), **detail)
    headers = {"Content-Disposition": f'attachment; filename="{file}"'}
    if ext == "csv":
        return Response(csv_text(*table), media_type="text/csv; charset=utf-8",
                        headers=headers)
    return Response(xlsx_bytes(*table, title=p.label), media_type=XLSX, headers=headers)


@router.get("/units.{ext}", summary="The ranking as CSV or XLSX (the same numbers as /units)")
def units_file(session: SessionDep, who: ExporterDep, p: PeriodDep, now: Now,
               rules: OversightRulesDep, ext: FileExt) -> Response:
    return download(ranking_table(_ranked(session, p, now, rules)), name="units", p=p, ext=ext,
                    who=who)


@router.get("/units/{unit}/tickets", summary="The tickets behind one number of a unit")
def unit_tickets(
    unit: str, measure: Measure, session: SessionDep, _: Supervisor, p: PeriodDep, now: Now,
    rules: OversightRulesDep, part: Part = Part.DENOMINATOR,
) -> dict[str, Any]:
    unit_id = unit_ids(session, (unit,))[unit]
    found = tickets_behind(session=session, unit_id=unit_id, measure=measure, part=part,
                           period=p, as_of=now, rules=rules)
    return {"unit": unit, "measure": measure, "part": part, "count": len(found),
            "tickets": [asdict(t) for t in found]}


@router.get("/calls", summary="Call rates of the period (接通率, 15/20/30 s, 直接答复率 …)")
def calls(session: SessionDep, _: Supervisor, p: PeriodDep) -> dict[str, Any]:
    c = call_rates(session=session, period=p)
    return {"offered": c.offered, "answered": _rate(c.answered),
            "within_15s": _rate(c.within_15s), "within_20s": _rate(c.within_20s),
            "within_30s": _rate(c.within_30s), "abandoned": _rate(c.abandoned),
            "average_wait_seconds": c.average_wait_seconds,
            "average_talk_seconds": c.average_talk_seconds,
            "direct_answer": _rate(c.direct_answer), "not_request": _rate(c.not_request),
            "missing": list(c.missing)}


@router.get("/calls.{ext}", summary="The call rates as CSV or XLSX (the same as /calls)")
def calls_file(session: SessionDep, who: ExporterDep, p: PeriodDep, ext: FileExt) -> Response:
    return download(calls_table(call_rates(session=session, period=p)), name="calls", p=p,
                    ext=ext, who=who)


def chosen_rules(
    hot_ratio: Annotated[float, Query(gt=1)] = 2.0,
    hot_minimum: Annotated[int, Query(ge=1)] = 5,
    repeat_days: Annotated[int, Query(ge=1, le=366)] = 7,
    repeat_minimum: Annotated[int, Query(ge=2)] = 2,
    alert_hot: Annotated[int, Query(ge=1)] = 10,
    alert_repeat: Annotated[int, Query(ge=2)] = 3,
) -> AnalysisRules:
    return AnalysisRules(hot_ratio=hot_ratio, hot_minimum=hot_minimum,
                         repeat_window=timedelta(days=repeat_days),
                         repeat_minimum=repeat_minimum, alert_hot=alert_hot,
                         alert_repeat=alert_repeat)


RulesDep = Annotated[AnalysisRules, Depends(chosen_rules)]


def analysis_json(a: Analysis) -> dict[str, Any]:
    def hot(rows: Any) -> list[dict[str, Any]]:
        return [{"key": r.key, "now": r.now, "before": r.before, "ratio": r.ratio}
                for r in rows]

    return {
        "period": {"start": a.period.start, "end": a.period.end},
        "earlier": {"start": a.earlier.start, "end": a.earlier.end}, "total": a.total,
        "frequent": [{"code": m.code, "name": m.name, "count": m.count} for m in a.frequent],
        "hot_matters": hot(a.hot_matters), "hot_terms": hot(a.hot_terms),
        "repeats": [{"by": r.by, "key": r.key, "size": r.cluster.size,
                     "tickets": [d.number for d in r.cluster.tickets]} for r in a.repeats],
    }


@router.get("/analyses", summary="Frequent matters, hot topics and repeat requests")
def analyses(
    session: SessionDep, _: Supervisor, p: PeriodDep, rules: RulesDep,
    compare: Compare = Compare.PREVIOUS,
) -> dict[str, Any]:
    return analysis_json(analyse(session=session, period=p, rules=rules, compare=compare))


@router.get("/analyses.{ext}", summary="The analyses as CSV or XLSX (the same as /analyses)")
def analyses_file(
    session: SessionDep, who: ExporterDep, p: PeriodDep, rules: RulesDep, ext: FileExt,
    compare: Compare = Compare.PREVIOUS,
) -> Response:
    found = analyse(session=session, period=p, rules=rules, compare=compare)
    table = analysis_table(found, mask=lambda phone: mask_phone(phone, role=who.user.role))
    return download(table, name="analyses", p=p, ext=ext, who=who, compare=compare.value)


@router.post("/warnings", summary="Tell the early warnings of the period not yet told")
def warnings(
    request: Request, session: SessionDep, _: Supervisor, p: PeriodDep, rules: RulesDep,
    now: Now, compare: Compare = Compare.PREVIOUS,
) -> dict[str, Any]:
    found = analyse(session=session, period=p, rules=rules, compare=compare)
    sent = send_warnings(session=session, analysis=found, now=now, rules=rules)
    session.commit()
    announce_change(request)
    return {"sent": [{"action": w.action, "key": w.key, "number": w.number,
                      "unit_ids": w.unit_ids, **w.payload} for w in sent]}
