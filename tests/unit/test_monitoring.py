"""Monitoring live calls on a real SQLite database with a fake AMI (a real ``AmiSender`` that
answers like Asterisk does): each mode needs its own permission, the originate rings the
user's phone into the ChanSpy context with the agent's channel as target, and every session is
in the audit log with its start and end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.audit.models import AuditEntry
from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.errors import AmiActionFailed
from hotline.monitoring.errors import CallNotLive, ModeNotAllowed, NoMonitorPhone
from hotline.monitoring.rules import Mode, modes_of, spy_target
from hotline.monitoring.service import Monitor, live_calls, open_session, originate
from hotline.monitoring.settings import MonitoringSettings
from hotline.users.models import Role, User
from hotline.web.pages import include_pages
from tests.api import ApiWorld, make_world, sqlite_engine, sqlite_template  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
SETTINGS = MonitoringSettings(
    roles={"supervisor": ["monitor_listen"], "admin": ["monitor_listen", "monitor_whisper"]},
    users={"supervisor": ["monitor_barge"]},
    phones={"supervisor": "PJSIP/sup1", "admin": "PJSIP/adm1"})


class FakeAmi:
    """Answers Originate with ``OriginateResponse`` (answered or not) and Getvar for as long
    as the channel is up; ``hang_up`` ends it."""

    def __init__(self, *, answer: bool = True) -> None:
        self.answer = answer
        self.sent: list[dict[str, Any]] = []
        self.up: set[str] = set()
        self.answered = asyncio.Event()

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        self.sent.append(action)
        name = action["Action"]
        if name == "Originate":
            if not self.answer:
                return [{"Response": "Success"}, {"Event": "OriginateResponse",
                                                  "Response": "Failure", "Reason": "3"}]
            channel = f"{action['Channel']}-00000001"
            self.up.add(channel)
            self.answered.set()
            return [{"Response": "Success"}, {"Event": "OriginateResponse",
                                              "Response": "Success", "Channel": channel}]
        if name == "Getvar":
            if action["Channel"] not in self.up:
                raise AmiActionFailed("Getvar refused by Asterisk: No such channel",
                                      action="Getvar")
            return {"Response": "Success", "Value": "Up"}
        if name == "Hangup":
            self.up.discard(action["Channel"])
            return {"Response": "Success"}
        raise AssertionError(f"unexpected action {action}")


def user(name: str, role: Role) -> User:
    return User(username=name, role=role, password_hash="x")


def test_each_mode_is_a_permission_of_the_role_or_of_the_user() -> None:
    assert modes_of(user="zhang", role="supervisor", settings=SETTINGS) == {Mode.LISTEN}
    assert modes_of(user="supervisor", role="supervisor", settings=SETTINGS) == {
        Mode.LISTEN, Mode.BARGE}
    assert modes_of(user="admin", role="admin", settings=SETTINGS) == {Mode.LISTEN,
                                                                       Mode.WHISPER}
    assert modes_of(user="op", role="operator", settings=SETTINGS) == set()
    # by default supervisors listen and nothing more
    assert modes_of(user="x", role="supervisor", settings=MonitoringSettings()) == {Mode.LISTEN}


def test_unknown_permissions_are_refused_in_the_settings() -> None:
    with pytest.raises(ValueError, match="monitor_spy"):
        MonitoringSettings(roles={"supervisor": ["monitor_spy"]})


def test_the_target_is_the_agents_channel_once_answered_else_the_callers() -> None:
    assert spy_target(Call(uniqueid="1", started_at=None, channel="PJSIP/sipp-0001",  # type: ignore[arg-type]
                           answered_by="seat1")) == "PJSIP/seat1-"
    assert spy_target(Call(uniqueid="1", started_at=None, channel="PJSIP/sipp-0001",  # type: ignore[arg-type]
                           answered_by="PJSIP/seat2")) == "PJSIP/seat2-"
    assert spy_target(Call(uniqueid="1", started_at=None,  # type: ignore[arg-type]
                           channel="PJSIP/sipp-0001")) == "PJSIP/sipp-0001"


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: F811
    world = make_world(sqlite_engine, tmp_path)
    with session_scope(sqlite_engine) as session:
        now = world.clock()
        session.add(Call(uniqueid="live.1", channel="PJSIP/citizen1-00000007",
                         caller_number="13812345678", started_at=now - timedelta(minutes=3),
                         answered_by="seat1"))
        session.add(Call(uniqueid="over.1", channel="PJSIP/citizen2-00000003",
                         started_at=now - timedelta(minutes=30), ended_at=now))
        session.add(Call(uniqueid="hotline-spy-9", channel="PJSIP/sup1-00000001",
                         started_at=now))
    try:
        yield world
    finally:
        world.close()


def entries(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(AuditEntry.id)).all())  # type: ignore[arg-type]


def test_only_calls_in_progress_are_live_and_our_own_legs_are_not(world: ApiWorld) -> None:
    with Session(world.engine) as session:
        assert [c.uniqueid for c in live_calls(session=session, now=world.clock())] == ["live.1"]


def test_opening_refuses_a_mode_not_granted_a_user_without_phone_and_a_call_that_ended(
        world: ApiWorld) -> None:
    sup = user("zhang", Role.supervisor)
    with Session(world.engine) as session:
        with pytest.raises(ModeNotAllowed):
            open_session(session=session, user=sup, call_uniqueid="live.1", mode=Mode.WHISPER,
                         settings=SETTINGS, now=world.clock())
        with pytest.raises(NoMonitorPhone):
            open_session(session=session, user=sup, call_uniqueid="live.1", mode=Mode.LISTEN,
                         settings=SETTINGS, now=world.clock())
        with pytest.raises(CallNotLive):
            open_session(session=session, user=user("supervisor", Role.supervisor),
                         call_uniqueid="over.1", mode=Mode.LISTEN, settings=SETTINGS,
                         now=world.clock())
    assert entries(world.engine) == []


def test_a_session_rings_the_phone_into_chanspy_and_is_logged_from_start_to_end(
        world: ApiWorld) -> None:
    ami = FakeAmi()
    monitor = Monitor(ami=ami, engine=world.engine, clock=world.clock,
                      settings=SETTINGS.model_copy(update={"poll_seconds": 0.01}))
    with session_scope(world.engine) as session:
        ms = open_session(session=session, user=user("supervisor", Role.supervisor),
                          call_uniqueid="live.1", mode=Mode.BARGE, settings=SETTINGS,
                          now=world.clock())
    assert originate(ms, SETTINGS) == {
        "Action": "Originate", "Channel": "PJSIP/sup1", "Context": "hotline-monitor",
        "Exten": "barge", "Priority": "1", "CallerID": SETTINGS.caller_id, "Timeout": "20000",
        "Async": "true", "ChannelId": f"hotline-spy-{ms.entry_id}",
        "Variable": "HOTLINE_SPY_TARGET=PJSIP/seat1-"}
    [started] = entries(world.engine)
    assert (started.action, started.actor, started.call_uniqueid, started.ended_at) == (
        "barge", "supervisor", "live.1", None)

    async def scenario() -> None:
        task = monitor.launch(ms)
        await ami.answered.wait()
        assert [m.entry_id for m in monitor.running("supervisor")] == [ms.entry_id]
        world.clock.advance(minutes=2)
        assert await monitor.hang_up(ms.entry_id)
        await task

    asyncio.run(scenario())
    [ended] = entries(world.engine)
    assert ended.ended_at is not None
    assert ended.ended_at.replace(tzinfo=None) - ended.at.replace(tzinfo=None) == timedelta(
        minutes=2)
    assert ended.detail == {"phone": "PJSIP/sup1", "target": "PJSIP/seat1-", "answered": True,
                            "channel": "PJSIP/sup1-00000001"}
    assert monitor.running() == []


def test_a_session_not_answered_is_closed_with_the_reason(world: ApiWorld) -> None:
    monitor = Monitor(ami=FakeAmi(answer=False), engine=world.engine, clock=world.clock,
                      settings=SETTINGS)
    with session_scope(world.engine) as session:
        ms = open_session(session=session, user=user("supervisor", Role.supervisor),
                          call_uniqueid="live.1", mode=Mode.LISTEN, settings=SETTINGS,
                          now=world.clock())
    asyncio.run(monitor.run(ms))
    [entry] = entries(world.engine)
    assert entry.ended_at is not None and entry.detail is not None
    assert (entry.detail["answered"], entry.detail["outcome"]) == (False, "no_answer")


def test_the_page_offers_the_users_modes_and_starts_a_logged_session(world: ApiWorld) -> None:
    ami = FakeAmi(answer=False)  # the session ends at once: nothing left running
    world.app.state.monitor = Monitor(ami=ami, engine=world.engine, clock=world.clock,
                                      settings=SETTINGS)
    include_pages(world.app, web_dir=REPO / "web")
    sup = world.client("supervisor")
    page = sup.get("/supervisor/monitor")
    assert page.status_code == 200
    assert 'data-call="live.1"' in page.text and 'data-call="over.1"' not in page.text
    assert 'value="listen"' in page.text and 'value="barge"' in page.text
    assert 'value="whisper"' not in page.text

    refused = sup.post("/supervisor/monitor", data={"call": "live.1", "mode": "whisper"})
    assert refused.status_code == 403 and "monitor-mode-not-allowed" in refused.text
    started = sup.post("/supervisor/monitor", data={"call": "live.1", "mode": "listen"},
                       follow_redirects=False)
    assert started.status_code == 303
    [entry] = entries(world.engine)
    assert (entry.action, entry.actor, entry.call_uniqueid) == ("listen", "supervisor", "live.1")
    assert 'class="monitor-entry" data-action="listen"' in sup.get("/supervisor/monitor").text
    assert world.client("operator").get("/supervisor/monitor").status_code == 403
    assert world.client("callback").post(
        "/supervisor/monitor", data={"call": "live.1", "mode": "listen"}).status_code == 403
