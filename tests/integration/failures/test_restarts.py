"""Real components killed mid-way: Asterisk restarted under the controller, the controller
killed during a call. Nothing is lost or duplicated, and nothing queued fires late."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.errors import AmiUnavailable
from hotline.telephony.phone import SoftPhone
from hotline.telephony.sandbox import Sandbox

from ..conftest import RunningHotline

pytestmark = [pytest.mark.integration, pytest.mark.failures]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_given_asterisk_killed_when_it_restarts_then_controller_reconnects_and_logs_next_call(
    make_hotline: Callable[..., RunningHotline], sandbox: Sandbox
) -> None:
    running = make_hotline()
    assert running.hotline.ami.logins == 1
    sandbox.kill()
    deadline = time.monotonic() + 10
    while running.hotline.ami.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running.hotline.ami.connected

    # While Asterisk is down an Originate fails at once; it is not held to fire later.
    started = time.monotonic()
    with pytest.raises(AmiUnavailable):
        running.call(running.hotline.ami.send({
            "Action": "Originate", "Channel": "PJSIP/citizen1", "Context": "hotline-outbound",
            "Exten": "citizen1", "Priority": "1", "Async": "true",
        }))
    assert time.monotonic() - started < 1.0

    sandbox.up()
    deadline = time.monotonic() + 20
    while running.hotline.ami.logins < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running.hotline.ami.connected and running.hotline.ami.logins == 2
    assert running.hotline.ami.manager is not None
    assert not running.hotline.ami.manager.awaiting_actions  # nothing held for later

    with SoftPhone(user="demo", password=None) as caller:
        call = caller.call("12345", timeout=10)
        running.wait_for_call(lambda v: "welcome" in v.call.ivr_path, what="past the welcome")
        call.hangup()
    view = running.wait_for_call(
        lambda v: v.call.ended_at is not None and all(r.complete for r in v.recordings)
        and len(v.recordings) == 2, what="logged after the restart")
    assert view.call.caller_number == "demo" and view.call.seen_live
    assert len(running.calls()) == 1  # no duplicate row


def test_given_controller_killed_during_a_call_when_restarted_then_recordings_are_linked(
    make_hotline: Callable[..., RunningHotline], sandbox: Sandbox, tmp_path: Path
) -> None:
    db = tmp_path / "hotline.db"
    env = dict(os.environ, HOTLINE_DB__URL=f"sqlite:///{db}", HOTLINE_WEB__PORT=str(_free_port()),
               HOTLINE_RECORDINGS__DIR=str(sandbox.settings.recordings_dir))
    controller = subprocess.Popen([sys.executable, "-m", "hotline", "serve"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_listening(4573, timeout=20)
        time.sleep(1.0)  # AMI login
        with SoftPhone(user="demo", password=None) as caller:
            call = caller.call("12345", timeout=10)
            time.sleep(2.0)
            controller.send_signal(signal.SIGKILL)
            controller.wait(10)
            time.sleep(1.0)
            call.hangup()
    finally:
        if controller.poll() is None:
            controller.kill()
            controller.wait(10)

    running = make_hotline(db={"url": f"sqlite:///{db}"})
    view = running.wait_for_call(
        lambda v: v.call.ended_at is not None and len(v.recordings) >= 2
        and all(r.complete for r in v.recordings), timeout=30,
        what="closed and its recordings linked after the restart")
    assert view.call.caller_number == "demo"
    kinds = {r.kind for r in view.recordings}
    assert {"full", "caller"} <= kinds
    for rec in view.recordings:
        assert (running.settings.recordings_dir / rec.path).exists()
        assert rec.problem is None and rec.duration_seconds and rec.duration_seconds > 1.0
    assert len([v for v in running.calls() if v.call.uniqueid == view.call.uniqueid]) == 1


def test_given_recordings_made_while_controller_down_when_it_starts_then_call_is_created(
    make_hotline: Callable[..., RunningHotline], sandbox: Sandbox, tmp_path: Path
) -> None:
    # No controller at all: Asterisk answers, records, falls back to the queue (no seat) and
    # hangs up by itself.
    with SoftPhone(user="demo", password=None) as caller:
        call = caller.call("12345", timeout=10)
        call.wait_until_ended(timeout=20)
    running = make_hotline()
    view = running.wait_for_call(
        lambda v: not v.call.seen_live and v.call.ended_at is not None
        and all(r.complete for r in v.recordings) and len(v.recordings) == 2,
        timeout=30, what="created from its recordings")
    assert view.call.hangup_cause_text == "not seen live"
    assert {r.kind for r in view.recordings} == {"full", "caller"}


def _wait_listening(port: int, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")

