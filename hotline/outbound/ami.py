"""The ``Dialer`` over AMI: Originate into the outbound flow context, and the answer of the
flow that ran on the call (``agi.OutboundFlowHandler`` tells it when the flow ended).

The originated channel gets the id ``hotline-ob-<attempt id>`` (``ChannelId``), so the FastAGI
connection of that call says which attempt it is. ``Async: true`` makes Originate answer only
once the call was answered or failed (``OriginateResponse``, whose ``Reason`` is Asterisk's
control frame: 4 answered, 5 busy, 3 rang without answer, 8 congestion, 1 hung up, 0 failed).
A phone that refuses with 486 Busy Here gives Reason 0 through PJSIP: the channel's ``Hangup``
event (cause 17 user busy, 18/19 no answer), passed on by ``DialerEvents``, then tells.

    dialer = AmiDialer(ami=ami, settings=settings.outbound)
    report = await dialer.place(placed_call)     # CallReport(Outcome.ANSWERED, key="1", …)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.outbound.ports import CallReport, PlacedCall
from hotline.outbound.rules import Outcome, Purpose
from hotline.outbound.settings import OutboundSettings

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "hotline-ob-"
# Originate's Reason (Asterisk control frames) -> how the attempt ended.
REASONS = {"4": Outcome.ANSWERED, "5": Outcome.BUSY, "3": Outcome.NO_ANSWER,
           "1": Outcome.NO_ANSWER, "8": Outcome.FAILED, "0": Outcome.FAILED}
# Hangup causes (Q.850) of a failed dial that say more than Originate's Reason.
CAUSES = {"17": Outcome.BUSY, "18": Outcome.NO_ANSWER, "19": Outcome.NO_ANSWER}
CAUSE_WAIT_SECONDS = 2.0  # the Hangup event may be handled just after OriginateResponse
# Nodes of the outbound flows whose passing says what the person keyed.
RESULT_NODES = {"satisfied": "1", "basically_satisfied": "2", "unsatisfied": "3",
                "acknowledged": "1"}


class AmiSender(Protocol):
    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any: ...


@dataclass
class FlowEnd:
    """What the flow on an answered outbound call did."""

    path: list[str] = field(default_factory=list)
    comment: str | None = None  # the recorded comment's path (relative to recordings/)


def channel_id(attempt_id: int) -> str:
    return f"{CHANNEL_PREFIX}{attempt_id}"


def attempt_of(uniqueid: str) -> int | None:
    """The attempt id of an outbound channel's unique id, None for any other channel."""
    if not uniqueid.startswith(CHANNEL_PREFIX):
        return None
    tail = uniqueid[len(CHANNEL_PREFIX):]
    return int(tail) if tail.isdigit() else None


def reached(messages: Iterable[Any]) -> Outcome:
    """How the dial went, from Originate's answer (the response and ``OriginateResponse``)."""
    for message in messages:
        if message.get("Event") == "OriginateResponse":
            if message.get("Response") == "Success":
                return Outcome.ANSWERED
            return REASONS.get(str(message.get("Reason", "0")), Outcome.FAILED)
    return Outcome.FAILED


def originate_reason(messages: Iterable[Any]) -> str:
    """``OriginateResponse``'s ``Reason`` as sent ("" when there was none), kept on the attempt."""
    for message in messages:
        if message.get("Event") == "OriginateResponse":
            return str(message.get("Reason", ""))
    return ""


def key_from_path(path: Iterable[str]) -> str:
    """The key the person gave, read off the nodes the flow passed ("" when none)."""
    keys = [RESULT_NODES[node] for node in path if node in RESULT_NODES]
    return keys[-1] if keys else ""


def prompt_values(call: PlacedCall, *, tz: ZoneInfo) -> dict[str, str]:
    """What the flows' prompts may name: ``{subject}``, ``{ticket}`` (read digit by digit),
    ``{deadline}`` (month, day and hour on the center's clock)."""
    digits = " ".join(ch for ch in call.ticket_number if ch.isdigit())
    deadline = ""
    if call.deadline is not None:
        d = call.deadline.astimezone(tz)
        deadline = f"{d.month}月{d.day}日{d.hour}时" + (f"{d.minute}分" if d.minute else "")
    return {"subject": call.subject or "您反映的问题", "ticket": digits, "deadline": deadline}


