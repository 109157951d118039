"""`hotline call`, the newcomer's demo caller, against the real sandbox and controller."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hotline.demo import place_demo_call

from .conftest import RunningHotline

pytestmark = pytest.mark.integration


def test_given_keys_and_text_when_demo_calls_then_message_is_left_and_record_returned(
    make_hotline: Callable[..., RunningHotline],
) -> None:
    running = make_hotline()
    record = place_demo_call(running.settings, to="12345", keys="2",
                             text="你好，我家楼下的路灯坏了，请派人修一下。")
    assert record is not None
    assert record["caller"] == "demo"
    assert record["path"][-2:] == ["leave_message", "message_thanks"]
    assert "2" in record["keys"]
    message = next(r for r in record["recordings"] if r["kind"] == "message")
    assert message["complete"] and message["problem"] is None
    assert message["duration_seconds"] > 2.0
    assert message["path"].startswith(str(running.settings.recordings_dir))
