"""Early warnings told by the app itself: every ``warnings_every_seconds`` the warning job
analyses the current period (``warnings_period``: day, week or month, in the center's time)
and writes the warnings not yet told in it (``alerts.send_warnings``: each warning once per
period, however often the job runs, because a warning already in the outbox since the period
began is not written again). After a commit that wrote any, the streams are woken, so the
supervisors' and the units' consoles show the notice at once.

    job = WarningScheduler(engine=engine, clock=clock, settings=settings.oversight,
                           zone=tz, on_change=signal.notify)
    await job.start()   # … await job.stop()

The scheduled reports run beside it: every ``reports_every_seconds`` the report job generates
the reports of the ended days, weeks and months not generated yet (``generated.py``: each
once, whatever the restarts or the processes; a failed one is logged and tried again after a
wait that doubles with each failure, ``generated.retry_wait``; ``reports_enabled: false`` turns
it off)::

    reports = ReportScheduler(generator=ReportGenerator(...), settings=settings.oversight)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, tzinfo

from sqlalchemy import Engine

from hotline.db import session_scope
from hotline.oversight.alerts import send_warnings
from hotline.oversight.analyses import analyse
from hotline.oversight.definitions import period
from hotline.oversight.generated import ReportGenerator, ReportStatus
from hotline.oversight.settings import OversightSettings, analysis_from_settings

log = logging.getLogger(__name__)
FIRST_REPORTS_DELAY = 30.0  # seconds after start before the first look for due reports


class PeriodicJob:
    """A pass (``run_once``, blocking: run in a thread) every ``every`` seconds from start to
    stop; an error of a pass is logged and kept in ``last_error``, and the job goes on."""

    name = "oversight"

    def __init__(self, every: float) -> None:
        self.every = every
        self.passes = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def run_once(self) -> int:
        """One pass, counted once it ends without an error."""
        done = self.one_pass()
        self.passes += 1
        return done

    def one_pass(self) -> int:
        raise NotImplementedError

    def enabled(self) -> bool:
        return self.every > 0

    async def start(self) -> None:
        if self._task is None and self.enabled():
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._passes(), name=self.name)

    async def stop(self) -> None:
        """Ends the job after the pass under way, if any."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    def first_delay(self) -> float:
        """Seconds from start to the first pass."""
        return 0.0

    async def _passes(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.first_delay())
        while not self._stopping.is_set():
            try:
                done = await asyncio.to_thread(self.run_once)
            except Exception as exc:  # a database hiccup must not end the job
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("%s pass failed; next pass in %.0f s", self.name, self.every)
            else:
                self.last_error = None
                if done:
                    log.info("%s: %d done", self.name, done)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.every)

    def status(self) -> dict[str, object]:
        return {"running": self._task is not None and not self._task.done(),
                "passes": self.passes, "last_error": self.last_error}


class WarningScheduler(PeriodicJob):
    name = "oversight-warnings"

    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime], settings: OversightSettings,
        zone: tzinfo, on_change: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(settings.warnings_every_seconds)
        self.engine, self.clock, self.settings, self.zone = engine, clock, settings, zone
        self.rules = analysis_from_settings(settings)
        self.on_change = on_change
        self.sent = 0

    def one_pass(self) -> int:
        """One pass over the current period; returns how many warnings it wrote."""
        now = self.clock()
        current = period(self.settings.warnings_period, now.astimezone(self.zone).date(),
                         zone=self.zone)
        with session_scope(self.engine) as session:
            found = analyse(session=session, period=current, rules=self.rules)
            sent = send_warnings(session=session, analysis=found, now=now, rules=self.rules)
        if sent and self.on_change is not None:
            self.on_change()
        self.sent += len(sent)
        return len(sent)

    def status(self) -> dict[str, object]:
        return {**super().status(), "sent": self.sent}


class ReportScheduler(PeriodicJob):
    """The scheduled reports: a pass generates every due report not generated yet. A report
    that fails is marked failed by the generator (its error logged with the path) and tried
    again once its wait is over (``generated.retry_wait``); the others of the pass go on."""

    name = "oversight-reports"

    def __init__(self, *, generator: ReportGenerator, settings: OversightSettings) -> None:
        super().__init__(settings.reports_every_seconds)
        self.generator, self.settings = generator, settings
        self.generated = 0
        self.failed: list[str] = []  # the last pass's failures

    def enabled(self) -> bool:
        return self.settings.reports_enabled and super().enabled()

    def first_delay(self) -> float:
        return min(FIRST_REPORTS_DELAY, self.every)  # let the app come up first

    def one_pass(self) -> int:
        outcomes = self.generator.run_due(stopping=self._stopping.is_set)
        done = [o for o in outcomes if o.status is ReportStatus.DONE]
        self.failed = [f"{o.kind.value} {o.label}: {o.error}" for o in outcomes
                       if o.status is ReportStatus.FAILED]
        self.generated += len(done)
        return len(done)

    def status(self) -> dict[str, object]:
        return {**super().status(), "enabled": self.enabled(), "generated": self.generated,
                "failed": self.failed}
