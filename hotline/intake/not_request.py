"""Calls that are not requests (无效来电): the seat marks a call it answered as silent, a wrong
number, harassment, hung up at once, a test, or another reason with a note; no ticket is made.

The mark is the call's draft discarded with the reason (``ticket_draft.discard_reason``, the
note in ``discard_note``): the draft the transcription made, or, when none has arrived yet (an
answered call is drafted after hang-up), an empty one made discarded at once, which the
transcription then leaves alone. Either way the call's 受理 clock stops
(``hotline.tickets.accept``) and a ``draft`` change ``discarded`` with the reason is told.
A call that already has a ticket cannot be marked; a seat that changes its mind still takes a
ticket for the call from the pop.

    mark_not_request(session=session, call_uniqueid="1764.42", reason=NotRequest.SILENT,
                     actor="op1", now=now)
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from hotline.calls.models import Call
from hotline.intake.drafts import DraftStatus, TicketDraft, discard_draft
from hotline.intake.errors import IntakeError
from hotline.tickets.models import Ticket

NOTE_MAX = 200
SEAT = "seat"  # the source of a draft the seat made discarded before any transcript


class NotRequest(StrEnum):
    SILENT = "silent"
    WRONG_NUMBER = "wrong_number"
    HARASSMENT = "harassment"
    HUNG_UP = "hung_up"
    TEST = "test"
    OTHER = "other"


NOT_REQUEST_LABELS: dict[str, str] = {  # by NotRequest (a str)
    NotRequest.SILENT: "无声电话", NotRequest.WRONG_NUMBER: "打错电话",
    NotRequest.HARASSMENT: "骚扰电话", NotRequest.HUNG_UP: "接通即挂",
    NotRequest.TEST: "测试或误拨", NotRequest.OTHER: "其他",
}


class NoSuchCall(IntakeError):
    error_id = "no-such-call"
    status_code = 404

    def __init__(self, uniqueid: str) -> None:
        super().__init__(f"no call {uniqueid!r}", call=uniqueid)


class CallAlreadyTaken(IntakeError):
    error_id = "call-already-taken"
    status_code = 409

    def __init__(self, uniqueid: str, number: str) -> None:
        super().__init__(f"本次来电已受理工单 {number}，不能标记为无效来电", call=uniqueid,
                         number=number)


class NoteRequired(IntakeError):
    error_id = "not-request-note-required"
    status_code = 422

    def __init__(self) -> None:
        super().__init__("无效来电原因为“其他”时请注明情况", field="note")


def why_not(reason: NotRequest | None, note: str) -> str:
    """The note as stored (spaces squeezed, at most ``NOTE_MAX``); ``NoteRequired`` when the
    reason is ``other`` and nothing is left of it."""
    note = " ".join(note.split())[:NOTE_MAX]
    if reason is NotRequest.OTHER and not note:
        raise NoteRequired()
    return note


def mark_not_request(*, session: Session, call_uniqueid: str, reason: NotRequest, actor: str,
                     now: datetime, note: str = "") -> TicketDraft:
    """Discard the call's draft (made empty when none arrived yet) as not a request.

    Raises ``NoSuchCall``, ``CallAlreadyTaken`` (a ticket exists for the call), ``NoteRequired``
    (``other`` without a note) and ``DraftNotOpen`` (already accepted or discarded). The
    transcription making the call's draft at the same moment meets this insert on the draft's
    unique call: the insert is undone to its savepoint and the transcription's draft is the
    one discarded."""
    note = why_not(reason, note)
    if session.exec(select(Call.id).where(Call.uniqueid == call_uniqueid)).first() is None:
        raise NoSuchCall(call_uniqueid)
    ticket = session.exec(select(Ticket.number).where(Ticket.call_uniqueid == call_uniqueid)
                          .order_by(col(Ticket.id))).first()
    if ticket is not None:
        raise CallAlreadyTaken(call_uniqueid, ticket)
    draft = _draft_of(session, call_uniqueid)
    if draft is None:
        try:
            with session.begin_nested():
                draft = TicketDraft(call_uniqueid=call_uniqueid, source=SEAT,
                                    status=DraftStatus.open, created_at=now, updated_at=now)
                session.add(draft)
        except IntegrityError:  # the transcription's draft came first
            draft = _draft_of(session, call_uniqueid)
            assert draft is not None
    assert draft.id is not None
    return discard_draft(session=session, draft_id=draft.id, actor=actor, now=now,
                         reason=reason.value, note=note)


def _draft_of(session: Session, call_uniqueid: str) -> TicketDraft | None:
    return session.exec(select(TicketDraft).where(
        TicketDraft.call_uniqueid == call_uniqueid)).first()


def intake_of_calls(*, session: Session, uniqueids: list[str]) -> dict[str, str]:
    """What each call became, for the calls page: ``工单 <number>`` (its first ticket) or
    ``无效来电：<reason>``; calls with neither are left out."""
    if not uniqueids:
        return {}
    found: dict[str, str] = {}
    for uid, number in session.exec(select(Ticket.call_uniqueid, Ticket.number).where(
            col(Ticket.call_uniqueid).in_(uniqueids)).order_by(col(Ticket.id).desc())):
        if uid:
            found[uid] = f"工单 {number}"  # the first ticket (ids descending) stays
    for uid, reason, note in session.exec(
            select(TicketDraft.call_uniqueid, TicketDraft.discard_reason, TicketDraft.discard_note)
            .where(col(TicketDraft.call_uniqueid).in_(uniqueids),
                   TicketDraft.status == DraftStatus.discarded)):
        if uid not in found:
            why = NOT_REQUEST_LABELS.get(reason or "", "") + (f"（{note}）" if note else "")
            found[uid] = f"无效来电：{why}" if why else "无效来电"
    return found
