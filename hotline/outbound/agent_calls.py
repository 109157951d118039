"""Click-to-call (agent callbacks): AMI Originate rings the agent's phone (the seat they signed
in to, else ``outbound.agent_phones``); once they answer, the dialplan context
``hotline-agent-callback`` records the call (MixMonitor) and dials the citizen, bridging both.

Each call is stored like any outbound call (purpose ``agent``, one attempt): linked to the
ticket, the number held (``active_number``: never two calls at once to one number), the
recording's path, the agent and how the dial to the citizen ended (``DIALSTATUS``) on the
attempt. The end is found by asking for ``DIALSTATUS`` on the agent's channel until it is gone.

    caller = AgentCaller(ami=ami, engine=engine, clock=clock, settings=settings.outbound)
    placed = caller.start(session=..., ticket=ticket, phone=..., agent="cb", agent_phone=...)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.outbound.ami import AmiSender, reached
from hotline.outbound.errors import NoAgentPhone, NumberBusy
from hotline.outbound.models import OutboundAttempt
from hotline.outbound.recordings import bridged_call
from hotline.outbound.rules import Outcome, Purpose, TrunkLimits, normalize_number
from hotline.outbound.service import Policy, check_dialable, record_agent_end
from hotline.outbound.settings import OutboundSettings
from hotline.outbound.store import enqueue, start_attempt
from hotline.seats.models import Seat
from hotline.tickets.models import Ticket
from hotline.users.models import User

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "hotline-ag-"


@dataclass(frozen=True)
class AgentCall:
    call_id: int
    attempt_id: int
    ticket: str
    phone: str
    agent: str
    agent_phone: str
    uniqueid: str
    recording: str  # relative to the recordings folder


def agent_phone(*, session: Session, user: User, settings: OutboundSettings) -> str:
    """The dial string of ``user``'s phone: their seat, else the settings; else 409."""
    seat = session.exec(select(Seat).where(Seat.user_id == user.id)).first()
    if seat is not None:
        return seat.interface
    phone = settings.agent_phones.get(user.username)
    if not phone:
        raise NoAgentPhone(user.username)
    return phone


def start_agent_call(
    *, session: Session, ticket: Ticket, phone: str, agent: str, agent_dial: str, now: datetime,
    trunk: str, limits: TrunkLimits,
) -> AgentCall:
    """Store the call and its attempt (the number held). The citizen is dialled over
    ``trunk`` like any outbound call: ``DoNotCallNumber``, ``NumberBusy`` (in a call already)
    or ``TrunkFull`` (``limits``) refuse it (``service.check_dialable``)."""
    check_dialable(session=session, phone=phone, trunk=trunk, limits=limits, now=now)
    key = f"agent:{ticket.id}:{uuid.uuid4().hex[:16]}"
    try:
        with session.begin_nested():
            call = enqueue(session=session, purpose=Purpose.AGENT, key=key, ticket=ticket,
                           phone=phone, at=now, now=now, trunk=trunk,
                           subject=f"回拨 by {agent}"[:128])
            assert call is not None
            attempt = start_attempt(session=session, call=call, now=now)
    except IntegrityError as exc:
        raise NumberBusy(normalize_number(phone)) from exc
    assert call.id is not None and attempt.id is not None
    uid = f"{CHANNEL_PREFIX}{attempt.id}"
    recording = f"{now:%Y/%m/%d}/{uid}-agent.wav"
    attempt.uniqueid = uid
    attempt.detail = {"agent": agent, "agent_phone": agent_dial, "recording": recording}
    session.add(attempt)
    bridged_call(session, uniqueid=uid, phone=call.phone, recording=recording, now=now)
    session.flush()
    return AgentCall(call_id=call.id, attempt_id=attempt.id, ticket=ticket.number,
                     phone=call.phone, agent=agent, agent_phone=agent_dial, uniqueid=uid,
                     recording=recording)


