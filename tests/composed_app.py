"""The composed application (``hotline.app.build_app``) for tests over HTTP: settings with a
database of its own, FastAGI on a free port and AMI pointed at a closed one (the controller
keeps retrying in the background), and clients of users of each role.

    with TestClient(build_app(composed_settings(tmp_path))) as client:
        operator = role_client(client.app, Role.operator)
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path
from typing import Any

from hotline.config import Settings, load_settings
from hotline.db import session_scope
from hotline.users.models import Role, UserCreate
from hotline.users.service import create_user, issue_token
from tests.api import PASSWORD

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "composed_settings", "free_port", "role_client"]

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def composed_settings(tmp_path: Path) -> Settings:
    return load_settings(
        db={"url": f"sqlite:///{tmp_path / 'h.db'}"},
        agi={"port": free_port()},
        ami={"port": free_port(), "connect_timeout": 0.2},
        recordings={"dir": str(tmp_path / "recordings")},
        prompts={"dir": str(REPO / "var" / "prompts")},
    )


def role_client(app: Any, role: Role, *, unit: str | None = None) -> TestClient:
    """A client of a new user with ``role`` (an API token: pages accept it like the cookie);
    redirects are not followed."""
    with session_scope(app.state.hotline.engine) as session:
        user = create_user(session=session, user_create=UserCreate(
            username=f"u-{role.value}", role=role, unit_name=unit, password=PASSWORD))
        _, token = issue_token(session=session, user=user, name="tests")
    return TestClient(app, headers={"Authorization": f"Bearer {token}"},
                      follow_redirects=False)
