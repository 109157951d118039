"""What to call, read from the ticket change outbox (``ticket_change``) with a stored cursor.

* A reply approved (``review`` → reviewed) or an immediate answer with a revisit wanted
  (``answer_now`` → revisit): the revisit is due. Each caller of the ticket (its own, and those
  of merged children) whose ticket came by phone with a number gets a survey call, once per
  round (a redo 重办 starts round 1). The ticket is moved to 回访 (``StartRevisit``, actor
  ``outbound``) when at least one caller will be called; others are left to the agents.
* A ``light`` change to yellow or red: the main unit's duty phone gets a reminder (督办) naming
  the ticket and its deadline. A red one not acknowledged within a working day is escalated
  (``service.escalate_due``); a red ticket whose unit has no duty phone is escalated at once.
  A red reminder replaces a yellow one of the same ticket not yet placed.
* A ``review`` change (a parked ticket's review date came, 挂账): the main unit's duty phone is
  reminded alike, naming the review date as the deadline (the call's ``light`` is ``review``);
  without a duty phone the ticket goes onto the supervisors' escalation list (the center).
* A ticket not dispatched in time (受理 → 派单, 2 minutes) has no unit to call: red puts it on
  the supervisors' escalation list (reason ``not_dispatched``); dispatching is the center's.
* A call a seat answered with no ticket when its 受理 clock runs out (kind ``accept``, red;
  ``hotline.tickets.accept``) goes onto the supervisors' escalation list (reason
  ``not_accepted``, 超时未受理) with the call and the seat; yellow calls nobody.
* A transition after which the ticket's light is better than a reminder's (the clock that
  turned yellow or red stopped: signed, 到场, an extension approved …) cancels that reminder
  if not yet placed.
* Any other transition of a ticket cancels its calls no longer needed, if not yet placed: its
  surveys once it left 审核/回访 (closed by an agent, merged, redone, …), its reminders once the
  unit no longer holds it (replied, closed, merged, …); a survey waiting in the callback
  agents' queue leaves it alike. A call ringing now goes on; its rating is then refused by the
  ticket and kept on the attempt only.

Each batch of changes is planned in one transaction with the cursor, so a crash plans the batch
again and the calls' ``dedupe_key`` keeps each call single. The first start begins at the
newest change: tickets reviewed before outbound calls were running are left to the agents.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import false, or_
from sqlmodel import Session, col, update

from hotline.outbound.models import CallStatus, Escalation, OutboundCall
from hotline.outbound.rules import CallingHours, Purpose, escalate_at
from hotline.outbound.store import enqueue, read_cursor, write_cursor
from hotline.tickets import lifecycle as lc
from hotline.tickets.changes import changes_after, latest_cursor
from hotline.tickets.codec import decode_state
from hotline.tickets.errors import TicketError
from hotline.tickets.models import ChangeKind, Channel, Matter, Ticket, TicketChange, Unit
from hotline.tickets.service import DEFAULT_RULES, Rules, act, get_by_number

log = logging.getLogger(__name__)

CURSOR = "outbound"
ACTOR = "outbound"
SURVEY_TRIGGERS = {("review", lc.Status.REVIEWED), ("answer_now", lc.Status.REVISIT)}
REMINDED_LIGHTS = {"yellow", "red"}
LIGHTS_WORSE_THAN = {"none": ("yellow", "red"), "green": ("yellow", "red"), "yellow": ("red",)}
SURVEYED_STATUSES = frozenset({lc.Status.REVIEWED, lc.Status.REVISIT})
REMINDED_STATUSES = frozenset({lc.Status.DISPATCHED, lc.Status.SIGNED, lc.Status.IN_PROGRESS})


@dataclass(frozen=True)
class Planning:
    hours: CallingHours
    rules: Rules = DEFAULT_RULES
    trunk: str = "default"


@dataclass
class Planned:
    surveys: int = 0
    reminders: int = 0
    escalations: int = 0
    cancelled: int = 0
    changes: int = 0


def plan_batch(*, session: Session, now: datetime, planning: Planning, limit: int = 200
               ) -> Planned:
    """Plan the calls of the next batch of outbox changes and move the cursor past them."""
    cursor = read_cursor(session=session, name=CURSOR)
    if cursor < 0:
        write_cursor(session=session, name=CURSOR, cursor=latest_cursor(session=session))
        return Planned()
    batch = changes_after(session=session, cursor=cursor, now=now, limit=limit)
    planned = Planned(changes=len(batch.changes))
    for change in batch.changes:
        if change.kind == ChangeKind.ACCEPT:
            planned.escalations += _escalate_unaccepted(session, change, now=now)
        if change.ticket_id is None:
            continue
        try:
            with session.begin_nested():
                _plan(session, change, now=now, planning=planning, planned=planned)
        except TicketError as exc:  # the ticket moved on meanwhile: nothing to call for
            log.info("outbound: change %s of %s not planned: %s", change.id, change.number, exc)
    write_cursor(session=session, name=CURSOR, cursor=batch.cursor)
    return planned


def _plan(session: Session, change: TicketChange, *, now: datetime, planning: Planning,
          planned: Planned) -> None:
    if change.kind == ChangeKind.EVENT and (change.action, change.status) in SURVEY_TRIGGERS:
        planned.surveys += plan_surveys(session=session, ticket_id=change.ticket_id or 0,
                                        now=now, planning=planning)
    elif (change.kind == ChangeKind.LIGHT and change.action in REMINDED_LIGHTS
          or change.kind == ChangeKind.REVIEW):
        _plan_reminder(session, change, now=now, planning=planning, planned=planned)
    if change.kind == ChangeKind.EVENT:
        planned.cancelled += cancel_unneeded(session=session, ticket_id=change.ticket_id or 0,
                                             status=change.status, now=now,
                                             resumed=change.action == lc.Resume.name)
        planned.cancelled += cancel_outlived(session=session, ticket_id=change.ticket_id or 0,
                                             light=change.light, now=now)


def cancel_unneeded(*, session: Session, ticket_id: int, status: str, now: datetime,
                    resumed: bool = False) -> int:
    """Cancel the ticket's pending calls that its new ``status`` makes pointless (see the
    module docstring), and its park review reminders once it is ``resumed``; returns how many
    were cancelled."""
    purposes = [purpose for purpose, keep in ((Purpose.SURVEY, SURVEYED_STATUSES),
                                              (Purpose.REMINDER, REMINDED_STATUSES))
                if status not in keep]
    if not purposes and not resumed:
        return 0
    which = or_(col(OutboundCall.purpose).in_(purposes),
                col(OutboundCall.light) == "review" if resumed else false())
    result = session.exec(
        update(OutboundCall)
        .where(col(OutboundCall.ticket_id) == ticket_id, which,
               col(OutboundCall.status).in_((CallStatus.PENDING, CallStatus.CALLBACK)))
        .values(status=CallStatus.CANCELLED, next_attempt_at=None, escalate_at=None,
                updated_at=now)
    )
    return int(result.rowcount or 0)


def cancel_outlived(*, session: Session, ticket_id: int, light: str, now: datetime) -> int:
    """Cancel the ticket's pending light reminders worse than its ``light`` after a transition:
    the clock that turned yellow or red stopped (signed, 到场, an extension …)."""
    outlived = LIGHTS_WORSE_THAN.get(light, ())
    if not outlived:
        return 0
    result = session.exec(
        update(OutboundCall)
        .where(col(OutboundCall.ticket_id) == ticket_id,
               col(OutboundCall.purpose) == Purpose.REMINDER,
               col(OutboundCall.light).in_(outlived),
               col(OutboundCall.status).in_((CallStatus.PENDING, CallStatus.CALLBACK)))
        .values(status=CallStatus.CANCELLED, next_attempt_at=None, escalate_at=None,
                updated_at=now)
    )
    return int(result.rowcount or 0)


def plan_surveys(*, session: Session, ticket_id: int, now: datetime, planning: Planning) -> int:
    """Survey calls for every caller of the ticket waiting for a revisit; how many were new."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status not in (lc.Status.REVIEWED, lc.Status.REVISIT):
        return 0
    state = decode_state(ticket.state)
    callers = [
        (number, ticket if number == ticket.number else get_by_number(session=session,
                                                                       number=number))
        for number in state.callers_to_revisit()
    ]
    phoned = [(n, t) for n, t in callers if t.channel == Channel.PHONE and t.caller_phone]
    if not phoned:
        return 0
    if ticket.status == lc.Status.REVIEWED:
        ticket = act(session=session, ticket_id=ticket_id, action=lc.StartRevisit(), actor=ACTOR,
                     now=now, rules=planning.rules)
    subject = survey_subject(session, ticket)
    made = 0
    for number, caller in phoned:
        key = f"survey:{ticket_id}:{number}:{state.redo_count}"
        call = enqueue(
            session=session, purpose=Purpose.SURVEY, key=key, ticket=ticket,
            phone=caller.caller_phone, at=planning.hours.next_opening(now), now=now,
            trunk=planning.trunk, subject=subject,
            caller_ticket=None if number == ticket.number else number,
        )
        made += call is not None
    return made


