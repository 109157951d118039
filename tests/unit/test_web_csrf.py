"""CSRF protection of what is sent with the session cookie (``hotline.web.csrf``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hotline.config import Settings
from hotline.web.api import include_api
from tests.api import PASSWORD, TestClient, make_world


@pytest.fixture
def world_client(sqlite_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    world = make_world(sqlite_engine, tmp_path)
    with TestClient(world.app, base_url="http://console.test") as client:
        response = client.post("/api/login", json={"username": "operator", "password": PASSWORD})
        assert response.status_code == 200
        client.headers["X-Token-For-Test"] = response.headers["x-csrf-token"]
        yield client


def _token(client: TestClient) -> str:
    return client.headers["X-Token-For-Test"]


def test_given_a_session_cookie_when_posting_without_the_token_then_403_and_nothing_done(
    world_client: TestClient,
) -> None:
    response = world_client.post("/api/tokens", json={"name": "x"})
    assert response.status_code == 403 and response.json()["error_id"] == "csrf-missing"
    wrong = world_client.post("/api/tokens", json={"name": "x"},
                              headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403 and wrong.json()["error_id"] == "csrf-invalid"
    assert [t["name"] for t in world_client.get("/api/tokens").json()] == ["tests"]


def test_given_the_token_in_a_header_or_a_form_field_then_the_request_goes_through(
    world_client: TestClient,
) -> None:
    ok = world_client.post("/api/tokens", json={"name": "x"},
                           headers={"X-CSRF-Token": _token(world_client)})
    assert ok.status_code == 201
    me = world_client.get("/api/me")
    assert me.headers["x-csrf-token"] == _token(world_client)
    form = world_client.post("/api/logout", data={"csrf_token": _token(world_client)})
    assert form.status_code == 204


def test_given_another_site_as_origin_then_refused_even_without_a_session(
    world_client: TestClient,
) -> None:
    world_client.cookies.clear()
    response = world_client.post("/api/login", json={"username": "operator",
                                                      "password": PASSWORD},
                                 headers={"Origin": "http://evil.example"})
    assert response.status_code == 403 and response.json()["error_id"] == "csrf-origin"
    same = world_client.post("/api/login", json={"username": "operator", "password": PASSWORD},
                             headers={"Origin": "http://console.test"})
    assert same.status_code == 200


def test_given_an_api_token_then_no_csrf_token_is_needed(sqlite_engine: Engine,
                                                        tmp_path: Path) -> None:
    world = make_world(sqlite_engine, tmp_path)
    response = world.client("operator").post("/api/tokens", json={"name": "ci"})
    assert response.status_code == 201


def test_given_https_behind_a_proxy_when_logging_in_then_the_cookie_is_secure(
    sqlite_engine: Engine, tmp_path: Path,
) -> None:
    from fastapi import FastAPI

    app = FastAPI()
    make_world(sqlite_engine, tmp_path)  # users
    include_api(app, engine=sqlite_engine,
                settings=Settings(home=tmp_path, web={"secure_cookies": True}))
    with TestClient(app) as client:
        response = client.post("/api/login", json={"username": "operator",
                                                   "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie
