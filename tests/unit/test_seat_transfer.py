"""The seat operator's emergency transfer over HTTP: the ticket is stored as 转警, then the
caller's live channel (from the pop board's queue events) is redirected through AMI to the
line's extension in ``hotline-emergency``; a refused Redirect is shown in red and logged.
AMI is faked at its ``send`` (the real ``AmiCallMover`` builds the action)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.audit.models import AuditEntry
from hotline.calls.models import Call
from hotline.calls.store import CallStore
from hotline.config import Settings
from hotline.errors import AmiActionFailed, AmiUnavailable
from hotline.seats.ami import AmiCallMover
from hotline.seats.pop import PopBoard
from hotline.seats.service import bind_seat
from hotline.telephony.ami import AmiController
from hotline.telephony.asterisk_conf import render_config
from hotline.tickets.models import Ticket
from hotline.users.models import User
from hotline.web.pages import SeatConsole, include_pages
from tests.api import ApiWorld, make_world, sqlite_engine, sqlite_template  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
UID = "1795000000.7"
CALLER_CHANNEL = "PJSIP/citizen1-00000003"


class FakeAmi:
    """Records the actions sent; ``refuse`` makes the next ones fail like Asterisk would."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse: Exception | None = None

    async def send(self, action: dict[str, Any], **_: Any) -> None:
        self.sent.append(action)
        if self.refuse is not None:
            raise self.refuse


class NoQueue:
    async def add(self, **_: Any) -> None: ...
    async def pause(self, **_: Any) -> None: ...
    async def remove(self, **_: Any) -> None: ...


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: F811
    world = make_world(sqlite_engine, tmp_path)
    ami = FakeAmi()
    board = PopBoard(clock=world.clock)
    include_pages(world.app, web_dir=REPO / "web",
                  seats=SeatConsole(board=board, queue=NoQueue(), seats=["PJSIP/seat1"],
                                    mover=AmiCallMover(cast(AmiController, ami))))
    with Session(sqlite_engine) as session:
        user = session.exec(select(User).where(User.username == "operator")).one()
        bind_seat(session=session, user=user, interface="PJSIP/seat1", seats=["PJSIP/seat1"],
                  now=world.clock())
        session.commit()
    world.ami = ami  # type: ignore[attr-defined]
    world.board = board  # type: ignore[attr-defined]
    try:
        yield world
    finally:
        world.close()


def answered(world: ApiWorld) -> None:
    """seat1 answered the queue call UID (its record as CallEvents left it, and the pop)."""
    with Session(world.engine) as session:
        session.add(Call(uniqueid=UID, caller_number="13812345678", started_at=world.clock(),
                         channel=CALLER_CHANNEL, answered_by="seat1", queue_outcome="answered",
                         transferred_to="queue:seat1", ivr_path=["welcome", "queue"]))
        session.commit()
    board: PopBoard = world.board  # type: ignore[attr-defined]
    common = {"Interface": "PJSIP/seat1", "Uniqueid": UID, "Channel": CALLER_CHANNEL,
              "CallerIDNum": "13812345678", "CallerIDName": ""}
    asyncio.run(board.on_event({"Event": "AgentCalled", **common}))
    asyncio.run(board.on_event({"Event": "AgentConnect", **common}))


def transfer(world: ApiWorld, line: str = "120") -> Any:
    return world.client("operator").post("/seat/tickets", data={
        "do": "emergency", "line": line, "description": "老人在家晕倒了，需要救护车",
        "caller_phone": "13812345678", "call_uniqueid": UID})


def audit(world: ApiWorld) -> list[AuditEntry]:
    with Session(world.engine) as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == "transfer")))


def call(world: ApiWorld) -> Call:
    with Session(world.engine) as session:
        return session.exec(select(Call).where(Call.uniqueid == UID)).one()


def ticket(world: ApiWorld) -> Ticket:
    with Session(world.engine) as session:
        return session.exec(select(Ticket).where(Ticket.call_uniqueid == UID)).one()


def test_given_an_answered_call_when_the_operator_transfers_to_120_then_the_caller_is_redirected(
    world: ApiWorld,
) -> None:
    answered(world)
    response = transfer(world)
    assert response.status_code == 200
    assert 'id="transferred"' in response.text and "来电已转至 <b>120</b>" in response.text
    assert world.ami.sent == [{"Action": "Redirect", "Channel": CALLER_CHANNEL,  # type: ignore
                               "Context": "hotline-emergency", "Exten": "120",
                               "Priority": "1"}]
    assert ticket(world).status == "transferred"
    [entry] = audit(world)
    assert entry.actor == "operator" and entry.call_uniqueid == UID
    assert entry.detail is not None and entry.detail["moved"] is True
    assert entry.detail["line"] == "120" and entry.detail["channel"] == CALLER_CHANNEL
    row = call(world)
    assert (row.end_reason, row.transferred_to) == ("seat_transferred", "emergency:120")
    # The seat's leg ends (AgentComplete, reason transfer): the pop shows the call ended while
    # the caller, now with 120, is still up.
    board: PopBoard = world.board  # type: ignore[attr-defined]
    asyncio.run(board.on_event({"Event": "AgentComplete", "Interface": "PJSIP/seat1",
                                "Uniqueid": UID, "Reason": "transfer"}))
    ring = board.current("PJSIP/seat1")
    assert ring is not None and ring.state == "ended"


