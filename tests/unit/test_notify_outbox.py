"""The outbox of messages to citizens (``hotline.notify``) on SQLite and PostgreSQL, with a
clock the test moves: which changes make which messages, the claim under a lease, the retries
with their backoff, the do-not-call list, surveys answered meanwhile, no gateway, and the
sender's pass through an in-memory gateway (a real ``SmsGateway``, not a mock)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from hotline.db import session_scope
from hotline.notify import store
from hotline.notify.gateway import DeliveryFailed
from hotline.notify.models import MessageKind, MessageStatus, OutgoingMessage
from hotline.notify.planning import Wording, plan_batch
from hotline.notify.sender import MessageSender
from hotline.notify.settings import NotifySettings
from hotline.outbound.store import add_do_not_call
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.models import Ticket, TicketCreate, TicketType
from hotline.tickets.revisits import rate
from hotline.tickets.units import load_default_list
from hotline.web.pages.public_guard import survey_token
from tests.api import Clock
from tests.pg import pg_engine, postgres_server, sqlite_engine, sqlite_template  # noqa: F401

S = MessageStatus
MAIN = "市城管局"
PHONE = "13800001234"
BASE = "https://12345.example.cn"
WORDING = Wording(base_url=BASE, secret="test-secret")
BACKOFF = store.Backoff(max_attempts=3, base_seconds=30, cap_seconds=3600)
LEASE = 120.0


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    engine: Engine = request.getfixturevalue(
        "sqlite_engine" if request.param == "sqlite" else "pg_engine")
    with session_scope(engine) as session:
        load_default_list(session=session)
    plan(engine, Clock()())  # the first pass starts the cursor: from now on
    return engine


def plan(engine: Engine, now: datetime) -> None:
    with session_scope(engine) as session:
        plan_batch(session=session, now=now, wording=WORDING)


def new_ticket(engine: Engine, now: datetime, *, channel: str = "web",
               phone: str = PHONE) -> Ticket:
    with session_scope(engine) as session:
        return service.create_ticket(session=session, draft=TicketCreate(
            channel=channel, caller_name="李女士", caller_phone=phone,
            request_type=TicketType.HELP, description="路灯不亮，晚上很黑"), now=now,
            actor="public-web")


def handle_and_approve(engine: Engine, ticket: Ticket, now: datetime, *,
                       dispatch: bool = True) -> None:
    """Dispatched, signed, handled, replied, approved; ``dispatch=False``: a redo (重办) the
    unit is still handling, replied and approved again."""
    assert ticket.id is not None
    with session_scope(engine) as session:
        if dispatch:
            service.dispatch(session=session, ticket_id=ticket.id, main_unit=MAIN, actor="op",
                             now=now)
        handling = (lc.Sign(unit=MAIN), lc.StartHandling(unit=MAIN)) if dispatch else ()
        for action in (*handling, lc.Reply(unit=MAIN, text="路灯已修复"),
                       lc.Review(approve=True)):
            service.act(session=session, ticket_id=ticket.id, action=action, actor="x",
                        now=now)


def messages(engine: Engine) -> list[OutgoingMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutgoingMessage).order_by(OutgoingMessage.id)).all())


def one_message(engine: Engine, now: datetime) -> OutgoingMessage:
    ticket = new_ticket(engine, now)
    plan(engine, now)
    [message] = messages(engine)
    assert message.number == ticket.number
    return message


def one_message_more(engine: Engine, now: datetime) -> OutgoingMessage:
    ticket = new_ticket(engine, now, phone="13900009999")
    plan(engine, now)
    return next(m for m in messages(engine) if m.number == ticket.number)


def claim(engine: Engine, now: datetime) -> list[store.Claim]:
    with session_scope(engine) as session:
        return store.claim(session=session, now=now, limit=10, lease_seconds=LEASE)


def status_of(engine: Engine, message_id: int | None) -> OutgoingMessage:
    with session_scope(engine) as session:
        message = session.get(OutgoingMessage, message_id)
        assert message is not None
        return message


# --- planning ----------------------------------------------------------------------------


def test_given_a_web_ticket_accepted_then_one_message_with_its_number_and_the_lookup_link(
    engine: Engine,
) -> None:
    now = Clock()()
    ticket = new_ticket(engine, now)
    new_ticket(engine, now, channel="phone")  # a caller on the phone was told on the phone
    plan(engine, now)
    plan(engine, now)
    [message] = messages(engine)
    assert (message.kind, message.status, message.phone) == (MessageKind.ACCEPTED, S.PENDING,
                                                             PHONE)
    assert ticket.number in message.text
    assert message.text.endswith(f"{BASE}/public/status")


def test_given_a_web_ticket_reviewed_then_a_survey_link_signed_for_its_round_once(
    engine: Engine,
) -> None:
    clock = Clock()
    ticket = new_ticket(engine, clock())
    phoned = new_ticket(engine, clock(), channel="phone")
    handle_and_approve(engine, ticket, clock())
    handle_and_approve(engine, phoned, clock())
    plan(engine, clock())
    plan(engine, clock())
    survey = [m for m in messages(engine) if m.kind == MessageKind.SURVEY]
    assert len(survey) == 1 and survey[0].number == ticket.number
    token = survey_token("test-secret", ticket.number, 0)
    assert survey[0].text.endswith(f"{BASE}/public/survey/{ticket.number}/{token}")

    # 不满意 opens the redo (重办); approved again, round 1 gets a new link
    with session_scope(engine) as session:
        rate(session=session, number=ticket.number, result=lc.Satisfaction.UNSATISFIED,
             comment="", actor="public-web", now=clock.advance(hours=1))
    handle_and_approve(engine, ticket, clock.advance(hours=1), dispatch=False)
    plan(engine, clock())
    survey = [m for m in messages(engine) if m.kind == MessageKind.SURVEY]
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in survey] == ["0", "1"]
    assert survey[1].text.endswith(survey_token("test-secret", ticket.number, 1))


def test_given_a_web_ticket_merged_into_a_phone_one_then_its_caller_gets_their_own_link(
    engine: Engine,
) -> None:
    clock = Clock()
    parent = new_ticket(engine, clock(), channel="phone", phone="13900000001")
    child = new_ticket(engine, clock())
    assert parent.id is not None and child.id is not None
    with session_scope(engine) as session:
        service.merge_tickets(session=session, child_id=child.id, parent_id=parent.id,
                              actor="op", now=clock())
    handle_and_approve(engine, parent, clock())
    plan(engine, clock())
    [survey] = [m for m in messages(engine) if m.kind == MessageKind.SURVEY]
    assert (survey.number, survey.phone, survey.ticket_id) == (child.number, PHONE, parent.id)
    assert survey.text.endswith(survey_token("test-secret", child.number, 0))
    [taken] = [c for c in claim(engine, clock()) if c.message_id == survey.id]
    assert taken.phone == PHONE


# --- claim, lease, retries ---------------------------------------------------------------


def test_given_a_message_claimed_then_no_second_claim_and_sent_once(engine: Engine) -> None:
    now = Clock()()
    message = one_message(engine, now)
    [taken] = claim(engine, now)
    assert claim(engine, now) == [] and claim(engine, now + timedelta(seconds=60)) == []
    assert (taken.phone, taken.attempts) == (PHONE, 1)
    with session_scope(engine) as session:
        assert store.complete(session=session, claim=taken, now=now)
        assert not store.complete(session=session, claim=taken, now=now)  # once
    sent = status_of(engine, message.id)
    assert (sent.status, sent.attempts, sent.last_error) == (S.SENT, 1, None)
    assert sent.sent_at == now
    assert claim(engine, now + timedelta(days=1)) == []


def test_given_senders_claiming_at_once_then_each_message_is_taken_exactly_once(
    engine: Engine,
) -> None:
    now = Clock()()
    for n in range(12):
        new_ticket(engine, now, phone=f"1380000{n:04d}")
    plan(engine, now)
    ids = sorted(m.id or 0 for m in messages(engine))
    taken: list[int] = []
    lock, start = threading.Lock(), threading.Barrier(4)

    def sender() -> None:
        start.wait()
        while claims := claim(engine, now):
            with lock:
                taken.extend(c.message_id for c in claims)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 12 and sorted(taken) == ids


def test_given_failed_attempts_then_retried_after_a_doubling_backoff_then_failed(
    engine: Engine,
) -> None:
    clock = Clock()
    message = one_message(engine, clock())
    for attempt, wait in ((1, 30), (2, 60)):
        [taken] = claim(engine, clock())
        assert taken.attempts == attempt
        with session_scope(engine) as session:
            assert store.fail(session=session, claim=taken, error="HTTP 500", now=clock(),
                              backoff=BACKOFF) == S.PENDING
        assert status_of(engine, message.id).last_error == f"attempt {attempt}: HTTP 500"
        assert claim(engine, clock.advance(seconds=wait - 1)) == []
        clock.advance(seconds=1)
    [last] = claim(engine, clock())
    with session_scope(engine) as session:
        assert store.fail(session=session, claim=last, error="HTTP 500", now=clock(),
                          backoff=BACKOFF) == S.FAILED
    failed = status_of(engine, message.id)
    assert (failed.status, failed.attempts) == (S.FAILED, 3)
    assert failed.last_error == "gave up after 3 attempts: HTTP 500"
    assert claim(engine, clock.advance(days=1)) == []


def test_given_a_sender_that_stopped_mid_attempt_then_failed_unknown_and_never_resent(
    engine: Engine,
) -> None:
    clock = Clock()
    message = one_message(engine, clock())
    [taken] = claim(engine, clock())
    with session_scope(engine) as session:
        assert store.reap_expired(session=session, now=clock.advance(seconds=LEASE - 1)) == 0
        assert store.reap_expired(session=session, now=clock.advance(seconds=2)) == 1
    reaped = status_of(engine, message.id)
    assert reaped.status == S.FAILED and "outcome unknown" in (reaped.last_error or "")
    with session_scope(engine) as session:  # the late sender cannot record anything
        assert not store.complete(session=session, claim=taken, now=clock())
    assert claim(engine, clock.advance(days=1)) == []


def test_given_the_number_on_the_do_not_call_list_then_never_claimed(engine: Engine) -> None:
    now = Clock()()
    message = one_message(engine, now)
    with session_scope(engine) as session:
        add_do_not_call(session=session, phone="138-0000-1234", reason="不要联系", by="sup",
                        now=now)
    assert claim(engine, now) == []
    blocked = status_of(engine, message.id)
    assert blocked.status == S.DO_NOT_CONTACT and "do-not-call" in (blocked.last_error or "")


def test_given_the_survey_answered_before_it_went_out_then_cancelled(engine: Engine) -> None:
    clock = Clock()
    ticket = new_ticket(engine, clock())
    handle_and_approve(engine, ticket, clock())
    plan(engine, clock())
    with session_scope(engine) as session:  # a callback agent reached the caller first
        rate(session=session, number=ticket.number, result=lc.Satisfaction.SATISFIED,
             comment="", actor="cb", now=clock())
    [accepted] = claim(engine, clock())
    survey = [m for m in messages(engine) if m.kind == MessageKind.SURVEY][0]
    assert accepted.message_id != survey.id
    assert status_of(engine, survey.id).status == S.CANCELLED


def test_given_no_gateway_then_kept_as_no_gateway_and_recent_ones_sent_once_one_is_configured(
    engine: Engine,
) -> None:
    now = Clock()()
    message = one_message(engine, now)
    with session_scope(engine) as session:
        assert store.park_without_gateway(session=session, now=now) == 1
        assert store.counts(session=session) == {S.NO_GATEWAY: 1}
    assert claim(engine, now) == []
    old = one_message_more(engine, now - timedelta(days=4))
    with session_scope(engine) as session:
        assert store.park_without_gateway(session=session, now=now) == 1
        assert store.requeue_no_gateway(session=session, now=now,
                                        within=timedelta(days=3)) == 1
    [taken] = claim(engine, now)
    assert taken.message_id == message.id
    assert status_of(engine, old.id).status == S.NO_GATEWAY  # news of days ago: kept


# --- the sender's pass -------------------------------------------------------------------


@dataclass
class MemoryGateway:
    """An ``SmsGateway`` keeping what it took; refuses while ``refusing`` > 0."""

    taken: list[tuple[str, str, str]] = field(default_factory=list)
    refusing: int = 0

    async def send(self, *, to: str, text: str, key: str) -> None:
        if self.refusing > 0:
            self.refusing -= 1
            raise DeliveryFailed("gateway: HTTP 503: busy")
        self.taken.append((to, text, key))


async def test_given_the_sender_when_the_gateway_refuses_once_then_sent_after_the_backoff(
    engine: Engine,
) -> None:
    clock = Clock()
    gateway = MemoryGateway(refusing=1)
    sender = MessageSender(engine=engine, clock=clock, gateway=gateway, wording=WORDING,
                           backoff=BACKOFF)
    ticket = new_ticket(engine, clock())
    first = await sender.run_once()
    assert (first.planned.accepted, first.sent, first.failed) == (1, 0, 1)
    clock.advance(seconds=29)
    assert (await sender.run_once()).sent == 0
    clock.advance(seconds=1)
    assert (await sender.run_once()).sent == 1
    [(to, text, key)] = gateway.taken
    assert to == PHONE and ticket.number in text
    [message] = messages(engine)
    assert (message.status, message.attempts) == (S.SENT, 2)
    assert key == f"hotline-message-{message.id}"
    assert (await sender.run_once()).sent == 0  # never twice


async def test_given_no_gateway_when_the_sender_passes_then_kept_and_sent_after_a_restart_with_one(
    engine: Engine,
) -> None:
    clock = Clock()
    sender = MessageSender(engine=engine, clock=clock, gateway=None, wording=WORDING)
    new_ticket(engine, clock())
    result = await sender.run_once()
    assert (result.planned.accepted, result.parked, result.sent) == (1, 1, 0)
    [message] = messages(engine)
    assert message.status == S.NO_GATEWAY and "notify.sms_url" in (message.last_error or "")

    gateway = MemoryGateway()  # configured, and the app started again
    restarted = MessageSender(engine=engine, clock=clock, gateway=gateway, wording=WORDING)
    restarted.prepare()
    assert (await restarted.run_once()).sent == 1
    assert [to for to, _, _ in gateway.taken] == [PHONE]
    assert messages(engine)[0].status == S.SENT


# --- schema and settings -----------------------------------------------------------------


def test_given_the_migrations_then_the_outbox_table_is_as_the_model_says(
    engine: Engine,
) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "outgoing_message" in repr(d)] == []


def test_given_a_gateway_without_the_public_address_then_the_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="public_base_url"):
        NotifySettings(sms_url="http://127.0.0.1:9/sms")
    with pytest.raises(ValidationError, match="http"):
        NotifySettings(sms_url="ftp://gateway", public_base_url=BASE)
    assert NotifySettings(sms_url="http://127.0.0.1:9/sms", public_base_url=BASE).sms_url
