"""Early warnings told by the app itself: every ``warnings_every_seconds`` the warning job
analyses the current period (``warnings_period``: day, week or month, in the center's time)
and writes the warnings not yet told in it (``alerts.send_warnings``: each warning once per
period, however often the job runs, because a warning already in the outbox since the period
began is not written again). After a commit that wrote any, the streams are woken, so the
supervisors' and the units' consoles show the notice at once.

    job = WarningScheduler(engine=engine, clock=clock, settings=settings.oversight,
                           zone=tz, on_change=signal.notify)
    await job.start()   # … await job.stop()
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
from hotline.oversight.settings import OversightSettings, analysis_from_settings

log = logging.getLogger(__name__)


class WarningScheduler:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime], settings: OversightSettings,
        zone: tzinfo, on_change: Callable[[], None] | None = None,
    ) -> None:
        self.engine, self.clock, self.settings, self.zone = engine, clock, settings, zone
        self.rules = analysis_from_settings(settings)
        self.on_change = on_change
        self.passes = 0
        self.sent = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def run_once(self) -> int:
        """One pass over the current period; returns how many warnings it wrote."""
        now = self.clock()
        current = period(self.settings.warnings_period, now.astimezone(self.zone).date(),
                         zone=self.zone)
        with session_scope(self.engine) as session:
            found = analyse(session=session, period=current, rules=self.rules)
            sent = send_warnings(session=session, analysis=found, now=now, rules=self.rules)
        if sent and self.on_change is not None:
            self.on_change()
        self.passes += 1
        self.sent += len(sent)
        return len(sent)

    async def start(self) -> None:
        if self._task is None and self.settings.warnings_every_seconds > 0:
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._passes(), name="oversight-warnings")

    async def stop(self) -> None:
        """Ends the job after the pass under way, if any (a pass is one short transaction)."""
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None

    async def _passes(self) -> None:
        every = self.settings.warnings_every_seconds
        while not self._stopping.is_set():
            try:
                told = await asyncio.to_thread(self.run_once)
            except Exception as exc:  # a database hiccup must not end the job
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("early warning pass failed; next pass in %.0f s", every)
            else:
                self.last_error = None
                if told:
                    log.info("early warnings: %d told", told)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), every)

    def status(self) -> dict[str, object]:
        return {"running": self._task is not None and not self._task.done(),
                "passes": self.passes, "sent": self.sent, "last_error": self.last_error}
