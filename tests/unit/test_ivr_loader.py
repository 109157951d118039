"""Loading and checking flow files: every problem is reported with file, node line, node, reason."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from hotline.errors import FlowFileError
from hotline.ivr.flow import (
    DEFAULT_APOLOGY,
    DayRule,
    EmergencyNode,
    ExtensionNode,
    HoursNode,
    MenuNode,
    PlayNode,
    QueueNode,
    RecordNode,
    TimeSpan,
)
from hotline.ivr.loader import check_flows, format_errors, load_flow, load_flows, read_flow
from hotline.ivr.ports import Prompt

SHIPPED = Path(__file__).resolve().parents[2] / "ivr_flows"

GOOD = """\
description: 测试流程
start: welcome
global_keys: {"9": emergency}
nodes:
  welcome:
    kind: play
    prompt: 您好
    next: staffed
  staffed:
    kind: hours
    schedule: {"mon-fri": "08:00-20:00", "sat,sun": ["09:00-12:00", "13:00-17:00"]}
    holidays: [2026-10-01]
    open: main
    closed: bye
  main:
    kind: menu
    prompt: {text: 咨询请按1, file: null}
    choices: {1: lookup, "*": leave, "0": queue, "#": back}
    timeout: 4.5
    retries: 1
    on_fail: queue
  lookup: {kind: lookup, prompt: 请输入工单编号, next: main}
  leave: {kind: record, prompt: 请留言, name: message, max_seconds: 60, beep: false}
  queue:
    kind: transfer
    target: queue
    exit_keys: {"2": leave}
    on_no_seat: leave
    on_timeout: leave
  emergency: {kind: transfer, target: emergency, line: 120, on_fail: queue}
  desk: {kind: transfer, target: extension, extension: "8001", on_fail: queue}
  back: {kind: goto, target: main}
  bye: {kind: hangup, prompt: 再见}
