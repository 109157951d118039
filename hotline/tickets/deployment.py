"""The deployment's ticket rules, built once from the settings: the one calendar (weekends and
the configured holidays ``ivr.holidays``) that deadlines, lights, outbound calling hours and
the IVR's closed days all follow, with the default time limits.

    rules = rules_from_settings(settings)      # Hotline builds it; the API and outbound share it
    service.act(session=session, ..., rules=rules)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from hotline.config import Settings
from hotline.tickets.calendar import WorkCalendar
from hotline.tickets.service import DEFAULT_RULES, Rules


def calendar_from(holidays: Iterable[str | date]) -> WorkCalendar:
    """A calendar closing ``holidays`` (dates or ``YYYY-MM-DD``), besides weekends."""
    days = frozenset(d if isinstance(d, date) else date.fromisoformat(d) for d in holidays)
    return WorkCalendar(holidays=days | DEFAULT_RULES.calendar.holidays,
                        makeup_workdays=DEFAULT_RULES.calendar.makeup_workdays)


def rules_from_settings(settings: Settings) -> Rules:
    return Rules(calendar=calendar_from(settings.ivr.holidays), limits=DEFAULT_RULES.limits)
