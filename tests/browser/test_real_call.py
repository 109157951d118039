"""The seat operator in chromium with a real call: the app runs against the Asterisk sandbox
(its AMI, its FastAGI server), the seat is a registered pyVoIP phone (seat1) and the caller
another (citizen1) who dials the hotline and goes through the menu to the queue. The operator
logs in and takes seat1; the call pops with the caller's number while seat1 rings; the
operator picks up, fills the form and dispatches; the ticket is linked to that call. The seat
keys F6 / F7 / F5 pause and unpause the member in Asterisk's queue (checked with ``queue show``).

Needs root and the sandbox lock: ``flock /tmp/hotline-asterisk.lock pytest ...``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from hotline.calls.models import Call
from hotline.config import Settings, load_settings
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import SoftPhone, sine_tone
from hotline.telephony.sandbox import Sandbox
from hotline.tickets.models import Ticket
from tests.asterisk_sandbox import test_overrides as sandbox_overrides
from tests.browser.conftest import Console, serve
from tests.integration.conftest import empty_recordings, reset_asterisk, wait_for_ami

pytestmark = pytest.mark.integration

SEAT, CALLER = "seat1", "citizen1"
SAID = "解放路和人民路路口的红绿灯不亮了，车很多，很危险"
UNIT = "市城管局"


@pytest.fixture
def live_console(sandbox: Sandbox, base_settings: Settings, tmp_path: Path
                 ) -> Iterator[Console]:
    """The console app (uvicorn in a thread) as in production: AMI and FastAGI on the
    sandbox's ports, a database of its own, no phone left registered by an earlier test."""
    reset_asterisk(sandbox, base_settings)
    empty_recordings(base_settings)
    settings = load_settings(**sandbox_overrides(),
                             db={"url": f"sqlite:///{tmp_path / 'hotline.db'}"},
                             web={"attachments_dir": str(tmp_path / "attachments")})
    with serve(settings) as console:
        wait_for_ami(console.hotline)
        yield console


def phone(settings: Settings, name: str) -> SoftPhone:
    return SoftPhone(user=name, password=phone_password(settings, name))


def test_given_a_real_call_through_asterisk_when_it_rings_my_seat_then_it_pops_and_i_dispatch(
    live_console: Console, page: Any
) -> None:
    console = live_console
    settings = console.hotline.settings
    with phone(settings, SEAT) as seat, phone(settings, CALLER) as citizen:
        console.log_in(page, "op")
        assert page.url.endswith("/seat")
        page.select_option("#seat select[name=interface]", f"PJSIP/{SEAT}")
        page.click("#seat form[hx-post='/seat/bind'] button")
        page.wait_for_selector("#seat-state[data-state=offline]")
        page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")  # swap settled
        page.keyboard.press("F5")  # 示闲: the queue member is unpaused through AMI
        page.wait_for_selector("#seat-state[data-state=ready]")
        assert page.locator("#seat .error").count() == 0
        page.wait_for_selector("body.live")  # the pop stream is open

        caller_leg = citizen.call(settings.sip.hotline_number, timeout=15)
        ringing = seat.wait_for_incoming(timeout=40)  # menu, then the queue rings seat1
        page.wait_for_selector("#call[data-state=ringing]")
        assert page.inner_text("#caller") == CALLER
        uid = page.get_attribute("#call", "data-uniqueid")
        console.screenshot(page, "seat-real-call-ringing")

        ringing.answer()  # the operator picks up
        page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=answered]")
        caller_leg.play(sine_tone(440, seconds=0.5))
        page.fill("#ticket-form textarea[name=description]", SAID)
        page.fill("#ticket-form input[name=location]", "解放路人民路口")
        page.select_option("#ticket-form select[name=main_unit]", UNIT)
        page.keyboard.press("Alt+D")
        page.wait_for_selector("#taken")
        number = page.get_attribute("#taken", "data-number")
        assert f"已派单至 {UNIT}" in page.inner_text("#taken")
        console.screenshot(page, "seat-real-call-dispatched")
        ringing.hangup()
        caller_leg.wait_until_ended(timeout=15)

    with Session(console.hotline.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == uid)).one()
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
    # The call that popped is the one Asterisk carried from citizen1 to seat1 ...
    assert call.caller_number == CALLER and call.channel.startswith(f"PJSIP/{CALLER}-")
    assert call.answered_by == SEAT and "queue" in call.ivr_path
    # ... and the ticket is linked to it.
    assert ticket.call_uniqueid == uid and ticket.status == "dispatched"
    assert ticket.caller_phone == CALLER and ticket.description == SAID
    assert ticket.channel == "phone"


def _member_line(sandbox: Sandbox, queue: str, interface: str) -> str:
    """The queue member's line of ``queue show`` (Asterisk's own view of its state)."""
    shown = sandbox.cli(f"queue show {queue}")
    return next((line for line in shown.splitlines() if interface in line), "")


def _until(sandbox: Sandbox, queue: str, interface: str, test: Any, what: str) -> str:
    deadline = time.monotonic() + 10
    line = ""
    while time.monotonic() < deadline:
        line = _member_line(sandbox, queue, interface)
        if test(line):
            return line
        time.sleep(0.2)
    raise AssertionError(f"{interface} in queue {queue}: never {what}; last: {line!r}")


def test_given_my_seat_when_i_press_f6_f7_f5_then_asterisk_pauses_and_unpauses_the_member(
    live_console: Console, page: Any, sandbox: Sandbox
) -> None:
    """The seat keys against the real queue: F6 with a reason and F7 pause the member in
    app_queue (``queue show`` says paused, with the reason), F5 unpauses it."""
    console = live_console
    queue, interface = console.hotline.settings.queue.name, f"PJSIP/{SEAT}"
    console.log_in(page, "op")
    page.select_option("#seat select[name=interface]", interface)
    page.click("#seat form[hx-post='/seat/bind'] button")
    page.wait_for_selector("#seat-state[data-state=offline]")
    page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")
    page.keyboard.press("F5")
    page.wait_for_selector("#seat-state[data-state=ready]")
    _until(sandbox, queue, interface, lambda line: line and "paused" not in line, "ready")

    page.wait_for_selector("#seat button[data-key=F6]:not([disabled])")
    page.select_option("#seat select[name=reason]", "培训")
    page.keyboard.press("F6")
    page.wait_for_selector("#seat-state[data-state=paused]")
    paused = _until(sandbox, queue, interface, lambda line: "paused" in line, "paused")
    assert "培训" in paused, paused
    assert "（培训）" in page.inner_text("#seat")

    page.wait_for_selector("#seat button[data-key=F7]:not([disabled])")
    page.keyboard.press("F7")
    page.wait_for_selector("#seat-state[data-state=after_call]")
    after = _until(sandbox, queue, interface, lambda line: "话后处理" in line, "in after-call")
    assert "paused" in after, after

    page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")
    page.keyboard.press("F5")
    page.wait_for_selector("#seat-state[data-state=ready]")
    _until(sandbox, queue, interface, lambda line: line and "paused" not in line, "unpaused")
    assert page.locator("#seat .error").count() == 0
    console.screenshot(page, "seat-real-queue-keys")