class AgentCaller:
    """Places agent calls over AMI and stores how each ended; keeps its tasks."""

    def __init__(self, *, ami: AmiSender, engine: Engine, clock: Callable[[], datetime],
                 settings: OutboundSettings, policy: Policy, poll_seconds: float = 1.0) -> None:
        self.ami, self.engine, self.clock = ami, engine, clock
        self.settings, self.policy, self.poll_seconds = settings, policy, poll_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    def launch(self, call: AgentCall) -> asyncio.Task[None]:
        task = asyncio.create_task(self.run(call), name=f"agent-call-{call.attempt_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def originate(self, call: AgentCall) -> dict[str, Any]:
        return bridge_action(self.settings, agent=call.agent_phone, uid=call.uniqueid,
                             phone=call.phone, caller_id=f'"回拨 {call.ticket}" <{call.phone}>',
                             recording=call.recording, ticket=call.ticket)

    async def run(self, call: AgentCall) -> None:
        outcome, detail = Outcome.FAILED, dict[str, str]()
        try:
            outcome, detail = await bridge(self.ami, self.settings, self.originate(call),
                                           poll_seconds=self.poll_seconds)
        except asyncio.CancelledError:
            raise  # stopping: the attempt stays running and the next start ends it
        except Exception as exc:
            log.exception("agent call %s failed", call.uniqueid)
            detail = {"error": f"{type(exc).__name__}: {exc}"}
        await asyncio.to_thread(self._record, call, outcome, detail)

    def _record(self, call: AgentCall, outcome: Outcome, detail: dict[str, str]) -> None:
        with session_scope(self.engine) as session:
            attempt = session.get(OutboundAttempt, call.attempt_id)
            if attempt is None or attempt.outcome is not None:
                return
            record_agent_end(session=session, attempt=attempt, outcome=outcome, detail=detail,
                             now=self.clock(), policy=self.policy)


def bridge_action(settings: OutboundSettings, *, agent: str, uid: str, phone: str,
                  caller_id: str, recording: str, ticket: str = "") -> dict[str, Any]:
    """Originate ``agent`` (a dial string) into the bridging context, which records the call
    into ``recording`` (relative to the recordings folder) and dials ``phone``."""
    citizen = settings.dial.format(number=phone, trunk=settings.trunk)
    return {
        "Action": "Originate", "Channel": agent, "Context": settings.agent_context,
        "Exten": "s", "Priority": "1", "CallerID": caller_id,
        "Timeout": str(settings.ring_seconds * 1000), "Async": "true", "ChannelId": uid,
        "Variable": ",".join([f"HOTLINE_DIAL={citizen}", f"HOTLINE_TICKET={ticket}",
                              f"HOTLINE_AGENT_REC={recording}",
                              f"HOTLINE_RING={settings.ring_seconds}"]),
    }


async def bridge(ami: AmiSender, settings: OutboundSettings, action: dict[str, Any], *,
                 poll_seconds: float = 1.0) -> tuple[Outcome, dict[str, str]]:
    """Send ``bridge_action``'s Originate and follow the call to its end: the agent's leg not
    answered is its outcome; else the dial to the citizen (``DIALSTATUS``) is."""
    try:
        answer = await ami.send(action, timeout=settings.ring_seconds + 15, as_list=True)
    except (AmiUnavailable, AmiActionFailed) as exc:
        return Outcome.FAILED, {"error": str(exc)}
    messages = answer if isinstance(answer, list) else [answer]
    agent_leg = reached(messages)
    if agent_leg is not Outcome.ANSWERED:
        return agent_leg, {"agent_leg": agent_leg.value}
    channel = next((str(m.get("Channel", "")) for m in messages
                    if m.get("Event") == "OriginateResponse"), "")
    dial_status = await _until_gone(ami, channel, poll_seconds=poll_seconds,
                                    limit=settings.max_call_seconds * 12)
    citizen = {"ANSWER": Outcome.ANSWERED, "BUSY": Outcome.BUSY,
               "NOANSWER": Outcome.NO_ANSWER}.get(dial_status, Outcome.FAILED)
    return citizen, {"agent_leg": "answered", "dial_status": dial_status}


async def _until_gone(ami: AmiSender, channel: str, *, poll_seconds: float, limit: float
                      ) -> str:
    """The last ``DIALSTATUS`` of ``channel``, asked until the channel is gone."""
    status = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while channel and loop.time() < deadline:
        try:
            answer = await ami.send({"Action": "Getvar", "Channel": channel,
                                     "Variable": "DIALSTATUS"})
        except AmiActionFailed:
            return status  # no such channel: the call is over
        value = str((answer[0] if isinstance(answer, list) else answer).get("Value") or "")
        status = value or status
        await asyncio.sleep(poll_seconds)
    return status
