"""``make bench-outbound``: N concurrent survey calls (回访) placed by our scheduler through
the real Asterisk sandbox and answered by SIPp (package sip-tester), which keys 1 (满意,
RFC 2833 events) during the rating menu, then 2 every 2.5 s (no comment at the comment
offer; 基本满意 should the 1 have come before the menu listened) until Asterisk hangs up.

``--rounds`` × N approved phone tickets are made before the controller starts (its outbox
cursor set to the beginning, so that they are all planned at once); the scheduler dials at
most N at a time (``outbound.max_concurrent``), one attempt each. Bounded: SIPp answers that
many calls and no more, and the run ends after 60 s + 120 s a round at the latest.

Printed, one row per N: calls placed, answered, results stored on the tickets (a rating on
the call) and lost (placed − stored), calls per minute sustained (placed over the span from
the first dial to the last end), CPU seconds of our controller (this process) and of
Asterisk, and the controller's CPU as a share of the machine's cores over the span.

Usage: python -m hotline.bench.outbound [--n 30 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from hotline.app import first_start_data
from hotline.bench.calls import ControllerThread, _proc_cpu, _self_cpu
from hotline.config import Settings, load_settings
from hotline.db import make_engine, migrate, session_scope
from hotline.ivr.ports import Prompt
from hotline.outbound.agi import fill
from hotline.outbound.models import CallStatus, OutboundAttempt, OutboundCall
from hotline.outbound.planning import CURSOR
from hotline.outbound.rules import Outcome
from hotline.outbound.store import write_cursor
from hotline.recording.files import inspect
from hotline.telephony.sandbox import Sandbox
from hotline.telephony.sipp import (
    Capture,
    Digit,
    Pause,
    Step,
    answerer_scenario,
    last_stats,
    press_capture,
)
from hotline.tickets import lifecycle as lc
from hotline.tickets import service as tickets
from hotline.tickets.models import TicketCreate, TicketType

SIPP_PORT = 5070
MAIN = "市城管局"
SUBJECT = "路灯不亮"
REPEAT_MS = 2500  # 2 pressed this often after the 1, until Asterisk hangs up …
PRESSES = 40  # … or this many times


@dataclass(frozen=True)
class Counts:
    """What the database says about the run."""

    open_calls: int  # pending or calling
    placed: int  # attempts
    answered: int  # picked up (rated or not)
    stored: int  # calls with a rating stored
    span_s: float  # first attempt started to last attempt ended


@dataclass(frozen=True)
class Result:
    n: int
    tickets: int
    counts: Counts
    asterisk_cpu_s: float
    controller_cpu_s: float
    sipp_ok: int
    sipp_failed: int
    cores: int

    @property
    def lost(self) -> int:
        """Calls placed without a result stored (unanswered ones included)."""
        return self.counts.placed - self.counts.stored

    @property
    def per_minute(self) -> float:
        span = self.counts.span_s
        return 60 * self.counts.placed / span if span > 0 else 0.0

    @property
    def controller_share(self) -> float:
        """The controller's CPU over the span, as a share of all the cores (0..1)."""
        span = self.counts.span_s
        return self.controller_cpu_s / (span * self.cores) if span > 0 and self.cores else 0.0

    @property
    def ok(self) -> bool:
        return self.counts.placed == self.tickets and self.lost == 0


HEADER = ("| N concurrent | tickets | calls placed | answered | results stored | lost results "
          "| calls/min sustained | controller CPU s | controller CPU % of cores "
          "| Asterisk CPU s | SIPp ok/failed | cores |")


def table(results: list[Result]) -> str:
    """The results as a Markdown table, one row per N."""
    rows = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for r in results:
        c = r.counts
        rows.append(f"| {r.n} | {r.tickets} | {c.placed} | {c.answered} | {c.stored} "
                    f"| {r.lost} | {r.per_minute:.1f} | {r.controller_cpu_s:.1f} "
                    f"| {100 * r.controller_share:.0f} % | {r.asterisk_cpu_s:.1f} "
                    f"| {r.sipp_ok}/{r.sipp_failed} | {r.cores} |")
    return "\n".join(rows)


