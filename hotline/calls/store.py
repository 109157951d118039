"""Use cases on call records. Both the AMI controller and the AGI server write here; every
write is an upsert keyed by Asterisk's unique id, so events seen twice (a reconnect, the AGI
and AMI both reporting a call) never duplicate a row.

Writes are serialised (one lock) and run in a worker thread so the event loop never blocks on
the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hotline.calls.models import Call, IvrStep, Recording
from hotline.db import session_scope
from hotline.ivr.ports import StepRecord

T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive: they are UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class CallView:
    call: Call
    steps: list[IvrStep]
    recordings: list[Recording]


# The seat operator moved the live call to an emergency line (``mark_seat_transfer``). The IVR
# learns it only as its queue step ending without a status and the channel gone; what it then
# writes (queue outcome no_seat, end reason hangup_by_caller) must not undo the record.
SEAT_TRANSFERRED = "seat_transferred"
KEPT_AFTER_SEAT_TRANSFER = frozenset({"end_reason", "transferred_to", "queue_outcome"})


def mark_seat_transfer(session: Session, *, uniqueid: str, line: str) -> Call | None:
    """Record on the call that a seat moved it to emergency ``line`` (answered by the seat)."""
    call = session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
    if call is None:
        return None
    call.end_reason, call.transferred_to = SEAT_TRANSFERRED, f"emergency:{line}"
    if call.answered_by:
        call.queue_outcome = "answered"
    session.add(call)
    return call


class CallStore:
    """Writes are queued and applied by one writer, in order, many to a transaction: a call
    produces a few dozen small writes (steps, AMI events, recordings), and at hundreds of
    calls one transaction each would cost more than everything else the controller does.
    A batch that fails is replayed one write per transaction, so one bad write fails alone.
    """

    MAX_BATCH = 200

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._pending: list[tuple[Callable[[Session], Any], asyncio.Future[Any]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def _run(self, fn: Callable[[Session], T]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((fn, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="call-store-writer")
        return await future

    async def drain(self) -> None:
        """Wait until every queued write is in the database."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self.MAX_BATCH]
            del self._pending[: self.MAX_BATCH]
            results = await asyncio.to_thread(self._write_batch, [fn for fn, _ in batch])
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _write_batch(self, fns: list[Callable[[Session], Any]]) -> list[tuple[bool, Any]]:
        try:
            with session_scope(self.engine) as session:
                return [(True, fn(session)) for fn in fns]
        except Exception as exc:
            if len(fns) == 1:
                return [(False, exc)]
        out: list[tuple[bool, Any]] = []
        for fn in fns:
            try:
                with session_scope(self.engine) as session:
                    out.append((True, fn(session)))
            except Exception as exc:  # handed to the caller awaiting this write
                out.append((False, exc))
        return out

    # upserts --------------------------------------------------------------------------
    @staticmethod
    def _get_or_create(session: Session, uniqueid: str, started_at: datetime | None) -> Call:
        # A batch often touches the same call many times: look it up once per transaction.
        cache: dict[str, Call] = session.info.setdefault("calls", {})
        call = cache.get(uniqueid)
        if call is None:
            call = session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
        if call is None:
            call = Call(uniqueid=uniqueid, linkedid=uniqueid, started_at=started_at or utcnow())
            session.add(call)
            session.flush()
        cache[uniqueid] = call
        return call

    async def update_call(
        self, uniqueid: str, *, started_at: datetime | None = None, **fields: Any
    ) -> None:
        """Create the call if it is new, then set the given fields (None values are skipped)."""

        def fn(session: Session) -> None:
            call = self._get_or_create(session, uniqueid, started_at)
            if started_at is not None and aware(call.started_at) > started_at:  # type: ignore[operator]
                call.started_at = started_at
            for key, value in fields.items():
                if value is None or (call.end_reason == SEAT_TRANSFERRED
                                     and key in KEPT_AFTER_SEAT_TRANSFER):
                    continue
                setattr(call, key, value)
            session.add(call)

        await self._run(fn)

    async def add_step(self, uniqueid: str, step: StepRecord) -> None:
        def fn(session: Session) -> None:
            call = self._get_or_create(session, uniqueid, step.started)
            seq = len(call.ivr_path)
            call.ivr_path = [*call.ivr_path, step.node]
            if step.keys:
                call.keys = (call.keys + step.keys)[-256:]
            session.add(call)
            session.add(
                IvrStep(
                    call_uniqueid=uniqueid, seq=seq, node=step.node, kind=step.kind,
                    keys=step.keys[:64], outcome=step.outcome[:64], started_at=step.started,
                    ended_at=step.ended, detail=dict(step.detail),
                )
            )

        await self._run(fn)

    async def add_recording(
        self, uniqueid: str, *, kind: str, path: str, started_at: datetime, name: str = ""
    ) -> None:
        await self._run(
            lambda session: self.add_recording_sync(
                session, uniqueid, kind=kind, path=path, started_at=started_at, name=name
            )
        )

    @staticmethod
    def add_recording_sync(
        session: Session, uniqueid: str, *, kind: str, path: str, started_at: datetime,
        name: str = "",
    ) -> Recording:
        rec = session.exec(select(Recording).where(Recording.path == path)).first()
        if rec is None:
            rec = Recording(
                call_uniqueid=uniqueid, kind=kind, path=path, started_at=started_at, name=name
            )
            session.add(rec)
            session.flush()
        return rec

    # reads ----------------------------------------------------------------------------
    def recent(self, *, limit: int = 50) -> list[CallView]:
        with Session(self.engine) as session:
            calls = session.exec(
                select(Call).order_by(col(Call.started_at).desc(), col(Call.id).desc()).limit(limit)
            ).all()
            ids = [c.uniqueid for c in calls]
            steps = session.exec(
                select(IvrStep).where(col(IvrStep.call_uniqueid).in_(ids)).order_by(
                    col(IvrStep.call_uniqueid), col(IvrStep.seq)
                )
            ).all()
            recs = session.exec(
                select(Recording).where(col(Recording.call_uniqueid).in_(ids)).order_by(
                    col(Recording.id)
                )
            ).all()
        by_call_steps: dict[str, list[IvrStep]] = {}
        for step in steps:
            by_call_steps.setdefault(step.call_uniqueid, []).append(step)
        by_call_recs: dict[str, list[Recording]] = {}
        for rec in recs:
            by_call_recs.setdefault(rec.call_uniqueid, []).append(rec)
        return [
            CallView(c, by_call_steps.get(c.uniqueid, []), by_call_recs.get(c.uniqueid, []))
            for c in calls
        ]

    def get(self, uniqueid: str) -> CallView | None:
        with Session(self.engine) as session:
            call = session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
            if call is None:
                return None
            steps = session.exec(
                select(IvrStep).where(IvrStep.call_uniqueid == uniqueid).order_by(
                    col(IvrStep.seq)
                )
            ).all()
            recs = session.exec(
                select(Recording).where(Recording.call_uniqueid == uniqueid).order_by(
                    col(Recording.id)
                )
            ).all()
        return CallView(call, list(steps), list(recs))

    def open_calls(self) -> list[Call]:
        with Session(self.engine) as session:
            return list(session.exec(select(Call).where(col(Call.ended_at).is_(None))).all())


