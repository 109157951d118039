"""Settings of oversight (``Settings.oversight``, ``HOTLINE_OVERSIGHT__*``): the configurable
parts of the rates and the score, and the periodic early warnings::

    oversight:
      excluded_matters: [SD-001, ZF-003]   # matter codes left out of 满意率
      deductions: {late_sign: 0.5, redo: 2}  # points per case; kinds not named keep the default
      warnings_period: week                # the period the early warnings are judged over
      warnings_every_seconds: 300          # how often the app looks for new warnings; 0: never
      reports_enabled: true                # generate each ended day/week/month's report once
      reports_kinds: [day, week, month]    # 日报, 周报, 月报
      reports_hour: 1                      # local hour after the period's end to generate it
      reports_catch_up: 7                  # periods of each kind looked back (missed ones)
      reports_every_seconds: 300           # how often the app looks for a report due

``rules_from_settings`` builds the ``OversightRules`` once; the API, the report pages, the
exports and the public figures read that one object (``app.state.oversight_rules``).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from hotline.oversight.definitions import (
    DEFAULT_DEDUCTIONS,
    DEFAULT_RULES,
    Deduction,
    OversightRules,
    PeriodKind,
)
from hotline.oversight.trends import DEFAULT_ANALYSIS, AnalysisRules


class OversightSettings(BaseModel):
    excluded_matters: list[str] = Field(
        default_factory=lambda: sorted(DEFAULT_RULES.excluded_matters))
    deductions: dict[Deduction, float] = Field(default_factory=dict)
    warnings_period: PeriodKind = PeriodKind.WEEK
    warnings_every_seconds: float = Field(default=300.0, ge=0)
    alert_hot: int = Field(default=DEFAULT_ANALYSIS.alert_hot, ge=1)
    alert_repeat: int = Field(default=DEFAULT_ANALYSIS.alert_repeat, ge=2)
    reports_enabled: bool = True
    reports_kinds: list[PeriodKind] = Field(
        default_factory=lambda: [PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH])
    reports_hour: int = Field(default=1, ge=0, le=23)
    reports_catch_up: int = Field(default=7, ge=1, le=400)
    reports_every_seconds: float = Field(default=300.0, gt=0)

    @field_validator("deductions")
    @classmethod
    def _not_negative(cls, value: dict[Deduction, float]) -> dict[Deduction, float]:
        negative = sorted(d.value for d, points in value.items() if points < 0)
        if negative:
            raise ValueError(f"deduction points below 0: {', '.join(negative)}")
        return value

    @field_validator("warnings_period")
    @classmethod
    def _not_custom(cls, value: PeriodKind) -> PeriodKind:
        if value is PeriodKind.CUSTOM:
            raise ValueError("warnings_period is day, week or month")
        return value

    @field_validator("reports_kinds")
    @classmethod
    def _report_kinds(cls, value: list[PeriodKind]) -> list[PeriodKind]:
        if PeriodKind.CUSTOM in value:
            raise ValueError("reports_kinds are day, week or month")
        return list(dict.fromkeys(value))


def rules_from_settings(settings: OversightSettings) -> OversightRules:
    return OversightRules(
        excluded_matters=frozenset(code.strip() for code in settings.excluded_matters),
        deductions={**DEFAULT_DEDUCTIONS, **settings.deductions},
    )


def analysis_from_settings(settings: OversightSettings) -> AnalysisRules:
    return AnalysisRules(alert_hot=settings.alert_hot, alert_repeat=settings.alert_repeat)
