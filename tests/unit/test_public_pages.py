"""The public web channel and the callback agent's page over HTTP (``hotline.web.pages.public``,
``callback``): forms guarded by a cookie-bound, time-stamped token and a honeypot, submissions
limited per client, the status lookup answering alike for a wrong number and a wrong phone,
the survey link signed per ticket taking one answer, an agent's rating with 重办."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from hotline.attachments.models import Attachment
from hotline.attachments.store import AttachmentStore
from hotline.db import session_scope
from hotline.outbound.models import CallStatus, OutboundCall
from hotline.outbound.rules import Purpose
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.models import SurveyResult, Ticket, TicketCreate, TicketEvent, TicketType
from hotline.web.pages import PublicConsole, include_pages
from hotline.web.pages.public_guard import RateLimiter
from tests.api import PASSWORD, ApiWorld, TestClient, make_world

REPO = Path(__file__).resolve().parents[2]
MAIN = "市城管局"
PHONE = "13800001234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@dataclass
class Public:
    world: ApiWorld
    client: TestClient
    console: PublicConsole

    def token(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="form_token" value="([^"]+)"', page.text)
        assert found is not None
        self.world.clock.advance(seconds=10)  # a person takes longer than the minimum
        return found.group(1)

    def submit(self, **fields: str) -> object:
        data = {"form_token": self.token("/public"), "name": "王先生", "phone": PHONE,
                "request_type": "help", "location": "解放路",
                "description": "解放路井盖缺失，夜间很危险", **fields}
        return self.client.post("/public", data=data,
                                files={"photo": ("现场.png", PNG, "image/png")})

    def tickets(self) -> list[Ticket]:
        with session_scope(self.world.engine) as session:
            return list(session.exec(select(Ticket)).all())


@pytest.fixture
def public(sqlite_engine: Engine, tmp_path: Path) -> Iterator[Public]:
    world = make_world(sqlite_engine, tmp_path)
    console = PublicConsole(attachments=AttachmentStore(tmp_path / "files", max_bytes=1 << 20),
                            submissions=RateLimiter(limit=2, window=timedelta(hours=1)))
    include_pages(world.app, web_dir=REPO / "web", public=console)
    with TestClient(world.app, base_url="http://hotline.test") as client:
        yield Public(world=world, client=client, console=console)
    world.close()


def reviewed_web_ticket(engine: Engine, now: datetime, *, phone: str = PHONE,
                        text: str = "路灯不亮", reply: str = "路灯已修复") -> str:
    """A web ticket whose reply was approved: its revisit is due (also used by the browser
    scenarios)."""
    with session_scope(engine) as session:
        ticket = service.create_ticket(session=session, draft=TicketCreate(
            channel="web", caller_name="李女士", caller_phone=phone,
            request_type=TicketType.HELP, description=text), now=now, actor="public-web")
        assert ticket.id is not None
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=MAIN, actor="op",
                         now=now)
        for action in (lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN),
                       lc.Reply(unit=MAIN, text=reply), lc.Review(approve=True)):
            service.act(session=session, ticket_id=ticket.id, action=action, actor="x",
                        now=now)
        return ticket.number


def _reviewed(public: Public) -> str:
    return reviewed_web_ticket(public.world.engine, public.world.clock())


def test_given_the_form_filled_with_a_photo_then_a_web_ticket_and_its_number(
    public: Public,
) -> None:
    response = public.submit()
    assert response.status_code == 200  # type: ignore[attr-defined]
    [ticket] = public.tickets()
    assert ticket.channel == "web" and ticket.caller_phone == PHONE
    assert ticket.number in response.text  # type: ignore[attr-defined]
    with session_scope(public.world.engine) as session:
        [photo] = session.exec(select(Attachment)).all()
    assert photo.ticket_id == ticket.id and photo.content_type == "image/png"
    assert photo.uploaded_by == "public-web" and photo.unit_id is None


def test_given_the_honeypot_filled_or_a_form_sent_too_fast_then_no_ticket(
    public: Public,
) -> None:
    trapped = public.submit(website="http://spam.example")
    assert trapped.status_code == 422  # type: ignore[attr-defined]
    page = public.client.get("/public")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    fast = public.client.post("/public", data={
        "form_token": token.group(1), "name": "a", "phone": PHONE, "request_type": "help",
        "description": "五个字以上的内容"})
    assert fast.status_code == 422 and 'data-problem="too-fast"' in fast.text
    assert public.tickets() == []


def test_given_no_cookie_token_then_refused_as_csrf(public: Public) -> None:
    token = public.token("/public")
    public.client.cookies.clear()  # another site's page posting: no cookie of ours
    response = public.client.post("/public", data={
        "form_token": token, "name": "a", "phone": PHONE, "request_type": "help",
        "description": "五个字以上的内容"})
    assert response.status_code == 403 and 'data-problem="csrf"' in response.text
    assert public.tickets() == []


def test_given_the_limit_of_submissions_reached_then_429_with_a_clear_message(
    public: Public,
) -> None:
    assert public.submit().status_code == 200  # type: ignore[attr-defined]
    assert public.submit().status_code == 200  # type: ignore[attr-defined]
    third = public.submit()
    assert third.status_code == 429  # type: ignore[attr-defined]
    assert "提交过于频繁" in third.text and "分钟后再试" in third.text  # type: ignore[attr-defined]
    assert int(third.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert len(public.tickets()) == 2
    public.world.clock.advance(hours=1)
    assert public.submit().status_code == 200  # type: ignore[attr-defined]


def test_given_a_wrong_number_or_a_wrong_phone_then_the_same_answer(public: Public) -> None:
    public.submit()
    [ticket] = public.tickets()

    def lookup(number: str, phone: str) -> tuple[int, str]:
        response = public.client.post("/public/status", data={
            "form_token": public.token("/public/status"), "number": number, "phone": phone})
        body = re.sub(r'value="[^"]*"', "", response.text)  # tokens and the typed number
        return response.status_code, body.replace(number, "")

    good = lookup(ticket.number, "138-0000-1234")
    assert good[0] == 200 and "已受理" in good[1] and PHONE not in good[1]
    wrong_phone = lookup(ticket.number, "13900001234")
    no_ticket = lookup("20990101-00001", PHONE)
    assert wrong_phone == no_ticket
    assert wrong_phone[0] == 200 and "未查到匹配的工单" in wrong_phone[1]
    assert "路灯" not in wrong_phone[1] and "解放路" not in wrong_phone[1]


def test_given_a_signed_survey_link_then_one_answer_is_a_revisit(public: Public) -> None:
    number = _reviewed(public)
    found = public.client.post("/public/status", data={
        "form_token": public.token("/public/status"), "number": number, "phone": PHONE})
    link = re.search(r'id="survey-link" href="([^"]+)"', found.text)
    assert link is not None and link.group(1).startswith(f"/public/survey/{number}/")
    forged = f"/public/survey/{number}/AAAAAAAAAAAAAAAAAAAAAAAA"
    assert public.client.get(forged).status_code == 404
    assert public.client.get("/public/survey/20990101-00001/x").text == \
        public.client.get(forged).text

    token = public.token(link.group(1))
    answered = public.client.post(link.group(1), data={
        "form_token": token, "result": "满意", "comment": "很及时"})
    assert answered.status_code == 200 and "感谢您的评价" in answered.text
    with session_scope(public.world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        [result] = session.exec(select(SurveyResult)).all()
        event = session.exec(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.action == "revisit")).one()
    assert ticket.status == lc.Status.CLOSED and result.result == "满意"
    assert event.actor == "public-web" and event.payload["comment"] == "很及时"
    assert 'id="closed"' in public.client.get(link.group(1)).text  # no form any more
    again = public.client.post(link.group(1), data={"form_token": token, "result": "不满意"})
    assert again.status_code == 409 and "无需评价" in again.text
    with session_scope(public.world.engine) as session:
        assert len(session.exec(select(SurveyResult)).all()) == 1


def test_given_the_qr_code_then_an_svg_of_the_form_address(public: Public) -> None:
    response = public.client.get("/public/qr.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg")


def test_given_an_unsatisfied_rating_by_the_agent_then_redo_and_the_callback_call_done(
    public: Public,
) -> None:
    number = _reviewed(public)
    now = public.world.clock()
    with session_scope(public.world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        assert ticket.id is not None
        service.act(session=session, ticket_id=ticket.id, action=lc.StartRevisit(),
                    actor="outbound", now=now)
        session.add(OutboundCall(purpose=Purpose.SURVEY, dedupe_key=f"survey:{ticket.id}:"
                                 f"{number}:0", ticket_id=ticket.id, number=number,
                                 phone=PHONE, status=CallStatus.CALLBACK, created_at=now,
                                 updated_at=now))
    agent = TestClient(public.world.app, base_url="http://hotline.test")
    login = agent.post("/api/login", json={"username": "callback", "password": PASSWORD})
    csrf = login.headers["x-csrf-token"]
    queue = agent.get("/callback")
    assert queue.status_code == 200 and f'data-number="{number}"' in queue.text
    assert "自动回访未接通" in queue.text and PHONE in queue.text
    rated = agent.post(f"/callback/tickets/{number}/rate", headers={"X-CSRF-Token": csrf},
                       data={"result": "不满意", "comment": "路灯仍不亮"})
    assert rated.status_code == 200 and "已转重办" in rated.text
    assert f'class="revisit-row" data-number="{number}"' not in rated.text
    with session_scope(public.world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        call = session.exec(select(OutboundCall)).one()
    assert ticket.status == lc.Status.IN_PROGRESS
    assert call.status == CallStatus.DONE and call.result == "不满意"
    operator = TestClient(public.world.app, base_url="http://hotline.test")
    operator.post("/api/login", json={"username": "cg", "password": PASSWORD})
    assert operator.get("/callback").status_code == 403
