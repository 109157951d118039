"""Call-center rates of a period, from the call records the telephony core keeps (``call``)
and the tickets (for 直接答复率). Counted over calls *started* in the period, all 24 hours.

* **offered**: inbound calls that joined the agents' queue (``queue_joined_at`` set), and
  calls the queue refused (``queue_outcome`` ``full``: the queue was full, ``no_seat``: no
  agent logged in): they asked for a person and got none, so they count as offered and not
  answered. A call that ended in the IVR, or left a message without asking for the queue,
  was never offered to a person.
* **接通率** answered / offered; **answered**: ``queue_outcome = 'answered'`` (AgentConnect).
* **answered within 15 s / 20 s**: the stored flags; **30 s**: ``queue_wait_seconds <= 30``
  of an answered call (no flag is stored for 30 s; the hold time is).
* **abandoned in queue**: ``queue_outcome = 'abandoned'`` (QueueCallerAbandon).
* **average wait**: mean ``queue_wait_seconds`` of offered calls that have one (answered,
  abandoned, or left the queue by a key or a timeout).
* **average talk**: mean of ``ended_at − (queue_joined_at + queue_wait_seconds)`` over
  answered calls that ended. The time the agent picked up is not stored; it is taken as the
  join time plus AgentConnect's HoldTime, and a transfer after the agent counts as talk.
* **直接答复率** (first-call resolution): phone tickets accepted in the period that were
  answered at once (the 即办 ``answer_now`` action) / phone tickets accepted in the period.
* **无效来电**: answered calls the seat marked not a request (a discarded draft with a reason,
  ``hotline.intake.not_request``) / answered calls. Read from the discarded drafts (few) joined
  to their calls, so the month's calls are not read a second time.

``MISSING`` says what the records do not hold, so that nobody reads more into the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, exists, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col

from hotline.calls.models import Call
from hotline.intake.drafts import DraftStatus, TicketDraft
from hotline.oversight.definitions import Period, Rate
from hotline.oversight.queries import run_rows
from hotline.tickets.models import Channel, Ticket, TicketEvent

MISSING = (
    "the time an agent picked up is not stored: talk time starts at queue join + hold time",
    "no flag for answered within 30 s: it is read from the stored hold time",
    "calls answered by a person outside the queue (a direct extension) are not seen as offered",
    "first-call resolution is counted per ticket (即办), not per call: repeat calls are "
    "not linked to an earlier ticket",
)

# queue outcomes of a call the queue refused to take (hotline.calls.service.StoreStepLog)
REFUSED_BY_QUEUE = ("full", "no_seat")


@dataclass(frozen=True)
class CallRates:
    offered: int
    answered: Rate  # 接通率
    within_15s: Rate
    within_20s: Rate
    within_30s: Rate
    abandoned: Rate
    average_wait_seconds: float | None
    average_talk_seconds: float | None
    direct_answer: Rate  # 直接答复率
    not_request: Rate  # 无效来电 among answered calls
    missing: tuple[str, ...] = MISSING


def _talk_seconds(dialect: str) -> Any:
    span: Any
    if dialect == "postgresql":
        span = func.extract("epoch", col(Call.ended_at) - col(Call.queue_joined_at))
    else:
        span = (func.julianday(col(Call.ended_at))
                - func.julianday(col(Call.queue_joined_at))) * 86400.0
    return span - col(Call.queue_wait_seconds)


def call_rates(*, session: Session, period: Period) -> CallRates:
    dialect = session.get_bind().dialect.name
    answered = col(Call.queue_outcome) == "answered"

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    talked = and_(answered, col(Call.ended_at).is_not(None))
    offered = or_(col(Call.queue_joined_at).is_not(None),
                  col(Call.queue_outcome).in_(REFUSED_BY_QUEUE))
    query = core_select(
        func.count(),
        count(answered),
        count(and_(answered, col(Call.answered_within_15s).is_(True))),
        count(and_(answered, col(Call.answered_within_20s).is_(True))),
        count(and_(answered, col(Call.queue_wait_seconds) <= 30)),
        count(col(Call.queue_outcome) == "abandoned"),
        func.avg(col(Call.queue_wait_seconds)),
        func.avg(case((talked, _talk_seconds(dialect)), else_=None)),
    ).where(
        col(Call.direction) == "in", offered,
        col(Call.started_at) >= period.start, col(Call.started_at) < period.end,
    )
    n_offered, n_answered, s15, s20, s30, abandoned, wait, talk = run_rows(session, query)[0]
    return CallRates(
        offered=int(n_offered), answered=Rate(int(n_answered), int(n_offered)),
        within_15s=Rate(int(s15), int(n_offered)), within_20s=Rate(int(s20), int(n_offered)),
        within_30s=Rate(int(s30), int(n_offered)),
        abandoned=Rate(int(abandoned), int(n_offered)),
        average_wait_seconds=_round(wait), average_talk_seconds=_round(talk),
        direct_answer=_direct_answer(session, period),
        not_request=Rate(_not_requests(session, period), int(n_answered)),
    )


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _not_requests(session: Session, period: Period) -> int:
    query = core_select(func.count()).select_from(TicketDraft).join(
        Call, col(Call.uniqueid) == col(TicketDraft.call_uniqueid),
    ).where(
        col(TicketDraft.status) == DraftStatus.discarded.value,
        col(TicketDraft.discard_reason).is_not(None),
        col(Call.direction) == "in", col(Call.queue_outcome) == "answered",
        col(Call.started_at) >= period.start, col(Call.started_at) < period.end,
    )
    return int(run_rows(session, query)[0][0])


def _direct_answer(session: Session, period: Period) -> Rate:
    now = exists().where(col(TicketEvent.ticket_id) == col(Ticket.id),
                         col(TicketEvent.action) == "answer_now")
    query = core_select(func.count(), func.coalesce(func.sum(case((now, 1), else_=0)), 0)).where(
        col(Ticket.channel) == Channel.PHONE.value,
        col(Ticket.created_at) >= period.start, col(Ticket.created_at) < period.end,
    )
    total, answered = run_rows(session, query)[0]
    return Rate(int(answered), int(total))
