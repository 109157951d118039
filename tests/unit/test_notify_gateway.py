"""Messages to web callers through a REAL SMS gateway: an HTTP server on 127.0.0.1 that keeps
what it is POSTed (JSON {to, text}) and answers with the status the test sets.

The composed application (``build_app``, its sender started by the lifespan) sends the
citizen who submitted the public form the accepted message, then, once the reply is approved,
the survey link; the test opens the link from the text the gateway received, answers, and the
rating lands on the ticket. A gateway answering 500 gets the message again after the backoff
and finally marks it failed with the status code in the error.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from hotline.app import build_app
from hotline.db import session_scope
from hotline.notify.gateway import DeliveryFailed, HttpSmsGateway
from hotline.notify.models import MessageStatus, OutgoingMessage
from hotline.notify.planning import Wording
from hotline.notify.sender import MessageSender
from hotline.notify.settings import NotifySettings
from hotline.notify.store import Backoff
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.models import SurveyResult, TicketCreate, TicketType
from hotline.tickets.units import load_default_list
from hotline.users.models import Role
from hotline.web.pages import PublicConsole
from tests.api import Clock
from tests.composed_app import TestClient, composed_settings, free_port, role_client

PHONE = "13800001234"
MAIN = "市城管局"
PUBLIC = "https://12345.example.cn"
WAIT = 60.0  # seconds a message may take to arrive (the sender passes every 0.2 s)


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class Gateway:
    """The SMS gateway on loopback: answers ``status`` and keeps every request."""

    status: int = 200
    received: queue.Queue[Received] = field(default_factory=queue.Queue)
    count: int = 0
    url: str = ""

    def next(self) -> Received:
        try:
            return self.received.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"the gateway received nothing in {WAIT} s") from None


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length).decode())
            state.count += 1
            state.received.put(Received(body=body, headers=dict(self.headers.items())))
            answer = b'{"ok": true}' if state.status < 300 else b"gateway overloaded"
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/sms"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return found.group(1)


def submit_form(app: Any, client: TestClient) -> str:
    """The public form filled as a person would (no minimum time: not what is tested); the
    new ticket's number."""
    app.state.public_console = PublicConsole(
        attachments=app.state.public_console.attachments, min_fill=timedelta(0))
    submitted = client.post("/public", data={
        "form_token": form_token(client.get("/public").text), "name": "王先生",
        "phone": PHONE, "request_type": "help", "location": "解放路",
        "description": "解放路井盖缺失，夜间很危险"})
    assert submitted.status_code == 200, submitted.text
    number = re.search(r"\d{8}-\d{5}", submitted.text)
    assert number is not None
    return number.group(0)


def approve_reply(engine: Engine, number: str, now: Any) -> None:
    with session_scope(engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        assert ticket.id is not None
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=MAIN, actor="op",
                         now=now)
        for action in (lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN),
                       lc.Reply(unit=MAIN, text="井盖已补装"), lc.Review(approve=True)):
            service.act(session=session, ticket_id=ticket.id, action=action, actor="x",
                        now=now)


def test_given_a_web_ticket_when_replied_then_the_caller_gets_the_survey_link_and_rates(
    gateway: Gateway, tmp_path: Path,
) -> None:
    settings = composed_settings(tmp_path)
    settings.notify = NotifySettings(sms_url=gateway.url, public_base_url=PUBLIC,
                                     interval_seconds=0.2)
    app = build_app(settings)
    hotline: Any = app.state.hotline
    with TestClient(app, base_url="http://hotline.test") as client:
        number_text = submit_form(app, client)

        accepted = gateway.next()
        assert accepted.body["to"] == PHONE and number_text in accepted.body["text"]
        assert f"{PUBLIC}/public/status" in accepted.body["text"]
        assert accepted.headers["Idempotency-Key"].startswith("hotline-message-")

        approve_reply(hotline.engine, number_text, hotline.clock())
        survey = gateway.next()
        assert survey.body["to"] == PHONE and number_text in survey.body["text"]
        link = re.search(r"https?://\S+", survey.body["text"])
        assert link is not None and link.group(0).startswith(f"{PUBLIC}/public/survey/")

        path = urlsplit(link.group(0)).path  # the link opened against the app
        page = client.get(path)
        assert page.status_code == 200 and number_text in page.text
        answered = client.post(path, data={"form_token": form_token(page.text),
                                           "result": lc.Satisfaction.SATISFIED.value,
                                           "comment": "处理及时"})
        assert answered.status_code == 200 and "感谢您的评价" in answered.text
        forged = client.get(path[:-4] + "AAAA")
        assert forged.status_code == 404

        with session_scope(hotline.engine) as session:
            ticket = service.get_by_number(session=session, number=number_text)
            [rating] = session.exec(select(SurveyResult)).all()
            sent = session.exec(select(OutgoingMessage).order_by(OutgoingMessage.id)).all()
        assert ticket.status == lc.Status.CLOSED
        assert (rating.ticket_id, rating.result, rating.actor) == (ticket.id, "满意",
                                                                   "public-web")
        assert [(m.kind, m.status, m.attempts) for m in sent] == [
            ("accepted", MessageStatus.SENT, 1), ("survey", MessageStatus.SENT, 1)]
        assert gateway.count == 2  # each once

        listing = role_client(app, Role.supervisor).get("/supervisor/messages")
        assert listing.status_code == 200
        assert listing.text.count('data-status="sent"') == 2
        assert path.rsplit("/", 1)[1] not in listing.text  # the survey token is not shown
        assert 'data-no-gateway' not in listing.text