def test_given_a_moved_call_when_the_ivr_then_reports_its_queue_step_and_hangup_then_kept(
    world: ApiWorld,
) -> None:
    """Redirected out of Queue(), the IVR sees no queue status and a gone channel: it writes
    queue outcome no_seat and end reason hangup_by_caller, which must not undo the record."""
    answered(world)
    transfer(world)
    store = CallStore(world.engine)

    async def ivr_writes() -> None:
        await store.update_call(UID, queue_outcome="no_seat")
        await store.update_call(UID, end_reason="hangup_by_caller", hangup_cause=16)
        await store.drain()

    asyncio.run(ivr_writes())
    row = call(world)
    assert (row.end_reason, row.transferred_to, row.queue_outcome) == (
        "seat_transferred", "emergency:120", "answered")
    assert row.hangup_cause == 16  # the rest of the record still follows the call


@pytest.mark.parametrize("refusal", [
    AmiActionFailed("Redirect refused by Asterisk: Channel does not exist", action="Redirect"),
    AmiUnavailable("AMI is not connected: Redirect not sent"),
])
def test_given_ami_refuses_when_transferring_then_the_page_says_the_call_was_not_moved(
    world: ApiWorld, refusal: Exception,
) -> None:
    answered(world)
    world.ami.refuse = refusal  # type: ignore[attr-defined]
    response = transfer(world, "119")
    assert response.status_code == 200  # the ticket is taken: the form must not be resent
    assert 'id="transfer-failed"' in response.text and "来电未转出" in response.text
    assert "请告知其直接拨打 <b>119</b>" in response.text
    assert 'id="transferred"' not in response.text
    assert ticket(world).status == "transferred"  # the 转警 record stays
    assert call(world).end_reason is None  # the call was not moved: its record says nothing
    [entry] = audit(world)
    assert entry.detail is not None and entry.detail["moved"] is False
    assert "Channel does not exist" in entry.detail["error"] or "AMI" in entry.detail["error"]


def test_given_a_failed_move_when_the_operator_retries_then_the_call_is_moved_then(
    world: ApiWorld,
) -> None:
    answered(world)
    world.ami.refuse = AmiUnavailable("AMI is not connected: Redirect not sent")  # type: ignore
    failed = transfer(world, "119")
    assert 'id="retry-transfer"' in failed.text
    world.ami.refuse = None  # type: ignore[attr-defined]
    number = ticket(world).number
    again = world.client("operator").post("/seat/transfer", data={"number": number,
                                                                  "line": "119"})
    assert again.status_code == 200 and "来电已转至 <b>119</b>" in again.text
    assert [a["Exten"] for a in world.ami.sent] == ["119", "119"]  # type: ignore[attr-defined]
    assert [e.detail["moved"] for e in audit(world)] == [False, True]  # type: ignore[index]
    assert call(world).transferred_to == "emergency:119"
    # Only a 转警 ticket's call, and only by an operator.
    assert world.client("supervisor").post("/seat/transfer", data={
        "number": number, "line": "119"}).status_code == 403


def test_given_no_live_call_on_the_seat_when_transferring_then_nothing_is_sent_and_it_says_so(
    world: ApiWorld,
) -> None:
    answered(world)
    asyncio.run(world.board.on_event({"Event": "Hangup", "Uniqueid": UID}))  # type: ignore
    response = transfer(world)
    assert 'id="transfer-failed"' in response.text and "本席没有正在进行的来电" in response.text
    assert world.ami.sent == []  # type: ignore[attr-defined]
    assert audit(world)[0].detail["moved"] is False  # type: ignore[index]


def test_given_the_emergency_map_when_rendering_the_dialplan_then_each_line_dials_its_target(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path)
    extensions = render_config(settings, template_dir=REPO / "asterisk-conf")["extensions.conf"]
    section = extensions.split("[hotline-emergency]")[1].split("\n[")[0]
    for number, target in settings.sip.emergency.items():
        assert f"exten => {number},1," in section
        assert f"Dial({target},60)" in section


def test_given_a_queue_call_back_ringing_the_seat_then_the_pop_says_why_and_leaves_the_name_empty(
        world: ApiWorld) -> None:
    """A call-back of ours rings the seat first: its pop events (QueueCallbacks.pop_events)
    carry the reason apart from the caller ID name, so the pop shows 回拨：预约回拨 and the
    ticket form's name field stays empty instead of holding the reason."""
    from hotline.outbound.queue_callbacks import REASON_LABELS
    board: PopBoard = world.board  # type: ignore[attr-defined]
    label = REASON_LABELS["requested"]
    asyncio.run(board.on_event({"Event": "AgentCalled", "Interface": "PJSIP/seat1",
                                "Uniqueid": UID, "CallerIDNum": "13812345678",
                                "CallerIDName": label, "HotlineReason": label}))
    page = world.client("operator").get("/seat/pop")
    assert page.status_code == 200
    assert f'id="callback-reason">回拨：{label}<' in page.text
    assert 'name="caller_name" value=""' in page.text
    asyncio.run(board.on_event({"Event": "AgentConnect", "Interface": "PJSIP/seat1",
                                "Uniqueid": "1795000000.9", "CallerIDNum": "13900000000",
                                "CallerIDName": "张三"}))
    plain = world.client("operator").get("/seat/pop").text
    assert "callback-reason" not in plain and 'name="caller_name" value="张三"' in plain
