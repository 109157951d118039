"""A scheduled report generated end to end on SQLite and on PostgreSQL (``tests.pg``), from
the hand-counted fortnight of ``test_oversight_rates``: the generator writes the week of
23-29 November into a real exports folder; its XLSX (read with openpyxl), its CSV and its
HTML hold the numbers the report page shows for that week, and the page lists it with
role-checked downloads, each download (and each API export) in the audit log."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from hotline.audit.models import AuditAction, AuditEntry
from hotline.oversight.definitions import DEFAULT_RULES, PeriodKind
from hotline.oversight.generated import ReportGenerator
from hotline.oversight.settings import OversightSettings
from hotline.web.deps import CENTER_TZ
from hotline.web.pages import include_pages
from hotline.web.pages.reports import ReportHtml
from hotline.web.pages.supervisor import RecordingsConsole
from tests.api import ApiWorld, make_world
from tests.oversight_world import CG, ZJ, Desk
from tests.unit.test_oversight_rates import AS_OF, build

REPO = Path(__file__).resolve().parents[2]
WEEK = "period=week&day=2026-11-23"
STEM = "week-2026-11-23..2026-11-29"


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                     else "pg_engine")
    world = make_world(engine, tmp_path)
    world.app.state.oversight_reports = ReportGenerator(
        engine=engine, clock=world.clock, zone=CENTER_TZ, exports_dir=tmp_path / "exports",
        settings=OversightSettings(reports_kinds=[PeriodKind.WEEK], reports_catch_up=2),
        rules=DEFAULT_RULES, html=ReportHtml(REPO / "web"))
    include_pages(world.app, web_dir=REPO / "web",
                  recordings=RecordingsConsole(root=tmp_path / "rec", tz=CENTER_TZ))
    world.clock.now = AS_OF  # Saturday 5 December: the week of 23-29 November is due
    try:
        yield world
    finally:
        world.close()


def cells(row_html: str) -> list[str]:
    """A table row's cells as text (links and tags dropped, spaces squeezed)."""
    found = re.findall(r"<td[^>]*>(.*?)</td>", row_html, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", c)).split()) for c in found]


def ranking_rows(page: str) -> dict[str, list[str]]:
    return {u: cells(r) for u, r in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page,
                                               re.S)}


def rate_points(page: str) -> set[tuple[str, str, int, int]]:
    chart = re.search(r'id="rate-trend">(.*?)</figure>', page, re.S)
    assert chart is not None
    return {(s, label, int(n), int(d)) for s, label, n, d in re.findall(
        r'data-series="(\w+)" data-label="([^"]+)" data-numerator="(\d+)" '
        r'data-denominator="(\d+)"', chart.group(1))}


def sheet_dicts(book: Any, name: str) -> list[dict[str, Any]]:
    header, *rows = list(book[name].iter_rows(values_only=True))
    return [dict(zip(header, r, strict=True)) for r in rows]


