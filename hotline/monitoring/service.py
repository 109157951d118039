"""Monitoring sessions: checked and logged when opened, then placed over AMI.

``open_session`` checks the mode's permission, the user's phone and that the call is live, and
writes the session's audit entry (its start). ``Monitor.launch`` then originates the
supervisor's phone into the dialplan context ``hotline-monitor`` (extension = the mode), where
ChanSpy spies on the target channel; the audit entry gets its end when the supervisor's
channel is gone (asked with ``Getvar`` until Asterisk no longer knows it), or at once with the
reason when the phone was not answered or AMI refused.

    ms = open_session(session=s, user=user, call_uniqueid=uid, mode=Mode.LISTEN,
                      settings=settings.monitoring, now=now)
    session.commit()
    monitor.launch(ms)                  # the supervisor's phone rings
    await monitor.hang_up(ms.entry_id)  # the 结束 button
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hotline.audit import store as audit
from hotline.audit.models import AuditAction, AuditEntry
from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.monitoring.errors import CallNotLive, ModeNotAllowed, NoMonitorPhone
from hotline.monitoring.rules import Mode, modes_of, spy_target
from hotline.monitoring.settings import MonitoringSettings
from hotline.outbound.ami import AmiSender, reached
from hotline.outbound.rules import Outcome
from hotline.users.models import User

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "hotline-spy-"
LIVE_WINDOW = timedelta(hours=12)  # a call never hung up (lost event) stops being live
MONITOR_ACTIONS = [AuditAction.LISTEN, AuditAction.WHISPER, AuditAction.BARGE]


@dataclass(frozen=True)
class MonitorSession:
    entry_id: int  # the audit entry's id
    actor: str
    mode: Mode
    call_uniqueid: str
    phone: str  # the supervisor's dial string
    target: str  # the channel (prefix) ChanSpy spies on

    @property
    def channel_id(self) -> str:
        return f"{CHANNEL_PREFIX}{self.entry_id}"


def live_calls(*, session: Session, now: datetime, limit: int = 100) -> list[Call]:
    """Calls in progress, oldest first; our own monitoring legs are not calls to monitor."""
    return list(session.exec(
        select(Call).where(*_live(now)).order_by(col(Call.started_at)).limit(limit)).all())


def _live(now: datetime) -> tuple[Any, ...]:
    since = now.astimezone(UTC) - LIVE_WINDOW  # stored in UTC (SQLite: naive UTC)
    return (col(Call.ended_at).is_(None), col(Call.started_at) > since,
            col(Call.uniqueid).not_like(f"{CHANNEL_PREFIX}%"))


def open_session(*, session: Session, user: User, call_uniqueid: str, mode: Mode,
                 settings: MonitoringSettings, now: datetime,
                 client: str = "") -> MonitorSession:
    if mode not in modes_of(user=user.username, role=user.role, settings=settings):
        raise ModeNotAllowed(user.username, mode.value)
    phone = settings.phones.get(user.username, "").strip()
    if not phone:
        raise NoMonitorPhone(user.username)
    call = session.exec(select(Call).where(*_live(now), col(Call.uniqueid) == call_uniqueid)
                        ).first()
    if call is None:
        raise CallNotLive(call_uniqueid)
    target = spy_target(call)
    entry = audit.record_event(session=session, at=now, actor=user.username, role=user.role,
                               action=AuditAction(mode.value), call_uniqueid=call_uniqueid,
                               client=client, detail={"phone": phone, "target": target})
    assert entry.id is not None
    return MonitorSession(entry_id=entry.id, actor=user.username, mode=mode,
                          call_uniqueid=call_uniqueid, phone=phone, target=target)


def originate(ms: MonitorSession, settings: MonitoringSettings) -> dict[str, Any]:
    return {
        "Action": "Originate", "Channel": ms.phone, "Context": settings.context,
        "Exten": ms.mode.value, "Priority": "1", "CallerID": settings.caller_id,
        "Timeout": str(settings.ring_seconds * 1000), "Async": "true",
        "ChannelId": ms.channel_id,
        "Variable": f"HOTLINE_SPY_TARGET={ms.target}",
    }


class Monitor:
    """Places monitoring sessions over AMI and writes their end; keeps its tasks."""

    def __init__(self, *, ami: AmiSender, engine: Engine, clock: Callable[[], datetime],
                 settings: MonitoringSettings) -> None:
        self.ami, self.engine, self.clock, self.settings = ami, engine, clock, settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: dict[int, MonitorSession] = {}
        self._channels: dict[int, str] = {}  # entry id -> the answered supervisor's channel

    def launch(self, ms: MonitorSession) -> asyncio.Task[None]:
        self._running[ms.entry_id] = ms
        task = asyncio.create_task(self.run(ms), name=f"monitor-{ms.entry_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def running(self, actor: str | None = None) -> list[MonitorSession]:
        return [ms for ms in self._running.values() if actor is None or ms.actor == actor]

    async def start(self) -> None:
        await asyncio.to_thread(self._close_left_open)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def hang_up(self, entry_id: int) -> bool:
        """End an answered session (its entry is closed by ``run``); False if not answered."""
        channel = self._channels.get(entry_id)
        if not channel:
            return False
        try:
            await self.ami.send({"Action": "Hangup", "Channel": channel})
        except AmiActionFailed:
            pass  # gone already
        return True

    async def run(self, ms: MonitorSession) -> None:
        detail: dict[str, Any] = {}
        try:
            detail = await self._place(ms)
        except asyncio.CancelledError:
            detail = {"end": "controller stopped"}
            raise
        except Exception as exc:
            log.exception("monitoring session %s failed", ms.entry_id)
            detail = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            self._running.pop(ms.entry_id, None)
            self._channels.pop(ms.entry_id, None)
            self._close(ms.entry_id, detail)

    async def _place(self, ms: MonitorSession) -> dict[str, Any]:
        try:
            answer = await self.ami.send(originate(ms, self.settings),
                                         timeout=self.settings.ring_seconds + 15, as_list=True)
        except (AmiUnavailable, AmiActionFailed) as exc:
            return {"answered": False, "error": str(exc)}
        messages = answer if isinstance(answer, list) else [answer]
        outcome = reached(messages)
        if outcome is not Outcome.ANSWERED:
            return {"answered": False, "outcome": outcome.value}
        channel = next((str(m.get("Channel", "")) for m in messages
                        if m.get("Event") == "OriginateResponse"), "")
        self._channels[ms.entry_id] = channel
        await self._until_gone(channel)
        return {"answered": True, "channel": channel}

    async def _until_gone(self, channel: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.max_seconds
        while channel and loop.time() < deadline:
            try:
                await self.ami.send({"Action": "Getvar", "Channel": channel,
                                     "Variable": "CHANNEL(state)"})
            except AmiActionFailed:
                return  # no such channel: the session is over
            await asyncio.sleep(self.settings.poll_seconds)

    def _close(self, entry_id: int, detail: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            audit.close_event(session=session, entry_id=entry_id, ended_at=self.clock(),
                              detail=detail)

    def _close_left_open(self) -> None:
        """Sessions a stopped controller left open: their end is unknown, closed now."""
        with session_scope(self.engine) as session:
            left = session.exec(select(AuditEntry).where(
                col(AuditEntry.action).in_([a.value for a in MONITOR_ACTIONS]),
                col(AuditEntry.ended_at).is_(None))).all()
            for entry in left:
                assert entry.id is not None
                audit.close_event(session=session, entry_id=entry.id, ended_at=self.clock(),
                                  detail={"end": "unknown (controller restarted)"})
