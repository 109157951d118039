"""Calls through the real Asterisk sandbox, our FastAGI server and the shipped default flow.

The caller is a real SIP phone (pyVoIP, patched in hotline.telephony.phone) sending RFC 4733
digits and speech made by espeak-ng; seats and emergency lines are registered phones.
Keys are sent when the call's record shows the flow has reached the node that takes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from hotline.calls.store import CallView
from hotline.ivr.ports import Prompt
from hotline.knowledge.ivr import find_article, spoken_text
from hotline.prompts.store import PromptStore
from hotline.recording.files import inspect, rms_level
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import PhoneCall, SoftPhone, rms, sine_tone, wav_to_phone_audio

from .conftest import RunningHotline

pytestmark = pytest.mark.integration

MESSAGE_TEXT = "你好，我们小区门口的路灯坏了一个多星期了，麻烦派人来修一下。"


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """About five seconds of Mandarin speech, as the phone sends it (8 kHz, 8-bit)."""
    folder = tmp_path_factory.mktemp("speech")
    store = PromptStore(folder=folder, voice="cmn-latn-pinyin", speed=150,
                        asterisk_folder=str(folder))
    return wav_to_phone_audio(store.ensure(Prompt(text=MESSAGE_TEXT)))


@pytest.fixture
def caller() -> Iterator[SoftPhone]:
    with SoftPhone(user="demo", password=None) as phone:
        yield phone


def registered(settings_home: RunningHotline, name: str, **kwargs: object) -> SoftPhone:
    return SoftPhone(user=name, password=phone_password(settings_home.settings, name),
                     **kwargs)  # type: ignore[arg-type]


def only_call(running: RunningHotline) -> Callable[[Callable[[CallView], bool]], CallView]:
    def wait(predicate: Callable[[CallView], bool], *, timeout: float = 60,
             what: str = "as expected") -> CallView:
        return running.wait_for_call(
            lambda v: v.call.caller_number == "demo" and predicate(v), timeout=timeout, what=what
        )

    return wait


def reached(node: str) -> Callable[[CallView], bool]:
    """The flow has finished ``node`` (steps are recorded when a node ends)."""
    return lambda v: node in v.call.ivr_path


def finished(v: CallView) -> bool:
    return (v.call.ended_at is not None and v.call.end_reason is not None
            and bool(v.recordings) and all(r.complete for r in v.recordings))


def leave_message(wait: Callable[..., CallView], call: PhoneCall, speech: bytes) -> None:
    """At the self-service menu: key 2, wait for the beep, speak, end with #."""
    call.send_dtmf("2")
    wait(lambda v: any(r.kind == "message" for r in v.recordings), timeout=30,
         what="recording a message")
    time.sleep(1.0)  # the beep
    call.play(speech)
    call.send_dtmf("#")


def assert_message_holds_speech(running: RunningHotline, view: CallView, speech: bytes) -> None:
    root = running.settings.recordings_dir
    kinds = {r.kind: r for r in view.recordings}
    assert set(kinds) == {"full", "caller", "message"}
    for rec in view.recordings:
        assert rec.complete and rec.problem is None, rec
        assert (root / rec.path).exists()
    message = root / kinds["message"].path
    info = inspect(message)
    spoken = len(speech) / 8000
    assert info.duration_seconds is not None
    assert spoken - 0.5 <= info.duration_seconds <= spoken + 3.0, (info, spoken)
    assert rms_level(message) > 0.02, "the message holds no caller audio"
    caller_side = root / kinds["caller"].path
    assert rms_level(caller_side) > 0.01
    assert inspect(root / kinds["full"].path).duration_seconds >= info.duration_seconds  # type: ignore[operator]


