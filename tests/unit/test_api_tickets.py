"""The tickets API with each role, on SQLite and PostgreSQL (``api_world`` runs both).

The world's users: operator, supervisor, callback (callback agent), admin, cg (unit handler of
市城管局), zj (unit handler of 市住建局). The clock starts on Monday 2026-11-23 09:00 (UTC+8).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from tests.api import ApiWorld

CALLER = "13812345678"
STREETLIGHT = {
    "request_type": "求助", "caller_name": "王女士", "caller_phone": CALLER,
    "location": "城关街道幸福路12号", "description": "幸福路路灯不亮已经一周了，晚上出行很不安全",
}


def create(world: ApiWorld, **fields: Any) -> dict[str, Any]:
    r = world.client("operator").post("/api/tickets", json={**STREETLIGHT, **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def act(world: ApiWorld, user: str, number: str, action: str, status: int = 200,
        **body: Any) -> dict[str, Any]:
    r = world.client(user).post(f"/api/tickets/{number}/{action}", json=body)
    assert r.status_code == status, r.text
    answer: dict[str, Any] = r.json()
    return answer


def dispatched(world: ApiWorld, unit: str = "市城管局", **fields: Any) -> str:
    number = create(world, **fields)["number"]
    act(world, "operator", number, "dispatch", main_unit=unit)
    return str(number)


def test_operator_accepts_a_ticket_with_a_number_and_the_actions_open_to_them(
        api_world: ApiWorld) -> None:
    ticket = create(api_world)
    assert re.fullmatch(r"20261123-\d{5}", ticket["number"])
    assert ticket["status"] == "accepted" and ticket["request_type"] == "help"
    assert ticket["caller_phone"] == CALLER  # an operator sees the whole number
    assert set(ticket["allowed_actions"]) == {"dispatch", "answer_now", "merge",
                                              "emergency_transfer"}
    again = api_world.client("operator").get(f"/api/tickets/{ticket['number']}").json()
    assert again["description"] == STREETLIGHT["description"] and again["version"] == 0


def test_a_malformed_body_is_422_naming_each_field(api_world: ApiWorld) -> None:
    r = api_world.client("operator").post("/api/tickets", json={
        "request_type": "抱怨", "description": "", "urgency": "very"})
    assert r.status_code == 422
    body = r.json()
    assert body["error_id"] == "invalid-request"
    assert {f["field"] for f in body["details"]["fields"]} == {
        "request_type", "description", "urgency"}
    assert api_world.client("operator").get("/api/tickets").json()["items"] == []


def test_roles_that_do_not_take_calls_cannot_create_and_strangers_are_401(
        api_world: ApiWorld) -> None:
    for user in ("cg", "callback", "admin"):
        r = api_world.client(user).post("/api/tickets", json=STREETLIGHT)
        assert r.status_code == 403, user
        assert r.json()["error_id"] == "role-not-allowed"
    assert api_world.anonymous().get("/api/tickets").status_code == 401
    assert api_world.client("operator").get("/api/tickets/20261123-99999").status_code == 404


def test_the_whole_life_cycle_through_the_api(api_world: ApiWorld) -> None:
    w = api_world
    number = create(w)["number"]
    suggestion = w.client("operator").get(f"/api/tickets/{number}/suggestion").json()
    assert suggestion["main_unit"] == "市城管局"
    t = act(w, "operator", number, "dispatch", main_unit="市城管局", expected_version=0)
    assert t["status"] == "dispatched" and t["main_unit"] == "市城管局"
    w.clock.advance(minutes=20)
    t = act(w, "cg", number, "sign")
    assert t["status"] == "signed" and set(t["allowed_actions"]) >= {"return", "start_handling"}
    act(w, "cg", number, "start")
    w.clock.advance(hours=5)
    t = act(w, "cg", number, "reply", text="已更换路灯灯泡，恢复照明")
    assert t["status"] == "replied" and t["replies"][0]["unit"] == "市城管局"
    t = act(w, "supervisor", number, "review", approve=True)
    assert t["status"] == "reviewed"
    act(w, "callback", number, "revisit/start")
    t = act(w, "callback", number, "revisit", result="满意")
    assert t["status"] == "closed" and t["surveys"][0]["result"] == "满意"
    assert t["light"] == "none" and t["allowed_actions"] == []
    act(w, "supervisor", number, "archive")
    log = w.client("supervisor").get(f"/api/tickets/{number}/events").json()
    assert [(e["action"], e["actor"]) for e in log] == [
        ("create", "operator"), ("dispatch", "operator"), ("sign", "cg"),
        ("start_handling", "cg"), ("reply", "cg"), ("review", "supervisor"),
        ("start_revisit", "callback"), ("revisit", "callback"), ("archive", "supervisor")]
    assert log[2]["before_status"] == "dispatched" and log[2]["after_status"] == "signed"


def test_a_unit_handler_sees_and_acts_only_on_its_units_tickets(api_world: ApiWorld) -> None:
    w = api_world
    ours = dispatched(w, "市城管局")
    theirs = dispatched(w, "市住建局", description="小区电梯经常停运，物业不修")
    listed = w.client("cg").get("/api/tickets").json()["items"]
    assert [t["number"] for t in listed] == [ours]
    assert listed[0]["caller_phone"] == "138****5678"  # masked in lists
    assert w.client("cg").get(f"/api/tickets/{ours}").json()["caller_phone"] == CALLER
    r = w.client("cg").get(f"/api/tickets/{theirs}")
    assert r.status_code == 403 and r.json()["error_id"] == "ticket-of-another-unit"
    assert w.client("cg").post(f"/api/tickets/{theirs}/sign", json={}).status_code == 403
    assert w.client("cg").get(f"/api/tickets/{theirs}/events").status_code == 403
    # unit actions are the units', center actions the center's
    assert w.client("operator").post(f"/api/tickets/{ours}/sign", json={}).status_code == 403
    assert w.client("cg").post(f"/api/tickets/{ours}/review",
                               json={"approve": True}).status_code == 403
    assert w.client("zj").get(f"/api/tickets/{theirs}").status_code == 200


def test_two_operators_dispatching_the_same_version_one_wins_one_gets_409(
        api_world: ApiWorld) -> None:
    w = api_world
    number = create(w)["number"]
    act(w, "operator", number, "dispatch", main_unit="市城管局", expected_version=0)
    r = w.client("supervisor").post(f"/api/tickets/{number}/dispatch",
                                    json={"main_unit": "市住建局", "expected_version": 0})
    assert r.status_code == 409 and r.json()["error_id"] == "ticket-changed-concurrently"
    t = w.client("operator").get(f"/api/tickets/{number}").json()
    assert t["main_unit"] == "市城管局" and t["version"] == 1
    events = w.client("operator").get(f"/api/tickets/{number}/events").json()
    assert [e["action"] for e in events] == ["create", "dispatch"]


def test_concurrent_dispatches_in_threads_never_both_win(api_world: ApiWorld) -> None:
    w = api_world
    number = create(w)["number"]
    answers: list[int] = []
    start = threading.Barrier(2)

    def dispatch(user: str, unit: str) -> None:
        client = w.client(user)
        start.wait()
        answers.append(client.post(f"/api/tickets/{number}/dispatch",
                                   json={"main_unit": unit, "expected_version": 0}).status_code)

    threads = [threading.Thread(target=dispatch, args=a)
               for a in (("operator", "市城管局"), ("supervisor", "市住建局"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    events = w.client("operator").get(f"/api/tickets/{number}/events").json()
    assert [e["action"] for e in events] == ["create", "dispatch"]


def test_an_action_the_state_does_not_allow_is_409_with_what_is_allowed(
        api_world: ApiWorld) -> None:
    w = api_world
    number = dispatched(w)
    body = act(w, "supervisor", number, "review", 409, approve=True)
    assert body["error_id"] == "action-not-allowed"
    assert "dispatched" in body["message"] and body["details"]["status"] == "dispatched"
    body = act(w, "supervisor", number, "review", 422, approve=False)  # a send-back needs why
    assert body["details"]["fields"][0]["location"] == "body"


def test_return_then_redispatch_moves_the_ticket_to_the_other_unit(api_world: ApiWorld) -> None:
    w = api_world
    number = dispatched(w)
    act(w, "cg", number, "sign")
    w.clock.advance(hours=1)
    t = act(w, "cg", number, "return", reason="电梯属于住建部门监管，不是本单位职责")
    assert t["status"] == "returned"
    t = act(w, "operator", number, "review-return", redispatch_to="市住建局",
            reason="职责清单：电梯安全归市住建局")
    assert t["status"] == "dispatched" and t["main_unit"] == "市住建局"
    assert w.client("zj").get(f"/api/tickets/{number}").status_code == 200
    act(w, "zj", number, "sign")
    # the unit that returned it still sees its history, but can no longer act
    assert w.client("cg").get(f"/api/tickets/{number}").json()["allowed_actions"] == []
    act(w, "cg", number, "reply", 409, text="已处理")


def test_extension_approved_moves_the_deadline_later(api_world: ApiWorld) -> None:
    w = api_world
    number = dispatched(w)
    act(w, "cg", number, "sign")
    t = act(w, "cg", number, "start")
    before = t["handling_deadline"]
    act(w, "cg", number, "extension", days=3, reason="需要协调供电公司更换线路")
    t = act(w, "supervisor", number, "extension-decision", approve=True)
    assert t["handling_deadline"] > before
    assert t["extensions"][0]["decision"] == "approved" and t["extensions"][0]["days"] == 3
    act(w, "cg", number, "extension", 422, days=15, reason="太多了")


def test_an_unsatisfied_revisit_sends_the_ticket_back_once(api_world: ApiWorld) -> None:
    w = api_world
    number = dispatched(w)
    act(w, "cg", number, "sign")
    act(w, "cg", number, "start")
    statuses = []
    for _ in range(2):
        act(w, "cg", number, "reply", text="已处理完毕")
        act(w, "supervisor", number, "review", approve=True)
        act(w, "callback", number, "revisit/start")
        t = act(w, "callback", number, "revisit", result="不满意")
        statuses.append(t["status"])
    assert statuses == ["in_progress", "closed"]  # 重办 once, then the result stands
    assert [s["result"] for s in t["surveys"]] == ["不满意", "不满意"]


def test_double_dispatch_main_replies_after_the_assisting_unit(api_world: ApiWorld) -> None:
    w = api_world
    number = create(w)["number"]
    act(w, "operator", number, "dispatch", main_unit="市城管局", assist_units=["市住建局"])
    for unit in ("cg", "zj"):
        act(w, unit, number, "sign")
    act(w, "cg", number, "start")
    act(w, "cg", number, "reply", 409, text="主办单位答复")
    act(w, "zj", number, "reply", text="协办单位已配合检查线路")
    t = act(w, "cg", number, "reply", text="主办单位答复：已修复")
    assert t["status"] == "replied" and len(t["replies"]) == 2


def test_answer_now_merge_and_emergency_transfer(api_world: ApiWorld) -> None:
    w = api_world
    first = create(w)["number"]
    t = act(w, "operator", first, "answer-now", answer="政务服务中心工作日9点到17点办公")
    assert t["status"] == "closed"
    parent = dispatched(w)
    child = create(w, caller_phone="13900001111")["number"]
    t = act(w, "operator", child, "merge", parent=parent)
    assert t["status"] == "merged" and t["parent_number"] == parent
    assert w.client("operator").get(f"/api/tickets/{parent}").json()["children"] == [child]
    fire = create(w, description="楼道里着火了有浓烟")["number"]
    assert act(w, "operator", fire, "emergency-transfer", line="119")["status"] == "transferred"
    act(w, "operator", fire, "emergency-transfer", 422, line="999")


def test_the_unit_of_an_urgent_ticket_records_arrival_once_through_its_own_endpoint(
        api_world: ApiWorld) -> None:
    w = api_world
    number = dispatched(w, urgency="urgent")
    body = act(w, "cg", number, "arrive", 409)  # it signs first
    assert body["error_id"] == "action-not-allowed"
    assert set(body["details"]["allowed"]) >= {"sign", "return"}
    t = act(w, "cg", number, "sign")
    assert "arrive" in t["allowed_actions"]
    assert t["assignments"][0]["arrived_at"] is None
    assert w.client("operator").post(f"/api/tickets/{number}/arrive",
                                     json={}).status_code == 403
    w.clock.advance(minutes=12)

    t = act(w, "cg", number, "arrive")

    assert t["status"] == "signed" and "arrive" not in t["allowed_actions"]
    [assignment] = t["assignments"]
    assert assignment["arrived_at"] is not None and assignment["on_site_by"] is not None
    log = w.client("cg").get(f"/api/tickets/{number}/events").json()
    assert [(e["action"], e["actor"]) for e in log][-1] == ("arrive", "cg")
    assert act(w, "cg", number, "arrive", 409)["details"]["status"] == "signed"
    ordinary = dispatched(w, description="小区门口垃圾没人清运")
    act(w, "cg", ordinary, "sign")
    act(w, "cg", ordinary, "arrive", 409)
