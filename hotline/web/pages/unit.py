"""The unit handler's workspace (承办单位工作台).

    GET  /unit                              my unit's inbox: lights, time left
    GET  /unit/tickets/{number}             one ticket with the actions allowed now (fragment)
    POST /unit/tickets/{number}/sign        签收
    POST /unit/tickets/{number}/return      退回 with reason
    POST /unit/tickets/{number}/extension   申请延期: days, reason
    POST /unit/tickets/{number}/reply       答复: text and files (photos, PDF)
    GET  /attachments/{id}                  a reply's file, to the roles that may see it

Unit handlers act for their own unit on their unit's tickets only (403 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse
from sqlmodel import Session, col, select

from hotline.attachments.models import Attachment
from hotline.attachments.store import AttachmentRefused, AttachmentStore
from hotline.errors import HotlineError
from hotline.oversight.notices import recent_warnings
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.http import (
    _unit_names,
    announce_change,
    detail,
    summary,
    unit_of,
    visible_ticket,
)
from hotline.tickets.queries import TicketQuery, list_tickets
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep
from hotline.web.pages.common import page_user, render

router = APIRouter(include_in_schema=False)
Handler = Annotated[User, Depends(page_user(Role.unit_handler))]
Viewer = Annotated[User, Depends(page_user(Role.unit_handler, Role.operator, Role.supervisor,
                                           Role.callback_agent))]
MAX_FILES = 5


@dataclass(frozen=True)
class UnitConsole:
    attachments: AttachmentStore


def unit_console(request: Request) -> UnitConsole:
    console = getattr(request.app.state, "unit_console", None)
    if not isinstance(console, UnitConsole):
        raise RuntimeError("no UnitConsole on the app: include_pages(..., units=...)")
    return console


@router.get("/unit", response_class=HTMLResponse)
def inbox(request: Request, session: SessionDep, user: Handler, now: Now) -> HTMLResponse:
    unit_id = unit_of(session, user)
    page = list_tickets(session=session, query=TicketQuery(visible_to_unit=unit_id, limit=100))
    units = _unit_names(session, {t.main_unit_id for t in page.items})
    items = [summary(t, now=now, units=units, phone=t.caller_phone) for t in page.items]
    return render(request, "unit/inbox.html", user=user, items=items,
                  warnings=recent_warnings(session=session, now=now, unit_id=unit_id))


def _ticket_panel(request: Request, session: Session, user: User, number: str, now: Now,
                  error: HotlineError | None = None) -> HTMLResponse:
    ticket = visible_ticket(session, number, user)
    assert ticket.id is not None
    files = session.exec(select(Attachment).where(Attachment.ticket_id == ticket.id)
                         .order_by(col(Attachment.id))).all()
    return render(request, "unit/ticket.html", user=user, error=error, files=files,
                  t=detail(session, ticket, user=user, now=now),
                  max_mb=unit_console(request).attachments.max_bytes // (1 << 20))


@router.get("/unit/tickets/{number}", response_class=HTMLResponse)
def ticket_panel(number: str, request: Request, session: SessionDep, user: Handler,
                 now: Now) -> HTMLResponse:
    return _ticket_panel(request, session, user, number, now)


def _act(request: Request, session: Session, user: User, number: str, now: Now,
         action: lc.Action) -> HTMLResponse:
    try:
        ticket = visible_ticket(session, number, user)
        assert ticket.id is not None
        service.act(session=session, ticket_id=ticket.id, action=action, actor=user.username,
                    now=now)
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _ticket_panel(request, session, user, number, now, error=exc)
    return _done(request, session, user, number, now)


def _done(request: Request, session: Session, user: User, number: str,
          now: Now) -> HTMLResponse:
    """After a commit: wake the streams, answer the ticket, tell the inbox to reload."""
    announce_change(request)
    response = _ticket_panel(request, session, user, number, now)
    response.headers["HX-Trigger"] = "inbox-changed"
    return response


def _unit(user: User) -> str:
    assert user.unit_name is not None
    return user.unit_name


@router.post("/unit/tickets/{number}/sign", response_class=HTMLResponse)
def sign(number: str, request: Request, session: SessionDep, user: Handler,
         now: Now) -> HTMLResponse:
    return _act(request, session, user, number, now, lc.Sign(unit=_unit(user)))


@router.post("/unit/tickets/{number}/arrive", response_class=HTMLResponse)
def arrive(number: str, request: Request, session: SessionDep, user: Handler,
           now: Now) -> HTMLResponse:
    """到场 (urgent tickets): the time of the request is the arrival."""
    return _act(request, session, user, number, now, lc.Arrive(unit=_unit(user)))


@router.post("/unit/tickets/{number}/return", response_class=HTMLResponse)
def return_(number: str, request: Request, session: SessionDep, user: Handler, now: Now,
            reason: Annotated[str, Form(min_length=2, max_length=2000)]) -> HTMLResponse:
    return _act(request, session, user, number, now, lc.Return(unit=_unit(user), reason=reason))


@router.post("/unit/tickets/{number}/extension", response_class=HTMLResponse)
def extension(number: str, request: Request, session: SessionDep, user: Handler, now: Now,
              days: Annotated[int, Form(ge=1, le=14)],
              reason: Annotated[str, Form(min_length=2, max_length=2000)]) -> HTMLResponse:
    return _act(request, session, user, number, now,
                lc.RequestExtension(unit=_unit(user), days=days, reason=reason))


@router.post("/unit/tickets/{number}/reply", response_class=HTMLResponse)
async def reply(number: str, request: Request, session: SessionDep, user: Handler, now: Now,
                text: Annotated[str, Form(min_length=2, max_length=8000)],
                files: Annotated[list[UploadFile] | None, File()] = None) -> HTMLResponse:
    store = unit_console(request).attachments
    uploads = [f for f in (files or []) if f.filename]
    try:
        if len(uploads) > MAX_FILES:
            raise AttachmentRefused(f"at most {MAX_FILES} files", count=len(uploads))
        ticket = visible_ticket(session, number, user)
        assert ticket.id is not None
        unit_id = unit_of(session, user)
        for upload in uploads:  # read at most one byte over the limit
            data = await upload.read(store.max_bytes + 1)
            store.save(session=session, data=data, name=upload.filename or "file",
                       ticket_id=ticket.id, unit_id=unit_id, uploaded_by=user.username,
                       now=now)
        service.act(session=session, ticket_id=ticket.id, action=lc.Reply(
            unit=_unit(user), text=text), actor=user.username, now=now)
        session.commit()
    except HotlineError as exc:
        session.rollback()
        return _ticket_panel(request, session, user, number, now, error=exc)
    return _done(request, session, user, number, now)


@router.get("/attachments/{attachment_id}")
def attachment(attachment_id: int, request: Request, session: SessionDep,
               user: Viewer) -> FileResponse:
    row = session.get(Attachment, attachment_id)
    if row is None:
        raise NoSuchAttachment(attachment_id)
    ticket = service.get_ticket(session=session, ticket_id=row.ticket_id)
    visible_ticket(session, ticket.number, user)  # another unit's: 403
    path = unit_console(request).attachments.path_of(row)
    return FileResponse(path, media_type=row.content_type, filename=row.name,
                        content_disposition_type="inline" if row.content_type.startswith(
                            "image/") else "attachment",
                        headers={"X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, no-store"})


class NoSuchAttachment(HotlineError):
    error_id = "no-such-attachment"
    status_code = 404

    def __init__(self, attachment_id: int) -> None:
        super().__init__(f"no attachment {attachment_id}", attachment=attachment_id)
