"""The Asterisk sandbox as a session fixture, shared by every tier that places real calls
(tests/integration, and the browser scenarios where a real call arrives): one sandbox per
session, started once, stopped at the end when the session started it.

Run such tests under ``flock /tmp/hotline-asterisk.lock``: only one sandbox may run on the
machine. A missing sandbox is a failure with a clear message, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from hotline.config import Settings, load_settings
from hotline.telephony.sandbox import Sandbox


def test_overrides() -> dict[str, Any]:
    """Tests record into a folder of their own, emptied before each test."""
    home = load_settings().home
    return {"recordings": {"dir": str(home / "var" / "test-recordings")}}


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return load_settings(**test_overrides())


@pytest.fixture(scope="session")
def sandbox(base_settings: Settings) -> Iterator[Sandbox]:
    if os.geteuid() != 0:
        pytest.fail("the integration tier needs root: it runs Asterisk in a chroot sandbox")
    box = Sandbox(base_settings)
    was_running = box.status().running
    try:
        box.up()  # writes the configuration rendered from the settings
        if was_running:
            box.reload()  # a sandbox started earlier: load that configuration into it
        box.rebind()
    except Exception as exc:  # noqa: BLE001 - reported as a failure with the reason
        pytest.fail(f"the Asterisk sandbox could not start: {exc}")
    yield box
    if was_running:
        Sandbox(load_settings()).rebind()  # give the developer's sandbox its folders back
    else:
        box.down()
