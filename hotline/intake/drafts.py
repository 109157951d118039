"""Work-order drafts (预填工单) made from what a caller said, and their fate.

When the transcript of a call's caller recording or left message is done, the transcription
service calls ``TranscriptDrafts`` in the transaction that stores the transcript: the text is
understood (``understand.Understander``) and one draft per call holds the text, the
suggestions with their confidences, and links to the call, its recordings and the transcript.
The console is told through the ticket change outbox (kind ``draft``); when the text suggests
an emergency line, an ``alert`` change (action ``emergency``) goes first, in the same
transaction, so the operator is interrupted at once (told once per call and line).

- A call with a left message is drafted from the message (what the caller said on purpose);
  other calls from the caller's side of the whole call.
- A message left with nobody answering becomes a ticket at once (actor ``system``, channel
  phone, the suggested type and urgency); dispatching stays with the operators.
- Unless ``intake.auto_dispatch_confidence`` is set (off by default): a message whose unit
  suggestion has at least that confidence becomes a ticket dispatched at once to that unit
  (actor ``system``; the draft change ``auto_dispatched`` holds the unit and the confidence).
  Never when the text suggests an emergency line (the operator is interrupted instead), nor to
  a unit the database does not know.
- Otherwise an operator accepts the draft with the fields they confirmed (``accept_draft``:
  a ticket is created, the draft keeps its links) or discards it, saying why the call is not a
  request (``not_request``: 无效来电, also before any draft arrived).

    open ──accept──> accepted (ticket_id)
      └───discard──> discarded
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, event
from sqlmodel import Field, Session, SQLModel, col, select

from hotline.calls.models import Call, Recording
from hotline.config import Settings
from hotline.intake.errors import IntakeError
from hotline.intake.understand import Understander, Understanding
from hotline.stt.models import Transcript
from hotline.tickets.calendar import Urgency
from hotline.tickets.changes import record_draft_change, record_emergency_alert
from hotline.tickets.models import Channel, Matter, Ticket, TicketCreate, Unit
from hotline.tickets.service import DEFAULT_RULES, Rules, create_ticket, dispatch

log = logging.getLogger(__name__)

SYSTEM = "system"
DRAFTED_KINDS = ("caller", "message")
NO_WORDS = "（录音留言，未识别出文字，请听录音）"


class DraftStatus(StrEnum):
    open = "open"
    accepted = "accepted"
    discarded = "discarded"


class TicketDraft(SQLModel, table=True):
    __tablename__ = "ticket_draft"

    id: int | None = Field(default=None, primary_key=True)
    call_uniqueid: str = Field(max_length=64, unique=True, index=True)  # one draft per call
    source: str = Field(max_length=16)  # the recording kind drafted from: caller / message
    recording_id: int | None = Field(default=None, foreign_key="recording.id")
    transcript_id: int | None = Field(default=None, foreign_key="transcript.id")
    recording_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Understanding.as_json(): each guess as {"value", "confidence"}
    suggestions: dict[str, Any] = Field(default_factory=dict,
                                        sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DraftStatus.open, max_length=16, index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    # discarded: why the call is not a request (``not_request.NotRequest``) and the note
    discard_reason: str | None = Field(default=None, max_length=16)
    discard_note: str = Field(default="", max_length=200)


class NoSuchDraft(IntakeError):
    error_id = "no-such-draft"

    def __init__(self, draft_id: int) -> None:
        super().__init__(f"no work-order draft {draft_id}", draft=draft_id)


class DraftNotOpen(IntakeError):
    error_id = "draft-not-open"
    status_code = 409

    def __init__(self, draft: TicketDraft) -> None:
        super().__init__(f"work-order draft {draft.id} is already {draft.status}",
                         draft=draft.id, status=draft.status, ticket_id=draft.ticket_id)


@dataclass(frozen=True)
class Drafted:
    draft: TicketDraft
    ticket: Ticket | None  # made at once for a message left with nobody answering


# --- reading ------------------------------------------------------------------------------


def get_draft(*, session: Session, draft_id: int) -> TicketDraft:
    draft = session.get(TicketDraft, draft_id)
    if draft is None:
        raise NoSuchDraft(draft_id)
    return draft


def drafts_of_call(*, session: Session, call_uniqueid: str) -> list[TicketDraft]:
    return list(session.exec(select(TicketDraft).where(
        TicketDraft.call_uniqueid == call_uniqueid).order_by(col(TicketDraft.id))).all())


def open_drafts(*, session: Session, limit: int = 50) -> list[TicketDraft]:
    return list(session.exec(select(TicketDraft).where(
        TicketDraft.status == DraftStatus.open).order_by(col(TicketDraft.id).desc())
        .limit(limit)).all())


# --- drafting -----------------------------------------------------------------------------


def draft_from_transcript(
    *, session: Session, transcript: Transcript, understander: Understander, now: datetime,
    rules: Rules = DEFAULT_RULES, auto_dispatch_confidence: float | None = None,
) -> Drafted | None:
    """The draft of the transcript's call, made or improved; None when nothing changed (an
    upload, a full recording, a caller side whose call left a message).

    With ``auto_dispatch_confidence`` (None: off), a message whose unit suggestion is at
    least that confident is accepted and dispatched to the unit by ``system``."""
    rec = session.get(Recording, transcript.recording_id) if transcript.recording_id else None
    if rec is None or rec.kind not in DRAFTED_KINDS:
        return None
    recordings = list(session.exec(select(Recording).where(
        Recording.call_uniqueid == rec.call_uniqueid).order_by(col(Recording.id))).all())
    existing = session.exec(select(TicketDraft).where(
        TicketDraft.call_uniqueid == rec.call_uniqueid)).first()
    if rec.kind == "caller" and any(r.kind == "message" for r in recordings):
        return None  # the message says it better: its transcript makes the draft
    if existing is not None and (existing.source == "message"
                                 or existing.status != DraftStatus.open):
        return None
    understanding = understander.understand(transcript.text)
    told_line = _emergency_line(existing.suggestions) if existing is not None else None
    draft = existing or TicketDraft(call_uniqueid=rec.call_uniqueid, source=rec.kind,
                                    created_at=now, updated_at=now)
    draft.source, draft.recording_id, draft.transcript_id = rec.kind, rec.id, transcript.id
    draft.recording_ids = [r.id for r in recordings if r.id is not None]
    draft.text, draft.suggestions, draft.updated_at = transcript.text, understanding.as_json(), now
    session.add(draft)
    session.flush()
    assert draft.id is not None
    call = session.exec(select(Call).where(Call.uniqueid == rec.call_uniqueid)).first()
    line = understanding.emergency.value
    if line is not None and line != told_line:  # before the draft's own change: at once
        record_emergency_alert(
            session=session, draft_id=draft.id, line=line,
            confidence=understanding.emergency.confidence, at=now,
            payload={"call_uniqueid": draft.call_uniqueid, "source": draft.source,
                     "caller_number": call.caller_number if call else "",
                     "text": draft.text[:500]})
    unit = (_auto_dispatch_unit(session, draft, understanding, auto_dispatch_confidence)
            if rec.kind == "message" else None)
    if rec.kind == "message" and (call is None or call.answered_by is None or unit):
        ticket = _accept(session, draft, ticket_from_draft(session, draft, understanding, call),
                         actor=SYSTEM, now=now, rules=rules)
        if unit is not None and auto_dispatch_confidence is not None:
            ticket = _auto_dispatch(session, draft, ticket, unit=unit, now=now, rules=rules,
                                    confidence=understanding.unit.confidence,
                                    threshold=auto_dispatch_confidence)
        return Drafted(draft=draft, ticket=ticket)
    record_draft_change(session=session, draft_id=draft.id,
                        action="updated" if existing else "created", status=draft.status,
                        at=now, payload=_change_payload(draft))
    return Drafted(draft=draft, ticket=None)


def ticket_from_draft(session: Session, draft: TicketDraft, understanding: Understanding,
                      call: Call | None) -> TicketCreate:
    """The ticket a message becomes with nobody typing: the suggestions taken as they are."""
    matter = None
    if understanding.matter_code:
        matter = session.exec(select(Matter.id).where(
            Matter.code == understanding.matter_code)).first()
    return TicketCreate(
        channel=Channel.PHONE, caller_phone=call.caller_number[:32] if call else "",
        caller_name=call.caller_name[:64] if call else "",
        request_type=understanding.request_type.value, matter_id=matter,
        urgency=Urgency.URGENT if understanding.urgent.value else Urgency.NORMAL,
        location=(understanding.location or "")[:256],
        description=draft.text.strip() or NO_WORDS,
        call_uniqueid=draft.call_uniqueid, transcript=draft.text,
    )


def _auto_dispatch_unit(session: Session, draft: TicketDraft, understanding: Understanding,
                        threshold: float | None) -> str | None:
    """The unit a message goes to at once, or None (off, not confident enough, an emergency,
    or a unit the database does not hold): the operators dispatch it then."""
    if threshold is None:
        return None
    unit, confidence = understanding.unit.value, understanding.unit.confidence
    why = ""
    if unit is None:
        why = "no unit suggested"
    elif confidence < threshold:
        why = f"unit {unit} suggested with confidence {confidence:.3f} < {threshold}"
    elif understanding.emergency.value is not None:
        why = f"emergency line {understanding.emergency.value} suggested"
    elif session.exec(select(Unit.id).where(Unit.name == unit)).first() is None:
        why = f"unit {unit} is not in the database"
    if why:
        log.info("call %s: message not dispatched automatically: %s", draft.call_uniqueid, why)
        return None
    return unit


def _auto_dispatch(session: Session, draft: TicketDraft, ticket: Ticket, *, unit: str,
                   confidence: float, threshold: float, now: datetime, rules: Rules) -> Ticket:
    assert ticket.id is not None and draft.id is not None
    ticket = dispatch(session=session, ticket_id=ticket.id, main_unit=unit, actor=SYSTEM,
                      now=now, rules=rules)
    record_draft_change(session=session, draft_id=draft.id, action="auto_dispatched",
                        status=draft.status, at=now, ticket=ticket,
                        payload={"call_uniqueid": draft.call_uniqueid, "by": SYSTEM,
                                 "unit": unit, "confidence": round(confidence, 3),
                                 "threshold": threshold})
    log.info("call %s: ticket %s dispatched automatically to %s (unit confidence %.3f >= %s)",
             draft.call_uniqueid, ticket.number, unit, confidence, threshold)
    session.flush()
    return ticket


# --- the operator's decision --------------------------------------------------------------


def accept_draft(*, session: Session, draft_id: int, ticket: TicketCreate, actor: str,
                 now: datetime, rules: Rules = DEFAULT_RULES) -> Ticket:
    """The operator confirmed the fields: the ticket is created and linked to the draft."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft.status != DraftStatus.open:
        raise DraftNotOpen(draft)
    confirmed = ticket.model_copy(update={
        "call_uniqueid": ticket.call_uniqueid or draft.call_uniqueid,
        "transcript": ticket.transcript if ticket.transcript is not None else draft.text,
    })
    return _accept(session, draft, confirmed, actor=actor, now=now, rules=rules)


