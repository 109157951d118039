"""Recordings of outbound calls finished as the inbound ones are: at the channel's hang-up.

A survey or reminder (``hotline-ob-<attempt>``) is recorded by the flow context's MixMonitor
(``full`` and ``caller``, linked by the flow handler); a click-to-call (``hotline-ag-…``) or
queue call-back (``hotline-qcb-…``) by the bridging context's MixMonitor into one file, stored
as the call's ``full`` recording when the call is placed (``bridged_call``). The inbound calls'
handler (``hotline.calls.service.CallEvents``) follows only channels of the inbound context, so
these were never marked complete: never listed in recording search, never transcribed, and
an incomplete recording holds back the transcription scan of every later one.

``OutboundRecordings.on_hangup`` (``ami.DialerEvents`` passes it every ``Hangup``): for a
channel of ours, the call row's end is stored and its recordings are finished by
``hotline.calls.service.finalize_recordings`` (size, duration, problem, complete, once the file
stopped growing), then ``on_complete`` wakes the transcription service.

    recordings = OutboundRecordings(settings=settings, store=store, on_complete=stt.notify,
                                    prefixes=("hotline-ob-", "hotline-ag-", "hotline-qcb-"))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import Session, select

from hotline.calls.models import Call, Recording
from hotline.calls.service import finalize_recordings
from hotline.calls.store import CallStore, utcnow
from hotline.config import Settings

log = logging.getLogger(__name__)
BRIDGED_KIND = "full"  # the bridging context records both sides into one file


def bridged_call(session: Session, *, uniqueid: str, phone: str, recording: str,
                 now: datetime) -> None:
    """The call row (outbound, the citizen's number) and its recording's row of a bridged
    call about to be placed (click-to-call, queue call-back), in the attempt's transaction."""
    if session.exec(select(Call).where(Call.uniqueid == uniqueid)).first() is None:
        session.add(Call(uniqueid=uniqueid, linkedid=uniqueid, direction="out",
                         caller_number=phone, dialled=phone, started_at=now))
    if session.exec(select(Recording).where(Recording.path == recording)).first() is None:
        session.add(Recording(call_uniqueid=uniqueid, kind=BRIDGED_KIND, path=recording,
                              started_at=now))


def close_call(session: Session, *, uniqueid: str, cause: str, cause_text: str | None,
               at: datetime) -> bool:
    """The call row's end (kept if already stored); False when there is no row (the call was
    never answered: no flow ran, nothing recorded)."""
    call = session.exec(select(Call).where(Call.uniqueid == uniqueid)).first()
    if call is None:
        return False
    if call.ended_at is None:
        call.ended_at = at
        call.hangup_cause = int(cause) if cause.isdigit() else None
        call.hangup_cause_text = cause_text
        session.add(call)
    return True


class OutboundRecordings:
    def __init__(self, *, settings: Settings, store: CallStore, prefixes: Iterable[str],
                 on_complete: Callable[[], None] | None = None) -> None:
        self.settings, self.store = settings, store
        self.prefixes = tuple(prefixes)
        self.on_complete = on_complete
        self._tasks: set[asyncio.Task[None]] = set()
        self.finished = 0

    def on_hangup(self, event: dict[str, str]) -> None:
        uid = event.get("Uniqueid", "")
        if not uid.startswith(self.prefixes):
            return
        task = asyncio.create_task(self._ended(uid, event), name=f"finalize-{uid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ended(self, uid: str, event: dict[str, str]) -> None:
        try:
            known = await self.store._run(lambda session: close_call(
                session, uniqueid=uid, cause=event.get("Cause", ""),
                cause_text=event.get("Cause-txt"), at=utcnow()))
            if not known:
                return
            await finalize_recordings(settings=self.settings, store=self.store, uid=uid)
            self.finished += 1
        except Exception:
            log.exception("finishing the recordings of outbound call %s failed", uid)
            return
        if self.on_complete is not None:
            self.on_complete()

    async def drain(self) -> None:
        """Wait for the recordings of calls that have hung up to be finished."""
        await asyncio.gather(*self._tasks, return_exceptions=True)
