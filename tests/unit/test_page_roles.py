"""Every HTML page route of the composed application checks the role on the server.

``PAGES`` is the table: each GET page route of ``build_app`` (found by walking the app's
routes, so a new page without a row fails the first test) with the roles that may open it,
the URL asked for (placeholders filled with ids that do not exist: an allowed role then gets
404, not 403) and the status an allowed role gets. Every other role gets 403; a request with
no session is sent to the login page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute

from hotline.app import build_app
from hotline.users.models import Role
from tests.composed_app import TestClient, composed_settings, role_client

ANYONE = frozenset(Role)  # with or without a session
STAFF = frozenset({Role.operator, Role.supervisor, Role.callback_agent, Role.admin})
SUP_ADMIN = frozenset({Role.supervisor, Role.admin})


@dataclass(frozen=True)
class Page:
    roles: frozenset[Role]
    url: str = ""  # the path itself when empty
    allowed_status: int = 200
    stream: bool = False  # server-sent events: only the refusals are asked for


PAGES: dict[str, Page] = {
    "/": Page(STAFF),
    "/login": Page(ANYONE),
    "/seat": Page(frozenset({Role.operator})),
    "/seat/pop": Page(frozenset({Role.operator})),
    "/seat/pop/stream": Page(frozenset({Role.operator}), stream=True),
    "/seat/knowledge": Page(frozenset({Role.operator})),
    "/unit": Page(frozenset({Role.unit_handler})),
    "/unit/tickets/{number}": Page(frozenset({Role.unit_handler}),
                                   "/unit/tickets/20991231-99999", 404),
    "/attachments/{attachment_id}": Page(
        frozenset({Role.unit_handler, Role.operator, Role.supervisor, Role.callback_agent}),
        "/attachments/999999", 404),
    "/callback": Page(frozenset({Role.callback_agent, Role.supervisor})),
    "/callback/tickets/{number}/call": Page(frozenset({Role.callback_agent, Role.supervisor}),
                                            "/callback/tickets/20991231-99999/call"),
    "/supervisor": Page(frozenset({Role.supervisor})),
    "/supervisor/review": Page(frozenset({Role.supervisor})),
    "/supervisor/wall": Page(SUP_ADMIN),
    "/supervisor/escalations": Page(SUP_ADMIN),
    "/supervisor/reports": Page(SUP_ADMIN),
    "/supervisor/reports/generated/{report_id}/{name}": Page(
        SUP_ADMIN, "/supervisor/reports/generated/999999/week-x.xlsx", 404),
    "/supervisor/reports/tickets": Page(SUP_ADMIN,
                                        "/supervisor/reports/tickets?unit=市城管局&measure=redo"),
    "/supervisor/monitor": Page(SUP_ADMIN),
    "/supervisor/retention": Page(SUP_ADMIN),
    "/supervisor/messages": Page(SUP_ADMIN),
    "/supervisor/audit": Page(SUP_ADMIN),
    "/supervisor/recordings": Page(SUP_ADMIN | {Role.callback_agent}),
    "/supervisor/recordings/{recording_id}": Page(SUP_ADMIN | {Role.callback_agent},
                                                  "/supervisor/recordings/999999", 404),
    "/supervisor/recordings/{recording_id}/audio": Page(
        SUP_ADMIN | {Role.callback_agent}, "/supervisor/recordings/999999/audio", 404),
    "/supervisor/recordings/{recording_id}/download": Page(
        SUP_ADMIN, "/supervisor/recordings/999999/download", 404),
    "/public": Page(ANYONE),
    "/public/qr": Page(ANYONE),
    "/public/qr.svg": Page(ANYONE),
    "/public/status": Page(ANYONE),
    "/public/survey/{number}/{token}": Page(ANYONE, "/public/survey/20991231-99999/x", 404),
}


def page_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """The GET routes that are pages (not in the API schema), included routers walked."""
    for route in routes:
        if isinstance(route, APIRoute):
            page = not route.include_in_schema or route.path == "/"
            if page and "GET" in (route.methods or ()):
                yield route
        elif hasattr(route, "original_router"):  # FastAPI's included router
            yield from page_routes(route.original_router.routes)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Role | None, TestClient]]:
    app = build_app(composed_settings(tmp_path_factory.mktemp("pages")))
    with TestClient(app, follow_redirects=False) as anonymous:
        by_role: dict[Role | None, TestClient] = {None: anonymous}
        for role in Role:
            unit = "市城管局" if role is Role.unit_handler else None
            by_role[role] = role_client(app, role, unit=unit)
        yield by_role


def test_every_page_route_of_the_app_has_a_row_in_the_table(
    clients: dict[Role | None, TestClient],
) -> None:
    app: Any = clients[None].app
    found = {route.path for route in page_routes(app.router.routes)}
    assert found == set(PAGES), (f"pages without a row: {sorted(found - set(PAGES))}; "
                                 f"rows without a page: {sorted(set(PAGES) - found)}")


@pytest.mark.parametrize("path", sorted(PAGES))
def test_given_each_role_when_opening_the_page_then_allowed_or_refused_on_the_server(
    clients: dict[Role | None, TestClient], path: str,
) -> None:
    page = PAGES[path]
    url = page.url or path
    for role, client in clients.items():
        allowed = role in page.roles or page.roles == ANYONE
        if allowed and page.stream:
            continue
        response = client.get(url)
        who = role.value if role else "no session"
        if allowed:
            assert response.status_code == page.allowed_status, (who, response.status_code)
        elif role is None and path == "/":  # the calls page shows the login form in place
            assert response.status_code == 200 and 'name="password"' in response.text
            assert "最近通话" not in response.text
        elif role is None:
            assert response.status_code == 303, (who, response.status_code)
            assert response.headers["location"].startswith("/login?next=")
        else:
            assert response.status_code == 403, (who, response.status_code)
