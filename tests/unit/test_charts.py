"""The server-side SVG charts: bars proportional to their values, labels escaped, and the
supervisor's workspace showing calls per hour and lights per unit from the database."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.tickets.models import Light, Ticket
from hotline.web.charts import Bar, Segment, StackedBar, bar_chart, stacked_bars
from hotline.web.pages import include_pages
from hotline.web.pages.supervisor_charts import calls_per_hour, lights_per_unit
from tests.api import CENTER, ApiWorld, make_world, sqlite_engine, sqlite_template  # noqa: F401
from tests.recordings import add_recorded_call

REPO = Path(__file__).resolve().parents[2]
SVG = "{http://www.w3.org/2000/svg}"


def rects(svg: str, cls: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [r for r in root.iter(f"{SVG}rect") if cls in r.get("class", "").split()]


def test_bar_heights_are_proportional_to_the_values_and_the_largest_fills_the_plot() -> None:
    svg = bar_chart([Bar("08", 2), Bar("09", 8), Bar("10", 4), Bar("11", 0)], title="t",
                    height=140)
    bars = rects(svg, "bar")
    heights = [float(b.get("height", "")) for b in bars]
    assert heights[1] == pytest.approx(140 - 14 - 16)  # the tallest reaches the top
    assert heights[0] / heights[1] == pytest.approx(2 / 8)
    assert heights[2] / heights[1] == pytest.approx(4 / 8)
    assert heights[3] == 0
    # bars stand on the same base line
    bases = {round(float(b.get("y", "")) + float(b.get("height", "")), 1) for b in bars}
    assert len(bases) == 1
    assert [b.get("data-value") for b in bars] == ["2", "8", "4", "0"]


def test_stacked_bars_are_proportional_to_the_totals_and_segments_follow_each_other() -> None:
    svg = stacked_bars([StackedBar("A", [Segment("red", 1), Segment("green", 3)]),
                        StackedBar("B", [Segment("red", 2), Segment("green", 0)])], title="t")
    red = rects(svg, "seg-red")
    green = rects(svg, "seg-green")
    width = [float(r.get("width", "")) for r in red]
    assert width[1] / width[0] == pytest.approx(2.0)
    a_total = float(red[0].get("width", "")) + float(green[0].get("width", ""))
    assert a_total / width[1] == pytest.approx(4 / 2)
    assert float(green[0].get("x", "")) == pytest.approx(
        float(red[0].get("x", "")) + float(red[0].get("width", "")))


def test_labels_are_escaped_and_an_empty_chart_is_still_valid_svg() -> None:
    svg = bar_chart([Bar("<b>&", 1)], title="<script>")
    assert "<script>" not in svg and "&lt;b&gt;&amp;" in svg
    ET.fromstring(bar_chart([], title="empty"))
    ET.fromstring(stacked_bars([], title="empty"))


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: F811
    world = make_world(sqlite_engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web")
    try:
        yield world
    finally:
        world.close()


def test_the_workspace_charts_calls_per_hour_today_and_lights_per_unit(world: ApiWorld) -> None:
    now = world.clock()  # 09:00 in the center
    with session_scope(world.engine) as session:
        for i, minutes in enumerate([5, 20, 65, 70, 75, -600]):  # 09:xx ×2, 10:xx ×3, yesterday
            session.add(Call(uniqueid=f"u{i}", started_at=now + timedelta(minutes=minutes)))
    with session_scope(world.engine) as session:
        hours = calls_per_hour(session=session, now=now.replace(hour=11))
        assert (hours[9], hours[10], sum(hours)) == (2, 3, 5)
    page = world.client("supervisor").get("/supervisor")
    assert page.status_code == 200
    assert re.search(r'<figure class="chart-hourly">.*?<svg', page.text, re.S)
    assert 'data-label="09" data-value="2"' in page.text


def test_lights_per_unit_counts_open_tickets_by_main_unit(world: ApiWorld,
                                                          tmp_path: Path) -> None:
    for i in range(3):
        add_recorded_call(world.engine, tmp_path / "rec", uniqueid=f"c{i}", caller="138",
                          started=world.clock(), unit="市城管局")
    with session_scope(world.engine) as session:
        tickets = session.exec(select(Ticket).order_by(col(Ticket.id))).all()
        assert len(tickets) == 3
        first = tickets[0]
        first.light = Light.RED
        session.add(first)
    with session_scope(world.engine) as session:
        [bar] = lights_per_unit(session=session)
    assert bar.label == "市城管局"
    assert {s.kind: s.value for s in bar.segments} == {"red": 1, "yellow": 0, "green": 2}
    assert "seg-red" in world.client("supervisor").get("/supervisor").text
