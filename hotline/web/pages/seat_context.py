"""What the seat operator's pages read: the seat console's parts and the call pop's content.

``SeatConsole`` is put on the app by ``include_pages`` (built in ``hotline.app``): the pop board,
the queue members port, the configured seats, the call mover (emergency transfer).
``pop_view`` gathers one call's pop: the caller, the number's history (repeat caller flagged),
the IVR path, the draft and its suggestions, the responsibility list's dispatch suggestion,
and while the call a seat answered has no ticket its 受理 clock (``hotline.tickets.accept``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from sqlmodel import Session, col, select

from hotline.calls.models import Call
from hotline.intake.drafts import TicketDraft, drafts_of_call
from hotline.seats.pop import PopBoard, Ring
from hotline.seats.service import QueueMembers
from hotline.seats.transfer import CallMover
from hotline.tickets.accept import AcceptClock, running_clock
from hotline.tickets.models import Ticket, Unit
from hotline.tickets.suggestion import Suggestion, dispatch_suggestion

HISTORY = 10


@dataclass(frozen=True)
class SeatConsole:
    board: PopBoard
    queue: QueueMembers
    seats: list[str]  # interfaces: PJSIP/seat1 ...
    emergency_lines: list[str] = field(default_factory=lambda: ["110", "119", "120", "122"])
    mover: CallMover | None = None  # moves the caller's channel (emergency transfer)


def seat_console(request: Request) -> SeatConsole:
    console = getattr(request.app.state, "seat_console", None)
    if not isinstance(console, SeatConsole):
        raise RuntimeError("no SeatConsole on the app: include_pages(..., seats=...)")
    return console


@dataclass
class PopView:
    ring: Ring
    call: Call | None
    history: list[Ticket]
    draft: TicketDraft | None
    suggestion: Suggestion
    ticket: Ticket | None  # already taken for this call
    units: list[str]
    accept: AcceptClock | None = None  # the 受理 clock while the answered call has no ticket
    now: datetime | None = None  # the server's time the pop was drawn at (for the countdown)

    def accept_left(self) -> int | None:
        """Whole seconds of the 受理 limit left when drawn (negative: over by)."""
        if self.accept is None or self.now is None:
            return None
        return int((self.accept.deadline - self.now).total_seconds() // 1)

    @property
    def repeat(self) -> bool:
        return bool(self.history)

    @property
    def suggestions(self) -> dict[str, Any]:
        return self.draft.suggestions if self.draft is not None else {}

    def guess(self, key: str) -> Any:
        value = self.suggestions.get(key)
        return value.get("value") if isinstance(value, dict) else value

    def confidence(self, key: str) -> float | None:
        value = self.suggestions.get(key)
        return value.get("confidence") if isinstance(value, dict) else None


def pop_view(session: Session, ring: Ring, *, now: datetime | None = None) -> PopView:
    call = session.exec(select(Call).where(Call.uniqueid == ring.uniqueid)).first()
    caller = ring.caller or (call.caller_number if call else "")
    history = list(session.exec(
        select(Ticket).where(Ticket.caller_phone == caller, caller != "",
                             col(Ticket.call_uniqueid).is_distinct_from(ring.uniqueid))
        .order_by(col(Ticket.created_at).desc()).limit(HISTORY)).all()) if caller else []
    drafts = drafts_of_call(session=session, call_uniqueid=ring.uniqueid)
    draft = drafts[-1] if drafts else None
    text = draft.text if draft else ""
    loc = draft.suggestions.get("location") if draft is not None else None
    location = str((loc.get("value") if isinstance(loc, dict) else loc) or "")
    suggestion = dispatch_suggestion(session=session, text=text, location=location)
    ticket = session.exec(select(Ticket).where(Ticket.call_uniqueid == ring.uniqueid)
                          .order_by(col(Ticket.id))).first()
    units = list(session.exec(select(Unit.name).order_by(col(Unit.id))).all())
    accept = (running_clock(session=session, call=call)
              if call is not None and ticket is None else None)
    return PopView(ring=ring, call=call, history=history, draft=draft, suggestion=suggestion,
                   ticket=ticket, units=units, accept=accept, now=now or datetime.now(UTC))
