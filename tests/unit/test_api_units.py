"""Units, matters, the responsibility list and dispatch suggestions over HTTP
(``hotline.tickets.units_http``), on SQLite and PostgreSQL, with the default list loaded."""

from __future__ import annotations

import pytest

from tests.api import ApiWorld

UNITS, MATTERS, TOWN_STREETS = 43, 87, 7
YAML = {"Content-Type": "application/yaml"}
BROKEN_YAML = """units:
- name: 新区管委会
  kind: department
matters:
- code: XQ-001
  name: 新区道路
  main_unit: 市不存在局
"""
CYCLE_YAML = """units:
- name: 甲办
  kind: department
  parent: 乙办
- name: 乙办
  kind: department
  parent: 甲办
"""


def units_by_name(world: ApiWorld) -> dict[str, dict]:
    return {u["name"]: u for u in world.client("operator").get("/api/units").json()}


def export(world: ApiWorld, fmt: str = "yaml") -> str:
    r = world.client("operator").get("/api/responsibility-list", params={"format": fmt})
    assert r.status_code == 200
    return r.text


def field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["details"]["fields"]]


def test_given_the_default_list_when_units_are_listed_then_the_tree_is_flat_with_parents(
    api_world: ApiWorld,
):
    for user in ("operator", "cg", "callback"):
        listed = api_world.client(user).get("/api/units")
        assert listed.status_code == 200
    units = {u["name"]: u for u in listed.json()}
    assert len(units) == UNITS
    center, cg = units["12345中心"], units["市城管局"]
    assert (center["kind"], center["parent_id"], center["duty_phone"]) == ("center", None, "12345")
    assert (cg["kind"], cg["parent_id"], cg["duty_phone"]) == ("department", center["id"], "6101")

    towns = api_world.client("operator").get("/api/units", params={"kind": "town_street"}).json()
    assert len(towns) == TOWN_STREETS and {u["kind"] for u in towns} == {"town_street"}
    planets = api_world.client("operator").get("/api/units", params={"kind": "planet"})
    assert (planets.status_code, field_names(planets)) == (422, ["kind"])


def test_given_a_unit_id_when_read_then_the_unit_else_404(api_world: ApiWorld):
    cg = units_by_name(api_world)["市城管局"]
    client = api_world.client("zj")
    assert client.get(f"/api/units/{cg['id']}").json() == cg
    missing = client.get("/api/units/99999")
    assert (missing.status_code, missing.json()["error_id"]) == (404, "no-such-unit")


def test_given_no_token_when_any_endpoint_is_called_then_401(api_world: ApiWorld):
    anonymous = api_world.anonymous()
    for method, url in [("GET", "/api/units"), ("POST", "/api/units"), ("GET", "/api/matters"),
                        ("GET", "/api/responsibility-list"), ("PUT", "/api/responsibility-list"),
                        ("GET", "/api/dispatch-suggestion?text=路灯")]:
        assert anonymous.request(method, url).status_code == 401, url


def test_given_an_admin_when_a_unit_is_added_then_201_under_its_parent(api_world: ApiWorld):
    r = api_world.client("admin").post("/api/units", json={
        "name": "新华镇和平村", "kind": "community", "parent": "新华镇", "duty_phone": "6901"})
    assert r.status_code == 201, r.text
    units = units_by_name(api_world)
    assert units["新华镇和平村"] == r.json()
    assert r.json()["parent_id"] == units["新华镇"]["id"]


@pytest.mark.parametrize(("body", "status", "error_id", "field"), [
    ({"name": "市城管局", "kind": "department"}, 409, "unit-name-taken", "name"),
    ({"name": "新局", "kind": "department", "parent": "无此单位"}, 422, "invalid-unit", "parent"),
    ({"name": "新局"}, 422, "invalid-request", "kind"),
    ({"name": "", "kind": "department"}, 422, "invalid-request", "name"),
])
def test_given_a_bad_unit_when_added_then_refused_naming_the_field_and_nothing_added(
    api_world: ApiWorld, body: dict, status: int, error_id: str, field: str,
):
    r = api_world.client("admin").post("/api/units", json=body)
    assert (r.status_code, r.json()["error_id"]) == (status, error_id)
    named = r.json()["details"].get("field") or field_names(r)[0]
    assert named == field
    assert len(units_by_name(api_world)) == UNITS


