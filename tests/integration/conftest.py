"""Fixtures of the integration tier: our real controller against the real Asterisk sandbox
(the ``sandbox`` and ``base_settings`` fixtures: tests/asterisk_sandbox.py, shared with the
browser scenarios that place real calls).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.app import Hotline
from hotline.calls.store import CallView
from hotline.config import Settings, load_settings
from hotline.telephony.sandbox import Sandbox
from tests.asterisk_sandbox import test_overrides

pytestmark = pytest.mark.integration


def wait_for_ami(hotline: Hotline, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not hotline.ami.connected:
        if time.monotonic() > deadline:
            raise AssertionError(f"the controller did not log in to AMI in {timeout} s")
        time.sleep(0.05)


class RunningHotline:
    """Our controller running in its own thread and event loop, as in production."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        self.settings = settings
        self.hotline = Hotline(settings, **kwargs)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.call(self.hotline.start())
        wait_for_ami(self.hotline)

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self.call(self.hotline.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    # reading the call records ------------------------------------------------------
    def calls(self) -> list[CallView]:
        return self.hotline.store.recent(limit=100)

    def wait_for_call(self, predicate: Callable[[CallView], bool], *, timeout: float = 30,
                      what: str = "a matching call") -> CallView:
        deadline = time.monotonic() + timeout
        last: list[CallView] = []
        while time.monotonic() < deadline:
            last = self.calls()
            for view in last:
                if predicate(view):
                    return view
            time.sleep(0.1)
        summary = [(v.call.uniqueid, v.call.ivr_path, v.call.end_reason, v.call.ended_at,
                    [(r.kind, r.complete) for r in v.recordings]) for v in last]
        raise AssertionError(f"no call became {what} within {timeout} s; calls: {summary}")


def reset_asterisk(sandbox: Sandbox, settings: Settings) -> None:
    """Between tests: no channel left over, no phone registered by an earlier test."""
    from hotline.telephony.asterisk_conf import emergency_endpoints, phone_password
    from hotline.telephony.phone import SoftPhone

    sandbox.up()  # a no-op when it runs; brings it back if an earlier test left it down
    sandbox.cli("channel request hangup all")
    contacts = sandbox.cli("pjsip show contacts")
    names = [*settings.sip.seats, *settings.sip.phones, *emergency_endpoints(settings)]
    for name in names:
        if f"{name}/sip:" in contacts:
            # Registering replaces the stale contact (max_contacts=1, remove_existing), and
            # stopping the phone de-registers it.
            with SoftPhone(user=name, password=phone_password(settings, name)):
                pass
    deadline = time.monotonic() + 10
    while "PJSIP/" in sandbox.cli("core show channels concise"):
        if time.monotonic() > deadline:
            raise AssertionError("Asterisk still has channels from an earlier test")
        time.sleep(0.1)


def empty_recordings(settings: Settings) -> None:
    recordings = settings.recordings_dir
    if recordings.is_dir():
        for child in recordings.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()


@pytest.fixture
def make_hotline(sandbox: Sandbox, base_settings: Settings, tmp_path: Path
                 ) -> Iterator[Callable[..., RunningHotline]]:
    started: list[RunningHotline] = []
    reset_asterisk(sandbox, base_settings)
    empty_recordings(base_settings)

    def factory(**overrides: Any) -> RunningHotline:
        clock = overrides.pop("clock", None)
        merged = {**test_overrides(), "db": {"url": f"sqlite:///{tmp_path / 'hotline.db'}"},
                  **overrides}
        settings = load_settings(**merged)
        running = RunningHotline(settings, clock=clock)
        running.start()
        started.append(running)
        return running

    yield factory
    for running in started:
        running.stop()


def recording_path(settings: Settings, rel: str) -> Path:
    return settings.recordings_dir / rel
