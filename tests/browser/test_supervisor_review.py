"""The supervisor in chromium approves a unit's reply (审核 通过): the reply waits on the
workspace with its text, 通过 takes it off the list and the ticket goes on to the revisit."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets.service import act, get_by_number
from tests.browser.conftest import Console
from tests.browser.test_unit_handler import _dispatched_to_cg

REPLY = "井盖已于今日补装，现场已恢复通行。"


def test_given_a_unit_reply_when_the_supervisor_approves_it_then_the_revisit_is_due(
    console: Console, page: Any
) -> None:
    number = _dispatched_to_cg(console)
    with session_scope(console.hotline.engine) as session:
        ticket = get_by_number(session=session, number=number)
        assert ticket.id is not None
        for action in (lc.Sign(unit="市城管局"), lc.Reply(unit="市城管局", text=REPLY)):
            act(session=session, ticket_id=ticket.id, action=action, actor="cg",
                now=console.hotline.clock())

    console.log_in(page, "sup")
    row = page.locator(f"tr.review-row[data-number='{number}']")
    row.wait_for()
    assert REPLY in row.locator("td.reply").inner_text()
    console.screenshot(page, "supervisor-review")
    row.locator("button[name=approve][value=true]").click()
    page.wait_for_selector(f"#review .done[data-done='{number}']")
    assert page.locator(f"tr.review-row[data-number='{number}']").count() == 0
    console.screenshot(page, "supervisor-approved")
    with Session(console.hotline.engine) as session:
        assert get_by_number(session=session, number=number).status == "reviewed"  # 审核 通过