def discard_draft(*, session: Session, draft_id: int, actor: str, now: datetime,
                  reason: str | None = None, note: str = "") -> TicketDraft:
    """No ticket from this draft; ``reason``: why the call is not a request
    (``not_request.NotRequest``), ``note`` what the operator wrote."""
    draft = get_draft(session=session, draft_id=draft_id)
    if draft.status != DraftStatus.open:
        raise DraftNotOpen(draft)
    draft.status, draft.decided_at, draft.decided_by = DraftStatus.discarded, now, actor
    draft.updated_at, draft.discard_reason, draft.discard_note = now, reason, note
    session.add(draft)
    assert draft.id is not None
    record_draft_change(session=session, draft_id=draft.id, action="discarded",
                        status=draft.status, at=now,
                        payload={"by": actor, "call_uniqueid": draft.call_uniqueid,
                                 "reason": reason, "note": note})
    session.flush()
    return draft


def _accept(session: Session, draft: TicketDraft, body: TicketCreate, *, actor: str,
            now: datetime, rules: Rules) -> Ticket:
    ticket = create_ticket(session=session, draft=body, now=now, actor=actor, rules=rules)
    draft.status, draft.ticket_id = DraftStatus.accepted, ticket.id
    draft.decided_at, draft.decided_by, draft.updated_at = now, actor, now
    session.add(draft)
    assert draft.id is not None
    record_draft_change(session=session, draft_id=draft.id, action="accepted",
                        status=draft.status, at=now, ticket=ticket,
                        payload={**_change_payload(draft), "by": actor})
    session.flush()
    return ticket


