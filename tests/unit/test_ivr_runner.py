"""FlowRunner over FakeCallChannel: the shipped flows' main paths, hang-ups and errors."""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.ivr.flow import Flow
from hotline.ivr.loader import load_flow, load_flows
from hotline.ivr.ports import (
    DialOutcome,
    DialStatus,
    Prompt,
    QueueOutcome,
    QueueStatus,
    RecordOutcome,
    StepRecord,
)
from hotline.ivr.runner import FALLBACK_NODE, FlowRunner
from hotline.knowledge.ivr import StoreKnowledgeArticles
from tests.fakes import FakeCallChannel, FakeTicketLookup, HangUp, MemoryStepLog, Press, Silence
from tests.knowledge_db import seeded_knowledge_engine

SHIPPED = Path(__file__).resolve().parents[2] / "ivr_flows"
FLOWS, _ = load_flows(SHIPPED)
NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday
EMERGENCY = {"110": "PJSIP/e110", "119": "PJSIP/e119", "120": "PJSIP/e120", "122": "PJSIP/e122"}
APOLOGY = "抱歉，系统出现故障，正在为您转接人工服务。"


class Clock:
    """Starts at NOW and moves one second each time it is read."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def make_runner(
    *,
    step_log: MemoryStepLog | None = None,
    lookup: FakeTicketLookup | None = None,
    flows: dict[str, Flow] | None = None,
    **overrides: Any,
) -> FlowRunner:
    options: dict[str, Any] = {
        "clock": Clock(),
        "holidays": set(),
        "queue_name": "hotline",
        "queue_max_wait": 300,
        "emergency_lines": EMERGENCY,
    }
    options.update(overrides)
    return FlowRunner(
        flows=FLOWS if flows is None else flows,
        lookup=lookup or FakeTicketLookup(),
        step_log=step_log if step_log is not None else MemoryStepLog(),
        **options,
    )


def tiny_flow(tmp_path: Path, nodes: str, *, head: str = "start: a\n") -> dict[str, Flow]:
    path = tmp_path / "tiny.yaml"
    path.write_text(head + "nodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  "), "utf-8")
    return {"tiny": load_flow(path)}


def assert_clean(channel: FakeCallChannel) -> None:
    assert channel.commands_after_hangup == []
    assert list(channel.actions) == [], "the script was not used up"


# --- default.yaml ---


async def test_given_default_flow_when_caller_waits_then_queue_answers_and_call_ends():
    log = MemoryStepLog()
    channel = FakeCallChannel()

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.path == ["welcome", "staffed", "queue"]
    assert result.reason == "transferred"
    assert channel.names() == ["play", "play", "queue", "hangup"]
    queue = channel.commands[2]
    assert queue.args == {"queue": "hotline", "max_wait": 300, "exit_keys": "1239"}
    assert "answer" not in channel.names()
    assert log.outcomes() == [("welcome", "played"), ("staffed", "open"), ("queue", "answered")]
    assert {call_id for call_id, _ in log.entries} == {"call-1"}
    assert_clean(channel)


async def test_given_default_flow_when_caller_presses_2_while_waiting_then_message_recorded():
    log = MemoryStepLog()
    channel = FakeCallChannel(queue_outcomes=[QueueOutcome(QueueStatus.EXIT_KEY, key="2")])

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.path == ["welcome", "staffed", "queue", "leave_message", "message_thanks"]
    assert result.reason == "completed"
    assert log.step("queue").keys == "2"
    record = log.step("leave_message")
    assert record.outcome == "recorded"
    assert record.detail == {
        "name": "message",
        "path": "/var/spool/hotline/recordings/call-1-message.wav",
        "ended_by": "key",
        "duration_ms": "4200",
    }
    assert channel.names()[-3:] == ["record", "play", "hangup"]
    assert channel.heard("感谢您的来电")
    assert_clean(channel)


async def test_given_default_flow_when_no_seat_then_self_service_and_message():
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.NO_SEAT)],
        actions=[Press("2", at="查询工单办理进度请按3，紧急情况")],
    )

    result = await make_runner().run(channel, "default")

    assert result.path == [
        "welcome", "staffed", "queue", "no_seat_notice", "self_service", "leave_message",
        "message_thanks",
    ]  # fmt: skip
    assert result.reason == "completed"
    assert_clean(channel)


async def test_given_default_flow_when_queue_times_out_then_self_service_answers_question(
    tmp_path: Path,
) -> None:
    knowledge = StoreKnowledgeArticles(seeded_knowledge_engine(tmp_path / "knowledge.db"))
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.TIMEOUT)],
        actions=[Press("1", at="查询工单办理进度请按3，紧急情况"), Press("3", at="社保卡申领请按3"),
                 HangUp(at="社保卡")],
    )  # fmt: skip

    result = await make_runner(knowledge=knowledge).run(channel, "default")

    assert result.path[3:] == [
        "busy_notice",
        "self_service",
        "self_info_menu",
        "self_info_social_card",
    ]
    assert result.reason == "hangup_by_caller"
    assert_clean(channel)


async def test_given_default_flow_when_9_pressed_then_emergency_menu_and_120_dialled():
    log = MemoryStepLog()
    channel = FakeCallChannel(actions=[Press("9", at="请稍候"), Press("3", at="急救请按3")])

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.path == ["welcome", "staffed", "queue", "emergency_menu", "emergency_120"]
    assert result.reason == "transferred"
    assert "queue" not in channel.names()  # 9 during the announcement: no need to queue first
    assert channel.commands[-2].args == {"target": "PJSIP/e120", "timeout": 60}
    assert channel.heard("正在为您转接120急救中心")
    assert log.step("emergency_120").outcome == "answered"
    assert log.step("emergency_120").detail == {"line": "120", "target": "PJSIP/e120"}
    assert_clean(channel)


async def test_given_default_flow_when_9_pressed_while_waiting_then_emergency_menu():
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.EXIT_KEY, key="9")],
        actions=[Press("1", at="报警请按1")],
        dial_outcomes=[DialOutcome(DialStatus.BUSY)],
    )

    result = await make_runner().run(channel, "default")

    assert result.path == [
        "welcome", "staffed", "queue", "emergency_menu", "emergency_110", "emergency_failed",
        "staffed", "queue",
    ]  # fmt: skip
    assert result.reason == "transferred"
    assert_clean(channel)


async def test_given_default_flow_when_caller_hangs_up_in_menu_then_clean_end():
    log = MemoryStepLog()
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.EXIT_KEY, key="1")],
        actions=[HangUp(at="返回人工服务请按0")],
    )

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.path == ["welcome", "staffed", "queue", "info_menu"]
    assert result.reason == "hangup_by_caller"
    assert log.outcomes()[-1] == ("info_menu", "caller_hung_up")
    assert "hangup" not in channel.names()
    assert_clean(channel)


async def test_given_default_flow_when_caller_asks_info_while_waiting_then_back_to_queue(
    tmp_path: Path,
) -> None:
    knowledge = StoreKnowledgeArticles(seeded_knowledge_engine(tmp_path / "knowledge.db"))
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.EXIT_KEY, key="1")],
        actions=[Press("2", at="居住证办理材料请按2"), Press("0", at="返回人工服务请按0")],
    )

    result = await make_runner(knowledge=knowledge).run(channel, "default")

    assert result.path[3:] == ["info_menu", "info_residence", "info_menu", "queue"]
    assert channel.heard("申领居住证")
    assert result.reason == "transferred"
    assert_clean(channel)


async def test_given_default_flow_when_3_pressed_while_waiting_then_callback_step_and_goodbye():
    log = MemoryStepLog()
    channel = FakeCallChannel(queue_outcomes=[QueueOutcome(QueueStatus.EXIT_KEY, key="3")])

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.path[3:] == ["callback", "goodbye"]
    assert log.step("callback").outcome == "callback_requested"
    assert channel.heard("我们会尽快回电")
    assert channel.names()[-1] == "hangup"
    assert result.reason == "completed"


async def test_given_holiday_today_when_call_arrives_then_after_hours_self_service():
    log = MemoryStepLog()
    channel = FakeCallChannel(actions=[Silence(at="查询工单办理进度请按3，紧急情况")] * 3)

    result = await make_runner(step_log=log, holidays={NOW.date()}).run(channel, "default")

    assert result.path == [
        "welcome", "staffed", "closed_notice", "self_service", "leave_message", "message_thanks",
    ]  # fmt: skip
    assert "queue" not in channel.names()
    assert log.step("staffed").outcome == "closed"
    assert log.step("self_service").outcome == "failed"
    assert log.step("self_service").detail == {"attempts": "3"}
    assert channel.played_texts.count("您没有按键，请重新选择。") == 2
    assert_clean(channel)


# --- menu.yaml ---


async def test_given_menu_flow_when_ticket_number_keyed_then_status_spoken():
    log = MemoryStepLog()
    lookup = FakeTicketLookup({"20261122-00042": "您的工单正在办理中。"})
    channel = FakeCallChannel(
        caller="13900000001",
        actions=[Press("5", at="查询工单"), Press("2026112200042#", at="工单编号"),
                 HangUp(at="继续查询")],
    )  # fmt: skip

    result = await make_runner(step_log=log, lookup=lookup).run(channel, "menu")

    assert result.path == ["welcome", "main", "lookup", "after_lookup"]
    assert lookup.queries == [("20261122-00042", "13900000001")]
    assert channel.heard("您的工单正在办理中。")
    assert log.step("lookup").outcome == "found"
    assert log.step("lookup").keys == "2026112200042"
    assert result.reason == "hangup_by_caller"
    assert_clean(channel)


async def test_given_menu_flow_when_unknown_ticket_then_not_found_spoken():
    channel = FakeCallChannel(
        actions=[Press("5", at="查询工单"), Press("1234", at="工单编号"), HangUp(at="继续查询")]
    )

    await make_runner().run(channel, "menu")

    assert channel.heard("没有查询到该工单")


async def test_given_menu_flow_when_no_ticket_keyed_then_no_input_spoken():
    log = MemoryStepLog()
    channel = FakeCallChannel(actions=[Press("5", at="查询工单"), HangUp(at="继续查询")])

    await make_runner(step_log=log).run(channel, "menu")

    assert log.step("lookup").outcome == "no_input"
    assert channel.heard("您没有输入工单编号")


async def test_given_menu_flow_when_help_and_no_seat_then_message():
    channel = FakeCallChannel(
        actions=[Press("2", at="求助请按2")], queue_outcomes=[QueueOutcome(QueueStatus.NO_SEAT)]
    )

    result = await make_runner().run(channel, "menu")

    assert result.path == [
        "welcome", "main", "help", "staffed", "queue", "no_seat_notice", "leave_message",
        "message_thanks",
    ]  # fmt: skip
    assert result.reason == "completed"


async def test_given_menu_flow_when_consult_question_then_answer_then_operator():
    channel = FakeCallChannel(
        actions=[Press("1", at="咨询请按1"), Press("1", at="办公时间请按1"),
                 Press("0", at="咨询话务员请按0")],
    )  # fmt: skip

    result = await make_runner().run(channel, "menu")

    assert result.path[1:] == ["main", "consult", "info_hours", "consult", "staffed", "queue"]
    assert channel.heard("政务服务中心办公时间为")
    assert result.reason == "transferred"


async def test_given_menu_flow_when_caller_presses_nothing_then_operator():
    channel = FakeCallChannel()

    result = await make_runner().run(channel, "menu")

    assert result.path == ["welcome", "main", "staffed", "queue"]
    assert channel.names().count("read_digits") == 3


async def test_given_menu_flow_when_wrong_key_then_invalid_prompt_and_retry():
    log = MemoryStepLog()
    channel = FakeCallChannel(actions=[Press("7", at="咨询请按1"), Press("0", at="咨询请按1")])

    result = await make_runner(step_log=log).run(channel, "menu")

    assert result.path[:3] == ["welcome", "main", "staffed"]
    assert channel.heard("您的输入有误，请重新选择。")
    assert log.step("main").keys == "70"
    assert log.step("main").outcome == "selected"
    assert log.step("main").detail == {"attempts": "2"}


# --- errors and hang-ups, on small flows ---

LOOKUP_FLOW = "a: {kind: lookup, prompt: 请输入工单编号, next: bye}\nbye: {kind: hangup}"


async def test_given_lookup_fails_when_node_runs_then_apology_and_queue(tmp_path, caplog):
    log = MemoryStepLog()
    lookup = FakeTicketLookup(error=ConnectionError("database down"))
    channel = FakeCallChannel(actions=[Press("2026112200042", at="工单编号")])
    runner = make_runner(step_log=log, lookup=lookup, flows=tiny_flow(tmp_path, LOOKUP_FLOW))

    with caplog.at_level(logging.ERROR):
        result = await runner.run(channel, "tiny")

    assert result.path == ["a"]
    assert result.reason == "error"
    assert channel.played_texts[-1] == APOLOGY
    assert channel.names()[-2:] == ["queue", "hangup"]
    assert channel.commands[-2].args["exit_keys"] == ""
    assert log.outcomes() == [("a", "error"), (FALLBACK_NODE, "answered")]
    assert "ConnectionError" in log.step("a").detail["error"]
    assert "database down" in caplog.text


async def test_given_fallback_queue_fails_too_when_error_then_call_hung_up(tmp_path):
    channel = FakeCallChannel(failures={"queue": OSError("AGI broken")})
    flows = tiny_flow(
        tmp_path,
        "a: {kind: transfer, target: queue, on_no_seat: bye, on_timeout: bye}\nbye: {kind: hangup}",
    )

    result = await make_runner(flows=flows).run(channel, "tiny")

    assert result.reason == "error"
    assert channel.names() == ["queue", "play", "queue", "hangup"]


async def test_given_caller_hangs_up_during_apology_when_error_then_no_more_commands(tmp_path):
    channel = FakeCallChannel(
        actions=[Press("1", at="工单编号"), HangUp(at=APOLOGY)],
    )
    lookup = FakeTicketLookup(error=RuntimeError("boom"))

    result = await make_runner(lookup=lookup, flows=tiny_flow(tmp_path, LOOKUP_FLOW)).run(
        channel, "tiny"
    )

    assert result.reason == "error"
    assert channel.names()[-1] == "play"
    assert_clean(channel)


async def test_given_unknown_flow_name_when_run_then_apology_and_queue():
    channel = FakeCallChannel()

    result = await make_runner().run(channel, "nope")

    assert (result.path, result.reason) == ([], "error")
    assert channel.names() == ["play", "queue", "hangup"]


async def test_given_hang_up_at_a_step_when_running_then_no_command_after_it():
    log = MemoryStepLog()
    channel = FakeCallChannel(hang_up_at_step=2)

    result = await make_runner(step_log=log).run(channel, "default")

    assert result.reason == "hangup_by_caller"
    assert log.outcomes() == [
        ("welcome", "played"),
        ("staffed", "open"),
        ("queue", "caller_hung_up"),
    ]
    assert_clean(channel)


async def test_given_caller_hangs_up_while_recording_then_recording_kept_in_step(tmp_path):
    log = MemoryStepLog()
    outcome = RecordOutcome(path="/rec/call-1-m.wav", ended_by="hangup", duration_ms=3000)
    channel = FakeCallChannel(record_outcomes=[outcome])
    flows = tiny_flow(tmp_path, "a: {kind: record, prompt: 请留言, name: m}")

    result = await make_runner(step_log=log, flows=flows).run(channel, "tiny")

    assert result.reason == "hangup_by_caller"
    assert log.step("a").outcome == "caller_hung_up"
    assert log.step("a").detail["path"] == "/rec/call-1-m.wav"
    assert "hangup" not in channel.names()


async def test_given_natural_end_of_flow_when_reached_then_runner_hangs_up(tmp_path):
    channel = FakeCallChannel()

    result = await make_runner(flows=tiny_flow(tmp_path, "a: {kind: play, prompt: 您好}")).run(
        channel, "tiny"
    )

    assert (result.path, result.reason) == (["a"], "completed")
    assert channel.names() == ["play", "hangup"]


async def test_given_dial_cancelled_when_transfer_rings_then_caller_hung_up(tmp_path):
    channel = FakeCallChannel(dial_outcomes=[DialOutcome(DialStatus.CANCELLED)])
    flows = tiny_flow(
        tmp_path,
        "a: {kind: transfer, target: extension, extension: '8001', on_fail: b}\nb: {kind: hangup}",
    )

    result = await make_runner(flows=flows).run(channel, "tiny")

    assert result.reason == "hangup_by_caller"
    assert channel.commands[0].args == {"target": "PJSIP/8001", "timeout": 60}
    assert channel.names() == ["dial"]


async def test_given_emergency_line_not_configured_when_transfer_then_on_fail(tmp_path, caplog):
    channel = FakeCallChannel()
    flows = tiny_flow(
        tmp_path,
        "a: {kind: transfer, target: emergency, line: '119', on_fail: b}\nb: {kind: hangup}",
    )

    result = await make_runner(flows=flows, emergency_lines={}).run(channel, "tiny")

    assert result.path == ["a", "b"]
    assert "dial" not in channel.names()
    assert "no dial target configured for emergency line 119" in caplog.text


async def test_given_global_key_during_play_when_pressed_then_global_target(tmp_path):
    flows = tiny_flow(
        tmp_path,
        "a: {kind: play, prompt: 欢迎, next: b}\nb: {kind: hangup}\n"
        "sos: {kind: hangup, prompt: 紧急}",
        head="start: a\nglobal_keys: {'9': sos}\n",
    )
    channel = FakeCallChannel(actions=[Press("9", at="欢迎")])

    result = await make_runner(flows=flows).run(channel, "tiny")

    assert result.path == ["a", "sos"]
    assert channel.commands[0].args["interrupt_keys"] == "9"


async def test_given_silent_caller_in_endless_menu_loop_when_max_steps_then_hung_up(tmp_path):
    flows = tiny_flow(
        tmp_path,
        "a: {kind: menu, prompt: 请按1, choices: {'1': b}, on_fail: a, retries: 0}\n"
        "b: {kind: hangup}",
    )
    channel = FakeCallChannel()

    result = await make_runner(flows=flows, max_steps=5).run(channel, "tiny")

    assert (result.path, result.reason) == (["a"] * 5, "error")
    assert channel.names()[-1] == "hangup"


class BrokenStepLog(MemoryStepLog):
    async def on_step(self, call_id: str, step: StepRecord) -> None:
        raise OSError("disk full")


async def test_given_step_log_fails_when_running_then_call_goes_on(caplog):
    channel = FakeCallChannel()

    result = await make_runner(step_log=BrokenStepLog()).run(channel, "default")

    assert result.reason == "transferred"
    assert "cannot record IVR step" in caplog.text


async def test_given_steps_when_reported_then_times_come_from_the_clock():
    log = MemoryStepLog()

    await make_runner(step_log=log).run(FakeCallChannel(), "default")

    welcome = log.step("welcome")
    assert welcome.kind == "play"
    assert NOW < welcome.started < welcome.ended <= log.step("staffed").started


@pytest.mark.parametrize("flow_name", ["default", "menu"])
async def test_given_shipped_flow_when_prompts_played_then_all_are_mandarin_text(flow_name):
    channel = FakeCallChannel()

    await make_runner().run(channel, flow_name)

    assert all(isinstance(p, Prompt) and p.text and p.file is None for p in channel.played)