@pytest.mark.parametrize("user", ["supervisor", "operator", "cg"])
def test_given_a_non_admin_when_units_are_written_then_403(api_world: ApiWorld, user: str):
    cg = units_by_name(api_world)["市城管局"]
    client = api_world.client(user)
    assert client.post("/api/units", json={"name": "新局", "kind": "department"}).status_code == 403
    assert client.patch(f"/api/units/{cg['id']}", json={"duty_phone": "0"}).status_code == 403
    assert units_by_name(api_world)["市城管局"] == cg


def test_given_an_admin_when_a_unit_is_renamed_and_rephoned_then_its_handlers_follow(
    api_world: ApiWorld,
):
    cg = units_by_name(api_world)["市城管局"]
    r = api_world.client("admin").patch(f"/api/units/{cg['id']}",
                                        json={"name": "市城市管理局", "duty_phone": "6199"})
    assert r.status_code == 200, r.text
    assert r.json() == {**cg, "name": "市城市管理局", "duty_phone": "6199"}
    assert api_world.client("cg").get("/api/me").json()["unit_name"] == "市城市管理局"
    matters = api_world.client("operator").get("/api/matters", params={"q": "CG-001"}).json()
    assert matters[0]["main_unit"] == "市城市管理局"


def test_given_a_unit_moved_under_its_own_child_when_patched_then_422_naming_it(
    api_world: ApiWorld,
):
    units = units_by_name(api_world)
    center = units["12345中心"]
    r = api_world.client("admin").patch(f"/api/units/{center['id']}", json={"parent": "市城管局"})
    assert (r.status_code, r.json()["error_id"]) == (422, "invalid-unit")
    assert (r.json()["details"]["unit"], r.json()["details"]["field"]) == ("12345中心", "parent")
    assert units_by_name(api_world)["12345中心"]["parent_id"] is None

    moved = api_world.client("admin").patch(f"/api/units/{units['市城管局']['id']}",
                                            json={"parent": None})
    assert moved.status_code == 200 and moved.json()["parent_id"] is None
    unknown = api_world.client("admin").patch("/api/units/99999", json={"duty_phone": "1"})
    assert unknown.status_code == 404


def test_given_matters_when_listed_or_filtered_then_with_their_units_names(api_world: ApiWorld):
    client = api_world.client("cg")
    assert len(client.get("/api/matters").json()) == MATTERS
    found = client.get("/api/matters", params={"q": "摆摊"}).json()
    assert [m["code"] for m in found] == ["CG-002"]
    stall = found[0]
    assert (stall["name"], stall["main_unit"], stall["assist_units"], stall["locality"]) == (
        "占道经营", "市城管局", ["属地乡镇街道"], "assist")
    assert "流动摊贩" in stall["keywords"] and stall["legal_basis"].startswith("《城市市容")
    assert client.get("/api/matters", params={"q": "没有这种事"}).json() == []


@pytest.mark.parametrize(("fmt", "media", "first_line"), [
    ("yaml", "application/yaml", "# 职责清单"),
    ("csv", "text/csv", "code,name,main_unit,assist_units,locality,keywords,legal_basis"),
])
def test_given_a_format_when_the_list_is_downloaded_then_type_and_filename_follow(
    api_world: ApiWorld, fmt: str, media: str, first_line: str,
):
    r = api_world.client("zj").get("/api/responsibility-list", params={"format": fmt})
    assert r.headers["content-type"] == f"{media}; charset=utf-8"
    assert r.headers["content-disposition"] == f'attachment; filename="responsibility.{fmt}"'
    assert r.text.startswith(first_line) and "CG-002" in r.text


@pytest.mark.parametrize(("user", "fmt", "headers", "params"), [
    ("admin", "yaml", YAML, {}),
    ("supervisor", "yaml", {"Content-Type": "text/yaml; charset=utf-8"}, {}),
    ("supervisor", "csv", {"Content-Type": "text/csv"}, {}),
    ("admin", "csv", {"Content-Type": "text/plain"}, {"format": "csv"}),
])
def test_given_an_export_when_imported_again_then_the_export_is_the_same_text(
    api_world: ApiWorld, user: str, fmt: str, headers: dict, params: dict,
):
    before = export(api_world, fmt)
    r = api_world.client(user).put("/api/responsibility-list", content=before.encode(),
                                   headers=headers, params=params)
    assert r.status_code == 200, r.text
    assert r.json() == {"format": fmt, "matters": MATTERS}
    assert export(api_world, fmt) == before


