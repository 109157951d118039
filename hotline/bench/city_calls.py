"""The call records (``call``) of a synthetic city, written in bulk (SQLite ``executemany``,
PostgreSQL ``COPY``), as the telephony core would have kept them (``calls.service``).

The spread: days to ``now`` weighted by weekday, month and a slow growth; summer peaks (heat,
停水, noise: July and August), a winter peak of heating calls (December, January), a dip at the
Spring Festival (February), and a few heat waves and cold snaps that double a day; hours from
the quiet night to the morning and afternoon peaks. Each call goes through the IVR: some end
there (self-service, hung up), some leave a message at night, the rest queue for an agent.
The queue is a crowd of agents loaded by the hour's share: the busier the hour, the longer the
wait (a mean of ``occupancy / (1 − occupancy)`` times a service slot); a caller whose patience
runs out first abandons, a few leave by the queue's time-out. The answered talk for a few
minutes (log-normal).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hotline.bench.seed import spread

CALL_COLUMNS = (
    "id", "uniqueid", "linkedid", "channel", "direction", "caller_number", "caller_name",
    "dialled", "started_at", "answered_at", "ended_at", "hangup_cause", "hangup_cause_text",
    "flow", "keys", "end_reason", "transferred_to", "queue_joined_at", "queue_left_at",
    "queue_wait_seconds", "queue_outcome", "answered_within_15s", "answered_within_20s",
    "answered_by", "seen_live", "ivr_path", "accept_light",
)
WEEKDAY = (1.2, 1.1, 1.05, 1.0, 1.0, 0.7, 0.6)
MONTH = (1.15, 0.8, 0.95, 0.95, 1.0, 1.15, 1.35, 1.35, 1.0, 0.9, 1.0, 1.15)
HOURS: tuple[float, ...] = (0.4, 0.25, 0.15, 0.12, 0.12, 0.25, 0.8, 2.5, 6, 8, 8.5, 7.5, 5,
                            5.5, 7.5, 8, 7.5, 5.5, 3.5, 3, 3, 2.5, 1.5, 0.8)
SPELLS = {6: 0.08, 7: 0.15, 8: 0.15, 12: 0.06, 1: 0.08}  # month → chance of a heat/cold day
TIMEOUT = 300.0  # the queue's time-out (seconds)
SLOT = 8.0  # the mean wait at half occupancy (seconds)
PATIENCE = 120.0  # callers' mean patience (seconds)
_NIGHT = range(0, 8)
_MENUS = (["welcome", "menu", "queue"], ["welcome", "menu", "policy", "queue"],
          ["welcome", "menu", "progress", "queue"])
_SELF = (["welcome", "menu", "policy"], ["welcome", "menu", "progress"], ["welcome"])


@dataclass(frozen=True)
class CallPlan:
    n: int
    now: datetime
    days: int = 730
    seed: int = 1
    batch: int = 20_000


@dataclass
class CallReport:
    calls: int = 0
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    by_month: dict[int, int] = field(default_factory=dict)


def day_counts(plan: CallPlan, rng: random.Random) -> list[tuple[date, int]]:
    """Calls per day, ``n`` in all (the part of today before ``now`` only)."""

    def weight(i: int, d: date) -> float:
        spell = 1.8 if rng.random() < SPELLS.get(d.month, 0.0) else 1.0
        return (WEEKDAY[d.weekday()] * MONTH[d.month - 1] * spell
                * (1 + 0.2 * i / plan.days) * rng.uniform(0.9, 1.1))

    return spread(plan.n, now=plan.now, days=plan.days, hours=HOURS, weight=weight)


class CallSeeder:
    """Yields batches of call rows, day by day, in time order."""

    def __init__(self, plan: CallPlan, column_time: Callable[[datetime], Any]) -> None:
        self.plan, self.column_time = plan, column_time
        self.rng = random.Random(plan.seed * 7919)
        self.report = CallReport()
        self.callers = [self._phone() for _ in range(max(plan.n // 20, 10))]
        peak = max(HOURS)
        self.hour_load = [h / peak for h in HOURS]

    def _phone(self) -> str:
        return self.rng.choice(("13", "15", "17", "18", "19")) + f"{self.rng.randrange(10**9):09d}"

    def batches(self) -> Iterator[list[tuple[Any, ...]]]:
        batch: list[tuple[Any, ...]] = []
        counts = day_counts(self.plan, self.rng)
        usual = sum(c for _, c in counts) / max(len(counts), 1)
        for day, count in counts:
            start = datetime.combine(day, time(0), tzinfo=self.plan.now.tzinfo)
            weights = HOURS if day < self.plan.now.date() else (
                HOURS[: self.plan.now.hour] + (0.0,) * (24 - self.plan.now.hour))
            hours = self.rng.choices(range(24), weights=weights, k=count)
            moments = sorted(start + timedelta(hours=h, seconds=self.rng.random() * 3600)
                             for h in hours)
            day_load = count / usual if usual else 1.0
            for at in moments:
                batch.append(self._call(at, day_load))
                if len(batch) >= self.plan.batch:
                    yield batch
                    batch = []
        if batch:
            yield batch

    def _call(self, started: datetime, day_load: float) -> tuple[Any, ...]:
        rng, report = self.rng, self.report
        report.calls += 1
        call_id = report.calls
        report.by_month[started.month] = report.by_month.get(started.month, 0) + 1
        ivr = 20.0 + rng.random() * 40
        answered = started + timedelta(seconds=1)
        joined = left = wait = outcome = agent = None
        flow, end_reason, keys = "main", "ivr", ""
        hour = started.hour
        roll = rng.random()
        if roll < 0.12:  # self-service in the IVR, or hung up there
            path = rng.choice(_SELF)
            keys = {3: "", 4: "2"}.get(len(path), "1")
            ended = started + timedelta(seconds=ivr)
        elif hour in _NIGHT and roll < 0.45:  # the night line: a message, no agent
            path, flow, end_reason = ["welcome", "night", "message"], "night", "message"
            ended = started + timedelta(seconds=ivr + 30 + rng.random() * 60)
        else:
            path = rng.choice(_MENUS)
            keys = "0"
            joined = started + timedelta(seconds=ivr)
            occupancy = min(0.95, 0.72 * self.hour_load[hour] * day_load**0.5)
            wait_draw = rng.expovariate(1.0) * SLOT * occupancy / (1 - occupancy)
            patience = rng.expovariate(1.0 / PATIENCE)
            report.offered += 1
            if wait_draw <= patience and wait_draw < TIMEOUT:
                wait, outcome, end_reason = round(wait_draw, 3), "answered", "agent"
                agent = f"agent-{rng.randrange(1, 61):02d}"
                talk = math.exp(rng.gauss(5.0, 0.6))
                left = joined + timedelta(seconds=wait)
                ended = left + timedelta(seconds=talk)
                report.answered += 1
            elif patience < TIMEOUT:
                wait, outcome, end_reason = round(patience, 3), "abandoned", "abandoned"
                left = ended = joined + timedelta(seconds=wait)
                report.abandoned += 1
            else:  # the queue's time-out: to the message box
                wait, end_reason = TIMEOUT, "message"
                left = joined + timedelta(seconds=TIMEOUT)
                ended = left + timedelta(seconds=40)
        t = self.column_time
        caller = (rng.choice(self.callers) if rng.random() < 0.3 else self._phone())
        uid = f"{int(started.timestamp())}.{call_id}"
        return (
            call_id, uid, uid, f"PJSIP/trunk-{call_id % 0xFFFFFFFF:08x}", "in", caller, "",
            "12345", t(started), t(answered), t(ended), 16, "Normal Clearing", flow, keys,
            end_reason, f"queue:{agent}" if agent else None,
            None if joined is None else t(joined), None if left is None else t(left), wait,
            outcome, None if wait is None else (outcome == "answered" and wait <= 15),
            None if wait is None else (outcome == "answered" and wait <= 20), agent, True,
            json.dumps(path), None,  # the 受理 clock publishes lights only for the last hour
        )
