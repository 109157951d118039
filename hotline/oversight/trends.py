"""What the analyses count, precisely. Pure: no I/O, no clock.

**High-frequency matters**: the matters of the tickets *created* in the period, most first.

**Hot topics** (``rising``): a key (a matter, or a search term of the tickets' words) is hot when
it counts at least ``hot_minimum`` tickets in the period and at least ``hot_ratio`` times its
count in the period compared with (the one just before, of the same length, or the same period a
year before). A key absent before (count 0) is hot from ``hot_minimum`` on; its ratio is
``None``. A term counts each ticket once, however often the ticket says it.

**Repeat requests** (``clusters``): tickets with the same key (the caller's phone; or the matter
and the place, the place compared without case or spaces) created in
``[start − repeat_window, end)``, in time order, split wherever two neighbours are more than
``repeat_window`` apart. A run of at least ``repeat_minimum`` tickets with one created in the
period is a repeat cluster. The window bounds the look-back: a run that began more than a window
before the period is seen from the window on.

**Early warnings**: a hot topic counting at least ``alert_hot`` tickets, or a repeat cluster of
at least ``alert_repeat`` tickets, is told once per period (``alerts.py``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class AnalysisRules:
    repeat_window: timedelta = timedelta(days=7)
    repeat_minimum: int = 2
    hot_ratio: float = 2.0
    hot_minimum: int = 5
    top: int = 10
    alert_hot: int = 10
    alert_repeat: int = 3


DEFAULT_ANALYSIS = AnalysisRules()


@dataclass(frozen=True)
class Rising(Generic[K]):
    key: K
    now: int
    before: int

    @property
    def ratio(self) -> float | None:
        return round(self.now / self.before, 4) if self.before else None


def rising(
    now: Mapping[K, int], before: Mapping[K, int], *, ratio: float, minimum: int,
) -> list[Rising[K]]:
    """The keys rising against the earlier counts, the most tickets first (then by key)."""
    out = [
        Rising(key, n, before.get(key, 0)) for key, n in now.items()
        if n >= minimum and (before.get(key, 0) == 0 or n >= ratio * before.get(key, 0))
    ]
    return sorted(out, key=lambda r: (-r.now, str(r.key)))


@dataclass(frozen=True)
class Dated:
    number: str
    at: datetime
    in_period: bool


@dataclass(frozen=True)
class Cluster(Generic[K]):
    key: K
    tickets: tuple[Dated, ...]  # oldest first

    @property
    def size(self) -> int:
        return len(self.tickets)


def clusters(
    keyed: Iterable[tuple[K, Dated]], *, window: timedelta, minimum: int,
) -> list[Cluster[K]]:
    """The repeat clusters of ``keyed`` tickets (see the module docstring), largest first."""
    by_key: dict[K, list[Dated]] = {}
    for key, dated in keyed:
        by_key.setdefault(key, []).append(dated)
    out: list[Cluster[K]] = []
    for key, tickets in by_key.items():
        tickets.sort(key=lambda d: (d.at, d.number))
        run: list[Dated] = []
        for d in tickets:
            if run and d.at - run[-1].at > window:
                out.extend(_kept(key, run, minimum))
                run = []
            run.append(d)
        out.extend(_kept(key, run, minimum))
    return sorted(out, key=lambda c: (-c.size, c.tickets[-1].number))


def _kept(key: K, run: list[Dated], minimum: int) -> list[Cluster[K]]:
    if len(run) >= minimum and any(d.in_period for d in run):
        return [Cluster(key, tuple(run))]
    return []


def place(text: str) -> str:
    """A place as compared: lower case, no spaces."""
    return "".join(text.split()).lower()


def counted_terms(search_terms: str) -> set[str]:
    """The terms a ticket counts for: its search words of two characters or more that are not
    numbers, each once."""
    return {t for t in search_terms.split() if len(t) >= 2 and not t.isdigit()}
