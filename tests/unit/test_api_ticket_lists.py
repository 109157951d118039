"""Finding tickets (filters, words, pages), deadline lights and the change feed, over HTTP,
on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from hotline.tickets.scheduler import LightScheduler
from tests.api import ApiWorld
from tests.unit.test_api_tickets import act, create

REQUESTS = [
    ("投诉", "城关街道", "夜间工地施工噪音扰民，影响休息"),
    ("求助", "东城街道", "路灯不亮，小区门口很黑"),
    ("咨询", "", "社保卡丢了怎么补办"),
    ("举报", "西城街道", "有商户占道经营，堵塞人行道"),
    ("投诉", "东城街道", "楼上装修噪音太大，周末一早就开始"),
    ("建议", "", "建议在公交站增加遮阳棚"),
    ("求助", "城关街道", "自来水停水两天了没有通知"),
]


def seed(world: ApiWorld) -> list[str]:
    numbers = []
    for kind, place, text in REQUESTS:
        numbers.append(create(world, request_type=kind, location=place, description=text,
                              caller_phone=f"139{len(numbers):08d}")["number"])
        world.clock.advance(minutes=1)
    return numbers


def find(world: ApiWorld, user: str = "operator", **params: Any) -> dict[str, Any]:
    r = world.client(user).get("/api/tickets", params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def numbers(page: dict[str, Any]) -> list[str]:
    return [t["number"] for t in page["items"]]


def test_newest_first_in_pages_that_neither_repeat_nor_skip(api_world: ApiWorld) -> None:
    made = seed(api_world)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = find(api_world, limit=3, **({"cursor": cursor} if cursor else {}))
        seen += numbers(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == list(reversed(made))


def test_filters_by_type_status_unit_phone_and_date(api_world: ApiWorld) -> None:
    w = api_world
    made = seed(w)
    assert numbers(find(w, type="complaint")) == [made[4], made[0]]
    act(w, "operator", made[1], "dispatch", main_unit="市城管局")
    act(w, "operator", made[6], "dispatch", main_unit="市住建局")
    assert numbers(find(w, status="dispatched")) == [made[6], made[1]]
    assert numbers(find(w, status=["dispatched", "accepted"], type="help")) == [made[6], made[1]]
    assert numbers(find(w, unit="市城管局")) == [made[1]]
    assert numbers(find(w, phone="13900000003")) == [made[3]]
    assert numbers(find(w, **{"from": "2026-11-23T09:02:00+08:00",
                              "to": "2026-11-23T09:04:00+08:00"})) == [made[3], made[2]]
    assert numbers(find(w, q=made[5])) == [made[5]]  # a ticket number finds that ticket


def test_words_find_tickets_in_chinese(api_world: ApiWorld) -> None:
    w = api_world
    made = seed(w)
    page = find(w, q="噪音")
    assert numbers(page) == [made[4], made[0]] and "噪音" in page["words"]
    assert numbers(find(w, q="施工 噪音")) == [made[0]]  # every word must match
    assert numbers(find(w, q="东城街道 噪音")) == [made[4]]  # the location counts too
    assert numbers(find(w, q="王府井烤鸭")) == []
    assert numbers(find(w, q="噪音", type="complaint", limit=1))[0] == made[4]


def test_bad_list_requests_are_422(api_world: ApiWorld) -> None:
    c = api_world.client("operator")
    assert c.get("/api/tickets", params={"cursor": "not-ours"}).status_code == 422
    assert c.get("/api/tickets", params={"light": "purple"}).status_code == 422
    assert c.get("/api/tickets", params={"limit": 0}).status_code == 422
    r = c.get("/api/tickets", params={"from": "2026-11-24T00:00:00+08:00",
                                      "to": "2026-11-23T00:00:00+08:00"})
    assert r.status_code == 422 and r.json()["details"]["field"] == "created_from"
    assert c.get("/api/tickets", params={"unit": "不存在的局"}).status_code == 404


def test_lights_turn_yellow_then_red_and_reach_the_change_feed(api_world: ApiWorld) -> None:
    w = api_world
    made = {1: create(w)["number"], 6: create(w)["number"]}
    act(w, "operator", made[1], "dispatch", main_unit="市城管局")
    act(w, "operator", made[6], "dispatch", main_unit="市住建局")
    cursor = w.client("cg").get("/api/ticket-changes").json()["cursor"]
    scheduler = LightScheduler(engine=w.engine, clock=w.clock)
    assert scheduler.run_once() == 0
    late = create(w)["number"]  # not dispatched within its 2 minutes: red on its own
    assert numbers(find(w, light="green")) == [late, made[6], made[1]]
    # a unit has 1 hour to sign: yellow at 80 % (48 min), red after the hour
    w.clock.advance(minutes=50)
    scheduler.run_once()
    lights = {t["number"]: t["light"] for t in find(w, light="yellow")["items"]}
    assert lights == {made[1]: "yellow", made[6]: "yellow"}
    w.clock.advance(minutes=15)
    scheduler.run_once()
    assert set(numbers(find(w, light="red"))) == {made[1], made[6], late}
    assert scheduler.run_once() == 0  # published once, never again
    assert w.client("cg").get("/api/tickets/lights").json() == {"green": 0, "yellow": 0,
                                                                 "red": 1}
    feed = w.client("cg").get("/api/ticket-changes", params={"after": cursor}).json()
    assert [(c["number"], c["kind"], c["action"]) for c in feed["changes"]] == [
        (made[1], "light", "yellow"), (made[1], "light", "red")]
    everything = w.client("supervisor").get("/api/ticket-changes",
                                            params={"after": cursor}).json()
    assert [(c["number"], c["action"]) for c in everything["changes"]] == [
        (late, "create"), (late, "red"),  # already late at the first pass: straight to red
        (made[1], "yellow"), (made[6], "yellow"), (made[1], "red"), (made[6], "red")]
    assert everything["cursor"] == feed["cursor"]


def test_the_change_feed_lists_every_transition_in_order(api_world: ApiWorld) -> None:
    w = api_world
    start = w.client("operator").get("/api/ticket-changes").json()["cursor"]
    number = create(w)["number"]
    act(w, "operator", number, "dispatch", main_unit="市城管局")
    act(w, "cg", number, "sign")
    feed = w.client("operator").get("/api/ticket-changes", params={"after": start}).json()
    assert [(c["action"], c["status"], c["seq"]) for c in feed["changes"]] == [
        ("create", "accepted", 0), ("dispatch", "dispatched", 1), ("sign", "signed", 2)]
    ids = [c["id"] for c in feed["changes"]]
    assert ids == sorted(ids) and feed["cursor"] == ids[-1]
    later = w.client("operator").get("/api/ticket-changes", params={"after": ids[0]}).json()
    assert [c["id"] for c in later["changes"]] == ids[1:]
