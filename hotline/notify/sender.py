"""The sender: every ``interval`` (or when woken) it plans messages from the ticket change
outbox, then delivers the due ones through the ``SmsGateway``, one attempt per claim, each
outcome stored at once (sent, retried after a backoff, failed with the error). Without a
gateway the due messages are kept as ``no_gateway`` for the supervisors' list; once a gateway
is configured, the next start sends them.

Everything is in the database (the outbox, the cursor), so a restart loses nothing; a message
a stopped sender held is marked failed with the outcome unknown, never sent twice.
Database work runs in threads; the loop is one task, its errors logged and shown in /status.

    sender = MessageSender.build(settings, engine=engine, clock=clock)
    await sender.start()   # … await sender.stop()
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from hotline.config import Settings, generated_secret
from hotline.db import session_scope
from hotline.notify import store
from hotline.notify.gateway import DeliveryFailed, HttpSmsGateway, SmsGateway
from hotline.notify.planning import Planned, Wording, plan_batch
from hotline.notify.store import Backoff, Claim

log = logging.getLogger(__name__)
MAX_PLAN_BATCHES = 50
MAX_PER_PASS = 200


@dataclass
class PassResult:
    planned: Planned
    sent: int = 0
    failed: int = 0  # attempts that failed (retried later or given up)
    parked: int = 0  # kept as no_gateway
    reaped: int = 0


class MessageSender:
    def __init__(self, *, engine: Engine, clock: Callable[[], datetime],
                 gateway: SmsGateway | None, wording: Wording, backoff: Backoff | None = None,
                 lease_seconds: float = 120.0, interval: float = 10.0,
                 resend_within: timedelta = timedelta(days=3), enabled: bool = True) -> None:
        self.engine, self.clock, self.gateway, self.wording = engine, clock, gateway, wording
        self.backoff = backoff or Backoff()
        self.lease_seconds, self.interval = lease_seconds, interval
        self.resend_within, self.enabled = resend_within, enabled
        self.owner = f"sender-{os.getpid()}"
        self.passes = self.sent = self.failed = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def build(cls, settings: Settings, *, engine: Engine, clock: Callable[[], datetime]
              ) -> MessageSender:
        s = settings.notify
        base = s.public_base_url or f"http://{settings.web.host}:{settings.web.port}"
        wording = Wording(base_url=base, secret=generated_secret(settings.var_dir, "csrf"),
                          signature=s.signature, on_accepted=s.on_accepted,
                          on_survey=s.on_survey)
        gateway = HttpSmsGateway(s.sms_url, timeout=s.timeout_seconds) if s.sms_url else None
        return cls(engine=engine, clock=clock, gateway=gateway, wording=wording,
                   backoff=Backoff(max_attempts=s.max_attempts, base_seconds=s.backoff_seconds,
                                   cap_seconds=s.backoff_max_seconds),
                   lease_seconds=s.lease_seconds, interval=s.interval_seconds,
                   resend_within=timedelta(hours=s.resend_within_hours), enabled=s.enabled)

    # one pass ----------------------------------------------------------------------------
    def prepare(self) -> Planned:
        """Before the first pass: end what a stopped sender held, send again what waited for a
        gateway (if there is one now), and start the cursor (the first start: from now on)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            store.reap_expired(session=session, now=now)
            if self.gateway is not None:
                store.requeue_no_gateway(session=session, now=now, within=self.resend_within)
        return self.plan()

    def plan(self) -> Planned:
        total = Planned()
        for _ in range(MAX_PLAN_BATCHES):
            with session_scope(self.engine) as session:
                batch = plan_batch(session=session, now=self.clock(), wording=self.wording)
            total.accepted += batch.accepted
            total.surveys += batch.surveys
            total.changes += batch.changes
            if batch.changes == 0:
                break
        return total

    def prepare_pass(self) -> PassResult:
        """The database part before delivering: plan, end expired leases, and without a
        gateway keep the due messages as ``no_gateway``."""
        result = PassResult(planned=self.plan())
        now = self.clock()
        with session_scope(self.engine) as session:
            result.reaped = store.reap_expired(session=session, now=now)
        if self.gateway is None:
            with session_scope(self.engine) as session:
                result.parked = store.park_without_gateway(session=session, now=now)
        return result

    def claim_one(self) -> Claim | None:
        """The next due message, taken under a lease that covers this one attempt only."""
        with session_scope(self.engine) as session:
            claims = store.claim(session=session, now=self.clock(), limit=1,
                                 lease_seconds=self.lease_seconds, owner=self.owner)
        return claims[0] if claims else None

    async def run_once(self) -> PassResult:
        """One pass: plan, then deliver the due messages one by one (one attempt each, up to
        ``MAX_PER_PASS``)."""
        result = await asyncio.to_thread(self.prepare_pass)
        for _ in range(MAX_PER_PASS if self.gateway is not None else 0):
            claim = await asyncio.to_thread(self.claim_one)
            if claim is None:
                break
            error = await self._deliver(claim)
            await asyncio.to_thread(self._record, claim, error)
            if error is None:
                result.sent += 1
            else:
                result.failed += 1
        self.passes += 1
        self.sent += result.sent
        self.failed += result.failed
        return result

    async def _deliver(self, claim: Claim) -> str | None:
        assert self.gateway is not None
        try:
            await self.gateway.send(to=claim.phone, text=claim.text,
                                    key=f"hotline-message-{claim.message_id}")
        except DeliveryFailed as exc:
            log.warning("message %d (attempt %d) not delivered: %s", claim.message_id,
                        claim.attempts, exc)
            return str(exc)
        except Exception as exc:  # a bug in an adapter: the message still gets its outcome
            log.exception("message %d: the gateway failed", claim.message_id)
            return f"{type(exc).__name__}: {exc}"
        return None

    def _record(self, claim: Claim, error: str | None) -> None:
        with session_scope(self.engine) as session:
            if error is None:
                kept = store.complete(session=session, claim=claim, now=self.clock())
            else:
                kept = store.fail(session=session, claim=claim, error=error, now=self.clock(),
                                  backoff=self.backoff) is not None
        if not kept:
            log.error("message %d: the lease ended before its outcome was stored",
                      claim.message_id)

    # the loop ----------------------------------------------------------------------------
    def wake(self) -> None:
        """Run a pass now (a ticket changed); safe from any thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        if self.enabled and self._task is None:
            self._loop = asyncio.get_running_loop()
            await asyncio.to_thread(self.prepare)
            self._task = asyncio.create_task(self._run(), name="message-sender")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
                self.last_error = None
            except Exception as exc:  # a database hiccup must not end the sender
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("message pass failed; retrying in %.0f s", self.interval)
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except TimeoutError:
                pass

    def status(self) -> dict[str, object]:
        return {"enabled": self.enabled, "gateway": self.gateway is not None,
                "running": self._task is not None and not self._task.done(),
                "passes": self.passes, "sent": self.sent, "failed_attempts": self.failed,
                "last_error": self.last_error}