def test_given_a_gateway_answering_500_then_retried_after_the_backoff_then_failed(
    gateway: Gateway, sqlite_engine: Engine,
) -> None:
    gateway.status = 500
    clock = Clock()
    with session_scope(sqlite_engine) as session:
        load_default_list(session=session)
    sender = MessageSender(
        engine=sqlite_engine, clock=clock, gateway=HttpSmsGateway(gateway.url, timeout=5),
        wording=Wording(base_url=PUBLIC, secret="s"),
        backoff=Backoff(max_attempts=3, base_seconds=60, cap_seconds=600))
    sender.prepare()  # the cursor starts here
    with session_scope(sqlite_engine) as session:
        service.create_ticket(session=session, draft=TicketCreate(
            channel="web", caller_name="李女士", caller_phone=PHONE,
            request_type=TicketType.HELP, description="路灯不亮，晚上很黑"), now=clock(),
            actor="public-web")

    async def passes() -> list[int]:
        tried = []
        for advance in (0, 59, 1, 120):  # due at once, not before 60 s, then after 120 s
            clock.advance(seconds=advance)
            tried.append((await sender.run_once()).failed)
        return tried

    assert asyncio.run(passes()) == [1, 0, 1, 1]
    assert gateway.count == 3
    with session_scope(sqlite_engine) as session:
        [message] = session.exec(select(OutgoingMessage)).all()
    assert (message.status, message.attempts) == (MessageStatus.FAILED, 3)
    assert message.last_error is not None
    assert message.last_error.startswith("gave up after 3 attempts: ")
    assert f"{gateway.url}: HTTP 500: gateway overloaded" in message.last_error
    assert asyncio.run(sender.run_once()).failed == 0  # never again


def test_given_no_gateway_listening_then_the_error_names_the_address() -> None:
    url = f"http://127.0.0.1:{free_port()}/sms"
    with pytest.raises(DeliveryFailed, match=re.escape(url) + ".*refused"):
        asyncio.run(HttpSmsGateway(url, timeout=5).send(to=PHONE, text="x", key="k"))


def test_given_no_gateway_configured_then_the_message_is_kept_and_listed_for_supervisors(
    tmp_path: Path,
) -> None:
    settings = composed_settings(tmp_path)
    settings.notify = NotifySettings(interval_seconds=0.2)
    app = build_app(settings)
    with TestClient(app, base_url="http://hotline.test") as client:
        number = submit_form(app, client)
        deadline = time.monotonic() + WAIT
        while True:
            with session_scope(app.state.hotline.engine) as session:
                rows = session.exec(select(OutgoingMessage)).all()
            if rows and rows[0].status != MessageStatus.PENDING:
                break
            assert time.monotonic() < deadline, "the sender never looked at the message"
            time.sleep(0.1)
        assert [(m.number, m.status, m.attempts) for m in rows] == [
            (number, MessageStatus.NO_GATEWAY, 0)]
        page = role_client(app, Role.admin).get("/supervisor/messages?status=no_gateway")
        assert page.status_code == 200 and "data-no-gateway" in page.text
        assert f'data-number="{number}" data-status="no_gateway"' in page.text
        assert "notify.sms_url" in page.text
        assert app.state.hotline.status()["notify"]["gateway"] is False
