"""The call pop: which queue call rings or talks to which seat, from the queue's AMI events.

``PopBoard.on_event`` follows AgentCalled (ringing), AgentConnect (answered),
AgentRingNoAnswer (rang elsewhere), AgentComplete (the seat's talk ended, also when the caller
was moved to an emergency line) and Hangup (ended); ``changed`` wakes the operators' pop
streams at once. It is held in memory: a call that rings after a restart pops again.

    board = PopBoard()
    await board.on_event({"Event": "AgentCalled", "Interface": "PJSIP/seat1", ...})
    board.current("PJSIP/seat1")   # Ring(uniqueid=..., caller=..., state="ringing")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hotline.tickets.stream import ChangeSignal


@dataclass(frozen=True)
class Ring:
    uniqueid: str
    caller: str
    caller_name: str
    interface: str
    state: str  # ringing / answered / ended
    at: datetime
    version: int
    channel: str = ""  # the caller's channel (moved by the emergency transfer)
    reason: str = ""  # why a call-back of ours rings the seat (预约回拨, 漏接回拨 …)


class PopBoard:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self._by_interface: dict[str, Ring] = {}
        self._version = 0
        self.changed = ChangeSignal()

    @property
    def version(self) -> int:
        return self._version

    def current(self, interface: str) -> Ring | None:
        return self._by_interface.get(interface)

    async def on_event(self, event: dict[str, str]) -> None:
        name = event.get("Event", "")
        uid = event.get("Uniqueid", "")
        interface = event.get("Interface") or event.get("MemberName", "")
        if name == "AgentCalled" and interface:
            self._set(self._ring(event, interface, state="ringing"))
        elif name == "AgentConnect" and interface:
            ring = self._by_interface.get(interface)
            if ring is not None and ring.uniqueid == uid:
                self._set(replace(ring, state="answered",
                                  channel=event.get("Channel") or ring.channel))
            else:
                self._set(self._ring(event, interface, state="answered"))
        elif name == "AgentRingNoAnswer" and interface:
            ring = self._by_interface.get(interface)
            if ring is not None and ring.uniqueid == uid and ring.state == "ringing":
                self._set(replace(ring, state="missed"))
        elif name == "AgentComplete" and interface:  # the seat's talk ended (or moved away)
            ring = self._by_interface.get(interface)
            if ring is not None and ring.uniqueid == uid and ring.state == "answered":
                self._set(replace(ring, state="ended"))
        elif name == "Hangup" and uid:
            for ring in list(self._by_interface.values()):
                if ring.uniqueid == uid and ring.state != "ended":
                    self._set(replace(ring, state="ended"))

    def _ring(self, event: dict[str, str], interface: str, *, state: str) -> Ring:
        """A new pop from a queue event (its caller, the caller's channel, why we call)."""
        return Ring(uniqueid=event.get("Uniqueid", ""), caller=event.get("CallerIDNum", ""),
                    caller_name=event.get("CallerIDName", ""), interface=interface,
                    state=state, at=self._clock(), version=0, channel=event.get("Channel", ""),
                    reason=event.get("HotlineReason", ""))

    def _set(self, ring: Ring) -> None:
        self._version += 1
        self._by_interface[ring.interface] = replace(ring, version=self._version)
        self.changed.notify()
