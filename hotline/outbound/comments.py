"""The survey's recorded comment (回访意见), transcribed like any caller message.

The survey flow's record node ``comment`` makes a recording of kind ``comment`` on the
outbound call (``hotline-ob-<attempt id>``), marked complete once the flow has ended
(``agi.OutboundFlowHandler``). Storing the attempt's report queues its transcription job in
the same transaction as the rating (``service.record_report`` → ``queue_comment``), so the
job is as durable as the rating and never runs before the revisit exists. When the transcript
is stored, ``SurveyComments`` (the transcription service's hook) writes its text on the
attempt (``comment_text``) and on the ticket's revisit event (``comment``, where a callback
agent's typed comment goes); every other transcript goes on to the next hook (drafts), but
those of outbound calls (the caller side of a survey, once its recordings are finished at
hang-up: ``recordings.py``), which are no citizen's request.

    service = TranscriptionService(settings, engine, on_transcript=SurveyComments(inner=drafts))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select

from hotline.calls.models import Call, Recording
from hotline.outbound.ami import attempt_of
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.recording.files import AudioInfo
from hotline.stt import queue
from hotline.stt.models import Transcript, TranscriptionJob
from hotline.tickets.models import TicketEvent

log = logging.getLogger(__name__)
COMMENT_KIND = "comment"  # Recording.kind of a survey comment
TranscriptHook = Callable[[Session, Transcript], None]


def mark_complete(session: Session, *, path: str, info: AudioInfo) -> Recording | None:
    """The comment recording at ``path`` (relative to recordings/) is closed: its size,
    duration and any problem stored, marked complete. None when there is no such row."""
    rec = session.exec(select(Recording).where(Recording.path == path)).first()
    if rec is None:
        return None
    rec.size_bytes, rec.duration_seconds = info.size_bytes, info.duration_seconds
    rec.problem, rec.complete = info.problem, True
    session.add(rec)
    return rec


def queue_comment(session: Session, *, path: str, language: str, now: datetime
                  ) -> TranscriptionJob | None:
    """The transcription job of the comment recorded at ``path`` (made once); None when the
    recording is unknown or holds no audio."""
    rec = session.exec(select(Recording).where(Recording.path == path,
                                               Recording.kind == COMMENT_KIND)).first()
    if rec is None or rec.id is None:
        log.warning("survey comment %s: no recording row, not transcribed", path)
        return None
    if rec.complete and not rec.duration_seconds:
        log.info("survey comment %s is empty (%s): not transcribed", path, rec.problem)
        return None
    return queue.enqueue(session=session, audio_path=rec.path, language=language,
                         recording_id=rec.id, now=now)


def revisit_event(session: Session, *, ticket_id: int, seq: int) -> TicketEvent | None:
    return session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id,
                                                  TicketEvent.seq == seq)).first()


def comment_from_transcript(*, session: Session, transcript: Transcript) -> bool:
    """Store the transcript of a survey comment on its attempt and the ticket's revisit;
    False when the transcript is not of a survey comment."""
    rec = session.get(Recording, transcript.recording_id) if transcript.recording_id else None
    if rec is None or rec.kind != COMMENT_KIND:
        return False
    attempt_id = attempt_of(rec.call_uniqueid)
    attempt = session.get(OutboundAttempt, attempt_id) if attempt_id is not None else None
    if attempt is None:
        log.warning("survey comment %s: no outbound attempt %s", rec.path, rec.call_uniqueid)
        return True
    text = transcript.text.strip()
    attempt.detail = {**attempt.detail, "comment_text": text}
    session.add(attempt)
    call = session.get(OutboundCall, attempt.call_id)
    seq = attempt.detail.get("revisit_seq")
    event = revisit_event(session, ticket_id=call.ticket_id, seq=int(seq)) \
        if call is not None and seq is not None else None
    if event is not None and text:
        event.payload = {**event.payload, "comment": text, "comment_transcript": transcript.id}
        session.add(event)
    log.info("survey comment of %s transcribed (%d characters)%s",
             call.number if call else rec.call_uniqueid, len(text),
             "" if event is not None else ", no revisit on the ticket to hold it")
    return True


class SurveyComments:
    """``TranscriptionService(on_transcript=...)``: survey comments here, the rest to
    ``inner``."""

    def __init__(self, *, inner: TranscriptHook | None = None) -> None:
        self.inner = inner
        self.stored = 0

    def __call__(self, session: Session, transcript: Transcript) -> None:
        if comment_from_transcript(session=session, transcript=transcript):
            self.stored += 1
        elif self.inner is not None and not of_outbound_call(session, transcript):
            self.inner(session, transcript)


def of_outbound_call(session: Session, transcript: Transcript) -> bool:
    """The transcript is of a call we placed (a survey's or reminder's caller side): kept
    with its recording, never drafted into a ticket as a citizen's call would be."""
    rec = session.get(Recording, transcript.recording_id) if transcript.recording_id else None
    if rec is None:
        return False
    call = session.exec(select(Call).where(Call.uniqueid == rec.call_uniqueid)).first()
    return call is not None and call.direction == "out"