def prompt_seconds(controller: ControllerThread, node: str, values: dict[str, str]) -> float:
    """How long the survey node's prompt plays (rendered now, as the call will hear it)."""
    hotline = controller.hotline
    prompt = getattr(hotline.flows["survey"].nodes[node], "prompt", None)
    assert isinstance(prompt, Prompt)
    filled = Prompt(text=fill(prompt.text, values), file=prompt.file)
    return inspect(hotline.prompts.ensure(filled)).duration_seconds or 8.0


def answerer(controller: ControllerThread, folder: Path) -> str:
    """SIPp's scenario: 1 a second and a half into the rating menu, then 2 every 2.5 s until
    Asterisk hangs up (each 2 from a capture of its own in ``folder``: Asterisk drops a
    replayed event as a retransmission). Under load the prompts may start late: a 1 that came
    too early is ignored (the intro takes no keys) and a 2 then rates 基本满意; once rated, a
    2 declines the comment offer. Every prompt of the survey is rendered first, so no call
    waits for one."""
    survey = controller.hotline.flows["survey"].nodes
    for node in survey:
        if getattr(survey[node], "prompt", None) is not None:
            prompt_seconds(controller, node, {"subject": SUBJECT})
    to_rating = prompt_seconds(controller, "intro", {"subject": SUBJECT}) + 1.5
    steps: list[Step] = [Pause(int(to_rating * 1000)), Digit("1")]
    for index in range(PRESSES):
        steps += [Pause(REPEAT_MS - 300), Capture(press_capture("2", index, folder))]
    return answerer_scenario(steps)


def make_tickets(settings: Settings, count: int) -> None:
    """The approved phone tickets, in a database of their own, before the controller runs."""
    engine = make_engine(settings.db_url)
    migrate(engine)
    now = datetime.now(ZoneInfo(settings.ivr.timezone))
    with session_scope(engine) as session:
        first_start_data(session)
        write_cursor(session=session, name=CURSOR, cursor=0)
    with session_scope(engine) as session:
        for i in range(count):
            ticket = tickets.create_ticket(session=session, now=now, actor="bench",
                                           draft=TicketCreate(request_type=TicketType.HELP,
                                                              description=SUBJECT,
                                                              caller_phone=f"139{i:08d}"))
            assert ticket.id is not None
            for action in (lc.Dispatch(main_unit=MAIN), lc.Sign(unit=MAIN),
                           lc.StartHandling(unit=MAIN), lc.Reply(unit=MAIN, text="已修好"),
                           lc.Review(approve=True)):
                tickets.act(session=session, ticket_id=ticket.id, action=action, actor="bench",
                            now=now)
    engine.dispose()


def await_(controller: ControllerThread, coro: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, controller.loop).result(60)


def counts(engine: Engine) -> Counts:
    """Surveys still open, attempts placed and answered, ratings stored, and the span."""
    def count(query: Any) -> int:
        return int(session.exec(query).one())

    with Session(engine) as session:
        open_calls = count(select(func.count()).select_from(OutboundCall).where(
            col(OutboundCall.status).in_((CallStatus.PENDING, CallStatus.CALLING))))
        placed = count(select(func.count()).select_from(OutboundAttempt))
        answered = count(select(func.count()).select_from(OutboundAttempt).where(
            col(OutboundAttempt.outcome).in_((Outcome.ANSWERED, Outcome.HUNG_UP))))
        stored = count(select(func.count()).select_from(OutboundCall).where(
            col(OutboundCall.result).is_not(None)))
        first = session.exec(select(func.min(OutboundAttempt.started_at))).one()
        last = session.exec(select(func.max(OutboundAttempt.ended_at))).one()
    span = (last - first).total_seconds() if first and last else 0.0
    return Counts(open_calls=open_calls, placed=placed, answered=answered, stored=stored,
                  span_s=span)


def sipp_counts(path: Path) -> tuple[int, int]:
    """Successful and failed calls in SIPp's statistics file."""
    stats = last_stats(path)
    return int(stats.get("SuccessfulCall(C)", 0) or 0), int(stats.get("FailedCall(C)", 0) or 0)


def recordings_dir() -> Path:
    """The bench records into a folder of its own, emptied first: the controller links every
    recording file of the last days it finds in its folder when it starts, and thousands of
    other runs' files would hold up its first calls."""
    return load_settings().var_dir / "bench-outbound-recordings"


