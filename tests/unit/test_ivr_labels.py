"""Node labels (``label:`` in a flow file): read and checked by the loader, filled in for every
node of the shipped flows, and shown in place of the node ids in the calls page's IVR path
(ids of nodes without one, or of flows no longer loaded, stay as they are)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.app import build_app
from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.errors import FlowFileError
from hotline.ivr.loader import LABEL_MAX, load_flow, load_flows
from hotline.users.models import Role
from tests.composed_app import TestClient, composed_settings, role_client

SHIPPED = Path(__file__).resolve().parents[2] / "ivr_flows"

FLOW = """\
start: welcome
nodes:
  welcome:
    kind: play
    label: {label}
    prompt: 您好
    next: queue
  queue:
    kind: transfer
    target: queue
    on_no_seat: bye
    on_timeout: bye
  bye: {{kind: hangup, label: 结束语}}
"""


def flow_file(tmp_path: Path, label: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(FLOW.format(label=label)), encoding="utf-8")
    return path


def test_given_labels_then_the_flow_names_its_nodes_by_them_and_others_by_id(
        tmp_path: Path) -> None:
    flow = load_flow(flow_file(tmp_path, "欢迎语"))
    assert flow.node("welcome").label == "欢迎语" and flow.node("queue").label is None
    assert [flow.label_of(n) for n in ("welcome", "queue", "bye", "gone")] == [
        "欢迎语", "queue", "结束语", "gone"]


@pytest.mark.parametrize("label", ['""', "[a, b]", "x" * (LABEL_MAX + 1), '"一\\n二"'])
def test_given_a_bad_label_then_the_file_is_refused_naming_node_and_line(
        tmp_path: Path, label: str) -> None:
    with pytest.raises(FlowFileError) as caught:
        load_flow(flow_file(tmp_path, label))
    assert caught.value.node == "welcome" and caught.value.line == 3
    assert "'label'" in str(caught.value)


def test_every_node_of_the_shipped_flows_has_a_label() -> None:
    flows, errors = load_flows(SHIPPED)
    assert errors == [] and set(flows) >= {"default", "menu", "survey", "reminder"}
    unlabelled = [f"{f.name}:{n.id}" for f in flows.values() for n in f.nodes.values()
                  if not n.label]
    assert unlabelled == []
    assert flows["default"].label_of("queue") == "转人工排队"


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    app = build_app(composed_settings(tmp_path))
    with TestClient(app, follow_redirects=False):
        yield role_client(app, Role.supervisor)


def test_the_calls_page_shows_the_labels_of_the_ivr_path(app_client: TestClient) -> None:
    hotline = app_client.app.state.hotline  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    with session_scope(hotline.engine) as session:
        session.add(Call(uniqueid="1700000000.1", linkedid="1700000000.1", started_at=now,
                         caller_number="13812345678", flow="default",
                         ivr_path=["welcome", "staffed", "queue", "renamed_node"]))
        session.add(Call(uniqueid="1700000000.2", linkedid="1700000000.2", started_at=now,
                         caller_number="13812345679", flow="retired_flow",
                         ivr_path=["welcome"]))
    page = app_client.get("/")
    assert page.status_code == 200
    assert ('<span data-node="welcome" title="welcome">欢迎语</span> › '
            '<span data-node="staffed" title="staffed">工作时间判断</span> › '
            '<span data-node="queue" title="queue">转人工排队</span> › '
            '<span data-node="renamed_node" title="renamed_node">renamed_node</span>'
            ) in page.text
    assert '<span data-node="welcome" title="welcome">welcome</span></td>' in page.text
