"""Keeping call rows in step with Asterisk: AMI events, IVR steps, recordings.

``CallEvents`` is the AMI event handler: it follows the hotline's inbound channels (created in
the ``hotline-in`` context), their answer and hang-up, the queue (join, connect, abandon), and
the recording paths the dialplan sets. On every (re)connect it resynchronises: calls that ended
while the controller was away are closed, and recordings Asterisk made meanwhile are linked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from hotline.calls.models import Call, Recording
from hotline.calls.store import CallStore, aware, utcnow
from hotline.config import Settings
from hotline.ivr.ports import StepRecord
from hotline.recording.files import STANDARD_KINDS, inspect, parse_name, wait_until_settled

log = logging.getLogger(__name__)

INBOUND_CONTEXT = "hotline-in"


class StoreStepLog:
    """The IVR runner's StepLog: each step goes into the call's record."""

    def __init__(self, store: CallStore) -> None:
        self.store = store

    async def on_step(self, call_id: str, step: StepRecord) -> None:
        took = (step.ended - step.started).total_seconds() * 1000
        log.info("call %s: %s %s keys=%r outcome=%s %.0f ms %s", call_id, step.kind, step.node,
                 step.keys, step.outcome, took, step.detail or "")
        await self.store.add_step(call_id, step)
        if "queue" in step.detail:
            outcome = {"exit_key": "self_service", "timeout": "timeout", "no_seat": "no_seat",
                       "full": "full"}.get(step.outcome)
            if outcome:
                await self.store.update_call(call_id, queue_outcome=outcome)
        elif "target" in step.detail:
            line = step.detail.get("line")
            where = f"emergency:{line}" if line else f"extension:{step.detail['target']}"
            if step.outcome == "answered":
                await self.store.update_call(call_id, transferred_to=where)


class CallEvents:
    """AMI event handler (see ``hotline.telephony.ami.AmiEventHandler``)."""

    def __init__(self, *, settings: Settings, store: CallStore) -> None:
        self.settings = settings
        self.store = store
        self.tracked: set[str] = set()
        # What the handlers must remember between events, so they never read the database.
        self._answered: set[str] = set()
        self._joined: dict[str, datetime] = {}
        self._waited: set[str] = set()
        self._finalizers: set[asyncio.Task[None]] = set()

    async def on_connected(self, controller: Any) -> None:
        # Files first, channels second: a call that starts in between has no file in the
        # snapshot, so it can never be mistaken for one that ended while we were away.
        files = await asyncio.to_thread(recent_files, self.settings)
        try:
            live = {c.get("Uniqueid", "") for c in await controller.channels()}
        except Exception:
            log.exception("AMI resync: could not list channels")
            return
        await reconcile(settings=self.settings, store=self.store, live_channels=live,
                        finalize=self.finalize_later, files=files)

    async def on_event(self, event: dict[str, str]) -> None:
        name = event.get("Event", "")
        handler = getattr(self, f"on_{name.lower()}", None)
        if handler is not None:
            await handler(event)

    async def on_newchannel(self, event: dict[str, str]) -> None:
        if event.get("Context") != INBOUND_CONTEXT:
            return
        uid = event["Uniqueid"]
        self.tracked.add(uid)
        await self.store.update_call(
            uid, started_at=utcnow(), linkedid=event.get("Linkedid", uid),
            channel=event.get("Channel", ""), caller_number=_cid(event.get("CallerIDNum")),
            caller_name=_cid(event.get("CallerIDName")), dialled=event.get("Exten", ""),
            direction="in",
        )

    async def on_newstate(self, event: dict[str, str]) -> None:
        uid = event.get("Uniqueid", "")
        if uid in self.tracked and event.get("ChannelState") == "6" and uid not in self._answered:
            self._answered.add(uid)
            await self.store.update_call(uid, answered_at=utcnow())

    async def on_varset(self, event: dict[str, str]) -> None:
        uid = event.get("Uniqueid", "")
        if event.get("Variable") != "HOTLINE_REC" or not event.get("Value"):
            return
        base = self.settings.host_path(event["Value"])
        for kind in STANDARD_KINDS:
            rel = _relative(self.settings, base.with_name(f"{base.name}-{kind}.wav"))
            await self.store.add_recording(uid, kind=kind, path=rel, started_at=utcnow())

    async def on_hangup(self, event: dict[str, str]) -> None:
        uid = event.get("Uniqueid", "")
        if uid not in self.tracked:
            return
        self.tracked.discard(uid)
        self._answered.discard(uid)
        cause = event.get("Cause", "")
        await self.store.update_call(
            uid, ended_at=utcnow(), hangup_cause=int(cause) if cause.isdigit() else None,
            hangup_cause_text=event.get("Cause-txt"),
        )
        self.finalize_later(uid)

    async def on_queuecallerjoin(self, event: dict[str, str]) -> None:
        joined = utcnow()
        self._joined[event["Uniqueid"]] = joined
        await self.store.update_call(event["Uniqueid"], queue_joined_at=joined)

    async def on_agentconnect(self, event: dict[str, str]) -> None:
        self._waited.add(event["Uniqueid"])
        hold = float(event.get("HoldTime", "0") or 0)
        await self.store.update_call(
            event["Uniqueid"], queue_wait_seconds=hold, queue_outcome="answered",
            answered_within_15s=hold <= 15, answered_within_20s=hold <= 20,
            answered_by=event.get("MemberName") or event.get("Interface"),
            transferred_to=f"queue:{event.get('MemberName') or event.get('Interface', '')}",
        )

    async def on_queuecallerabandon(self, event: dict[str, str]) -> None:
        self._waited.add(event["Uniqueid"])
        hold = float(event.get("HoldTime", "0") or 0)
        await self.store.update_call(
            event["Uniqueid"], queue_wait_seconds=hold, queue_outcome="abandoned",
            answered_within_15s=False, answered_within_20s=False,
        )

    async def on_queuecallerleave(self, event: dict[str, str]) -> None:
        uid = event["Uniqueid"]
        left = utcnow()
        fields: dict[str, Any] = {"queue_left_at": left}
        joined = self._joined.pop(uid, None)
        if joined is not None and uid not in self._waited:
            # Left without a seat and without hanging up (a key, a timeout): waited till now.
            fields.update(queue_wait_seconds=round((left - joined).total_seconds(), 3),
                          answered_within_15s=False, answered_within_20s=False)
        self._waited.discard(uid)
        await self.store.update_call(uid, **fields)

    # recordings ---------------------------------------------------------------------
    def finalize_later(self, uid: str) -> None:
        log.info("finalising the recordings of %s once they stop growing", uid)
        task = asyncio.create_task(self.finalize(uid), name=f"finalize-{uid}")
        self._finalizers.add(task)
        task.add_done_callback(self._finalizers.discard)

    async def finalize(self, uid: str) -> None:
        """Once the call is over and its files stop growing, mark its recordings complete."""
        try:
            await finalize_recordings(settings=self.settings, store=self.store, uid=uid)
        except Exception:
            log.exception("finalising the recordings of %s failed", uid)

    async def drain(self) -> None:
        await asyncio.gather(*self._finalizers, return_exceptions=True)


async def finalize_recordings(*, settings: Settings, store: CallStore, uid: str) -> None:
    # Through the store's writer: ordered after the writes that created these rows.
    recordings = await store._run(lambda session: list(session.exec(
        select(Recording).where(Recording.call_uniqueid == uid).order_by(col(Recording.id))
    ).all()))
    settle = settings.recordings.settle_seconds
    for rec in recordings:
        if rec.complete:
            continue
        path = settings.recordings_dir / rec.path
        deadline = time.monotonic() + settle * 4 + 15
        # Asterisk writes the WAV sizes into the header when it closes the file: a header that
        # matches the file means it is closed for good. Otherwise wait for it to settle.
        info = await asyncio.to_thread(inspect, path)
        while info.problem is not None and time.monotonic() < deadline:
            await wait_until_settled(path, settle=settle, timeout=max(deadline - time.monotonic(),
                                                                      settle + 0.5))
            info = await asyncio.to_thread(inspect, path)
        log.info("recording %s of call %s: %s s, %s", rec.kind, uid, info.duration_seconds,
                 info.problem or "complete")

        def save(session: Session, rec_id: int | None = rec.id, info: Any = info) -> None:
            row = session.get(Recording, rec_id)
            if row is not None:
                row.size_bytes = info.size_bytes
                row.duration_seconds = info.duration_seconds
                row.problem = info.problem
                row.complete = True
                session.add(row)

        await store._run(save)


async def reconcile(*, settings: Settings, store: CallStore, live_channels: set[str],
                    finalize: Any, files: list[Path] | None = None) -> None:
    """Close calls that ended while we were away and link recordings we did not see made."""
    now = utcnow()
    for call in await asyncio.to_thread(store.open_calls):
        if call.uniqueid in live_channels:
            continue
        await store.update_call(call.uniqueid, ended_at=_last_activity(settings, call) or now,
                                hangup_cause_text="ended while the controller was away")
        finalize(call.uniqueid)
    for uid in await link_orphan_files(settings, store, live_channels, files=files):
        finalize(uid)


def recent_files(settings: Settings, *, days: int = 3) -> list[Path]:
    """Recording files of the last ``days`` day folders: what the controller can have missed
    while it was down, not years of archive."""
    root = settings.recordings_dir
    today = utcnow().date()
    folders = [root / (today - timedelta(days=n)).strftime("%Y/%m/%d") for n in range(days)]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.glob("*.wav"))


LINK_BATCH = 500  # files linked per transaction at start-up


async def link_orphan_files(settings: Settings, store: CallStore, live: set[str],
                            *, days: int = 3, files: list[Path] | None = None,
                            batch: int = LINK_BATCH) -> list[str]:
    """Create call rows (seen_live=False) and recording rows for files Asterisk made alone.

    ``batch`` files per write, yielding to the event loop between them: the store's writer
    takes the calls' own writes in between, so calls are followed at once while thousands of
    files are linked (22,000 in one write held the first calls for 17 s).

    Returns the calls whose recordings should be finalised now: those that are over. A call
    still open in our records is left to its hang-up (or to ``reconcile`` closing it).
    """
    root = settings.recordings_dir
    touched: list[str] = []
    seen: set[str] = set()
    snapshot = recent_files(settings, days=days) if files is None else files
    for start in range(0, len(snapshot), max(1, batch)):
        chunk = snapshot[start:start + max(1, batch)]
        await store._run(lambda session, chunk=chunk: _link_files(  # type: ignore[misc]
            session, root=root, files=chunk, live=live, touched=touched, seen=seen))
        await asyncio.sleep(0)
    return touched


def _link_files(session: Session, *, root: Path, files: list[Path], live: set[str],
                touched: list[str], seen: set[str]) -> None:
    names = [p.relative_to(root).as_posix() for p in files]
    known = set(session.exec(select(Recording.path).where(
        col(Recording.path).in_(names))).all()) if names else set()
    parsed = {path: parse_name(path) for path in files}
    uids = {p[0] for p in parsed.values() if p is not None}
    calls = {c.uniqueid: c for c in session.exec(select(Call).where(
        col(Call.uniqueid).in_(uids))).all()} if uids else {}
    for path, rel in zip(files, names, strict=True):
        name = parsed[path]
        if name is None or rel in known:
            continue
        uid, kind = name
        call = calls.get(uid)
        if call is None:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            started = _started_from_uniqueid(uid) or mtime
            call = Call(uniqueid=uid, linkedid=uid, started_at=started, seen_live=False,
                        ended_at=None if uid in live else mtime,
                        hangup_cause_text=None if uid in live else "not seen live")
            session.add(call)
            calls[uid] = call
            log.info("linked recordings of call %s that the controller missed", uid)
        # Not linked yet (``known``), and each file once: added without asking again.
        session.add(Recording(call_uniqueid=uid, kind=kind if kind in STANDARD_KINDS else
                              "message", name=kind, path=rel, started_at=call.started_at))
        if uid not in live and call.ended_at is not None and uid not in seen:
            seen.add(uid)
            touched.append(uid)
    session.flush()


def _started_from_uniqueid(uid: str) -> datetime | None:
    # Asterisk's unique ids start with the epoch seconds of the channel's creation.
    try:
        return datetime.fromtimestamp(int(uid.split(".")[0]), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _last_activity(settings: Settings, call: Call) -> datetime | None:
    started = aware(call.started_at)
    if started is None:
        return None
    day = settings.recordings_dir / started.strftime("%Y/%m/%d")
    mtimes = [p.stat().st_mtime for p in day.glob(f"{call.uniqueid}-*.wav")] if day.exists() else []
    return datetime.fromtimestamp(max(mtimes), UTC) if mtimes else started + timedelta(seconds=1)


def _relative(settings: Settings, host_path: Path) -> str:
    try:
        return host_path.relative_to(settings.recordings_dir).as_posix()
    except ValueError:
        return host_path.as_posix()


def _cid(value: str | None) -> str:
    return "" if value in (None, "<unknown>", "unknown") else str(value)