def test_given_no_seat_when_caller_keys_2_and_speaks_then_message_is_recorded_and_linked(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone, speech: bytes
) -> None:
    running = make_hotline()
    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("no_seat_notice"), what="at the self-service menu")
    leave_message(wait, call, speech)
    assert call.wait_until_ended(timeout=30) == "remote"  # the flow thanked and hung up

    view = wait(finished, what="finished with its recordings complete")
    assert view.call.ivr_path == ["welcome", "staffed", "queue", "no_seat_notice",
                                  "self_service", "leave_message", "message_thanks"]
    assert view.call.keys == "2#"[: len(view.call.keys)] and "2" in view.call.keys
    assert view.call.queue_outcome == "no_seat"
    assert view.call.end_reason == "completed"
    assert view.call.answered_at is not None and view.call.flow == "default"
    record_step = next(s for s in view.steps if s.node == "leave_message")
    assert record_step.outcome == "recorded" and record_step.detail["ended_by"] == "key"
    assert_message_holds_speech(running, view, speech)


def test_given_holiday_today_when_caller_calls_then_after_hours_branch_records_message(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone, speech: bytes
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    running = make_hotline(ivr={"holidays": [today]})
    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("closed_notice"), what="told the center is closed")
    leave_message(wait, call, speech)
    call.wait_until_ended(timeout=30)

    view = wait(finished, what="finished")
    assert view.call.ivr_path == ["welcome", "staffed", "closed_notice", "self_service",
                                  "leave_message", "message_thanks"]
    assert next(s for s in view.steps if s.node == "staffed").outcome == "closed"
    assert view.call.queue_joined_at is None  # never offered to the queue
    assert_message_holds_speech(running, view, speech)


def test_given_caller_presses_9_then_3_then_the_e120_line_rings_and_answers(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone
) -> None:
    running = make_hotline()
    wait = only_call(running)
    with registered(running, "e120", auto_answer=True,
                    answer_audio=sine_tone(600, seconds=1.0)) as e120:
        call = caller.call("12345", timeout=10)
        time.sleep(1.0)
        call.send_dtmf("9")  # a global key: interrupts the welcome
        wait(reached("welcome"), timeout=20, what="past the welcome")
        call.send_dtmf("3")
        emergency = e120.wait_for_incoming(timeout=40)
        assert emergency.answered_at is not None
        time.sleep(1.5)
        heard = call.received_audio(since=emergency.answered_at)
        emergency.hangup()
        call.wait_until_ended(timeout=20)

    view = wait(finished, what="finished")
    assert view.call.ivr_path == ["welcome", "emergency_menu", "emergency_120"]
    assert view.call.transferred_to == "emergency:120"
    assert view.call.end_reason == "transferred"
    step = next(s for s in view.steps if s.node == "emergency_120")
    assert step.outcome == "answered" and step.detail["target"] == "PJSIP/e120"
    assert len(heard) > 4000, "the caller and the emergency line were not connected"


def test_given_caller_hangs_up_in_the_menu_then_the_call_row_is_clean(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone
) -> None:
    running = make_hotline()
    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("no_seat_notice"), what="at the self-service menu")
    time.sleep(1.0)
    call.hangup()

    view = wait(finished, timeout=30, what="finished after the hang-up")
    assert view.call.ivr_path[-1] == "self_service"
    assert view.steps[-1].outcome == "caller_hung_up"
    assert view.call.end_reason == "hangup_by_caller"
    assert view.call.ended_at is not None and view.call.hangup_cause is not None
    assert {r.kind for r in view.recordings} == {"full", "caller"}
    assert all(r.problem is None for r in view.recordings)


def test_given_self_service_when_caller_keys_1_1_then_office_hours_answer_is_played(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone
) -> None:
    running = make_hotline()
    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("no_seat_notice"), what="at the self-service menu")
    call.send_dtmf("1")
    wait(reached("self_service"), what="in the information menu")
    call.send_dtmf("1")
    view = wait(reached("self_info_hours"), what="after the office-hours answer")
    call.hangup()

    step = next(s for s in view.steps if s.node == "self_info_hours")
    assert step.outcome == "played"
    # The answer is the seeded knowledge article's current body, rendered on first use
    assert step.detail["article"] == "service-center-hours"
    assert step.detail["article_status"] == "found"
    with Session(running.hotline.engine) as session:
        article = find_article(session=session, ref=step.detail["article_id"])
        assert article is not None and article.slug == "service-center-hours"
        prompt = Prompt(text=spoken_text(article.body))
    played = inspect(running.hotline.prompts.host_path(prompt)).duration_seconds
    assert played is not None and played > 5
    took = (step.ended_at - step.started_at).total_seconds()
    assert played - 0.5 <= took <= played + 1.5, (took, played)
    view = wait(finished, timeout=30, what="finished")
    full = next(r for r in view.recordings if r.kind == "full")
    assert full.duration_seconds is not None and full.duration_seconds >= played