class AmiDialer:
    """``Dialer`` (``ports.py``) over ``AmiController.send``."""

    def __init__(self, *, ami: AmiSender, settings: OutboundSettings, tz: ZoneInfo) -> None:
        self.ami, self.settings, self.tz = ami, settings, tz
        self._calls: dict[int, tuple[PlacedCall, asyncio.Future[FlowEnd]]] = {}
        self._hangups: dict[str, asyncio.Future[str]] = {}

    # AMI events (``DialerEvents``) -------------------------------------------------------
    def on_hangup(self, event: dict[str, str]) -> None:
        waiting = self._hangups.get(event.get("Uniqueid", ""))
        if waiting is not None and not waiting.done():
            waiting.set_result(event.get("Cause", ""))

    async def _cause(self, uid: str) -> str:
        waiting = self._hangups.get(uid)
        if waiting is None:
            return ""
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), CAUSE_WAIT_SECONDS)
        except TimeoutError:
            return ""

    # what the flow handler asks ----------------------------------------------------------
    def values_for(self, uniqueid: str) -> dict[str, str] | None:
        attempt = attempt_of(uniqueid)
        entry = self._calls.get(attempt) if attempt is not None else None
        return prompt_values(entry[0], tz=self.tz) if entry else None

    def phone_for(self, uniqueid: str) -> str | None:
        """The number dialled on this outbound channel (None for any other)."""
        attempt = attempt_of(uniqueid)
        entry = self._calls.get(attempt) if attempt is not None else None
        return entry[0].phone if entry else None

    def flow_ended(self, uniqueid: str, end: FlowEnd) -> None:
        attempt = attempt_of(uniqueid)
        entry = self._calls.get(attempt) if attempt is not None else None
        if entry is not None and not entry[1].done():
            entry[1].set_result(end)

    # Dialer ------------------------------------------------------------------------------
    async def place(self, call: PlacedCall) -> CallReport:
        s = self.settings
        uid = channel_id(call.attempt_id)
        flow = s.survey_flow if call.purpose is Purpose.SURVEY else s.reminder_flow
        ended: asyncio.Future[FlowEnd] = asyncio.get_running_loop().create_future()
        self._calls[call.attempt_id] = (call, ended)
        self._hangups[uid] = asyncio.get_running_loop().create_future()
        action = {
            "Action": "Originate", "Channel": s.dial.format(number=call.phone, trunk=call.trunk),
            "Context": s.context, "Exten": flow, "Priority": "1", "CallerID": s.caller_id,
            "Timeout": str(s.ring_seconds * 1000), "Async": "true", "ChannelId": uid,
            "Variable": f"HOTLINE_OUTBOUND={call.attempt_id}",
        }
        try:
            answer = await self.ami.send(action, timeout=s.ring_seconds + 15, as_list=True)
            messages = answer if isinstance(answer, list) else [answer]
            outcome = reached(messages)
            if outcome is not Outcome.ANSWERED:
                reason = originate_reason(messages)
                detail = {"flow": flow, "reason": reason}
                if reason in ("0", "1"):  # no control frame: the hang-up cause says more
                    cause = await self._cause(uid)
                    outcome = CAUSES.get(cause, outcome)
                    detail["cause"] = cause
                return CallReport(outcome, uniqueid=uid, detail=detail)
            try:
                end = await asyncio.wait_for(asyncio.shield(ended), s.max_call_seconds)
            except TimeoutError:
                return CallReport(Outcome.ANSWERED, uniqueid=uid,
                                  detail={"flow": flow, "error": "the flow never ended"})
            return CallReport(Outcome.ANSWERED, key=key_from_path(end.path), comment=end.comment,
                              uniqueid=uid, detail={"flow": flow, "path": " ".join(end.path)})
        except (AmiUnavailable, AmiActionFailed) as exc:
            return CallReport(Outcome.FAILED, uniqueid=uid, detail={"error": str(exc)})
        finally:
            self._calls.pop(call.attempt_id, None)
            self._hangups.pop(uid, None)


class HangupListener(Protocol):
    def on_hangup(self, event: dict[str, str]) -> None: ...


class PopSource(Protocol):
    def pop_events(self, event: dict[str, str]) -> list[dict[str, str]]: ...


class PopSink(Protocol):
    async def on_event(self, event: dict[str, str]) -> None: ...


class DialerEvents:
    """An AMI event handler that passes every event on to ``inner`` and channel hang-ups to
    the dialer and to ``recordings`` (outbound calls' recordings finished at hang-up:
    ``recordings.OutboundRecordings``); ``pops`` turns the events of a call it placed onto a
    seat into the seat's pop events, for ``board`` (``queue_callbacks.QueueCallbacks``:
    a call-back rings the seat showing why the call is returned). Set after the dialer is
    built (``AmiController(handler=...)``, ``plugin.Outbound.events``)."""

    def __init__(self, *, inner: Any, dialer: AmiDialer,
                 recordings: HangupListener | None = None, pops: PopSource | None = None,
                 board: PopSink | None = None) -> None:
        self.inner, self.dialer = inner, dialer
        self.recordings, self.pops, self.board = recordings, pops, board

    async def on_connected(self, controller: Any) -> None:
        await self.inner.on_connected(controller)

    async def on_event(self, event: dict[str, str]) -> None:
        if event.get("Event") == "Hangup":
            self.dialer.on_hangup(event)
            if self.recordings is not None:
                self.recordings.on_hangup(event)
        await self.inner.on_event(event)
        if self.pops is not None and self.board is not None:
            for pop in self.pops.pop_events(event):
                await self.board.on_event(pop)