def settings_for(n: int) -> dict[str, Any]:
    base = load_settings()
    db = base.var_dir / f"bench-outbound-{n}.db"
    db.unlink(missing_ok=True)
    return {
        "db": {"url": f"sqlite:///{db}"},
        "recordings": {"dir": str(recordings_dir())},
        "outbound": {"max_concurrent": n, "interval_seconds": 0.5, "max_attempts": 1,
                     "calling_start": "00:00", "calling_end": "24:00", "call_on_holidays": True,
                     "dial": f"PJSIP/citizen2/sip:{{number}}@127.0.0.1:{SIPP_PORT}",
                     "ring_seconds": 20},
    }


def wait_for_listener(port: int, *, timeout: float = 10.0) -> None:
    """Return once something holds UDP ``port`` on loopback (SIPp started listening)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                return
        time.sleep(0.05)
    raise RuntimeError(f"SIPp did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def run(sandbox: Sandbox, n: int, rounds: int, *, trace: Path | None = None) -> Result:
    overrides = settings_for(n)
    total = n * rounds
    make_tickets(load_settings(**overrides), total)
    # The scheduler is started by hand once SIPp listens.
    settings = load_settings(**{**overrides, "outbound": {**overrides["outbound"],
                                                          "enabled": False}})
    limit_s = 60 + rounds * 120
    with ControllerThread(settings) as controller, \
            tempfile.TemporaryDirectory(prefix="hotline-sipp-") as scratch:
        tmp = trace / f"n{n}" if trace is not None else Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        traces = ["-trace_msg", "-trace_err"] if trace is not None else []
        xml = Path(tmp) / "uas.xml"
        xml.write_text(answerer(controller, tmp))
        sipp = subprocess.Popen(
            ["sipp", "-sf", str(xml), "-p", str(SIPP_PORT), "-i", "127.0.0.1",
             "-mi", "127.0.0.1", "-mp", str(SIPP_PORT + 1000), "-m", str(total),
             "-timeout", f"{limit_s + 30}s", "-nostdin", "-trace_stat",
             "-stf", str(Path(tmp) / "stat.csv"), *traces],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_listener(SIPP_PORT)  # an INVITE before SIPp binds fails the Originate
        pid = sandbox.status().pid
        assert pid is not None
        engine = controller.hotline.engine
        ast0, ctl0 = _proc_cpu(pid), _self_cpu()
        await_(controller, controller.hotline.outbound.scheduler.start())  # dial now
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            now = counts(engine)
            if now.placed >= total and now.open_calls == 0:
                break
            time.sleep(0.5)
        ast1, ctl1 = _proc_cpu(pid), _self_cpu()
        try:
            sipp.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sipp.terminate()
            sipp.wait(10)
        ok, failed = sipp_counts(Path(tmp) / "stat.csv")
        final = counts(engine)
    return Result(n=n, tickets=total, counts=final, asterisk_cpu_s=ast1 - ast0,
                  controller_cpu_s=ctl1 - ctl0, sipp_ok=ok, sipp_failed=failed,
                  cores=os.cpu_count() or 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[30],
                        help="concurrent calls (several: one run each)")
    parser.add_argument("--rounds", type=int, default=3, help="tickets = n x rounds")
    parser.add_argument("--trace", type=Path, help="keep SIPp's scenario, messages and errors "
                        "in this folder")
    args = parser.parse_args()
    shutil.rmtree(recordings_dir(), ignore_errors=True)
    sandbox = Sandbox(load_settings(recordings={"dir": str(recordings_dir())}))
    was_running = sandbox.status().running
    sandbox.up()
    sandbox.rebind()  # a sandbox left running records into our folder too
    sandbox.cli("core waitfullybooted")  # Originates sent while PJSIP still loads fail
    results: list[Result] = []
    try:
        for n in args.n:
            results.append(run(sandbox, n, args.rounds, trace=args.trace))
            print(table(results[-1:]), flush=True)
    finally:
        if was_running:
            Sandbox(load_settings()).rebind()  # the developer's folders back
        else:
            sandbox.down()
    print()
    print(table(results))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