def test_given_a_changed_csv_when_imported_then_the_matter_changes(api_world: ApiWorld):
    text = export(api_world, "csv").replace("路灯|灯不亮|", "路灯|灯不亮|路灯闪烁|", 1)
    r = api_world.client("admin").put("/api/responsibility-list", content=text.encode(),
                                      headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    lamp = api_world.client("operator").get("/api/matters", params={"q": "路灯闪烁"}).json()
    assert [m["code"] for m in lamp] == ["CG-001"]


@pytest.mark.parametrize(("body", "headers", "line", "field"), [
    (BROKEN_YAML, YAML, 7, "main_unit"),  # checked before anything is written
    (CYCLE_YAML, YAML, 4, "parent"),  # found after the units were flushed: rolled back
    ("code,name,main_unit,assist_units,locality,keywords,legal_basis\n"
     "N-1,新事项,市城管局,,nearby,新词,\n", {"Content-Type": "text/csv"}, 2, "locality"),
    (b"units: [\n\xff\n", YAML, 2, None),  # not UTF-8
])
def test_given_a_broken_file_when_imported_then_422_naming_the_place_and_nothing_written(
    api_world: ApiWorld, body: str | bytes, headers: dict, line: int, field: str | None,
):
    before_yaml, before_csv = export(api_world), export(api_world, "csv")
    r = api_world.client("admin").put("/api/responsibility-list", content=body, headers=headers)
    assert r.status_code == 422
    answer = r.json()
    assert answer["error_id"] == "responsibility-file-invalid"
    details = answer["details"]
    assert (details["path"], details["line"], details["field"]) == ("request body", line, field)
    assert details["reason"]
    assert (export(api_world), export(api_world, "csv")) == (before_yaml, before_csv)
    assert len(units_by_name(api_world)) == UNITS


def test_given_a_list_without_a_format_when_imported_then_415(api_world: ApiWorld):
    before = export(api_world)
    r = api_world.client("admin").put("/api/responsibility-list", content=before.encode(),
                                      headers={"Content-Type": "application/octet-stream"})
    assert (r.status_code, r.json()["error_id"]) == (415, "http-415")


@pytest.mark.parametrize("user", ["operator", "cg", "callback"])
def test_given_a_role_that_may_not_import_when_putting_a_list_then_403_and_nothing_written(
    api_world: ApiWorld, user: str,
):
    before = export(api_world)
    changed = before.replace("占道经营", "占道摆卖")
    r = api_world.client(user).put("/api/responsibility-list", content=changed.encode(),
                                   headers=YAML)
    assert r.status_code == 403
    assert export(api_world) == before


def suggest(world: ApiWorld, user: str = "operator", **params: object):
    return world.client(user).get("/api/dispatch-suggestion", params=params)


def test_given_text_and_a_street_when_suggested_then_list_and_locality_decide_and_say_why(
    api_world: ApiWorld,
):
    r = suggest(api_world, text="路口有流动摊贩占道经营", location="城关街道")
    assert r.status_code == 200, r.text
    found = r.json()
    assert (found["main_unit"], found["assist_units"], found["local_unit"]) == (
        "市城管局", ["城关街道"], "城关街道")
    assert found["matter"]["code"] == "CG-002" and found["candidates"][0]["code"] == "CG-002"
    assert found["why"][0].startswith("谁主管谁负责: the text matched CG-002")
    assert found["why"][1].startswith("属地管理优先: the location is in 城关街道")


def test_given_a_matter_id_when_a_supervisor_asks_then_its_units(api_world: ApiWorld):
    gas = api_world.client("operator").get("/api/matters", params={"q": "RQ-001"}).json()[0]
    found = suggest(api_world, "supervisor", matter_id=gas["id"]).json()
    assert (found["matter"], found["main_unit"], found["assist_units"]) == (
        gas, "燃气公司", ["市应急管理局"])
    assert found["candidates"] == [] and found["why"][0].startswith("谁主管谁负责: RQ-001")


def test_given_text_matching_nothing_when_suggested_then_no_matter_and_said_so(api_world: ApiWorld):
    found = suggest(api_world, text="你好").json()
    assert (found["matter"], found["main_unit"], found["candidates"]) == (None, None, [])
    assert found["why"] == ["no matter of the responsibility list matched the text"]


def test_given_bad_suggestion_requests_then_404_422_and_403(api_world: ApiWorld):
    unknown = suggest(api_world, matter_id=99999)
    assert (unknown.status_code, unknown.json()["error_id"]) == (404, "no-such-matter")
    empty = suggest(api_world, text="  ")
    assert (empty.status_code, field_names(empty)) == (422, ["text"])
    for user in ("cg", "callback", "admin"):
        assert suggest(api_world, user, text="路灯不亮").status_code == 403, user
