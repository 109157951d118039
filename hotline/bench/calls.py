"""``make bench-calls``: N concurrent SIPp callers walk the default flow and leave a message,
through our FastAGI controller, then the same menu written in plain dialplan as the reference.

Each call: welcome, queue (no seat logged in), self-service menu, key 2, the message prompt,
about 4.7 s of speech, key #, the closing prompt, Asterisk hangs up. Printed per N: calls
completed and failed, digits recognised, AGI round-trip p50/p99 (non-media commands), CPU of
Asterisk and of our controller, and Asterisk's CPU per call with our controller over without.

Usage: python -m hotline.bench.calls [--n 50,100,200,300] [--only agi|plain]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.app import Hotline
from hotline.config import Settings, load_settings
from hotline.ivr.ports import Prompt
from hotline.recording.files import inspect
from hotline.telephony.sandbox import Sandbox
from hotline.telephony.sipp import Digit, Pause, Speech, caller_scenario, run_sipp

PLAIN_NUMBER = "12346"
MEDIA_VERBS = ("STREAM FILE", "GET DATA", "RECORD FILE", "EXEC")
ARRIVALS_PER_SECOND = 10.0


@dataclass
class RunStats:
    mode: str
    n: int
    completed: int
    failed: int
    digits_sent: int
    digits_seen: int
    agi_p50_ms: float | None
    agi_p99_ms: float | None
    asterisk_cpu_s: float
    controller_cpu_s: float
    wall_s: float


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _seconds(hotline: Hotline, prompt: Prompt) -> float:
    return inspect(hotline.prompts.ensure(prompt)).duration_seconds or 0.0


def _timings(hotline: Hotline) -> tuple[int, int]:
    """Milliseconds after answer to press 2, and from 2 to start speaking."""
    nodes: Any = hotline.flows["default"].nodes
    before_menu = sum(_seconds(hotline, nodes[n].prompt) for n in
                      ("welcome", "queue", "no_seat_notice"))
    to_record = _seconds(hotline, nodes["leave_message"].prompt)
    # Key 2 well inside the menu prompt (about 10 s), the speech after the beep.
    return int((before_menu + 4.0) * 1000), int((to_record + 1.5) * 1000)


class ControllerThread:
    def __init__(self, settings: Settings) -> None:
        self.hotline = Hotline(settings)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.bench_events: list[dict[str, str]] = []

        async def on_userevent(event: dict[str, str]) -> None:
            if event.get("UserEvent") == "HotlineBench":
                self.bench_events.append(event)

        self.hotline.events.on_userevent = on_userevent  # type: ignore[attr-defined]

    def __enter__(self) -> ControllerThread:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.hotline.start(), self.loop).result(30)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.hotline.stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def install_plain_menu(sandbox: Sandbox, hotline: Hotline) -> None:
    """The same menu in plain dialplan, on PLAIN_NUMBER (the reference for CPU per call)."""
    nodes: Any = hotline.flows["default"].nodes
    name = {n: hotline.prompts.asterisk_name(nodes[n].prompt) for n in
            ("welcome", "queue", "no_seat_notice", "self_service", "leave_message",
             "message_thanks")}
    for prompt in ("welcome", "queue", "no_seat_notice", "self_service", "leave_message",
                   "message_thanks"):
        hotline.prompts.ensure(nodes[prompt].prompt)
    rec = "${HOTLINE_RECDIR}/${STRFTIME(${EPOCH},,%Y/%m/%d)}/${UNIQUEID}"
    steps = [
        "Set(CHANNEL(language)=zh)",
        "Answer()",
        f"MixMonitor({rec}-full.wav,r({rec}-caller.wav))",
        f"Playback({name['welcome']})",
        f"Playback({name['queue']})",
        f"Queue({hotline.settings.queue.name},cr,,,{hotline.settings.queue.max_wait})",
        f"Playback({name['no_seat_notice']})",
        f"Read(KEY,{name['self_service']},1,,2,6)",
        f"Playback({name['leave_message']})",
        f"Record({rec}-message.wav,5,120,k)",
        "UserEvent(HotlineBench,Key: ${KEY},Record: ${RECORD_STATUS})",
        f"Playback({name['message_thanks']})",
        "Hangup()",
    ]
    lines = ["; written by make bench-calls", "[hotline-in](+)"]
    for priority, app in enumerate(steps, start=1):
        lines.append(f"exten => {PLAIN_NUMBER},{priority},{app}")
    (sandbox.root / "etc/asterisk/extensions_bench.conf").write_text("\n".join(lines) + "\n")
    sandbox.cli("dialplan reload")


def run_once(*, mode: str, n: int, sandbox: Sandbox, controller: ControllerThread,
             first_key_ms: int, speak_ms: int) -> RunStats:
    hotline = controller.hotline
    before_calls = {v.call.uniqueid for v in hotline.store.recent(limit=100_000)}
    hotline.agi.stats.samples.clear()
    controller.bench_events.clear()
    scenario = caller_scenario([Pause(first_key_ms), Digit("2"), Pause(speak_ms), Speech(),
                                Digit("#")], hang_up=False)
    pid = sandbox.status().pid
    assert pid is not None
    ast0, ctl0, wall0 = _proc_cpu(pid), _self_cpu(), time.monotonic()
    # Callers arrive at 10 per second (300 in 30 s), not all in the same instant.
    result = run_sipp(scenario, calls=n, concurrent=n, port=5090, rate=ARRIVALS_PER_SECOND,
                      number=PLAIN_NUMBER if mode == "plain" else "12345",
                      timeout=first_key_ms / 1000 + n / ARRIVALS_PER_SECOND + 120)
    ast1, ctl1, wall1 = _proc_cpu(pid), _self_cpu(), time.monotonic()
    time.sleep(3)  # let the last steps and recordings land
    digits_seen = 0
    if mode == "agi":
        for view in hotline.store.recent(limit=100_000):
            if view.call.uniqueid in before_calls:
                continue
            digits_seen += "2" in view.call.keys
            digits_seen += any(s.detail.get("ended_by") == "key" for s in view.steps
                               if s.node == "leave_message")
    else:
        # the plain dialplan reports what it got in a UserEvent after each message
        digits_seen = sum((e.get("Key") == "2") + (e.get("Record") == "DTMF")
                          for e in controller.bench_events)
    non_media = [s for verb, samples in hotline.agi.stats.samples.items()
                 if not verb.startswith(MEDIA_VERBS) for s in samples]
    p50 = p99 = None
    if non_media:
        ordered = sorted(non_media)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return RunStats(mode, n, result.successful, result.failed, 2 * n, digits_seen, p50, p99,
                    ast1 - ast0, ctl1 - ctl0 if mode == "agi" else 0.0, wall1 - wall0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", default="50,100,200,300")
    parser.add_argument("--only", choices=["agi", "plain"])
    args = parser.parse_args()
    sizes = [int(x) for x in args.n.split(",")]
    # "user" too: the plain-dialplan reference reports its digits in a UserEvent.
    settings = load_settings(db={"url": "sqlite:///" + str(load_settings().var_dir /
                                                         "bench-calls.db")},
                             ami={"events": "call,agent,system,user"})
    sandbox = Sandbox(settings)
    was_running = sandbox.status().running
    sandbox.up()
    rows: list[RunStats] = []
    try:
        with ControllerThread(settings) as controller:
            first_key_ms, speak_ms = _timings(controller.hotline)
            install_plain_menu(sandbox, controller.hotline)
            for n in sizes:
                for mode in ("agi", "plain"):
                    if args.only and mode != args.only:
                        continue
                    row = run_once(mode=mode, n=n, sandbox=sandbox, controller=controller,
                                   first_key_ms=first_key_ms, speak_ms=speak_ms)
                    rows.append(row)
                    print(f"  done: {mode} N={n}: {row.completed} completed, {row.failed} "
                          f"failed", flush=True)
    finally:
        if not was_running:
            sandbox.down()
    print_table(rows)
    return 0


def print_table(rows: list[RunStats]) -> None:
    plain = {r.n: r for r in rows if r.mode == "plain"}
    print()
    print("| N | mode | completed | failed | digits seen/sent | AGI p50 ms | AGI p99 ms "
          "| Asterisk CPU s (per call ms) | controller CPU % of a core | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        per_call = r.asterisk_cpu_s / max(r.completed, 1) * 1000
        ratio = "-"
        if r.mode == "agi" and r.n in plain and plain[r.n].completed:
            base = plain[r.n].asterisk_cpu_s / plain[r.n].completed
            ratio = f"{(r.asterisk_cpu_s / max(r.completed, 1)) / base:.2f}" if base else "-"
        ctl = f"{100 * r.controller_cpu_s / r.wall_s:.1f}" if r.mode == "agi" else "-"
        p50 = f"{r.agi_p50_ms:.2f}" if r.agi_p50_ms is not None else "-"
        p99 = f"{r.agi_p99_ms:.2f}" if r.agi_p99_ms is not None else "-"
        print(f"| {r.n} | {r.mode} | {r.completed} | {r.failed} | {r.digits_seen}/"
              f"{r.digits_sent} | {p50} | {p99} | {r.asterisk_cpu_s:.1f} ({per_call:.1f}) | "
              f"{ctl} | {ratio} |")


if __name__ == "__main__":
    raise SystemExit(main())
