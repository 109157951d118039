"""The outbound scheduler: every ``interval`` it plans calls from the ticket change outbox,
escalates unacknowledged red reminders, and places the calls that are due through a
``Dialer``, each attempt's outcome stored as soon as it is known.

Everything it knows is in the database (calls, attempts, the outbox cursor), so a restart
loses nothing: attempts a stopped process left running are ended as failed and retried by the
rules (``service.recover``). Database work runs in threads; the calls run as tasks it keeps,
so their errors are logged, never lost.

    scheduler = OutboundScheduler(engine=engine, clock=clock, dialer=dialer, policy=policy)
    await scheduler.start()   # … await scheduler.stop()
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from hotline.db import session_scope
from hotline.outbound.planning import Planned, Planning, plan_batch
from hotline.outbound.ports import CallReport, Dialer, PlacedCall
from hotline.outbound.rules import Outcome
from hotline.outbound.service import Policy, claim_due, escalate_due, record_report, recover
from hotline.tickets.errors import ConcurrentUpdate

log = logging.getLogger(__name__)
MAX_PLAN_BATCHES = 50
RECORD_TRIES = 5


@dataclass
class PassResult:
    planned: Planned
    escalated: int
    placed: list[PlacedCall]


class OutboundScheduler:
    def __init__(
        self, *, engine: Engine, clock: Callable[[], datetime], dialer: Dialer, policy: Policy,
        trunk: str = "default", interval: float = 15.0,
        on_comment: Callable[[], None] | None = None,
    ) -> None:
        self.engine, self.clock, self.dialer, self.policy = engine, clock, dialer, policy
        self.on_comment = on_comment  # a recorded comment was queued for transcription
        self.planning = Planning(hours=policy.hours, rules=policy.rules, trunk=trunk)
        self.interval = interval
        self.passes = self.placed = self.finished = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._recording = threading.Lock()  # reports of this process are stored one at a time

    # one pass ----------------------------------------------------------------------------
    def prepare(self) -> int:
        """End the attempts a stopped process left running (call before the first pass)."""
        with session_scope(self.engine) as session:
            return recover(session=session, now=self.clock(), policy=self.policy)

    def plan_and_claim(self) -> PassResult:
        """The database part of a pass: plan from the outbox, escalate, claim due calls."""
        now, planned = self.clock(), Planned()
        for _ in range(MAX_PLAN_BATCHES):
            with session_scope(self.engine) as session:
                batch = plan_batch(session=session, now=now, planning=self.planning)
            planned.surveys += batch.surveys
            planned.reminders += batch.reminders
            planned.escalations += batch.escalations
            planned.cancelled += batch.cancelled
            planned.changes += batch.changes
            if batch.changes == 0:
                break
        with session_scope(self.engine) as session:
            escalated = escalate_due(session=session, now=now)
        with session_scope(self.engine) as session:
            placed = claim_due(session=session, now=now, policy=self.policy)
        return PassResult(planned=planned, escalated=escalated, placed=placed)

    async def run_once(self, *, wait: bool = False) -> PassResult:
        """One pass; with ``wait`` returns only once every call it placed has ended."""
        result = await asyncio.to_thread(self.plan_and_claim)
        self.passes += 1
        tasks = [self._spawn(call) for call in result.placed]
        if wait and tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return result

    def _spawn(self, call: PlacedCall) -> asyncio.Task[None]:
        task = asyncio.create_task(self._call(call), name=f"outbound-{call.call_id}")
        self._calls.add(task)
        task.add_done_callback(self._done)
        self.placed += 1
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("outbound call task %s failed", task.get_name(), exc_info=task.exception())

    async def _call(self, call: PlacedCall) -> None:
        try:
            report = await self.dialer.place(call)
        except asyncio.CancelledError:
            raise  # stopping: the attempt stays running and ``prepare`` ends it next start
        except Exception as exc:
            log.exception("outbound call %s (attempt %d) failed", call.call_id, call.attempt)
            report = CallReport(Outcome.FAILED, detail={"error": f"{type(exc).__name__}: {exc}"})
        await asyncio.to_thread(self._record, call, report)
        self.finished += 1
        if report.comment and self.on_comment is not None:
            self.on_comment()
        self.wake()  # the number and the trunk seat are free: the next call may go now

    def _record(self, call: PlacedCall, report: CallReport) -> None:
        """Store the report; two surveys of one ticket (merged callers) ending together race
        for the ticket, and the loser records again on the ticket's new version."""
        for tries in range(1, RECORD_TRIES + 1):
            try:
                with self._recording, session_scope(self.engine) as session:
                    record_report(session=session, attempt_id=call.attempt_id, report=report,
                                  now=self.clock(), policy=self.policy)
                return
            except ConcurrentUpdate:
                if tries == RECORD_TRIES:
                    raise

    # the loop ----------------------------------------------------------------------------
    def wake(self) -> None:
        """Run a pass now (a ticket changed, a call ended); safe from the loop's thread."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            await asyncio.to_thread(self.prepare)
            self._task = asyncio.create_task(self._loop(), name="outbound-scheduler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        for t in [*([task] if task else []), *self._calls]:
            t.cancel()
        await asyncio.gather(*([task] if task else []), *self._calls, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                result = await self.run_once()
                self.last_error = None
                if result.placed:
                    log.info("outbound: %d calls placed", len(result.placed))
            except Exception as exc:  # a database hiccup must not end the scheduler
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("outbound pass failed; retrying in %.0f s", self.interval)
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass

    def status(self) -> dict[str, object]:
        return {"running": self._task is not None and not self._task.done(),
                "passes": self.passes, "placed": self.placed, "finished": self.finished,
                "calls_now": len(self._calls), "last_error": self.last_error}
