"""The pure state machine: what comes after each kind of node."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from hotline.ivr.engine import End, FlowEngine, GoTo, Retry, is_open, ticket_number_from_keys
from hotline.ivr.flow import (
    DEFAULT_INVALID,
    DEFAULT_NO_INPUT,
    DayRule,
    EmergencyNode,
    Flow,
    GotoNode,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    TimeSpan,
)
from hotline.ivr.ports import DialOutcome, DialStatus, Prompt, QueueOutcome, QueueStatus

HI = Prompt(text="您好")
MENU = MenuNode(id="main", line=1, prompt=HI, choices={"1": "info", "2": "help"}, on_fail="queue",
                retries=2)  # fmt: skip
QUEUE = QueueNode(id="queue", line=2, exit_keys={"1": "info", "2": "leave"}, on_no_seat="closed",
                  on_timeout="leave")  # fmt: skip
HOURS = HoursNode(
    id="hours",
    line=3,
    schedule=(
        DayRule(days=frozenset(range(5)), spans=(TimeSpan(8 * 60, 20 * 60),)),
        DayRule(days=frozenset({5, 6}), spans=(TimeSpan(9 * 60, 12 * 60), TimeSpan(780, 1020))),
    ),
    holidays=frozenset({date(2026, 10, 1)}),
    open="queue",
    closed="closed",
)
TUESDAY = datetime(2026, 11, 24, 10, 0)
SATURDAY = datetime(2026, 11, 28, 12, 30)


def make_flow(*nodes: Node, global_keys: dict[str, str] | None = None) -> Flow:
    return Flow(
        name="t", path="t.yaml", start=nodes[0].id, nodes={node.id: node for node in nodes},
        global_keys=global_keys or {},
    )  # fmt: skip


ENGINE = FlowEngine(make_flow(MENU, QUEUE, HOURS, global_keys={"9": "emergency", "*": "main"}))


def test_given_menu_when_choice_key_then_go_to_choice():
    assert ENGINE.after_menu(MENU, key="2", attempt=1) == GoTo("help")


def test_given_menu_when_global_key_then_go_to_global_target():
    assert ENGINE.after_menu(MENU, key="9", attempt=1) == GoTo("emergency")


def test_given_menu_when_wrong_key_then_retry_with_invalid_prompt():
    assert ENGINE.after_menu(MENU, key="7", attempt=1) == Retry(prompt=DEFAULT_INVALID, attempt=2)


def test_given_menu_when_no_key_then_retry_with_no_input_prompt():
    assert ENGINE.after_menu(MENU, key="", attempt=2) == Retry(prompt=DEFAULT_NO_INPUT, attempt=3)


def test_given_menu_when_retries_used_up_then_on_fail():
    assert ENGINE.after_menu(MENU, key="", attempt=3) == GoTo("queue")


def test_given_menu_without_retries_when_wrong_key_then_on_fail_at_once():
    menu = MenuNode(id="m", line=1, prompt=HI, choices={"1": "a"}, on_fail="x", retries=0)

    assert ENGINE.after_menu(menu, key="5", attempt=1) == GoTo("x")


def test_given_menu_and_global_keys_when_keys_asked_then_all_in_dtmf_order():
    assert ENGINE.menu_keys(MENU) == "129*"
    assert ENGINE.play_interrupt_keys() == "9*"
    assert ENGINE.queue_exit_keys(QUEUE) == "129*"


@pytest.mark.parametrize(
    ("next_", "key", "expected"),
    [("b", None, GoTo("b")), ("b", "9", GoTo("emergency")), ("b", "5", GoTo("b")),
     (None, None, End("completed"))],
)  # fmt: skip
def test_given_play_when_played_then_next_global_or_end(next_, key, expected):
    play = PlayNode(id="p", line=1, prompt=HI, next=next_)

    assert ENGINE.after_play(play, key=key) == expected


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (QueueOutcome(QueueStatus.ANSWERED), End("transferred")),
        (QueueOutcome(QueueStatus.EXIT_KEY, key="2"), GoTo("leave")),
        (QueueOutcome(QueueStatus.EXIT_KEY, key="9"), GoTo("emergency")),
        (QueueOutcome(QueueStatus.EXIT_KEY, key="5"), GoTo("queue")),
        (QueueOutcome(QueueStatus.NO_SEAT), GoTo("closed")),
        (QueueOutcome(QueueStatus.FULL), GoTo("closed")),
        (QueueOutcome(QueueStatus.TIMEOUT), GoTo("leave")),
    ],
)
def test_given_queue_when_outcome_then_route(outcome, expected):
    assert ENGINE.after_queue(QUEUE, outcome) == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [(DialStatus.ANSWERED, End("transferred")), (DialStatus.BUSY, GoTo("queue")),
     (DialStatus.NO_ANSWER, GoTo("queue")), (DialStatus.UNAVAILABLE, GoTo("queue"))],
)  # fmt: skip
def test_given_emergency_dial_when_outcome_then_end_or_on_fail(status, expected):
    node = EmergencyNode(id="e", line=1, number="120", on_fail="queue")

    assert ENGINE.after_dial(node, DialOutcome(status)) == expected


def test_given_sequential_nodes_when_done_then_next_or_natural_end():
    assert ENGINE.after_record(RecordNode(id="r", line=1, prompt=HI, name="m", next="t")) == GoTo(
        "t"
    )
    assert ENGINE.after_lookup(LookupNode(id="l", line=1, prompt=HI)) == End("completed")
    assert ENGINE.after_goto(GotoNode(id="g", line=1, target="main")) == GoTo("main")


@pytest.mark.parametrize(
    ("now", "holidays", "expected"),
    [
        (TUESDAY, frozenset(), True),
        (datetime(2026, 11, 24, 7, 59), frozenset(), False),
        (datetime(2026, 11, 24, 20, 0), frozenset(), False),
        (datetime(2026, 11, 24, 19, 59), frozenset(), True),
        (SATURDAY, frozenset(), False),  # lunch break
        (datetime(2026, 11, 28, 13, 0), frozenset(), True),
        (TUESDAY, frozenset({date(2026, 11, 24)}), False),  # closure from settings
        (datetime(2026, 10, 1, 10, 0), frozenset(), False),  # the flow's own holiday
    ],
)
def test_given_schedule_when_time_checked_then_open_or_closed(now, holidays, expected):
    assert is_open(HOURS, now=now, holidays=holidays) is expected
    assert ENGINE.after_hours(HOURS, now=now, holidays=holidays) == GoTo(
        "queue" if expected else "closed"
    )


def test_given_whole_day_schedule_when_last_minute_then_open():
    always = (DayRule(frozenset(range(7)), (TimeSpan(0, 24 * 60),)),)
    hours = HoursNode(id="h", line=1, open="o", closed="c", schedule=always)

    assert is_open(hours, now=datetime(2026, 11, 29, 23, 59), holidays=frozenset())
    assert is_open(hours, now=datetime(2026, 11, 29, 0, 0), holidays=frozenset())


def test_given_thirteen_keyed_digits_when_ticket_number_then_dash_inserted():
    assert ticket_number_from_keys("2026112200042") == "20261122-00042"
    assert ticket_number_from_keys("12345") == "12345"


def test_given_nodes_stuck_in_a_menu_loop_when_checked_then_they_have_no_exit():
    flow = make_flow(
        MenuNode(id="a", line=1, prompt=HI, choices={"1": "b"}, on_fail="a"),
        PlayNode(id="b", line=2, prompt=HI, next="a"),
        HangupNode(id="bye", line=3),
        PlayNode(id="c", line=4, prompt=HI, next="bye"),
    )

    assert FlowEngine(flow).nodes_without_exit() == ["a", "b"]


def test_given_global_key_to_a_hangup_when_checked_then_interruptible_nodes_have_exit():
    flow = make_flow(
        MenuNode(id="a", line=1, prompt=HI, choices={"1": "b"}, on_fail="a"),
        PlayNode(id="b", line=2, prompt=HI, next="a"),
        HangupNode(id="bye", line=3),
        global_keys={"9": "bye"},
    )

    assert FlowEngine(flow).nodes_without_exit() == []


def test_given_silent_loops_when_checked_then_each_reported_once_from_its_first_node():
    flow = make_flow(
        GotoNode(id="x", line=1, target="y"),
        PlayNode(id="y", line=2, prompt=HI, next="x"),
        GotoNode(id="self", line=3, target="self"),
        PlayNode(id="p", line=4, prompt=HI, next="m"),
        MenuNode(id="m", line=5, prompt=HI, choices={"1": "p"}, on_fail="p"),
    )

    assert FlowEngine(flow).silent_cycles() == [["x", "y", "x"], ["self", "self"]]