"""


def write(folder: Path, text: str, name: str = "flow.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def nodes_flow(nodes: str, *, head: str = "start: a\n") -> str:
    """A flow whose nodes start on line (lines in head) + 2."""
    return head + "nodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  ")


def only_error(path: Path) -> tuple[str, int | None, str | None, str]:
    flow, errors = read_flow(path)
    assert flow is None
    assert len(errors) == 1, format_errors(errors)
    error = errors[0]
    return error.path, error.line, error.node, error.reason


def test_given_good_file_when_loaded_then_every_node_is_built_with_its_line(tmp_path):
    flow = load_flow(write(tmp_path, GOOD, "good.yaml"))

    assert flow.name == "good"
    assert flow.description == "测试流程"
    assert flow.start == "welcome"
    assert flow.apology == DEFAULT_APOLOGY
    assert flow.global_keys == {"9": "emergency"}
    assert flow.nodes["welcome"] == PlayNode(
        id="welcome", line=5, prompt=Prompt(text="您好"), next="staffed"
    )
    staffed = flow.nodes["staffed"]
    assert isinstance(staffed, HoursNode)
    assert staffed.line == 9
    assert staffed.schedule == (
        DayRule(days=frozenset(range(5)), spans=(TimeSpan(480, 1200),)),
        DayRule(days=frozenset({5, 6}), spans=(TimeSpan(540, 720), TimeSpan(780, 1020))),
    )
    assert staffed.holidays == frozenset({date(2026, 10, 1)})
    main = flow.nodes["main"]
    assert isinstance(main, MenuNode)
    assert (main.line, main.timeout, main.retries) == (15, 4.5, 1)
    assert main.choices == {"1": "lookup", "*": "leave", "0": "queue", "#": "back"}
    leave = flow.nodes["leave"]
    assert isinstance(leave, RecordNode)
    assert (leave.name, leave.max_seconds, leave.silence_seconds, leave.beep) == (
        "message", 60, 5, False,
    )  # fmt: skip
    assert leave.next is None
    queue = flow.nodes["queue"]
    assert isinstance(queue, QueueNode)
    assert (queue.line, queue.exit_keys, queue.prompt) == (24, {"2": "leave"}, None)
    assert flow.nodes["emergency"] == EmergencyNode(
        id="emergency", line=30, number="120", on_fail="queue"
    )
    assert flow.nodes["desk"] == ExtensionNode(
        id="desk", line=31, extension="8001", on_fail="queue"
    )
    assert [node.kind for node in flow.nodes.values()] == [
        "play", "hours", "menu", "lookup", "record", "transfer", "transfer", "transfer", "goto",
        "hangup",
    ]  # fmt: skip


def test_given_shipped_flows_when_checked_then_no_error():
    flows, errors = load_flows(SHIPPED)

    assert format_errors(errors) == ""
    assert set(flows) == {"default", "menu", "reminder", "survey"}


def test_given_prompt_with_file_when_loaded_then_path_is_resolved_from_flow_folder(tmp_path):
    (tmp_path / "sounds").mkdir()
    (tmp_path / "sounds" / "hi.wav").write_bytes(b"RIFF")
    path = write(tmp_path, nodes_flow("a: {kind: play, prompt: {text: hi, file: sounds/hi.wav}}"))

    node = load_flow(path).nodes["a"]

    assert isinstance(node, PlayNode)
    assert node.prompt == Prompt(text="hi", file=str(tmp_path / "sounds" / "hi.wav"))


def test_given_apology_as_plain_text_when_loaded_then_it_is_the_flow_apology(tmp_path):
    path = write(tmp_path, nodes_flow("a: {kind: hangup}", head="start: a\napology: 对不起\n"))

    assert load_flow(path).apology == Prompt(text="对不起")


KINDS = "goto, hangup, hours, lookup, menu, play, record, speech_menu, transfer"
SCHEDULE = "{kind: hours, schedule: {%s}, open: b, closed: b}\nb: {kind: hangup}"


@pytest.mark.parametrize(
    ("nodes", "line", "node", "reason"),
    [
        ("a: {kind: dance}", 3, "a", f"unknown kind 'dance' (expected one of: {KINDS})"),
        ("a: {prompt: hi}", 3, "a", "missing field 'kind'"),
        ("a: {kind: hangup, colour: red}", 3, "a", "unknown field 'colour' for kind 'hangup'"),
        ("a: {kind: goto}", 3, "a", "missing field 'target' for kind 'goto'"),
        (
            "a: {kind: play, prompt: hi, next: nowhere}",
            3,
            "a",
            "'next' refers to unknown node 'nowhere'",
        ),
        (
            "b: {kind: hangup}\na: {kind: menu, prompt: hi, choices: {'1': b}, on_fail: x}",
            4,
            "a",
            "'on_fail' refers to unknown node 'x'",
        ),
        (
            "a: {kind: menu, choices: {'1': b}, on_fail: b}\nb: {kind: hangup}",
            3,
            "a",
            "missing field 'prompt' for kind 'menu'",
        ),
        (
            "a: {kind: play}",
            3,
            "a",
            "a play node needs exactly one of 'prompt' and 'article' (a knowledge article's "
            "id, slug or exact title)",
        ),
        ("a: {kind: record, prompt: ''}", 3, "a", "'prompt' has an empty text"),
        ("a: {kind: play, prompt: {text: '  '}}", 3, "a", "'prompt' has an empty text"),
        (
            "a: {kind: play, prompt: {text: hi, voice: x}}",
            3,
            "a",
            "'prompt' must be a text or a mapping with 'text' and 'file'",
        ),
        (
            "a: {kind: menu, prompt: hi, choices: {'12': b}, on_fail: b}\nb: {kind: hangup}",
            3,
            "a",
            "choice key '12' is not a single DTMF key (0-9, *, #)",
        ),
        (
            "a: {kind: menu, prompt: hi, choices: {'A': b}, on_fail: b}\nb: {kind: hangup}",
            3,
            "a",
            "choice key 'A' is not a single DTMF key (0-9, *, #)",
        ),
        (
            "b: {kind: hangup}\na: {kind: menu, prompt: hi, choices: {'1': c}, on_fail: b}",
            4,
            "a",
            "choice '1' refers to unknown node 'c'",
        ),
        (
            "a: " + SCHEDULE % "'mon-fry': '08:00-20:00'",
            3,
            "a",
            "bad schedule days 'mon-fry': unknown day 'fry'"
            " (use mon, tue, wed, thu, fri, sat, sun)",
        ),
        (
            "a: " + SCHEDULE % "'mon-fri': '8:00-20:00'",
            3,
            "a",
            "bad schedule hours '8:00-20:00' for 'mon-fri' (expected HH:MM-HH:MM)",
        ),
        (
            "a: " + SCHEDULE % "'mon-fri': '20:00-08:00'",
            3,
            "a",
            "bad schedule hours '20:00-08:00' for 'mon-fri': the end must be after the start",
        ),
        (
            "a: " + SCHEDULE % "'mon': '08:00-24:30'",
            3,
            "a",
            "bad schedule hours '08:00-24:30' for 'mon': no such time of day (00:00 to 24:00)",
        ),
        (
            "a: {kind: hours, schedule: {mon: '00:00-24:00'}, holidays: [2026-13-01], open: b,"
            " closed: b}\nb: {kind: hangup}",
            3,
            "a",
            "bad date '2026-13-01' in 'holidays' (expected YYYY-MM-DD)",
        ),
        (
            "a: {kind: hours, schedule: {mon: '00:00-24:00'}, holidays: [1 Oct], open: b,"
            " closed: b}\nb: {kind: hangup}",
            3,
            "a",
            "bad date '1 Oct' in 'holidays' (expected YYYY-MM-DD)",
        ),
        (
            "a: {kind: transfer, target: emergency, line: '999', on_fail: b}\nb: {kind: hangup}",
            3,
            "a",
            "emergency line '999' is not one of 110, 119, 120, 122",
        ),
        (
            "a: {kind: transfer, on_fail: b}\nb: {kind: hangup}",
            3,
            "a",
            "missing field 'target' for kind 'transfer'",
        ),
        (
            "a: {kind: transfer, target: moon}",
            3,
            "a",
            "unknown transfer target 'moon' (expected one of: queue, emergency, extension)",
        ),
        (
            "a: {kind: transfer, target: queue, line: '110', on_no_seat: b, on_timeout: b}\n"
            "b: {kind: hangup}",
            3,
            "a",
            "unknown field 'line' for a transfer to 'queue'",
        ),
        (
            "a: {kind: transfer, target: queue, on_no_seat: b}\nb: {kind: hangup}",
            3,
            "a",
            "missing field 'on_timeout' for a transfer to 'queue'",
        ),
        (
            "a: {kind: transfer, target: queue, exit_keys: {'1': c}, on_no_seat: b, on_timeout: b}"
            "\nb: {kind: hangup}",
            3,
            "a",
            "exit key '1' refers to unknown node 'c'",
        ),
        (
            "a: {kind: menu, prompt: hi, choices: {'1': a}, on_fail: a}",
            3,
            "a",
            "no way out: no hangup, transfer or end of the flow can be reached from here",
        ),
        (
            "a: {kind: lookup, prompt: hi, timeout: 0}",
            3,
            "a",
            "'timeout' must be a number of at least 1",
        ),
        (
            "a: {kind: record, prompt: hi, max_seconds: 1.5}",
            3,
            "a",
            "'max_seconds' must be a whole number of at least 1",
        ),
        (
            "a: {kind: record, prompt: hi, beep: 'yes please'}",
            3,
            "a",
            "'beep' must be true or false",
        ),
        ("a: {kind: hangup}\na: {kind: hangup}", 4, "a", "node id given twice (first at line 3)"),
        (
            "a: {kind: hangup, prompt: hi, prompt: ho}",
            3,
            "a",
            "field 'prompt' is given twice (first at line 3)",
        ),
        ("a: hangup", 3, "a", "a node must be a mapping with a 'kind', under a text id"),
    ],
)
def test_given_broken_node_when_checked_then_exact_error(tmp_path, nodes, line, node, reason):
    path = write(tmp_path, nodes_flow(nodes))

    assert only_error(path) == (str(path), line, node, reason)


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (
            "start: nowhere\nnodes:\n  a: {kind: hangup}\n",
            1,
            "'start' refers to unknown node 'nowhere'",
        ),
        ("nodes:\n  a: {kind: hangup}\n", 1, "missing field 'start' at the top of the flow file"),
        (
            "start: a\nmusic: on\nnodes:\n  a: {kind: hangup}\n",
            2,
            "unknown field 'music' at the top of the flow file",
        ),
        (
            "start: a\nglobal_keys: {'9': sos}\nnodes:\n  a: {kind: hangup}\n",
            2,
            "global key '9' refers to unknown node 'sos'",
        ),
        (
            "start: a\nglobal_keys: {'99': a}\nnodes:\n  a: {kind: hangup}\n",
            2,
            "global key '99' is not a single DTMF key (0-9, *, #)",
        ),
        ("start: a\nnodes: []\n", 2, "'nodes' must map node ids to nodes"),
        (
            "start: a\nnodes:\n  a: {kind: play, prompt: x\n",
            4,
            "YAML syntax error: expected ',' or '}', but got '<stream end>'",
        ),
        (
            "start: a\nnodes:\n  a: {kind: hangup}\n   bad: indent\n",
            4,
            "YAML syntax error: expected <block end>, but found '<block mapping start>'",
        ),
        ("- just\n- a list\n", 1, "a flow file must be a mapping with 'start' and 'nodes'"),
        ("", None, "the file is empty"),
    ],
)
def test_given_broken_file_when_checked_then_exact_error_without_node(tmp_path, text, line, reason):
    path = write(tmp_path, text)

    assert only_error(path) == (str(path), line, None, reason)


def test_given_missing_prompt_file_when_checked_then_error_names_file_and_folder(tmp_path):
    path = write(tmp_path, nodes_flow("a: {kind: play, prompt: {text: hi, file: sounds/hi.wav}}"))

    assert only_error(path) == (
        str(path), 3, "a", f"'prompt' file 'sounds/hi.wav' not found in {tmp_path}",
    )  # fmt: skip


def test_given_loop_of_plays_and_gotos_when_checked_then_endless_loop_reported(tmp_path):
    text = nodes_flow(
        """\
        bye: {kind: hangup}
        a: {kind: play, prompt: hi, next: b}
        b: {kind: goto, target: c}
        c: {kind: hours, schedule: {mon-sun: '00:00-24:00'}, open: a, closed: a}
        """,
        head="start: a\nglobal_keys: {'9': bye}\n",
    )
    path = write(tmp_path, text)

    assert only_error(path) == (
        str(path), 5, "a", "endless loop without caller input: a -> b -> c -> a",
    )  # fmt: skip


def test_given_loop_without_any_exit_when_checked_then_each_node_and_the_loop_reported(tmp_path):
    path = write(
        tmp_path, nodes_flow("a: {kind: play, prompt: hi, next: b}\nb: {kind: goto, target: a}")
    )

    _, errors = read_flow(path)

    assert [(e.line, e.node, e.reason) for e in errors] == [
        (3, "a", "no way out: no hangup, transfer or end of the flow can be reached from here"),
        (4, "b", "no way out: no hangup, transfer or end of the flow can be reached from here"),
        (3, "a", "endless loop without caller input: a -> b -> a"),
    ]


def test_given_loop_through_a_menu_when_checked_then_it_is_fine(tmp_path):
    text = nodes_flow(
        """\
        a: {kind: play, prompt: hi, next: m}
        m: {kind: menu, prompt: choose, choices: {'1': a, '2': bye}, on_fail: a}
        bye: {kind: hangup}
        """
    )

    assert read_flow(write(tmp_path, text))[1] == []


def test_given_several_problems_in_one_file_when_checked_then_all_are_reported(tmp_path):
    text = nodes_flow("a: {kind: dance}\nb: {kind: goto}\nc: {kind: play, prompt: hi, next: z}")

    _, errors = read_flow(write(tmp_path, text))

    assert [(e.line, e.node) for e in errors] == [(3, "a"), (4, "b"), (5, "c")]


def test_given_broken_node_when_referenced_then_no_extra_unknown_node_error(tmp_path):
    text = nodes_flow("a: {kind: play, prompt: hi, next: b}\nb: {kind: dance}")

    _, errors = read_flow(write(tmp_path, text))

    assert [e.node for e in errors] == ["b"]


def test_given_one_broken_file_when_loading_folder_then_other_flows_load(tmp_path):
    write(tmp_path, GOOD, "good.yaml")
    broken = write(tmp_path, nodes_flow("a: {kind: dance}"), "broken.yaml")
    write(tmp_path, "not a flow", "notes.txt")

    flows, errors = load_flows(tmp_path)

    assert list(flows) == ["good"]
    assert [(e.path, e.node) for e in errors] == [(str(broken), "a")]


def test_given_missing_or_empty_folder_when_loading_then_one_error(tmp_path):
    assert [e.reason for e in check_flows(tmp_path / "none")] == ["no such folder"]
    assert [e.reason for e in check_flows(tmp_path)] == ["no flow files (*.yaml) here"]


def test_given_broken_file_when_loaded_alone_then_first_error_is_raised(tmp_path):
    path = write(tmp_path, nodes_flow("a: {kind: dance}"))

    with pytest.raises(FlowFileError) as raised:
        load_flow(path)

    assert raised.value.node == "a"
    assert raised.value.error_id == "flow-file-invalid"


def test_given_errors_when_formatted_then_one_line_each_and_a_count(tmp_path):
    errors = [
        FlowFileError(path="ivr_flows/a.yaml", line=3, node="main", reason="missing field 'kind'"),
        FlowFileError(path="ivr_flows/b.yaml", reason="the file is empty"),
    ]

    assert format_errors(errors) == (
        "ivr_flows/a.yaml:3: node 'main': missing field 'kind'\n"
        "ivr_flows/b.yaml: the file is empty\n"
        "2 errors in 2 files"
    )
    assert format_errors([]) == ""
