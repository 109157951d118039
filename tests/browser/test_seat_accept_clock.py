"""The 受理 countdown on the seat's pop, in chromium: a queue call answered by my seat shows the
time left to make it a ticket, counted down by console.js from the server's deadline, yellow
then red; taking the ticket removes it. The call arrives as the AMI events Asterisk sends
(through the controller's handler); its record then says it joined the queue 55 s ago, so the
minute is nearly over when the pop is drawn again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import Console
from tests.browser.test_seat_actions import _ring_and_answer


def test_given_an_answered_call_without_a_ticket_then_the_pop_counts_down_to_red(
    console: Console, page: Any
) -> None:
    uid = _ring_and_answer(console, page, "13700000031")
    console.run(console.hotline.store.update_call(
        uid, queue_joined_at=datetime.now(UTC) - timedelta(seconds=55)))
    page.reload()

    page.wait_for_selector("#accept-clock.yellow")  # 53 s of the minute used (2 s in queue)
    assert page.inner_text("#accept-clock .left").startswith("剩余")
    console.screenshot(page, "seat-accept-clock-yellow")
    page.wait_for_selector("#accept-clock.red", timeout=20_000)  # console.js counts on
    page.wait_for_function(
        "document.querySelector('#accept-clock .left').textContent.startsWith('已超时')")
    console.screenshot(page, "seat-accept-clock-red")

    page.fill("#ticket-form textarea[name=description]", "小区垃圾两天没人清运")
    page.keyboard.press("Alt+D")
    page.wait_for_selector("#taken")
    assert page.locator("#accept-clock").count() == 0
