"""The outbound calls API with each role, on SQLite and PostgreSQL (``api_world`` runs both):
the callback queue filled by the real scheduler (a survey's only attempt not answered), the
escalation list by a red ticket whose unit has no duty phone, the do-not-call list by hand.
The dialer is the ``Dialer`` port in memory (``ScriptedDialer``); everything else is real."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from hotline.db import session_scope
from hotline.errors import AmiActionFailed
from hotline.outbound.agent_calls import AgentCaller
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.outbound.ports import CallReport
from hotline.outbound.rules import CallingHours, Outcome, RetryPolicy
from hotline.outbound.scheduler import OutboundScheduler
from hotline.outbound.service import Policy
from hotline.outbound.settings import OutboundSettings
from hotline.tickets.models import Ticket, Unit
from tests.api import CENTER, ApiWorld
from tests.unit.test_outbound_service import ScriptedDialer

CALLER = "13812345678"
MAIN = "市城管局"


def post(world: ApiWorld, user: str, path: str, status: int = 200, **body: Any) -> Any:
    r = world.client(user).post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def scheduler(world: ApiWorld, dialer: ScriptedDialer) -> OutboundScheduler:
    s = OutboundScheduler(engine=world.engine, clock=world.clock, dialer=dialer,
                          policy=Policy(hours=CallingHours(tz=CENTER),
                                        retry=RetryPolicy(max_attempts=1)))
    s.plan_and_claim()  # reads the outbox from now on
    return s


def run(s: OutboundScheduler) -> None:
    asyncio.run(s.run_once(wait=True))


def replied(world: ApiWorld) -> str:
    number: str = post(world, "operator", "/api/tickets", 201, request_type="求助",
                       caller_phone=CALLER, description="幸福路路灯不亮")["number"]
    post(world, "operator", f"/api/tickets/{number}/dispatch", main_unit=MAIN)
    for action, body in (("sign", {}), ("start", {}), ("reply", {"text": "已修好"})):
        post(world, "cg", f"/api/tickets/{number}/{action}", **body)
    return number


def in_callback_queue(world: ApiWorld) -> tuple[str, int]:
    """An approved phone ticket whose only survey attempt was not answered."""
    s = scheduler(world, ScriptedDialer([CallReport(Outcome.NO_ANSWER)]))
    number = replied(world)
    post(world, "supervisor", f"/api/tickets/{number}/review", approve=True)
    run(s)
    [item] = world.client("callback").get("/api/outbound/callbacks").json()
    return number, int(item["id"])


def test_the_callback_agent_takes_a_survey_and_records_satisfied_with_a_comment(
    api_world: ApiWorld,
) -> None:
    w = api_world
    number, call_id = in_callback_queue(w)
    [item] = w.client("callback").get("/api/outbound/callbacks").json()
    assert (item["ticket"], item["phone"], item["attempts"], item["last_outcome"]) == (
        number, CALLER, 1, "no_answer")
    assert item["taken_by"] is None

    taken = post(w, "callback", f"/api/outbound/callbacks/{call_id}/take")
    assert taken["taken_by"] == "callback"
    post(w, "supervisor", f"/api/outbound/callbacks/{call_id}/take", 409)  # another's
    post(w, "callback", f"/api/outbound/callbacks/{call_id}/result", 422, result="还行")

    done = post(w, "callback", f"/api/outbound/callbacks/{call_id}/result", result="满意",
                comment="灯已经亮了")
    assert (done["status"], done["result"], done["attempts"]) == ("done", "满意", 2)
    ticket = w.client("callback").get(f"/api/tickets/{number}").json()
    assert ticket["status"] == "closed" and ticket["surveys"][0]["result"] == "满意"
    assert w.client("callback").get("/api/outbound/callbacks").json() == []
    post(w, "callback", f"/api/outbound/callbacks/{call_id}/result", 409, result="满意")
    with Session(w.engine) as session:
        agent_attempt = session.exec(select(OutboundAttempt).where(
            OutboundAttempt.attempt == 2)).one()
    assert (agent_attempt.trunk, agent_attempt.detail["comment"]) == ("agent", "灯已经亮了")


def test_an_unsatisfied_callback_opens_the_redo(api_world: ApiWorld) -> None:
    number, call_id = in_callback_queue(api_world)
    post(api_world, "supervisor", f"/api/outbound/callbacks/{call_id}/result", result="不满意")
    ticket = api_world.client("supervisor").get(f"/api/tickets/{number}").json()
    assert ticket["status"] == "in_progress"


def test_callbacks_are_for_callback_roles_and_unknown_ids_are_404(api_world: ApiWorld) -> None:
    w = api_world
    assert w.client("operator").get("/api/outbound/callbacks").status_code == 403
    assert w.client("cg").get("/api/outbound/do-not-call").status_code == 403
    assert w.anonymous().get("/api/outbound/callbacks").status_code == 401
    r = w.client("callback").post("/api/outbound/callbacks/999/take")
    assert (r.status_code, r.json()["error_id"]) == (404, "no-such-outbound-call")


def test_a_callback_queued_survey_leaves_the_queue_when_an_agent_closes_the_ticket(
    api_world: ApiWorld,
) -> None:
    w = api_world
    number, call_id = in_callback_queue(w)
    post(w, "callback", f"/api/tickets/{number}/close", reason="来电人不愿回访")
    s = scheduler(w, ScriptedDialer())
    with session_scope(w.engine) as session:  # the new scheduler reads the outbox from 0
        from hotline.outbound.store import write_cursor
        write_cursor(session=session, name="outbound", cursor=0)
    run(s)
    assert w.client("callback").get("/api/outbound/callbacks").json() == []
    r = w.client("callback").post(f"/api/outbound/callbacks/{call_id}/take")
    assert (r.status_code, r.json()["error_id"]) == (409, "not-in-callback-queue")


def test_supervisors_resolve_escalations_with_a_note(api_world: ApiWorld) -> None:
    w = api_world
    with session_scope(w.engine) as session:
        unit = session.exec(select(Unit).where(Unit.name == MAIN)).one()
        unit.duty_phone = ""
        session.add(unit)
    s = scheduler(w, ScriptedDialer())
    number: str = post(w, "operator", "/api/tickets", 201, request_type="求助",
                       caller_phone=CALLER, description="井盖丢失")["number"]
    post(w, "operator", f"/api/tickets/{number}/dispatch", main_unit=MAIN)
    w.clock.advance(days=3)  # far past the signing deadline: red
    from hotline.tickets.scanner import lights_changed
    with session_scope(w.engine) as session:
        lights_changed(session=session, now=w.clock.now)
    run(s)

    assert w.client("callback").get("/api/outbound/escalations").status_code == 403
    [row] = w.client("supervisor").get("/api/outbound/escalations").json()
    assert (row["ticket"], row["unit"], row["reason"]) == (number, MAIN, "no_duty_phone")
    path = f"/api/outbound/escalations/{row['id']}/resolve"
    post(w, "supervisor", path, 422, note="")
    done = post(w, "supervisor", path, note="已电话联系单位负责人")
    assert (done["resolved_by"], done["note"]) == ("supervisor", "已电话联系单位负责人")
    assert post(w, "admin", path, 409, note="再次")["error_id"] == "escalation-resolved"
    assert w.client("supervisor").get("/api/outbound/escalations").json() == []
    resolved = w.client("supervisor").get("/api/outbound/escalations?resolved=true").json()
    assert [r["note"] for r in resolved] == ["已电话联系单位负责人"]
    assert w.client("admin").post("/api/outbound/escalations/999/resolve",
                                  json={"note": "x"}).status_code == 404


def test_the_do_not_call_list_is_kept_by_hand_and_its_numbers_are_never_dialled(
    api_world: ApiWorld,
) -> None:
    w = api_world
    added = post(w, "callback", "/api/outbound/do-not-call", 201, phone="138-1234-5678",
                 reason="本人要求不再回访")
    assert (added["phone"], added["added_by"]) == (CALLER, "callback")
    post(w, "callback", "/api/outbound/do-not-call", 422, phone="abc")
    [row] = w.client("supervisor").get("/api/outbound/do-not-call").json()
    assert row["reason"] == "本人要求不再回访"
    assert w.client("admin").get("/api/outbound/do-not-call").json()[0]["phone"] != CALLER

    dialer = ScriptedDialer()
    s = scheduler(w, dialer)
    number = replied(w)
    post(w, "supervisor", f"/api/tickets/{number}/review", approve=True)
    run(s)
    assert dialer.placed == []

    assert w.client("callback").delete(f"/api/outbound/do-not-call/{CALLER}").status_code == 204
    r = w.client("callback").delete(f"/api/outbound/do-not-call/{CALLER}")
    assert (r.status_code, r.json()["error_id"]) == (404, "not-on-do-not-call-list")
    assert w.client("callback").get("/api/outbound/do-not-call").json() == []


class AgentAsterisk:
    """Answers like Asterisk: Originate answered by the agent (the channel named in
    ``OriginateResponse``), ``DIALSTATUS`` while the channel lives, then "No such channel"."""

    def __init__(self, *, agent_answers: bool = True, dial_status: str = "ANSWER",
                 polls: int = 2) -> None:
        self.agent_answers, self.dial_status, self.polls = agent_answers, dial_status, polls
        self.sent: list[dict[str, Any]] = []

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        self.sent.append(action)
        if action["Action"] == "Originate":
            ok = self.agent_answers
            return [{"Response": "Success"},
                    {"Event": "OriginateResponse", "Response": "Success" if ok else "Failure",
                     "Reason": "4" if ok else "3", "Channel": "PJSIP/seat3-00000001",
                     "Uniqueid": action["ChannelId"]}]
        if self.polls == 0:
            raise AmiActionFailed("Getvar refused by Asterisk: No such channel", action="Getvar")
        self.polls -= 1
        return {"Response": "Success", "Variable": "DIALSTATUS", "Value": self.dial_status}


def with_agent_caller(world: ApiWorld, ami: AgentAsterisk) -> AgentCaller:
    caller = AgentCaller(ami=ami, engine=world.engine, clock=world.clock,
                         settings=OutboundSettings(agent_phones={"callback": "PJSIP/seat3"}),
                         policy=Policy(hours=CallingHours(tz=CENTER)), poll_seconds=0.01)
    world.app.state.agent_caller = caller
    return caller


def live_client(world: ApiWorld, user: str) -> TestClient:
    """A client whose event loop lives until the ``with`` block ends (tasks keep running)."""
    return TestClient(world.app, headers={"Authorization": f"Bearer {world.tokens[user]}"})


def ended(world: ApiWorld, attempt_id: int) -> OutboundAttempt:
    for _ in range(500):
        with Session(world.engine) as session:
            attempt = session.get(OutboundAttempt, attempt_id)
            if attempt is not None and attempt.outcome is not None:
                return attempt
        time.sleep(0.01)
    raise AssertionError(f"attempt {attempt_id} never ended")


def test_click_to_call_rings_the_agent_then_bridges_the_caller_recorded_and_linked(
    api_world: ApiWorld,
) -> None:
    w = api_world
    ami = AgentAsterisk()
    with_agent_caller(w, ami)
    number = replied(w)

    with live_client(w, "callback") as client:  # the app's loop runs on: the call goes on
        r = client.post("/api/outbound/click-to-call", json={"ticket": number})
        assert r.status_code == 202, r.text
        placed = r.json()
        attempt = ended(w, placed["attempt_id"])

    assert (placed["ticket"], placed["phone"], placed["agent_phone"]) == (
        number, CALLER, "PJSIP/seat3")
    assert (attempt.outcome, attempt.detail["dial_status"], attempt.detail["agent"]) == (
        "answered", "ANSWER", "callback")
    assert attempt.detail["recording"] == placed["recording"]
    originate = ami.sent[0]
    assert (originate["Channel"], originate["Context"], originate["ChannelId"]) == (
        "PJSIP/seat3", "hotline-agent-callback", placed["uniqueid"])
    assert f"HOTLINE_DIAL=PJSIP/{CALLER}" in originate["Variable"]
    assert f"HOTLINE_AGENT_REC={placed['recording']}" in originate["Variable"]
    with Session(w.engine) as session:
        call = session.get(OutboundCall, placed["call_id"])
        assert call is not None
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
    assert (call.purpose, call.status, call.ticket_id, call.active_number) == (
        "agent", "done", ticket.id, None)


def test_click_to_call_refusals(api_world: ApiWorld) -> None:
    w = api_world
    number = replied(w)
    r = w.client("callback").post("/api/outbound/click-to-call", json={"ticket": number})
    assert (r.status_code, r.json()["error_id"]) == (503, "ami-unavailable")
    with_agent_caller(w, AgentAsterisk(agent_answers=False))
    r = w.client("supervisor").post("/api/outbound/click-to-call", json={"ticket": number})
    assert (r.status_code, r.json()["error_id"]) == (409, "agent-has-no-phone")
    assert w.client("cg").post("/api/outbound/click-to-call",
                               json={"ticket": number}).status_code == 403
    r = w.client("callback").post("/api/outbound/click-to-call", json={"ticket": "x"})
    assert r.status_code == 404
    with live_client(w, "callback") as client:
        placed = client.post("/api/outbound/click-to-call", json={"ticket": number}).json()
        attempt = ended(w, placed["attempt_id"])  # the agent did not pick up
    assert (attempt.outcome, attempt.detail["agent_leg"]) == ("no_answer", "no_answer")
