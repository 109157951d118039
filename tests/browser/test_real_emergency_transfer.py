"""The seat operator's emergency transfer with a real call: citizen1 dials the hotline, goes
through the menu to the queue and is answered by seat1; the operator clicks 转 120; the caller's
channel is redirected through AMI into the dialplan's hotline-emergency context, which dials the
stand-in phone of 120 (e120, registered in the sandbox). The seat's leg ends, the caller's
channel sits in hotline-emergency, 120, and the caller hears the stand-in line; the call's
record keeps "answered by seat1" and says it was moved to emergency:120.

Needs root and the sandbox lock: ``flock /tmp/hotline-asterisk.lock pytest ...``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import Session, select

from hotline.audit.models import AuditEntry
from hotline.calls.models import Call
from hotline.telephony.asterisk_conf import phone_password
from hotline.telephony.phone import SoftPhone, sine_tone
from hotline.tickets.models import Ticket
from tests.browser.conftest import Console
from tests.browser.test_real_call import live_console, phone  # noqa: F401

pytestmark = pytest.mark.integration

SEAT, CALLER, LINE = "seat1", "citizen1", "120"


def test_given_a_call_answered_by_seat1_when_the_operator_transfers_to_120_then_it_moves(
    live_console: Console, page: Any  # noqa: F811
) -> None:
    console = live_console
    settings = console.hotline.settings
    with (phone(settings, SEAT) as seat, phone(settings, CALLER) as citizen,
          SoftPhone(user=f"e{LINE}", password=phone_password(settings, f"e{LINE}"),
                    auto_answer=True) as stand_in):
        console.log_in(page, "op")
        page.select_option("#seat select[name=interface]", f"PJSIP/{SEAT}")
        page.click("#seat form[hx-post='/seat/bind'] button")
        page.wait_for_selector("#seat-state[data-state=offline]")
        page.wait_for_selector("#seat button[data-key=F5]:not([disabled])")  # swap settled
        page.keyboard.press("F5")
        page.wait_for_selector("#seat-state[data-state=ready]")
        page.wait_for_selector("body.live")

        caller_leg = citizen.call(settings.sip.hotline_number, timeout=15)
        ringing = seat.wait_for_incoming(timeout=40)
        page.wait_for_selector("#call[data-state=ringing]")
        uid = page.get_attribute("#call", "data-uniqueid")
        ringing.answer()
        page.wait_for_selector(f"#call[data-uniqueid='{uid}'][data-state=answered]")

        page.fill("#ticket-form textarea[name=description]", "家里老人突然晕倒，叫不醒")
        page.once("dialog", lambda dialog: dialog.accept())  # 确认将来电转至 120？
        with page.expect_response("**/seat/tickets") as answer:
            page.click(f"#ticket-form button[name=do][value=emergency]:has-text('转 {LINE}')")
        shown = answer.value.text()  # the pop is redrawn soon after: the seat's talk ended
        assert 'id="transfer-failed"' not in shown, shown
        assert f"来电已转至 <b>{LINE}</b>" in shown
        page.wait_for_selector("#taken")
        console.screenshot(page, "seat-real-call-emergency-transfer")

        emergency = stand_in.wait_for_incoming(timeout=30)
        emergency.wait_until_answered(timeout=10)
        ringing.wait_until_ended(timeout=15)  # the seat is free again
        emergency.play(sine_tone(600, seconds=1.0))
        time.sleep(1.5)
        heard = caller_leg.received_audio(since=emergency.answered_at)
        channels = console.run(console.hotline.ami.channels())
        emergency.hangup()
        caller_leg.wait_until_ended(timeout=15)

    console.run(console.hotline.store.drain())  # the IVR's last writes about the call
    with Session(console.hotline.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == uid)).one()
        ticket = session.exec(select(Ticket).where(Ticket.call_uniqueid == uid)).one()
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "transfer")).one()
    assert ticket.status == "transferred"
    assert entry.detail is not None and entry.detail["moved"] is True
    moved = entry.detail["channel"]
    assert moved.startswith(f"PJSIP/{CALLER}-")
    # While the stand-in talked, the caller's channel was in the emergency context's 120.
    [caller_channel] = [c for c in channels if c.get("Channel") == moved]
    assert (caller_channel["Context"], caller_channel["Exten"]) == ("hotline-emergency", LINE)
    assert len(heard) > 4000, "the caller and the 120 stand-in were not connected"
    # The call record says the seat answered it and moved it, whatever the IVR saw after.
    assert (call.queue_outcome, call.answered_by) == ("answered", SEAT)
    assert (call.end_reason, call.transferred_to) == ("seat_transferred", f"emergency:{LINE}")
