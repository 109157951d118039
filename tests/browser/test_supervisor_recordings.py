"""The supervisor in chromium: finds a call's recording by the caller's number, plays it with
the transcript beside it (the word being spoken is highlighted), and reads the play in the
audit log. The recording is a real WAV with its call, ticket and transcript rows, made through
the app's own store functions (``tests/recordings.py``)."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Console
from tests.recordings import WORDS, add_recorded_call


def test_given_a_recorded_call_when_the_supervisor_plays_it_then_words_light_up_and_audited(
    console: Console, page: Any
) -> None:
    made = add_recorded_call(console.hotline.engine, console.hotline.settings.recordings_dir,
                             uniqueid="1795100000.7", caller="13855557777",
                             started=console.hotline.clock(), unit="市城管局", words=WORDS,
                             seconds=4.0)
    console.log_in(page, "sup")
    assert page.url.endswith("/supervisor")
    console.screenshot(page, "supervisor-workspace")

    page.click("header nav a[href='/supervisor/recordings']")
    page.fill("input[name=caller]", "7777")
    page.click("#search button")
    row = page.locator(f"tr.recording-row[data-id='{made.recording_id}']")
    assert made.ticket is not None and made.ticket in row.inner_text()
    assert "13855557777" in row.inner_text()  # supervisors see whole numbers
    row.locator("a").click()
    page.wait_for_selector(f"#player[data-recording='{made.recording_id}'] #transcript .w")
    assert page.locator("#transcript .w").count() == len(WORDS)

    # Clicking a word (a user's gesture) seeks the audio there and plays it.
    page.locator("#transcript .w", has_text="你好").click()
    page.wait_for_function("document.getElementById('audio').currentTime > 1.45")
    page.wait_for_selector("#transcript .w.spoken")
    spoken = page.locator("#transcript .w.spoken")
    assert spoken.count() == 1
    assert float(spoken.get_attribute("data-start") or "0") > 0.2  # followed the audio
    console.screenshot(page, "supervisor-recording-playing")
    page.evaluate("document.getElementById('audio').pause()")

    page.click("header nav a[href='/supervisor/audit']")
    played = page.locator(f"tr.audit-row[data-action=play][data-actor=sup]"
                          f"[data-recording='{made.recording_id}']")
    assert played.count() >= 1
    assert "播放" in played.first.inner_text()
    console.screenshot(page, "supervisor-audit-log")
