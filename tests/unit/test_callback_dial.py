"""拨打 on the callback agent's page (``hotline.web.pages.callback``) on SQLite: the page's
click-to-call stores the agent call and starts it through the real ``AgentCaller`` (Asterisk
answers in memory: ``AgentAsterisk``), the row's cell shows the call running then how it ended
(answered; not placed, my phone or the caller not answering, the caller busy), and the
refusals (no telephony, no phone of mine, the number already in a call, a role that may not)
are shown in Chinese. The call through the real sandbox is
tests/integration/test_outbound_calls.py's click-to-call."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.errors import AmiUnavailable
from hotline.outbound.agent_calls import AgentCaller
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.outbound.rules import CallingHours
from hotline.outbound.service import Policy
from hotline.outbound.settings import OutboundSettings
from hotline.web.pages import include_pages
from tests.api import CENTER, PASSWORD, ApiWorld, make_world
from tests.unit.test_api_outbound import AgentAsterisk, ended
from tests.unit.test_public_pages import PHONE, reviewed_web_ticket

REPO = Path(__file__).resolve().parents[2]


class HeldAsterisk(AgentAsterisk):
    """Answers like ``AgentAsterisk`` once ``release`` is set: until then the call rings."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.release = threading.Event()

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        await asyncio.to_thread(self.release.wait)
        return await super().send(action, timeout=timeout, as_list=as_list)


class NoAsterisk:
    """The AMI client while Asterisk is away: every action refused at once."""

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        raise AmiUnavailable("AMI is not connected (127.0.0.1:5038 refused)")


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:
    world = make_world(sqlite_engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web")
    yield world
    world.close()


def agent_caller(world: ApiWorld, ami: Any) -> None:
    world.app.state.agent_caller = AgentCaller(
        ami=ami, engine=world.engine, clock=world.clock,
        settings=OutboundSettings(agent_phones={"callback": "PJSIP/seat3"}),
        policy=Policy(hours=CallingHours(tz=CENTER)), poll_seconds=0.01)


def logged_in(world: ApiWorld, username: str) -> TestClient:
    """A browser-like client (session cookie, CSRF header) whose app loop runs until closed."""
    client = TestClient(world.app, base_url="http://hotline.test")
    client.__enter__()
    login = client.post("/api/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    client.headers["X-CSRF-Token"] = login.headers["x-csrf-token"]
    return client


def dial(client: TestClient, number: str) -> tuple[int, str]:
    r = client.post(f"/callback/tickets/{number}/call", headers={"HX-Request": "true"})
    return r.status_code, r.text


def after_the_call(world: ApiWorld, agent: TestClient, number: str
                   ) -> tuple[OutboundCall, OutboundAttempt, str]:
    """The only agent call, once it has ended, and the row's cell then."""
    with Session(world.engine) as session:
        [call] = session.exec(select(OutboundCall)).all()
        [attempt] = session.exec(select(OutboundAttempt)).all()
    assert attempt.id is not None
    done = ended(world, attempt.id)
    return call, done, agent.get(f"/callback/tickets/{number}/call").text


def state(html: str) -> str:
    found = re.search(r'class="agent-call[^"]*" data-state="([a-z_]+)"', html)
    assert found is not None, html
    return found.group(1)


def test_given_my_phone_when_i_press_dial_then_it_rings_me_then_the_caller_and_ends(
    world: ApiWorld,
) -> None:
    number = reviewed_web_ticket(world.engine, world.clock())
    ami = HeldAsterisk()
    agent_caller(world, ami)
    agent = logged_in(world, "callback")
    try:
        page = agent.get("/callback").text
        assert f'hx-post="/callback/tickets/{number}/call"' in page and ">拨打</button>" in page

        status, cell = dial(agent, number)
        assert status == 200 and state(cell) == "calling"
        assert "正在呼叫" in cell and "PJSIP/seat3" in cell and PHONE in cell
        assert f'hx-get="/callback/tickets/{number}/call" hx-trigger="every 1s"' in cell
        assert ">拨打</button>" not in cell  # one call at a time from the row

        status, cell = dial(agent, number)  # pressed again while it rings
        assert status == 409 and "该号码正在通话中" in cell
        assert 'data-error-id="number-in-a-call"' in cell and state(cell) == "calling"
        assert state(agent.get("/callback").text) == "calling"  # the queue shows it too

        ami.release.set()
        call, done, cell = after_the_call(world, agent, number)
    finally:
        ami.release.set()
        agent.__exit__(None, None, None)
    assert (call.purpose, call.number, call.phone) == ("agent", number, PHONE)
    assert (done.outcome, done.detail["agent"], done.detail["agent_phone"]) == (
        "answered", "callback", "PJSIP/seat3")
    assert state(cell) == "answered" and "上次回拨：已接通，通话已结束" in cell
    assert ">拨打</button>" in cell  # may be called again
    assert ami.sent[0]["Channel"] == "PJSIP/seat3"


@pytest.mark.parametrize(("ami", "outcome", "shown"), [
    (NoAsterisk(), "failed", "呼叫失败：电话系统未能发起呼叫"),
    (AgentAsterisk(agent_answers=False), "no_answer", "上次回拨：您的话机未接听"),
    (AgentAsterisk(dial_status="NOANSWER"), "no_answer", "上次回拨：来电人未接听"),
    (AgentAsterisk(dial_status="BUSY"), "busy", "上次回拨：来电人忙线"),
], ids=["asterisk-away", "agent-not-answering", "caller-not-answering", "caller-busy"])
def test_given_a_call_that_did_not_go_through_when_it_ends_then_the_row_says_why(
    world: ApiWorld, ami: Any, outcome: str, shown: str,
) -> None:
    number = reviewed_web_ticket(world.engine, world.clock())
    agent_caller(world, ami)
    agent = logged_in(world, "callback")
    try:
        status, cell = dial(agent, number)
        assert status == 200
        _, done, cell = after_the_call(world, agent, number)
    finally:
        agent.__exit__(None, None, None)
    assert done.outcome == outcome and state(cell) == outcome and shown in cell
    assert ">拨打</button>" in cell
    if isinstance(ami, NoAsterisk):  # the AMI client's reason, on the attempt and shown
        assert "AMI is not connected" in done.detail["error"]
        assert "AMI is not connected" in cell


def test_given_no_phone_or_no_telephony_when_i_press_dial_then_told_why_in_chinese(
    world: ApiWorld,
) -> None:
    number = reviewed_web_ticket(world.engine, world.clock())
    agent = logged_in(world, "callback")
    supervisor = logged_in(world, "supervisor")
    handler = logged_in(world, "cg")
    try:
        status, cell = dial(agent, number)  # this process has no telephony
        assert status == 200 and 'data-error-id="ami-unavailable"' in cell
        assert "电话系统未接入本服务" in cell and ">拨打</button>" in cell

        agent_caller(world, HeldAsterisk())
        status, cell = dial(supervisor, number)  # no seat, not in outbound.agent_phones
        assert status == 409 and 'data-error-id="agent-has-no-phone"' in cell
        assert "您没有可振铃的话机" in cell

        assert dial(handler, number)[0] == 403
        status, cell = dial(agent, "20990101-99999")
        assert status == 404 and 'data-error-id="no-such-ticket"' in cell
    finally:
        for client in (agent, supervisor, handler):
            client.__exit__(None, None, None)
    with Session(world.engine) as session:
        assert session.exec(select(OutboundCall)).all() == []
