"""The AMI dialer: the Originate it sends, Originate's answers mapped to outcomes, the flow's
path read as the key pressed, prompt values filled per call. The AMI side is an in-memory
sender that answers like Asterisk (the response and ``OriginateResponse``, as panoramisk
returns them with ``as_list``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.errors import AmiUnavailable
from hotline.outbound.agi import fill
from hotline.outbound.ami import AmiDialer, DialerEvents, FlowEnd, attempt_of, channel_id
from hotline.outbound.ports import PlacedCall
from hotline.outbound.rules import Outcome, Purpose
from hotline.outbound.settings import OutboundSettings

CENTER = ZoneInfo("Asia/Shanghai")
CALL = PlacedCall(call_id=7, attempt_id=42, attempt=1, purpose=Purpose.SURVEY,
                  phone="citizen1", trunk="default", ticket_number="20261123-00042",
                  subject="路灯不亮")


class FakeAsterisk:
    """Answers Originate with a response and an ``OriginateResponse`` of the given reason."""

    def __init__(self, reason: str | None, *, error: Exception | None = None) -> None:
        self.reason, self.error = reason, error
        self.sent: list[dict[str, Any]] = []

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        self.sent.append(action)
        if self.error is not None:
            raise self.error
        success = self.reason == "4"
        return [{"Response": "Success", "Message": "Originate successfully queued"},
                {"Event": "OriginateResponse", "Response": "Success" if success else "Failure",
                 "Reason": self.reason, "Uniqueid": action["ChannelId"]}]


def dialer(ami: FakeAsterisk) -> AmiDialer:
    return AmiDialer(ami=ami, settings=OutboundSettings(max_call_seconds=5), tz=CENTER)


@pytest.mark.parametrize(("reason", "outcome"), [
    ("5", Outcome.BUSY), ("3", Outcome.NO_ANSWER), ("8", Outcome.FAILED), ("0", Outcome.FAILED),
])
def test_given_a_call_not_answered_then_the_reason_becomes_the_outcome(reason, outcome):
    ami = FakeAsterisk(reason)
    report = asyncio.run(dialer(ami).place(CALL))
    assert (report.reached, report.uniqueid) == (outcome, "hotline-ob-42")
    assert report.detail["reason"] == reason  # kept on the attempt
    [sent] = ami.sent
    assert sent["Channel"] == "PJSIP/citizen1"
    assert (sent["Context"], sent["Exten"], sent["Async"]) == ("hotline-outbound-flow", "survey",
                                                               "true")
    assert sent["Timeout"] == "30000"


def test_given_an_answered_survey_then_the_rating_is_read_off_the_flow_path():
    async def scenario():
        d = dialer(FakeAsterisk("4"))
        placing = asyncio.create_task(d.place(CALL))
        await asyncio.sleep(0)
        assert d.values_for("hotline-ob-42") == {"subject": "路灯不亮",
                                                  "ticket": "2 0 2 6 1 1 2 3 0 0 0 4 2",
                                                  "deadline": ""}
        d.flow_ended("hotline-ob-42", FlowEnd(path=["intro", "rating", "unsatisfied", "thanks"],
                                              comment="2026/11/23/x-comment.wav"))
        return await placing

    report = asyncio.run(scenario())
    assert (report.reached, report.key, report.comment) == (
        Outcome.ANSWERED, "3", "2026/11/23/x-comment.wav")


def test_given_an_answered_call_whose_flow_never_ends_then_answered_without_a_key():
    settings = OutboundSettings(max_call_seconds=0.01)
    report = asyncio.run(AmiDialer(ami=FakeAsterisk("4"), settings=settings, tz=CENTER)
                         .place(CALL))
    assert (report.reached, report.key) == (Outcome.ANSWERED, "")


def test_given_ami_down_then_failed_and_nothing_waits():
    d = dialer(FakeAsterisk(None, error=AmiUnavailable("AMI is not connected")))
    report = asyncio.run(d.place(CALL))
    assert report.reached is Outcome.FAILED
    assert d.values_for("hotline-ob-42") is None


def test_given_a_reminder_then_the_deadline_is_spoken_on_the_center_clock():
    reminder = PlacedCall(call_id=1, attempt_id=3, attempt=1, purpose=Purpose.REMINDER,
                          phone="unit1", trunk="default", ticket_number="20261123-00042",
                          deadline=datetime(2026, 11, 24, 1, 0, tzinfo=UTC))

    async def scenario():
        d = dialer(FakeAsterisk("4"))
        placing = asyncio.create_task(d.place(reminder))
        await asyncio.sleep(0)
        values = d.values_for(channel_id(3))
        d.flow_ended(channel_id(3), FlowEnd(path=["notice", "confirm", "acknowledged"]))
        return values, await placing

    values, report = asyncio.run(scenario())
    assert values is not None and values["deadline"] == "11月24日9时"
    assert report.key == "1"


def test_given_prompt_text_then_placeholders_are_filled_and_unknown_ones_left_out():
    assert fill("工单{ticket}，期限{deadline}{nope}", {"ticket": "1 2", "deadline": "3月"}) == (
        "工单1 2，期限3月")
    assert attempt_of("hotline-ob-12") == 12
    assert attempt_of("1700000000.12") is None


class RefusingAsterisk(FakeAsterisk):
    """A phone that answers 486 Busy Here: PJSIP gives Reason 0, and the channel's Hangup
    event (cause 17) reaches the dialer through ``DialerEvents``, here just after."""

    def __init__(self, cause: str) -> None:
        super().__init__("0")
        self.cause = cause
        self.events: DialerEvents | None = None

    async def send(self, action: dict[str, Any], *, timeout: float | None = None,
                   as_list: bool | None = None) -> Any:
        answer = await super().send(action, timeout=timeout, as_list=as_list)
        assert self.events is not None
        asyncio.get_running_loop().call_soon(asyncio.ensure_future, self.events.on_event(
            {"Event": "Hangup", "Uniqueid": action["ChannelId"], "Cause": self.cause}))
        return answer


class Inner:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_connected(self, controller: Any) -> None: ...

    async def on_event(self, event: dict[str, str]) -> None:
        self.seen.append(event["Event"])


@pytest.mark.parametrize(("cause", "outcome"), [
    ("17", Outcome.BUSY), ("19", Outcome.NO_ANSWER), ("21", Outcome.FAILED),
])
def test_given_reason_0_then_the_hangup_cause_decides(cause, outcome):
    ami = RefusingAsterisk(cause)
    the_dialer = dialer(ami)
    inner = Inner()
    ami.events = DialerEvents(inner=inner, dialer=the_dialer)
    report = asyncio.run(the_dialer.place(CALL))
    assert report.reached is outcome
    assert (report.detail["reason"], report.detail["cause"]) == ("0", cause)
    assert inner.seen == ["Hangup"]  # every event still reaches the call records
