"""The deadline scheduler: every ``interval`` it publishes the tickets whose light got worse,
and the parked tickets (挂账) whose review date came; and the calls a seat answered whose
受理 clock turned yellow or red with no ticket yet (``accept.scan_accept``: the first pass after a
start reads the last day's calls, each later one the calls since an hour before the previous
pass that succeeded, so a stop or a failing database does not let calls go unescalated).

Each pass runs ``scanner.scan`` in batches in one transaction per batch: the new
light is stored on the ticket and a ``light`` change (or a ``review`` change of a parked
ticket, once per review date) is appended to the outbox in the same commit, so a pass
interrupted by a crash is simply done again by the next start (deadlines, published lights
and review reminders are stored, never only in memory). After each commit the streams are woken;
the reminder calls (督办, [outbound calls]) read the same outbox.

    scheduler = LightScheduler(engine=engine, clock=clock, on_change=signal.notify)
    await scheduler.start()   # … await scheduler.stop()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from hotline.db import session_scope
from hotline.tickets.accept import CATCH_UP, scan_accept
from hotline.tickets.calendar import Limits
from hotline.tickets.lifecycle import DEFAULT_LIMITS
from hotline.tickets.scanner import scan

log = logging.getLogger(__name__)
BATCH = 1000
MAX_BATCHES = 2000


class LightScheduler:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime], interval: float = 30.0,
        on_change: Callable[[], None] | None = None, limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.engine, self.clock, self.interval = engine, clock, interval
        self.on_change, self.limits = on_change, limits
        self.passes = 0
        self.published = 0
        self.reviews = 0
        self.accepts = 0
        self.last_error: str | None = None
        self._accept_since: datetime | None = None  # the last 受理 scan that committed
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> int:
        """One pass; returns how many changes (light changes, park reviews and 受理 lights)
        it published."""
        now, total, reviews = self.clock(), 0, 0
        for _ in range(MAX_BATCHES):  # bounded: a row that stays due cannot spin the loop
            with session_scope(self.engine) as session:
                done = scan(session=session, now=now, limit=BATCH)
            total += len(done.lights) + len(done.reviews)
            reviews += len(done.reviews)
            if (done.lights or done.reviews) and self.on_change is not None:
                self.on_change()
            if done.looked < BATCH:
                break
        accepts = self._scan_accept(now)
        self.passes += 1
        self.published += total + accepts
        self.reviews += reviews
        self.accepts += accepts
        return total + accepts

    def _scan_accept(self, now: datetime) -> int:
        since = self._accept_since if self._accept_since is not None else now - CATCH_UP
        with session_scope(self.engine) as session:
            changed = scan_accept(session=session, now=now, limits=self.limits, since=since)
        self._accept_since = now
        if changed and self.on_change is not None:
            self.on_change()
        return len(changed)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="light-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        while True:
            try:
                published = await asyncio.to_thread(self.run_once)
                self.last_error = None
                if published:
                    log.info("deadline lights: %d changes published", published)
            except Exception as exc:  # a database hiccup must not end the scheduler
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("deadline light pass failed; retrying in %.0f s", self.interval)
            await asyncio.sleep(self.interval)

    def status(self) -> dict[str, object]:
        return {"running": self._task is not None and not self._task.done(),
                "passes": self.passes, "published": self.published, "reviews": self.reviews,
                "accepts": self.accepts, "last_error": self.last_error}