def test_given_a_seat_when_caller_waits_then_the_seat_answers_within_15s(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone
) -> None:
    running = make_hotline()
    wait = only_call(running)
    with registered(running, "seat1", auto_answer=True,
                    answer_audio=sine_tone(500, seconds=1.0)) as seat:
        call = caller.call("12345", timeout=10)
        answered = seat.wait_for_incoming(timeout=40)
        call.play(sine_tone(700, seconds=1.0))
        time.sleep(0.5)
        assert len(answered.received_audio()) > 4000, "the seat heard nothing"
        answered.hangup()
        call.wait_until_ended(timeout=20)

    view = wait(finished, what="finished")
    assert view.call.ivr_path == ["welcome", "staffed", "queue"]
    assert view.call.queue_outcome == "answered"
    assert view.call.answered_by == "seat1"
    assert view.call.queue_wait_seconds is not None and view.call.queue_wait_seconds < 15
    assert view.call.answered_within_15s is True and view.call.answered_within_20s is True
    assert view.call.queue_joined_at is not None and view.call.queue_left_at is not None
    assert view.call.end_reason == "transferred"
    assert view.call.transferred_to == "queue:seat1"


def test_given_caller_waiting_when_presses_2_then_leaves_queue_for_a_message(
    make_hotline: Callable[..., RunningHotline], caller: SoftPhone, speech: bytes
) -> None:
    running = make_hotline()
    wait = only_call(running)
    with registered(running, "seat2", auto_answer=False) as seat:
        call = caller.call("12345", timeout=10)
        wait(lambda v: v.call.queue_joined_at is not None, timeout=40, what="waiting in queue")
        seat.wait_for_incoming(timeout=10)  # the seat rings, nobody picks up
        # After a ring cycle (15 s) app_queue tells the caller, in Mandarin (language zh),
        # their position and the keys they may press.
        waiting_since = time.monotonic()
        time.sleep(21.0)
        heard_waiting = call.received_audio(since=waiting_since)
        leave_message(wait, call, speech)
        call.wait_until_ended(timeout=30)

    view = wait(finished, what="finished")
    assert view.call.ivr_path == ["welcome", "staffed", "queue", "leave_message",
                                  "message_thanks"]
    assert view.call.queue_outcome == "self_service"
    assert view.call.queue_wait_seconds is not None and view.call.queue_wait_seconds >= 15
    assert view.call.answered_within_15s is False
    queue_step = next(s for s in view.steps if s.node == "queue")
    assert queue_step.outcome == "exit_key" and queue_step.keys == "2"
    assert_message_holds_speech(running, view, speech)
    # While waiting, the caller heard Asterisk's Mandarin announcements (position, key
    # hints): seconds of speech, where a queue without them sends nothing at all.
    assert len(heard_waiting) >= 3 * 8000, len(heard_waiting) / 8000
    assert rms(heard_waiting) > 5


def test_recordings_live_under_the_day_folder(make_hotline: Callable[..., RunningHotline],
                                              caller: SoftPhone) -> None:
    running = make_hotline()
    wait = only_call(running)
    call = caller.call("12345", timeout=10)
    wait(reached("welcome"), what="past the welcome")
    call.hangup()
    view = wait(finished, timeout=30, what="finished")
    for rec in view.recordings:
        parts = Path(rec.path).parts
        assert len(parts) == 4 and parts[3].startswith(view.call.uniqueid)
        started = view.call.started_at
        assert parts[0] == f"{started.year:04d}"
