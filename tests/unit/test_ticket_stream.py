"""The server-sent event stream of ticket changes, over a real socket (uvicorn in a thread),
on SQLite and PostgreSQL: events arrive as they happen, a unit handler gets only its unit's,
and a client that reconnects with Last-Event-ID misses nothing."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from tests.api import ApiWorld
from tests.unit.test_api_tickets import act, create

WAIT = 20.0  # seconds: generous, a stream that is silent this long has failed


@contextmanager
def serving(world: ApiWorld) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(world.app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


class Listener:
    """Reads one SSE stream in a thread and keeps its events (id, data) and last id."""

    def __init__(self, url: str, token: str, last_event_id: str | None = None) -> None:
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.last_id: str | None = None
        self.connected = threading.Event()
        self.error: Exception | None = None
        self._stop = threading.Event()
        headers = {"Authorization": f"Bearer {token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.connected.wait(WAIT), "the stream did not answer"
        assert self.error is None, f"the stream failed: {self.error!r}"

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            self._read(url, headers)
        except Exception as exc:  # closed by close(), or a real failure the test reports
            if not self._stop.is_set():
                self.error = exc
                self.connected.set()

    def _read(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=WAIT) as client, client.stream(
            "GET", f"{url}/api/ticket-changes/stream", headers=headers
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line == "":
                    if "id" in fields:
                        self.last_id = fields["id"]
                    if "data" in fields:
                        self.events.append((int(fields["id"]), json.loads(fields["data"])))
                    if fields.get("id") is not None:
                        self.connected.set()
                    fields = {}
                elif not line.startswith(":"):
                    name, _, value = line.partition(":")
                    fields[name] = value.removeprefix(" ")
                if self._stop.is_set():
                    return

    def wait_for(self, count: int) -> list[tuple[int, dict[str, Any]]]:
        deadline = time.monotonic() + WAIT
        while len(self.events) < count and time.monotonic() < deadline and not self.error:
            time.sleep(0.02)
        assert self.error is None, f"the stream failed: {self.error!r}"
        return list(self.events)

    def close(self) -> None:
        """Stop listening; the connection ends when the server shuts down (1 s grace)."""
        self._stop.set()


def test_events_arrive_live_and_per_unit_and_resume_after_reconnect(
        api_world: ApiWorld) -> None:
    w = api_world
    with serving(w) as url:
        center = Listener(url, w.tokens["supervisor"])
        unit = Listener(url, w.tokens["zj"])
        ours = create(w)["number"]
        act(w, "operator", ours, "dispatch", main_unit="市住建局")
        other = create(w, description="另一件事：路边垃圾没人清运")["number"]
        act(w, "operator", other, "dispatch", main_unit="市城管局")
        seen = center.wait_for(4)
        assert [(e["number"], e["action"]) for _, e in seen] == [
            (ours, "create"), (ours, "dispatch"), (other, "create"), (other, "dispatch")]
        assert [i for i, _ in seen] == sorted(i for i, _ in seen)
        assert [(e["number"], e["action"]) for _, e in unit.wait_for(1)] == [(ours, "dispatch")]
        center.close()
        # a client that reconnects from the id it last saw gets what happened meanwhile
        last = str(seen[1][0])
        act(w, "zj", ours, "sign")
        again = Listener(url, w.tokens["supervisor"], last_event_id=last)
        resumed = again.wait_for(3)
        assert [(e["number"], e["action"]) for _, e in resumed] == [
            (other, "create"), (other, "dispatch"), (ours, "sign")]
        again.close()
        unit.close()
