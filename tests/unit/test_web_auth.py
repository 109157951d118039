"""Authentication over HTTP: session cookies, API tokens, roles, error bodies, masked numbers.

A small app is built with ``include_auth`` and one protected route per role, on a SQLite file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from hotline.config import Settings
from hotline.db import make_engine
from hotline.errors import HotlineError
from hotline.tickets.errors import ActionNotAllowed
from hotline.users.models import Role, User, UserCreate
from hotline.users.service import create_user, ensure_admin
from hotline.web.deps import PhoneMask, require_roles
from hotline.web.errors import install_error_handlers
from hotline.web.routes.auth import include_auth

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package and warns when it falls back on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
CALLER = "13812345678"


class NoSuchWidget(HotlineError):
    error_id = "no-such-widget"


class ConcurrentUpdate(HotlineError):
    error_id = "concurrent-update"


class Echo(BaseModel):
    count: int


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def app(engine: Engine, settings: Settings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    include_auth(app, engine=engine, settings=settings)
    for role in Role:
        app.add_api_route(f"/test/{role.value}", lambda: {"ok": True},
                          dependencies=[Depends(require_roles(role))])

    @app.get("/test/caller")
    def caller(mask: PhoneMask) -> dict[str, str | None]:
        return {"phone": mask(CALLER)}

    @app.get("/test/widget")
    def widget() -> None:
        raise NoSuchWidget("no widget 7", widget_id=7)

    @app.get("/test/dispatch")
    def dispatch() -> None:
        raise ActionNotAllowed("dispatch", "closed", allowed=["archive"])

    @app.get("/test/race")
    def race() -> None:
        raise ConcurrentUpdate("ticket changed meanwhile", ticket="20261122-00042")

    @app.post("/test/echo")
    def echo(body: Echo) -> Echo:
        return body

    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def add_user(engine: Engine, username: str, role: Role, unit: str | None = None) -> None:
    with Session(engine) as session:
        create_user(session=session, user_create=UserCreate(
            username=username, role=role, unit_name=unit, password=PASSWORD))


def log_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Log in with the session cookie; later unsafe requests carry its CSRF token."""
    response = client.post("/api/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.headers["x-csrf-token"]


@pytest.fixture
def operator(engine: Engine) -> str:
    add_user(engine, "op1", Role.operator)
    return "op1"


def test_given_right_password_when_logging_in_then_an_httponly_lax_cookie_is_set(
    client: TestClient, operator: str
) -> None:
    response = client.post("/api/login", json={"username": operator, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["username"] == operator and response.json()["role"] == "operator"
    assert "password_hash" not in response.json()
    cookie = response.headers["set-cookie"].lower()
    assert "hotline_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http on the test server
    assert client.get("/api/me").json()["username"] == operator


def test_given_https_when_logging_in_then_the_cookie_is_secure(app: FastAPI,
                                                               operator: str) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post("/api/login", json={"username": operator, "password": PASSWORD})
    assert "secure" in response.headers["set-cookie"].lower()


def test_given_a_login_form_when_posted_then_it_logs_in_like_json(
    client: TestClient, operator: str
) -> None:
    response = client.post("/api/login", data={"username": operator, "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert client.get("/api/me").status_code == 200


def test_given_wrong_password_or_unknown_user_when_logging_in_then_the_same_401(
    client: TestClient, operator: str
) -> None:
    wrong = client.post("/api/login", json={"username": operator, "password": "nope-nope"})
    unknown = client.post("/api/login", json={"username": "ghost", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error_id"] == "invalid-credentials"
        assert "set-cookie" not in response.headers
    assert wrong.json() == unknown.json()


def test_given_no_cookie_when_calling_a_protected_route_then_401(client: TestClient) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error_id"] == "not-authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_given_a_forged_cookie_when_calling_then_401(client: TestClient, operator: str) -> None:
    log_in(client, operator)
    good = client.cookies["hotline_session"]
    client.cookies.set("hotline_session", good.replace(".1.", ".2.", 1))  # another user id
    assert client.get("/api/me").status_code == 401


def test_given_logout_when_calling_again_then_401(client: TestClient, operator: str) -> None:
    log_in(client, operator)
    assert client.post("/api/logout").status_code == 204
    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize("role", list(Role))
def test_given_a_role_when_calling_each_role_route_then_only_its_own_passes(
    client: TestClient, engine: Engine, role: Role
) -> None:
    add_user(engine, "u1", role, unit="城管局" if role is Role.unit_handler else None)
    log_in(client, "u1")
    for other in Role:
        response = client.get(f"/test/{other.value}")
        if other is role:
            assert response.status_code == 200
        else:
            assert response.status_code == 403
            body = response.json()
            assert body["error_id"] == "role-not-allowed"
            assert body["details"] == {"role": role.value, "allowed": [other.value]}


def test_given_an_api_token_when_sent_as_bearer_then_it_authenticates_until_revoked(
    app: FastAPI, client: TestClient, operator: str
) -> None:
    log_in(client, operator)
    created = client.post("/api/tokens", json={"name": "ci"})
    assert created.status_code == 201
    token, token_id = created.json()["token"], created.json()["id"]
    with TestClient(app) as api:
        headers = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/me", headers=headers).json()["username"] == operator
        assert api.get("/test/operator", headers=headers).status_code == 200
        assert client.delete(f"/api/tokens/{token_id}").status_code == 204
        refused = api.get("/api/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error_id"] == "not-authenticated"
    listed = client.get("/api/tokens").json()
    assert listed[0]["revoked_at"] is not None and "token" not in listed[0]


def test_given_a_malformed_authorization_header_then_401(client: TestClient) -> None:
    response = client.get("/api/me", headers={"Authorization": "Basic b3A6cHc="})
    assert response.status_code == 401
    assert "Bearer" in response.json()["message"]


def test_given_another_users_token_when_revoking_then_404(
    client: TestClient, engine: Engine, operator: str
) -> None:
    log_in(client, operator)
    token_id = client.post("/api/tokens", json={"name": "mine"}).json()["id"]
    add_user(engine, "sup1", Role.supervisor)
    log_in(client, "sup1")
    response = client.delete(f"/api/tokens/{token_id}")
    assert response.status_code == 404
    assert response.json()["error_id"] == "no-such-token"


def test_given_first_run_when_ensuring_admin_then_its_password_works_once_and_only_once(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        password = ensure_admin(session=session, settings=settings)
        assert password is not None and len(password) >= 12
        assert ensure_admin(session=session, settings=settings) is None
        stored = session.exec(select(User).where(User.username == "admin")).one()
    assert stored.password_hash.startswith("$argon2")
    assert password not in stored.password_hash
    log_in(client, "admin", password)
    assert client.get("/test/admin").status_code == 200


def test_given_admin_when_adding_a_user_without_password_then_one_is_generated_once(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        admin_password = ensure_admin(session=session, settings=settings)
    assert admin_password is not None
    log_in(client, "admin", admin_password)
    response = client.post("/api/users", json={
        "username": "unit7", "role": "unit_handler", "unit_name": "城管局"})
    assert response.status_code == 201, response.text
    generated = response.json()["generated_password"]
    assert generated
    names = [u["username"] for u in client.get("/api/users").json()]
    assert names == ["admin", "unit7"]
    assert all("generated_password" not in u for u in client.get("/api/users").json())
    taken = client.post("/api/users", json={"username": "unit7", "role": "operator",
                                            "password": PASSWORD})
    assert (taken.status_code, taken.json()["error_id"]) == (409, "username-taken")
    log_in(client, "unit7", generated)


def test_given_a_non_admin_when_listing_users_then_403(client: TestClient,
                                                      operator: str) -> None:
    log_in(client, operator)
    assert client.get("/api/users").status_code == 403


def test_given_a_unit_handler_without_unit_when_added_then_422_says_why(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    with Session(engine) as session:
        admin_password = ensure_admin(session=session, settings=settings)
    assert admin_password is not None
    log_in(client, "admin", admin_password)
    response = client.post("/api/users", json={"username": "u2", "role": "unit_handler"})
    assert response.status_code == 422
    assert "unit_name" in response.json()["details"]["fields"][0]["reason"]


@pytest.mark.parametrize("body", [{"username": "op1"}, {"username": "op1", "password": ""}])
def test_given_a_login_body_without_password_then_422_naming_the_field(
    client: TestClient, body: dict[str, str]
) -> None:
    response = client.post("/api/login", json=body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error_id"] == "invalid-request"
    fields = payload["details"]["fields"]
    assert [(f["location"], f["field"]) for f in fields] == [("body", "password")]
    assert fields[0]["reason"]


def test_given_a_login_body_that_is_not_json_then_422(client: TestClient) -> None:
    response = client.post("/api/login", content=b"{oops",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["details"]["fields"][0]["location"] == "body"


def test_given_a_malformed_body_then_422_lists_every_field_with_location_and_reason(
    client: TestClient,
) -> None:
    response = client.post("/test/echo", json={"count": "many"})
    assert response.status_code == 422
    [field] = response.json()["details"]["fields"]
    assert (field["location"], field["field"], field["type"]) == ("body", "count", "int_parsing")
    assert "many" not in response.text  # the value is not echoed (it may be a password)


def test_given_a_password_change_then_old_sessions_end_and_the_new_password_works(
    app: FastAPI, client: TestClient, operator: str
) -> None:
    log_in(client, operator)
    with TestClient(app) as other:
        log_in(other, operator)
        response = client.post("/api/me/password", json={
            "current_password": PASSWORD, "new_password": "another long one"})
        assert response.status_code == 204
        assert other.get("/api/me").status_code == 401
    log_in(client, operator, "another long one")


@pytest.mark.parametrize(("role", "seen"), [
    (Role.operator, CALLER), (Role.supervisor, CALLER), (Role.callback_agent, CALLER),
    (Role.unit_handler, "138****5678"), (Role.admin, "138****5678"),
])
def test_given_a_role_when_reading_a_caller_number_then_masked_unless_needed(
    client: TestClient, engine: Engine, role: Role, seen: str
) -> None:
    add_user(engine, "u1", role, unit="城管局" if role is Role.unit_handler else None)
    log_in(client, "u1")
    assert client.get("/test/caller").json() == {"phone": seen}


def test_given_domain_errors_when_raised_in_routes_then_mapped_with_error_id_and_details(
    client: TestClient,
) -> None:
    missing = client.get("/test/widget")
    assert missing.status_code == 404
    assert missing.json() == {"error_id": "no-such-widget", "message": "no widget 7",
                              "details": {"widget_id": 7}}
    refused = client.get("/test/dispatch")
    assert refused.status_code == 409
    assert refused.json()["error_id"] == "action-not-allowed"
    assert refused.json()["details"]["allowed"] == ["archive"]
    race = client.get("/test/race")
    assert (race.status_code, race.json()["error_id"]) == (409, "concurrent-update")
    unknown = client.get("/nowhere")
    assert (unknown.status_code, unknown.json()["error_id"]) == (404, "not-found")