def _emergency_line(suggestions: dict[str, Any]) -> str | None:
    line = (suggestions.get("emergency") or {}).get("value")
    return str(line) if line else None


def _change_payload(draft: TicketDraft) -> dict[str, Any]:
    return {"call_uniqueid": draft.call_uniqueid, "source": draft.source,
            "suggestions": draft.suggestions}


# --- the transcription service's hook ----------------------------------------------------


class TranscriptDrafts:
    """``TranscriptionService(on_transcript=...)``: drafts in the transcript's transaction,
    then ``on_change`` (wake the consoles' streams) once that transaction commits."""

    def __init__(self, *, settings: Settings, clock: Callable[[], datetime],
                 on_change: Callable[[], None] | None = None,
                 rules: Rules = DEFAULT_RULES) -> None:
        self.settings, self.rules = settings, rules
        self.clock = clock
        self.on_change = on_change
        self.made = 0
        self._understander: Understander | None = None
        self._lock = threading.Lock()

    def prepare(self, session: Session) -> Understander:
        """Load the responsibility list (and the trained model) and the word segmenter's
        dictionary: once, off the event loop, before the first transcript."""
        with self._lock:
            if self._understander is None:
                understander = Understander.from_session(session, settings=self.settings)
                understander.understand("你好")  # jieba loads its dictionary (~0.4 s) now
                self._understander = understander
            return self._understander

    def __call__(self, session: Session, transcript: Transcript) -> None:
        drafted = draft_from_transcript(session=session, transcript=transcript,
                                        understander=self.prepare(session), now=self.clock(),
                                        rules=self.rules, auto_dispatch_confidence=(
                                            self.settings.intake.auto_dispatch_confidence))
        if drafted is None:
            return
        self.made += 1
        log.info("call %s: work-order draft %s from the %s transcript%s",
                 drafted.draft.call_uniqueid, drafted.draft.id, drafted.draft.source,
                 f", ticket {drafted.ticket.number}" if drafted.ticket else "")
        if self.on_change is not None:
            wake = self.on_change
            event.listen(session, "after_commit", lambda _s: wake(), once=True)

    def status(self) -> dict[str, Any]:
        return {"drafts_made": self.made, "ready": self._understander is not None}
