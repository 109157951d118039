"""The REST API documents itself: the OpenAPI schema builds and lists every endpoint."""

from __future__ import annotations

from tests.api import ApiWorld

ACTIONS = ("dispatch", "sign", "arrive", "return", "review-return", "start", "extension",
           "extension-decision", "reply", "review", "revisit/start", "revisit", "close",
           "archive", "answer-now", "park", "resume", "merge", "emergency-transfer")


def test_the_openapi_schema_lists_tickets_actions_units_list_and_knowledge(
        api_world: ApiWorld) -> None:
    r = api_world.anonymous().get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for action in ACTIONS:
        operation = paths[f"/api/tickets/{{number}}/{action}"]["post"]
        assert operation["summary"], action
        assert "422" in operation["responses"], action
    for path in ("/api/tickets", "/api/tickets/{number}", "/api/tickets/{number}/events",
                 "/api/ticket-changes", "/api/ticket-changes/stream", "/api/units",
                 "/api/responsibility-list", "/api/knowledge/search", "/api/matters"):
        assert path in paths, path
    listed = {p["name"] for p in paths["/api/tickets"]["get"]["parameters"]}
    assert {"status", "unit", "type", "light", "from", "to", "q", "cursor"} <= listed
