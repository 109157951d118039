"""Work-order drafts for the console: read them, accept one as a ticket, or discard it.

    GET  /api/drafts?call=<uniqueid>        the drafts of a call (without ``call``: open ones)
    GET  /api/drafts/{id}                   one draft: text, suggestions, links
    POST /api/drafts/{id}/accept            body: the ticket fields the operator confirmed
    POST /api/drafts/{id}/discard           body (optional): reason, note (无效来电)
    POST /api/drafts/not-request            body: call, reason, note: the call is not a request
                                            (its draft discarded, made when none arrived yet)

Operators and supervisors only. Accepting creates the ticket (受理) with the draft's call and
transcript unless the body gives its own; both changes reach the consoles' event stream.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hotline.intake import drafts
from hotline.intake.not_request import NotRequest, mark_not_request, why_not
from hotline.tickets.http import TicketRules, announce_change
from hotline.tickets.schemas import TicketCreateRequest
from hotline.users.models import Role
from hotline.web.deps import CurrentUser, Now, SessionDep, require_roles

router = APIRouter(prefix="/api/drafts", tags=["work-order drafts"],
                   dependencies=[Depends(require_roles(Role.operator, Role.supervisor))])


class DraftView(BaseModel):
    id: int
    call_uniqueid: str
    source: str
    recording_id: int | None
    transcript_id: int | None
    recording_ids: list[int]
    text: str
    suggestions: dict[str, Any]
    status: str
    ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    discard_reason: str | None
    discard_note: str


class Discard(BaseModel):
    reason: NotRequest | None = None
    note: str = Field(default="", max_length=500)


class NotRequestBody(BaseModel):
    call: str = Field(min_length=1, max_length=64, description="the call's uniqueid")
    reason: NotRequest
    note: str = Field(default="", max_length=500)


class Accepted(BaseModel):
    draft: DraftView
    ticket_id: int
    number: str


def view(draft: drafts.TicketDraft) -> DraftView:
    return DraftView.model_validate(draft, from_attributes=True)


@router.get("", summary="Drafts of a call (or the open drafts, newest first)")
def find(session: SessionDep,
         call: Annotated[str | None, Query(max_length=64)] = None,
         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[DraftView]:
    if call is not None:
        return [view(d) for d in drafts.drafts_of_call(session=session, call_uniqueid=call)]
    return [view(d) for d in drafts.open_drafts(session=session, limit=limit)]


@router.get("/{draft_id}", summary="A work-order draft")
def read(draft_id: int, session: SessionDep) -> DraftView:
    return view(drafts.get_draft(session=session, draft_id=draft_id))


@router.post("/{draft_id}/accept", status_code=201,
             summary="Accept the draft with the confirmed fields: the ticket is created")
def accept(draft_id: int, body: TicketCreateRequest, request: Request, session: SessionDep,
           user: CurrentUser, now: Now, rules: TicketRules) -> Accepted:
    ticket = drafts.accept_draft(session=session, draft_id=draft_id, ticket=body,
                                 actor=user.username, now=now, rules=rules)
    session.commit()
    announce_change(request)
    assert ticket.id is not None
    return Accepted(draft=view(drafts.get_draft(session=session, draft_id=draft_id)),
                    ticket_id=ticket.id, number=ticket.number)


@router.post("/not-request", summary="Mark a call 无效来电: no ticket, its 受理 clock stops")
def not_request(body: NotRequestBody, request: Request, session: SessionDep,
                user: CurrentUser, now: Now) -> DraftView:
    draft = mark_not_request(session=session, call_uniqueid=body.call, reason=body.reason,
                             note=body.note, actor=user.username, now=now)
    session.commit()
    announce_change(request)
    return view(draft)


@router.post("/{draft_id}/discard", summary="Discard the draft (no ticket)")
def discard(draft_id: int, request: Request, session: SessionDep, user: CurrentUser,
            now: Now, body: Discard | None = None) -> DraftView:
    why = body or Discard()
    draft = drafts.discard_draft(session=session, draft_id=draft_id, actor=user.username,
                                 now=now, reason=why.reason.value if why.reason else None,
                                 note=why_not(why.reason, why.note))
    session.commit()
    announce_change(request)
    return view(draft)