def survey_subject(session: Session, ticket: Ticket) -> str:
    """What the survey names: the matter of the responsibility list, else the request's start."""
    matter = session.get(Matter, ticket.matter_id) if ticket.matter_id else None
    if matter is not None:
        return matter.name
    text = " ".join(ticket.description.split())
    return text[:30] if text else ticket.request_type.label


def _plan_reminder(session: Session, change: TicketChange, *, now: datetime,
                   planning: Planning, planned: Planned) -> None:
    ticket = session.get(Ticket, change.ticket_id)
    if ticket is None:
        return
    unit = session.get(Unit, ticket.main_unit_id) if ticket.main_unit_id else None
    deadline_text = change.payload.get("deadline")
    deadline = datetime.fromisoformat(deadline_text) if deadline_text else ticket.deadline
    red = change.action == "red"
    review = change.kind == ChangeKind.REVIEW
    if red:  # a yellow reminder not placed yet is replaced by this one
        session.exec(
            update(OutboundCall)
            .where(col(OutboundCall.ticket_id) == ticket.id,
                   col(OutboundCall.purpose) == Purpose.REMINDER,
                   col(OutboundCall.light) == "yellow",
                   col(OutboundCall.status) == CallStatus.PENDING)
            .values(status=CallStatus.CANCELLED, updated_at=now)
        )
    if unit is None or not unit.duty_phone.strip():
        if red or review:
            assert ticket.id is not None
            session.add(Escalation(ticket_id=ticket.id, number=ticket.number,
                                   unit=unit.name if unit else None, deadline=deadline,
                                   reason=_escalation_reason(ticket, review=review),
                                   at=now))
            planned.escalations += 1
        return
    at = planning.hours.next_opening(now)
    call = enqueue(
        session=session, purpose=Purpose.REMINDER, key=f"reminder:{ticket.id}:{change.id}",
        ticket=ticket, phone=unit.duty_phone, at=at, now=now, trunk=planning.trunk,
        light="review" if review else change.action, deadline=deadline, subject=unit.name,
        escalate_at=escalate_at(at, calendar=planning.rules.calendar) if red else None,
    )
    planned.reminders += call is not None



def _escalation_reason(ticket: Ticket, *, review: bool) -> str:
    if review:
        return "park_review"
    return "not_dispatched" if ticket.status == lc.Status.ACCEPTED else "no_duty_phone"


def _escalate_unaccepted(session: Session, change: TicketChange, *, now: datetime) -> int:
    """A red 受理 clock: the call onto the supervisors' list (超时未受理)."""
    if change.action != "red":
        return 0
    deadline = change.payload.get("deadline")
    session.add(Escalation(ticket_id=None, number="", reason="not_accepted", at=now,
                           call_uniqueid=change.payload.get("uniqueid"),
                           unit=change.payload.get("seat") or None,
                           deadline=datetime.fromisoformat(deadline) if deadline else None))
    return 1
