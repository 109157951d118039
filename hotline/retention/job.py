"""The clean-up in the running app: once soon after start, then every ``interval_hours``.

    job = RetentionJob(engine=engine, clock=clock, settings=settings.retention,
                       recordings_root=settings.recordings_dir, exports_dir=exports)
    await job.start()   # nothing runs when retention.enabled is false
    ...
    await job.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from hotline.retention.service import Report, run_cleanup
from hotline.retention.settings import RetentionSettings

log = logging.getLogger(__name__)
FIRST_RUN_DELAY = 60.0  # seconds after start: let the app come up first


class RetentionJob:
    def __init__(self, *, engine: Engine, clock: Callable[[], datetime],
                 settings: RetentionSettings, recordings_root: Path, exports_dir: Path) -> None:
        self.engine, self.clock, self.settings = engine, clock, settings
        self.recordings_root, self.exports_dir = recordings_root, exports_dir
        self._task: asyncio.Task[None] | None = None
        self.last: Report | None = None
        self.last_error: str | None = None

    def run_once(self, *, dry_run: bool, actor: str = "retention",
                 role: str = "system") -> Report:
        report = run_cleanup(engine=self.engine, settings=self.settings, now=self.clock(),
                             recordings_root=self.recordings_root, exports_dir=self.exports_dir,
                             dry_run=dry_run, actor=actor, role=role)
        if not dry_run:
            self.last = report
        return report

    async def start(self) -> None:
        if self.settings.enabled and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        await asyncio.sleep(FIRST_RUN_DELAY)
        while True:
            try:
                report = await asyncio.to_thread(self.run_once, dry_run=False)
                self.last_error = None
                log.info("retention clean-up: %s", report.summary())
            except Exception as exc:
                log.exception("retention clean-up failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(self.settings.interval_hours * 3600)

    def status(self) -> dict[str, Any]:
        return {"enabled": self.settings.enabled,
                "last": self.last.summary() if self.last is not None else None,
                "last_error": self.last_error}
