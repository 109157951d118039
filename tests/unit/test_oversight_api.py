"""The oversight API gives the numbers of ``unit_rates`` (JSON and CSV alike), the tickets
behind them, to supervisors and admins only; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.api import ApiWorld
from tests.oversight_world import CG, ZJ, Desk
from tests.unit.test_oversight_rates import AS_OF, build

FORTNIGHT = {"period": "custom", "day": "2026-11-23", "until": "2026-12-04"}


def world_with_fortnight(api_world: ApiWorld) -> dict[str, int]:
    api_world.clock.now = AS_OF
    return build(Desk(api_world.engine))


def test_given_include_api_then_a_supervisor_is_served_the_units(api_world: ApiWorld):
    # The world's app is built by ``include_api`` alone: the oversight router is in it.
    r = api_world.client("supervisor").get("/api/oversight/units", params={"period": "day"})
    assert r.status_code == 200, r.text
    assert r.json()["units"] == []


def test_given_the_fortnight_then_the_ranking_is_the_hand_counted_one(api_world: ApiWorld):
    world_with_fortnight(api_world)
    r = api_world.client("supervisor").get("/api/oversight/units", params=FORTNIGHT)
    assert r.status_code == 200, r.text
    rows = {u["unit"]: u for u in r.json()["units"]}
    assert (rows[CG]["rank"], rows[CG]["score"], rows[ZJ]["rank"], rows[ZJ]["score"]) == (
        1, 85.0, 2, 56.0)
    assert rows[ZJ]["handling"] == {"numerator": 3, "denominator": 5, "value": 0.6}
    assert rows[ZJ]["deductions"]["refused"] == 1

    exported = api_world.client("admin").get("/api/oversight/units.csv", params=FORTNIGHT)
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(t["unit"], float(t["score"]), int(t["handling_numerator"])) for t in table] == [
        (CG, 85.0, 4), (ZJ, 56.0, 3)]


def test_given_a_number_then_its_tickets_are_listed(api_world: ApiWorld):
    t = world_with_fortnight(api_world)
    r = api_world.client("supervisor").get(
        f"/api/oversight/units/{ZJ}/tickets",
        params={**FORTNIGHT, "measure": "handling", "part": "missed"})
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2
    numbers = [x["number"] for x in r.json()["tickets"]]
    desk = Desk(api_world.engine)
    assert numbers == [desk.number(t["I"]), desk.number(t["J"])]


def test_given_other_roles_then_oversight_is_refused(api_world: ApiWorld):
    for user in ("operator", "cg"):
        assert api_world.client(user).get("/api/oversight/units").status_code == 403
    assert api_world.client("supervisor").get("/api/oversight/calls").status_code == 200


def test_given_the_fortnight_then_the_xlsx_holds_the_numbers_of_the_json(api_world: ApiWorld):
    world_with_fortnight(api_world)
    client = api_world.client("supervisor")
    units = client.get("/api/oversight/units", params=FORTNIGHT).json()["units"]
    r = client.get("/api/oversight/units.xlsx", params=FORTNIGHT)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert [t["unit"] for t in table] == [u["unit"] for u in units] == [CG, ZJ]
    for t, u in zip(table, units, strict=True):
        assert (t["rank"], t["score"], t["base"], t["deducted"]) == (
            u["rank"], u["score"], u["base"], u["deducted"])
        for rate in ("response", "handling", "satisfaction"):
            assert [t[f"{rate}_{p}"] for p in ("numerator", "denominator", "value")] == [
                u[rate]["numerator"], u[rate]["denominator"], u[rate]["value"]]
        assert {d: t[d] for d in u["deductions"]} == u["deductions"]
