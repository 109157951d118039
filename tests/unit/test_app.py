"""The composed application: first-run admin, login, the calls page and API by role.

The controller starts for real (FastAGI on a free port, AMI pointed at a closed port, so it
keeps retrying in the background: the web part must work while Asterisk is away).
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.app import build_app
from hotline.config import load_settings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    repo = Path(__file__).resolve().parents[2]
    settings = load_settings(
        db={"url": f"sqlite:///{tmp_path / 'h.db'}"},
        agi={"port": _free_port()},
        ami={"port": _free_port(), "connect_timeout": 0.2},
        recordings={"dir": str(tmp_path / "recordings")},
        prompts={"dir": str(repo / "var" / "prompts")},
    )
    with TestClient(build_app(settings)) as client:
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
