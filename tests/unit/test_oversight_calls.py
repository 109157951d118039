"""Call rates of a day on hand-made call records and tickets, counted by hand; the same on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.intake.drafts import TicketDraft, discard_draft
from hotline.intake.not_request import NotRequest, mark_not_request
from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import PeriodKind, Rate, period
from hotline.oversight.export import calls_table
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Channel, Ticket, TicketType
from tests.api import CENTER
from tests.oversight_world import T0, Desk, desk

__all__ = ["desk"]


def call(uid: str, *, minutes: int, outcome: str | None, wait: float | None = None,
         talk: float | None = None, queued: bool = True, direction: str = "in") -> Call:
    started = T0 + timedelta(minutes=minutes)
    joined = started + timedelta(seconds=10) if queued else None
    ended = None
    if talk is not None and joined is not None and wait is not None:
        ended = joined + timedelta(seconds=wait + talk)
    return Call(uniqueid=uid, direction=direction, started_at=started, queue_joined_at=joined,
                queue_wait_seconds=wait, queue_outcome=outcome, ended_at=ended,
                answered_within_15s=None if wait is None else outcome == "answered" and wait <= 15,
                answered_within_20s=None if wait is None else outcome == "answered" and wait <= 20)


def test_given_a_day_of_calls_then_the_call_rates_are_as_counted(desk: Desk) -> None:
    with session_scope(desk.engine) as session:
        session.add_all([
            call("a", minutes=0, outcome="answered", wait=5, talk=100),
            call("b", minutes=1, outcome="answered", wait=18, talk=200),
            call("c", minutes=2, outcome="answered", wait=25, talk=300),
            call("d", minutes=3, outcome="answered", wait=40),  # still talking: no talk time
            call("e", minutes=4, outcome="abandoned", wait=12),
            call("f", minutes=5, outcome=None, wait=None),  # left with a key, no wait stored
            call("g", minutes=6, outcome=None, queued=False),  # ended in the IVR: not offered
            call("j", minutes=8, outcome="full", queued=False),  # queue full: offered, lost
            call("k", minutes=9, outcome="no_seat", queued=False),  # no agent: offered, lost
            call("l", minutes=10, outcome="self_service", queued=False),  # chose the IVR
            call("h", minutes=7, outcome="answered", wait=1, direction="out"),  # outbound
            call("i", minutes=60 * 24, outcome="answered", wait=1),  # the next day
        ])
    direct = desk.new(kind=TicketType.CONSULTATION)
    desk.do(direct, lc.AnswerNow("from the knowledge base"), T0)
    desk.new()  # a phone ticket dispatched as usual
    desk_web = desk.new()  # made a web message below: only phone tickets count
    with session_scope(desk.engine) as session:
        ticket = session.get(Ticket, desk_web)
        assert ticket is not None
        ticket.channel = Channel.WEB
        session.add(ticket)
    with session_scope(desk.engine) as session:
        rates = call_rates(session=session, period=period(PeriodKind.DAY, date(2026, 11, 23),
                                                          zone=CENTER))
    assert rates.offered == 8  # a b c d e f, and j k refused by the queue
    assert rates.answered == Rate(4, 8)
    assert (rates.within_15s, rates.within_20s, rates.within_30s) == (
        Rate(1, 8), Rate(2, 8), Rate(3, 8))
    assert rates.abandoned == Rate(1, 8)
    assert rates.average_wait_seconds == 20.0  # (5 + 18 + 25 + 40 + 12) / 5
    assert rates.average_talk_seconds == 200.0  # (100 + 200 + 300) / 3
    assert rates.direct_answer == Rate(1, 2)  # two phone tickets, one answered at once
    assert rates.missing


def test_given_calls_marked_not_a_request_then_their_share_of_answered_calls_is_counted(
    desk: Desk,
) -> None:
    with session_scope(desk.engine) as session:
        session.add_all([
            call("a", minutes=0, outcome="answered", wait=5, talk=30),
            call("b", minutes=1, outcome="answered", wait=5, talk=30),
            call("c", minutes=2, outcome="answered", wait=5, talk=30),
            call("d", minutes=3, outcome="answered", wait=5, talk=30),
            call("e", minutes=4, outcome="abandoned", wait=12),
            call("i", minutes=60 * 24, outcome="answered", wait=1),  # the next day
        ])
    with session_scope(desk.engine) as session:
        for uid, reason in (("a", NotRequest.SILENT), ("b", NotRequest.HARASSMENT),
                            ("i", NotRequest.WRONG_NUMBER)):
            mark_not_request(session=session, call_uniqueid=uid, reason=reason, actor="op",
                             now=T0)
        draft = TicketDraft(call_uniqueid="c", source="caller", text="嗯", created_at=T0,
                            updated_at=T0)
        session.add(draft)
        session.flush()
        assert draft.id is not None  # discarded with no reason given: not counted
        discard_draft(session=session, draft_id=draft.id, actor="op", now=T0)
    with session_scope(desk.engine) as session:
        rates = call_rates(session=session, period=period(PeriodKind.DAY, date(2026, 11, 23),
                                                          zone=CENTER))
    assert rates.answered == Rate(4, 5)
    assert rates.not_request == Rate(2, 4)  # a and b of the day's four answered calls
    header, rows = calls_table(rates)
    assert ["not_request", 2, 4, 0.5] in rows and header[0] == "measure"
