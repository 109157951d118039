"""The report pages (/supervisor/reports) on the hand-counted fortnight of
``test_oversight_rates`` (SQLite and PostgreSQL): the ranking with score and rates, each number
linking to the tickets behind it, the downloads holding the page's numbers, the roles."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from hotline.calls.models import Call
from hotline.config import Settings
from hotline.oversight.definitions import Deduction, PeriodKind, period
from hotline.oversight.queries import ranked_units
from hotline.oversight.settings import OversightSettings
from hotline.web.deps import CENTER_TZ as CST
from hotline.web.pages import include_pages
from tests.api import ApiWorld, make_world  # the engines: tests.api, a plugin of conftest
from tests.oversight_world import CG, T0, ZJ, Desk, at
from tests.unit.test_oversight_rates import AS_OF, build

REPO = Path(__file__).resolve().parents[2]
QUERY = "period=custom&day=2026-11-23&until=2026-12-04"


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                     else "pg_engine")
    world = make_world(engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web")
    world.clock.now = AS_OF
    try:
        yield world
    finally:
        world.close()


def rows_of(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', page, re.S))


def test_given_the_fortnight_then_the_report_ranks_the_units_with_their_numbers(world):
    t = build(Desk(world.engine))
    page = world.client("supervisor").get(f"/supervisor/reports?{QUERY}")
    assert page.status_code == 200, page.text
    rows = rows_of(page.text)
    assert list(rows) == [CG, ZJ]  # ranked: 城管 85, 住建 56
    assert re.search(r'class="score">85.0<', rows[CG]) and re.search(r'class="score">56.0<',
                                                                       rows[ZJ])
    assert "60.0%" in rows[ZJ]  # 办结率 3/5
    assert 'data-label="市城管局" data-kind="bar" data-value="85"' in page.text
    # 住建's 办结率 denominator links to its five tickets.
    link = re.search(r'data-measure="handling" data-part="denominator" href="([^"]+)">5<',
                     rows[ZJ])
    assert link is not None
    listed = world.client("supervisor").get(unescape(link.group(1)))
    assert listed.status_code == 200
    numbers = re.findall(r'<tr class="ticket" data-number="([^"]+)"', listed.text)
    desk = Desk(world.engine)
    assert len(numbers) == 5 and {desk.number(t["I"]), desk.number(t["J"])} <= set(numbers)


def test_given_the_report_then_its_downloads_hold_the_numbers_shown(world):
    build(Desk(world.engine))
    client = world.client("supervisor")
    page = client.get(f"/supervisor/reports?{QUERY}").text
    scores = {u: float(re.search(r'class="score">([\d.]+)<', row).group(1))  # type: ignore
              for u, row in rows_of(page).items()}
    xlsx_link = re.search(r'id="download-xlsx" href="([^"]+)"', page)
    csv_link = re.search(r'id="download-csv" href="([^"]+)"', page)
    assert xlsx_link and csv_link
    sheet = load_workbook(io.BytesIO(client.get(unescape(xlsx_link.group(1))).content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert {r[header.index("unit")]: r[header.index("score")] for r in rows} == scores
    assert client.get(unescape(csv_link.group(1))).status_code == 200


def test_given_other_roles_then_the_reports_are_refused(world):
    assert world.client("cg").get("/supervisor/reports").status_code == 403
    assert world.client("operator").get("/supervisor/reports").status_code == 403
    page = world.client("admin").get("/supervisor/reports?period=custom&day=2026-11-23")
    assert page.status_code == 200  # a custom period without an end is the one day
    assert "2026-11-23" in page.text


def test_given_public_figures_then_a_past_month_is_shown_without_login(sqlite_engine, tmp_path):
    world = make_world(sqlite_engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web", public_figures=True)
    try:
        build(Desk(world.engine))
        world.clock.now = AS_OF.replace(month=12, day=5)
        anonymous = world.anonymous()
        page = anonymous.get("/public/figures?month=2026-11")
        assert page.status_code == 200, page.text
        assert re.search(r'id="month">2026-11<', page.text)
        with Session(world.engine) as session:
            expected = [s for s in ranked_units(
                session=session, period=period(PeriodKind.MONTH, date(2026, 11, 1), zone=CST),
                as_of=world.clock.now) if s.rank]
        rows = rows_of(page.text)
        assert list(rows) == [s.rates.unit for s in expected] == [CG, ZJ]
        for s in expected:  # each published rate and score is ranked_units'
            cells = re.findall(r"<td[^>]*>([^<]*)</td>", rows[s.rates.unit])
            assert cells == [str(s.rank), s.rates.unit, *(
                f"{r.value * 100:.1f}%" if r.value is not None else "—"
                for r in (s.rates.response, s.rates.handling, s.rates.satisfaction)),
                str(s.score)]
        later = anonymous.get("/public/figures?month=2026-12").text  # not complete: November
        assert re.search(r'id="month">2026-11<', later)
    finally:
        world.close()


def test_given_no_public_figures_setting_then_the_page_is_not_there(world):
    assert world.anonymous().get("/public/figures").status_code == 404
    assert world.client("supervisor").get("/public/figures").status_code == 404


def test_given_configured_oversight_rules_then_api_page_exports_and_figures_use_them(
    sqlite_engine, tmp_path,
):
    # No excluded matter: 城管's mediation ticket H (不满意 twice) counts in 满意率; 重办 costs 2.
    settings = Settings(home=tmp_path, oversight=OversightSettings(
        excluded_matters=[], deductions={Deduction.REDO: 2}))
    world = make_world(sqlite_engine, tmp_path, settings)
    include_pages(world.app, web_dir=REPO / "web", public_figures=True)
    try:
        build(Desk(world.engine))
        world.clock.now = AS_OF
        client = world.client("supervisor")
        # 城管: 满意率 A B E F of A B E F H = 4/5; 30 × 5/6 + 35 × 4/5 + 35 × 4/5 = 81, minus
        # late sign 0.5 + late handling 1 + late reply 0.5 + redo 2 + unsatisfied twice 2 = 75.
        # 住建: 62.5 minus 0.5 + 2 × 1 + refused 1 + redo 2 + unsatisfied twice 2 = 55.
        units = client.get(f"/api/oversight/units?{QUERY}").json()["units"]
        assert [(u["unit"], u["score"], u["satisfaction"]["numerator"],
                 u["satisfaction"]["denominator"]) for u in units] == [
            (CG, 75.0, 4, 5), (ZJ, 55.0, 1, 2)]
        rows = rows_of(client.get(f"/supervisor/reports?{QUERY}").text)
        assert 'class="score">75.0<' in rows[CG] and "80.0%" in rows[CG]
        assert 'class="score">55.0<' in rows[ZJ]
        csv = client.get(f"/api/oversight/units.csv?{QUERY}").text
        assert "75.0" in csv and "55.0" in csv
        world.clock.now = AS_OF.replace(month=12, day=5)
        figures = rows_of(world.anonymous().get("/public/figures?month=2026-11").text)
        assert "80.0%" in figures[CG]  # November holds the same revisits
    finally:
        world.close()


def trend_of(page: str) -> dict[str, list[tuple[str, int]]]:
    figure = re.search(r'<figure class="chart-trend" id="trend">(.*?)</figure>', page, re.S)
    assert figure is not None
    found: dict[str, list[tuple[str, int]]] = {"now": [], "earlier": []}
    for series, label, value in re.findall(
            r'data-series="(now|earlier)" data-label="([^"]+)" data-value="(\d+)"',
            figure.group(1)):
        found[series].append((label, int(value)))
    return found


def test_given_tickets_over_two_weeks_and_last_year_then_the_trend_compares_them(world):
    desk = Desk(world.engine)
    for when in (T0, T0 + timedelta(hours=1), at(25, 10)):  # this week: Mon 2, Wed 1
        desk.new(now=when)
    desk.new(now=T0 - timedelta(days=6))  # the week before: Tuesday 17th
    for hour in (10, 11):  # a year before: Thursday 27 November 2025 (step 4 of the dates)
        desk.new(now=datetime(2025, 11, 27, hour, tzinfo=CST))
    client = world.client("supervisor")
    labels = ["11-23", "11-24", "11-25", "11-26", "11-27", "11-28", "11-29"]
    page = client.get("/supervisor/reports?period=week&day=2026-11-23")
    assert page.status_code == 200, page.text
    trend = trend_of(page.text)
    assert trend["now"] == list(zip(labels, [2, 0, 1, 0, 0, 0, 0], strict=True))
    assert trend["earlier"] == list(zip(labels, [0, 1, 0, 0, 0, 0, 0], strict=True))
    assert "与上期相比" in page.text and re.search(r'id="total">3<', page.text)
    page = client.get("/supervisor/reports?period=week&day=2026-11-23&compare=last_year")
    assert page.status_code == 200, page.text
    trend = trend_of(page.text)
    assert trend["now"] == list(zip(labels, [2, 0, 1, 0, 0, 0, 0], strict=True))
    assert trend["earlier"] == list(zip(labels, [0, 0, 0, 0, 2, 0, 0], strict=True))
    assert "与去年同期相比" in page.text and "2025-11-23..2025-11-29" in page.text
    assert re.search(r'<option value="last_year" selected>去年同期<', page.text)
    # The downloads and the ticket lists keep the comparison asked for.
    assert "compare=last_year" in re.search(r'id="download-csv" href="([^"]+)"',
                                            page.text).group(1)  # type: ignore[union-attr]


def test_given_a_day_then_the_trend_is_hourly(world):
    desk = Desk(world.engine)
    desk.new(now=T0)  # 09:00
    desk.new(now=T0 - timedelta(days=1, hours=1))  # the day before, 08:00
    trend = trend_of(world.client("supervisor").get(
        "/supervisor/reports?period=day&day=2026-11-23").text)
    assert [label for label, _ in trend["now"]] == [f"{h:02d}时" for h in range(24)]
    assert [v for _, v in trend["now"]] == [1 if h == 9 else 0 for h in range(24)]
    assert [v for _, v in trend["earlier"]] == [1 if h == 8 else 0 for h in range(24)]


def file_rows(client: TestClient, page: str, link_id: str) -> list[tuple[Any, ...]]:
    link = re.search(rf'id="{link_id}" href="([^"]+)"', page)
    assert link is not None
    answer = client.get(unescape(link.group(1)))
    assert answer.status_code == 200, answer.text
    if link_id.endswith("xlsx"):
        sheet = load_workbook(io.BytesIO(answer.content)).active
        assert sheet is not None
        return list(sheet.iter_rows(values_only=True))
    return [tuple(None if c == "" else c for c in row)
            for row in csv.reader(io.StringIO(answer.text))]


def test_given_the_report_then_the_call_and_analysis_downloads_hold_its_numbers(world):
    build(Desk(world.engine))  # ten tickets of one caller, H of matter SD-001
    with Session(world.engine) as session:
        for uid, outcome, queued in (("a", "answered", True), ("b", "abandoned", True),
                                     ("c", "full", False)):
            session.add(Call(uniqueid=uid, direction="in", started_at=T0, queue_outcome=outcome,
                             queue_joined_at=T0 if queued else None,
                             queue_wait_seconds=12 if queued else None))
        session.commit()
    client = world.client("supervisor")
    page = client.get(f"/supervisor/reports?{QUERY}").text
    answered = re.search(r'data-call="answered">([\d.]+)%（(\d+)/(\d+)）', page)
    assert answered is not None and answered.groups() == ("33.3", "1", "3")
    total = re.search(r'id="total">(\d+)<', page)
    frequent = dict(re.findall(r'<tr data-code="([^"]+)"><td>[^<]*</td><td>(\d+)</td>', page))
    assert total is not None and frequent == {"SD-001": "1"}
    shown = re.search(r"同一来电：([^<]+)</td><td>(\d+)<", page)  # the phone as the role sees it
    assert shown is not None and shown.group(2) == "10"
    for ext in ("csv", "xlsx"):
        header, *rows = file_rows(client, page, f"download-calls-{ext}")
        calls = {str(r[0]): r for r in rows}
        assert header == ("measure", "numerator", "denominator", "value")
        assert [float(x) for x in calls["answered"][1:]] == [1, 3, 0.3333]
        assert float(calls["offered"][3]) == 3
        header, *rows = file_rows(client, page, f"download-analyses-{ext}")
        by = {(str(r[0]), str(r[1] or "")): r for r in rows}
        assert int(by[("total", "")][3]) == int(total.group(1)) == 10
        assert {k[1]: str(int(r[3])) for k, r in by.items()
                if k[0] == "frequent"} == frequent
        [repeat] = [r for k, r in by.items() if k[0] == "repeat_caller"]
        assert (repeat[1], int(repeat[3])) == (shown.group(1), int(shown.group(2)))