def test_given_a_week_generated_then_its_files_hold_the_numbers_of_the_page(world):
    build(Desk(world.engine))
    generator = world.app.state.oversight_reports
    made = generator.run_due()
    assert [(o.label, o.status) for o in made] == [
        ("2026-11-23..2026-11-29", "done"), ("2026-11-16..2026-11-22", "done")]
    client = world.client("supervisor")
    page = client.get(f"/supervisor/reports?{WEEK}")
    assert page.status_code == 200, page.text
    shown = ranking_rows(page.text)
    assert set(shown) == {CG, ZJ}

    # The page lists the report; its XLSX is downloaded through the role-checked link.
    listed = re.search(r'<tr data-report="(\d+)" data-kind="week" data-start="2026-11-23" '
                       r'data-status="done">(.*?)</tr>', page.text, re.S)
    assert listed is not None
    links = dict(re.findall(
        r'<a class="generated-file" data-file="([^"]+)" href="([^"]+)"', listed.group(2)))
    assert set(links) == {f"{STEM}.html", f"{STEM}.xlsx", *(
        f"{STEM}-{t}.csv" for t in ("ranking", "calls", "analyses", "rates"))}
    xlsx = client.get(links[f"{STEM}.xlsx"])
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    folder = generator.exports_dir / "reports/week/2026-11-23..2026-11-29"
    assert xlsx.content == (folder / f"{STEM}.xlsx").read_bytes()

    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["ranking", "calls", "analyses", "rates"]
    for row in sheet_dicts(book, "ranking"):
        page_cells = shown[row["unit"]]  # 名次, 单位, 得分, 扣分, 响应率, 办结率, 满意率
        assert page_cells[:2] == [str(row["rank"]), row["unit"]]
        assert (float(page_cells[2]), float(page_cells[3])) == (row["score"], row["deducted"])
        for i, name in enumerate(("response", "handling", "satisfaction")):
            value = row[f"{name}_value"]
            pct = "—" if value is None else f"{value * 100:.1f}%"
            assert page_cells[4 + i] == (f"{pct} （{row[f'{name}_numerator']}/"
                                         f"{row[f'{name}_denominator']}）")
    zj = next(r for r in sheet_dicts(book, "ranking") if r["unit"] == ZJ)
    assert (zj["handling_numerator"], zj["handling_denominator"]) == (2, 4)  # by hand
    calls = {r["measure"]: r for r in sheet_dicts(book, "calls")}
    offered = re.search(r'data-call="offered">(\d+)<', page.text)
    assert offered is not None and calls["offered"]["value"] == int(offered.group(1))
    drawn = rate_points(page.text)
    in_sheet = {(n, r["step"], r[f"{n}_numerator"], r[f"{n}_denominator"])
                for r in sheet_dicts(book, "rates")
                for n in ("response", "handling", "satisfaction") if r[f"{n}_denominator"]}
    assert in_sheet == drawn and ("response", "11-23", 4 + 5, 5 + 6) in drawn

    # The CSV is the ranking the API exports for the week; the HTML is the page's body.
    api_csv = client.get(f"/api/oversight/units.csv?{WEEK}").text
    stored = (folder / f"{STEM}-ranking.csv").read_text(encoding="utf-8-sig")
    assert list(csv.reader(io.StringIO(stored))) == list(csv.reader(io.StringIO(api_csv)))
    html = client.get(links[f"{STEM}.html"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert ranking_rows(html.text) == shown
    assert rate_points(html.text) == drawn
    assert "/supervisor/reports/tickets" not in html.text  # no links in the stored file


def test_given_other_roles_then_the_generated_files_are_refused(world):
    world.app.state.oversight_reports.run_due()
    admin = world.client("admin").get(f"/supervisor/reports?{WEEK}")
    href = re.search(r'class="generated-file" data-file="[^"]+" href="([^"]+)"', admin.text)
    assert href is not None
    assert world.client("admin").get(href.group(1)).status_code == 200
    assert world.client("operator").get(href.group(1)).status_code == 403
    assert world.client("cg").get(href.group(1)).status_code == 403
    report_id = re.search(r"/generated/(\d+)/", href.group(1))
    assert report_id is not None
    missing = world.client("admin").get(
        f"/supervisor/reports/generated/{report_id.group(1)}/..%2F..%2Fhotline.db")
    assert missing.status_code == 404


def exports_logged(world: ApiWorld) -> list[tuple[str, str, str, dict[str, Any]]]:
    with Session(world.engine) as session:
        found = session.exec(select(AuditEntry).where(
            col(AuditEntry.action) == AuditAction.EXPORT.value).order_by(col(AuditEntry.id)))
        return [(e.actor, e.role, e.path, e.detail or {}) for e in found]


def test_given_downloads_then_each_export_is_in_the_audit_log_and_on_its_page(world):
    build(Desk(world.engine))
    world.app.state.oversight_reports.run_due()
    admin = world.client("admin")
    page = admin.get(f"/supervisor/reports?{WEEK}").text
    href = {f: unescape(h) for f, h in re.findall(
        r'class="generated-file" data-file="([^"]+)" href="([^"]+)"', page)}
    found = re.search(r"/generated/(\d+)/", href[f"{STEM}.xlsx"])
    assert found is not None
    report_id = int(found.group(1))
    assert exports_logged(world) == []  # showing the page takes nothing out

    assert admin.get(href[f"{STEM}.xlsx"]).status_code == 200
    assert world.client("operator").get(href[f"{STEM}.xlsx"]).status_code == 403
    assert admin.get(f"/supervisor/reports/generated/{report_id}/nothing.csv").status_code == 404
    supervisor = world.client("supervisor")
    ranking = supervisor.get(f"/api/oversight/units.csv?{WEEK}")
    assert ranking.status_code == 200
    assert world.client("operator").get(f"/api/oversight/calls.xlsx?{WEEK}").status_code == 403
    assert supervisor.get(f"/api/oversight/analyses.xlsx?{WEEK}").status_code == 200

    logged = exports_logged(world)
    assert [(actor, role, path) for actor, role, path, _ in logged] == [
        ("admin", "admin", f"{STEM}.xlsx"),
        ("supervisor", "supervisor", "units-2026-11-23..2026-11-29.csv"),
        ("supervisor", "supervisor", "analyses-2026-11-23..2026-11-29.xlsx")]
    assert logged[0][3] == {"report": report_id, "kind": "week", "start": "2026-11-23",
                            "bytes": len(admin.get(href[f"{STEM}.xlsx"]).content)}
    rows = len(list(csv.reader(io.StringIO(ranking.text)))) - 1
    assert logged[1][3]["rows"] == rows == 2 and logged[1][3]["period"] == "2026-11-23..2026-11-29"
    assert logged[2][3]["compare"] == "previous"

    audit = supervisor.get("/supervisor/audit").text
    shown = [cells(r) for r in re.findall(
        r'<tr class="audit-row" data-action="export"[^>]*>(.*?)</tr>', audit, re.S)]
    assert len(shown) == 4  # the second download of the xlsx above is logged too
    assert shown[-1][1:5] == ["admin", "管理员", "导出", "—"]
    assert shown[-1][5] == f"{STEM}.xlsx（定期报表 #{report_id}）"
    assert shown[-2][5] == "units-2026-11-23..2026-11-29.csv（2026-11-23..2026-11-29，2 行）"
