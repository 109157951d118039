"""The supervisor sets a retention period in chromium: a bad value is refused naming the field
(what was typed stays), a good one is saved, shown in force with the change listed, and is in
the audit log with the old and new days."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from hotline.audit.models import AuditEntry
from hotline.retention.models import RetentionPeriod
from tests.browser.conftest import Console


def test_given_the_retention_page_when_the_supervisor_sets_a_period_then_saved_and_logged(
    console: Console, page: Any
) -> None:
    console.log_in(page, "sup")
    page.goto(f"{console.url}/supervisor/retention")
    before = page.input_value("#periods input[name=export_days]")
    page.fill("#periods input[name=export_days]", "0")
    page.click("#periods button")
    page.wait_for_selector("#periods .error[data-field=export_days]")
    assert "导出文件保留天数须为 1 到 3650 之间的整数天" in page.inner_text("#periods .error")
    assert page.input_value("#periods input[name=export_days]") == "0"
    console.screenshot(page, "retention-refused")

    page.fill("#periods input[name=export_days]", "45")
    page.click("#periods button")
    page.wait_for_selector("p.done[data-saved]")
    assert page.input_value("#periods input[name=export_days]") == "45"
    assert f"导出文件保留天数 {before} 天 → 45 天" in page.inner_text("tr.period-edit")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    console.screenshot(page, "retention-saved")
    with Session(console.hotline.engine) as session:
        assert session.get(RetentionPeriod, "exports").days == 45  # type: ignore[union-attr]
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "retention_edit")
                             .order_by(col(AuditEntry.id).desc())).first()
        assert entry is not None and entry.actor == "sup"
        assert entry.detail is not None and entry.detail["new"]["exports"] == 45
        assert entry.detail["old"]["exports"] == int(before)
