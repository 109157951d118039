"""Which messages the ticket change outbox (``ticket_change``) calls for, read with a stored
cursor (``notify``) like the outbound calls' planner (``hotline.outbound.planning``):

* A ticket created through the web channel (``create``) with a phone: a message saying it was
  accepted, with its number and the status lookup page.
* A revisit due (a reply approved, ``review`` → reviewed, or an immediate answer with a revisit
  wanted): each caller still to be asked whose ticket came through the web channel with a phone
  gets the link of the survey page, signed for that caller's ticket and this revisit round
  (``public_guard.survey_token``, the page's own check), so only that caller can answer it.
  Phone callers are called instead (``hotline.outbound``); a redo (重办) starts a new round.

Each batch is planned in one transaction with the cursor; ``dedupe_key`` keeps each message
single if a batch is planned twice. The first start begins at the newest change: tickets from
before messages were sent get none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from hotline.notify import texts
from hotline.notify.models import MessageKind
from hotline.notify.store import enqueue
from hotline.outbound.planning import SURVEY_TRIGGERS
from hotline.outbound.store import next_changes, write_cursor
from hotline.tickets.codec import decode_state
from hotline.tickets.models import ChangeKind, Channel, Ticket, TicketChange
from hotline.tickets.service import CREATE, get_by_number
from hotline.web.pages.public_guard import survey_token

log = logging.getLogger(__name__)
CURSOR = "notify"


@dataclass(frozen=True)
class Wording:
    """What the planner needs to write the messages."""

    base_url: str  # the public pages as citizens reach them
    secret: str  # the server's secret the survey links are signed with (the web's ``csrf``)
    signature: str = "【12345热线】"
    on_accepted: bool = True
    on_survey: bool = True


@dataclass
class Planned:
    accepted: int = 0
    surveys: int = 0
    changes: int = 0


def plan_batch(*, session: Session, now: datetime, wording: Wording, limit: int = 200
               ) -> Planned:
    """Write the messages of the next batch of changes and move the cursor past them."""
    batch = next_changes(session=session, reader=CURSOR, now=now, limit=limit)
    if batch is None:
        return Planned()
    planned = Planned(changes=len(batch.changes))
    for change in batch.changes:
        if change.ticket_id is not None and change.kind == ChangeKind.EVENT:
            _plan(session, change, now=now, wording=wording, planned=planned)
    write_cursor(session=session, name=CURSOR, cursor=batch.cursor)
    return planned


def _web_phone(ticket: Ticket) -> bool:
    return ticket.channel == Channel.WEB and bool(ticket.caller_phone.strip())


def _plan(session: Session, change: TicketChange, *, now: datetime, wording: Wording,
          planned: Planned) -> None:
    ticket = session.get(Ticket, change.ticket_id)
    if ticket is None:
        return
    if change.action == CREATE and wording.on_accepted and _web_phone(ticket):
        text = texts.accepted_text(signature=wording.signature, number=ticket.number,
                                   base_url=wording.base_url)
        made = enqueue(session=session, kind=MessageKind.ACCEPTED, key=f"accepted:{ticket.id}",
                       ticket=ticket, phone=ticket.caller_phone, text=text, now=now)
        planned.accepted += made is not None
    elif (change.action, change.status) in SURVEY_TRIGGERS and wording.on_survey:
        planned.surveys += plan_surveys(session=session, ticket=ticket, now=now,
                                        wording=wording)


def plan_surveys(*, session: Session, ticket: Ticket, now: datetime, wording: Wording) -> int:
    """A survey link for each web caller of ``ticket`` still to be asked; how many were new."""
    state = decode_state(ticket.state)
    made = 0
    for number in state.callers_to_revisit():
        caller = ticket if number == ticket.number else get_by_number(session=session,
                                                                      number=number)
        if not _web_phone(caller):
            continue
        token = survey_token(wording.secret, caller.number, state.redo_count)
        text = texts.survey_text(signature=wording.signature, number=caller.number,
                                 token=token, base_url=wording.base_url)
        message = enqueue(session=session, kind=MessageKind.SURVEY,
                          key=f"survey:{ticket.id}:{caller.number}:{state.redo_count}",
                          ticket=ticket, number=caller.number, phone=caller.caller_phone,
                          text=text, now=now)
        made += message is not None
    return made