def call_as_dict(view: CallView, *, recordings_root: str) -> dict[str, Any]:
    """The JSON shape printed by `hotline calls list --json`."""
    c = view.call

    def ts(value: datetime | None) -> str | None:
        value = aware(value)
        return value.isoformat() if value else None

    return {
        "uniqueid": c.uniqueid,
        "direction": c.direction,
        "caller": c.caller_number,
        "dialled": c.dialled,
        "channel": c.channel,
        "started_at": ts(c.started_at),
        "answered_at": ts(c.answered_at),
        "ended_at": ts(c.ended_at),
        "hangup_cause": c.hangup_cause,
        "hangup_cause_text": c.hangup_cause_text,
        "flow": c.flow,
        "path": list(c.ivr_path),
        "keys": c.keys,
        "end_reason": c.end_reason,
        "transferred_to": c.transferred_to,
        "queue": {
            "joined_at": ts(c.queue_joined_at),
            "left_at": ts(c.queue_left_at),
            "wait_seconds": c.queue_wait_seconds,
            "outcome": c.queue_outcome,
            "answered_within_15s": c.answered_within_15s,
            "answered_within_20s": c.answered_within_20s,
            "answered_by": c.answered_by,
        },
        "seen_live": c.seen_live,
        "steps": [
            {"node": s.node, "kind": s.kind, "keys": s.keys, "outcome": s.outcome,
             "started_at": ts(s.started_at), "ended_at": ts(s.ended_at), "detail": s.detail}
            for s in view.steps
        ],
        "recordings": [
            {"kind": r.kind, "name": r.name, "path": f"{recordings_root}/{r.path}",
             "complete": r.complete, "size_bytes": r.size_bytes,
             "duration_seconds": r.duration_seconds, "problem": r.problem}
            for r in view.recordings
        ],
    }
