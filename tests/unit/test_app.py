"""The composed application: first-run admin, login, the calls page and API by role.

The controller starts for real (FastAGI on a free port, AMI pointed at a closed port, so it
keeps retrying in the background: the web part must work while Asterisk is away).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.app import build_app
from hotline.calls.models import Call, Recording
from hotline.db import session_scope
from hotline.users.models import Role
from tests.composed_app import composed_settings, role_client

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(build_app(composed_settings(tmp_path))) as client:
        yield client


def test_given_first_start_when_admin_logs_in_with_the_printed_password_then_calls_are_listed(
    client: TestClient,
) -> None:
    password = client.app.state.hotline.admin_password  # type: ignore[attr-defined]
    assert password and len(password) >= 12

    page = client.get("/")
    assert page.status_code == 200 and "登录" in page.text and "最近通话" not in page.text
    anonymous = client.get("/api/calls")
    assert anonymous.status_code == 401
    assert anonymous.json()["error_id"]

    assert client.post("/api/login", data={"username": "admin", "password": "wrong"}
                       ).status_code == 401
    assert client.post("/api/login", data={"username": "admin", "password": password}
                       ).status_code == 200
    assert client.get("/api/calls").json() == []
    page = client.get("/")
    assert "最近通话" in page.text


def test_status_reports_each_part_while_asterisk_is_away(client: TestClient) -> None:
    status = client.get("/status").json()
    assert status["agi"]["listening"] is True
    assert status["ami"]["connected"] is False
    assert status["flows"]["loaded"] == ["default", "menu", "reminder", "survey"]


def _add_call(client: TestClient) -> None:
    engine = client.app.state.hotline.engine  # type: ignore[attr-defined]
    started = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        session.add(Call(uniqueid="1795.1", caller_number="13812345678", started_at=started,
                         ended_at=started + timedelta(seconds=40), hangup_cause=16,
                         end_reason="hangup_by_caller", queue_outcome="abandoned",
                         queue_wait_seconds=12.0, ivr_path=["welcome", "queue"]))
        for kind, size, seconds in (("full", 64_044, 4.0), ("caller", 44, 0.0)):
            session.add(Recording(call_uniqueid="1795.1", kind=kind, path=f"x/1795.1-{kind}.wav",
                                  started_at=started, complete=True, size_bytes=size,
                                  duration_seconds=seconds))


def test_given_a_unit_handler_when_opening_the_calls_page_then_403_and_no_calls(
    client: TestClient,
) -> None:
    _add_call(client)
    page = role_client(client.app, Role.unit_handler, unit="市城管局").get("/")
    assert page.status_code == 403
    assert "最近通话" not in page.text and "1381234" not in page.text


def test_given_a_finished_call_when_the_operator_opens_the_calls_page_then_chinese_words_only(
    client: TestClient,
) -> None:
    _add_call(client)
    page = role_client(client.app, Role.operator).get("/")
    assert page.status_code == 200 and "最近通话" in page.text
    row = page.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "排队中挂断" in row and "来电人挂断" in row and "全程录音 4.0s" in row
    for code in ("abandoned", "hangup_by_caller", "full ", "caller ", "Normal Clearing"):
        assert code not in row
    assert "来电人录音" not in row  # the caller recording is zero-length: not listed


def test_given_a_ticket_and_a_call_marked_not_a_request_then_the_calls_page_says_which(
    client: TestClient,
) -> None:
    _add_call(client)
    engine = client.app.state.hotline.engine  # type: ignore[attr-defined]
    started = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
    with session_scope(engine) as session:
        for n, uid in enumerate(("1795.2", "1795.3")):
            at = started + timedelta(minutes=n)
            session.add(Call(uniqueid=uid, caller_number="13900000000", started_at=at,
                             ended_at=at, answered_by="seat1", queue_outcome="answered"))
    operator = role_client(client.app, Role.operator)
    taken = operator.post("/api/tickets", json={"request_type": "求助", "description": "路灯坏了",
                                                "caller_phone": "13900000000",
                                                "call_uniqueid": "1795.2"})
    assert taken.status_code == 201, taken.text
    marked = operator.post("/api/drafts/not-request",
                           json={"call": "1795.3", "reason": "other", "note": "问天气"})
    assert marked.status_code == 200, marked.text

    page = operator.get("/").text
    intake = re.findall(r'<td class="intake">([^<]*)</td>', page.split("<tbody>")[1])
    assert intake == ["无效来电：其他（问天气）", f"工单 {taken.json()['number']}", "—"]
