"""The public web channel (no login, for phones): citizens submit, look up and rate.

    GET  /public                        the request form (name, phone, type, place, text, photo)
    POST /public                        → a ticket with channel web; its number to keep
    GET  /public/qr.svg                 the QR code of the form's address (server-side, segno)
    GET  /public/qr                     a page to print with that code
    GET  /public/status                 lookup by ticket number plus phone
    POST /public/status                 the status, only when both match (one answer otherwise)
    GET  /public/survey/{number}/{t}    the satisfaction survey of one ticket (signed link)
    POST /public/survey/{number}/{t}    one answer → Revisit on the ticket (不满意: 重办)

Protection: every form carries a token bound to the browser's ``hotline_public`` cookie and
stamped with when it was served (``public_guard.FormGuard``: CSRF without a login, and a form
sent back faster than ``min_fill`` is spam); a hidden ``website`` field no person fills
(honeypot); per client address, in memory (``RateLimiter``), at most ``submissions`` tickets,
``lookups`` lookups and ``surveys`` answers per hour, then 429 with a message saying when to
come back. The pages never show another ticket nor any phone number.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import BytesIO
from typing import Annotated, Any

import segno
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from hotline.attachments.store import AttachmentRefused, AttachmentStore
from hotline.errors import HotlineError
from hotline.outbound.rules import normalize_number
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.errors import NoSuchTicket
from hotline.tickets.models import Channel, Reply, Ticket, TicketCreate, TicketType
from hotline.tickets.revisits import awaits, rate, revisit_round, target_of
from hotline.web.deps import Now, SessionDep, web_context
from hotline.web.pages.common import render
from hotline.web.pages.public_guard import (
    FormGuard,
    RateLimiter,
    survey_token,
    survey_token_ok,
)

router = APIRouter(include_in_schema=False)
COOKIE = "hotline_public"
ACTOR = "public-web"
HONEYPOT = "website"
PHONE_CHARS = frozenset("0123456789")
TYPES = [TicketType.HELP, TicketType.COMPLAINT, TicketType.REPORT, TicketType.CONSULTATION,
         TicketType.SUGGESTION, TicketType.PRAISE, TicketType.OTHER]
# What a citizen is told of each status: coarse on purpose (no internal steps).
PUBLIC_STATUS = {
    lc.Status.ACCEPTED: "已受理，等待派单", lc.Status.DISPATCHED: "办理中",
    lc.Status.SIGNED: "办理中", lc.Status.IN_PROGRESS: "办理中", lc.Status.RETURNED: "办理中",
    lc.Status.PARKED: "办理中", lc.Status.REPLIED: "已答复，审核中",
    lc.Status.REVIEWED: "已办理，待回访评价", lc.Status.REVISIT: "已办理，待回访评价",
    lc.Status.CLOSED: "已办结", lc.Status.ARCHIVED: "已办结",
    lc.Status.TRANSFERRED: "已转交紧急服务部门",
}
SHOWN_REPLY = (lc.Status.REVIEWED, lc.Status.REVISIT, lc.Status.CLOSED, lc.Status.ARCHIVED)


def _hourly(limit: int) -> RateLimiter:
    return RateLimiter(limit=limit, window=timedelta(hours=1))


@dataclass
class PublicConsole:
    """The public channel's parts; the limits are per client address and process."""

    attachments: AttachmentStore
    submissions: RateLimiter = field(default_factory=lambda: _hourly(5))
    lookups: RateLimiter = field(default_factory=lambda: _hourly(30))
    surveys: RateLimiter = field(default_factory=lambda: _hourly(20))
    min_fill: timedelta = timedelta(seconds=3)


class TooManyRequests(HotlineError):
    error_id = "too-many-requests"
    status_code = 429


def public_console(request: Request) -> PublicConsole:
    console = getattr(request.app.state, "public_console", None)
    if not isinstance(console, PublicConsole):
        raise RuntimeError("no PublicConsole on the app: include_pages(..., public=...)")
    return console


def _guard(request: Request) -> FormGuard:
    return FormGuard(web_context(request).csrf_secret, min_fill=public_console(request).min_fill)


def _client(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy: run uvicorn with
    ``--proxy-headers`` and the proxy in ``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


def _page(request: Request, template: str, now: datetime, *, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    """A public page; every form on it gets a fresh token bound to the browser's cookie."""
    cookie = request.cookies.get(COOKIE)
    fresh = cookie is None
    cookie = cookie or secrets.token_urlsafe(24)
    response = render(request, template, user=None, status_code=status_code,
                      form_token=_guard(request).issue(cookie, now=now), honeypot=HONEYPOT,
                      **context)
    if fresh:
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/public",
                            secure=web_context(request).cookie_secure(request))
    return response


def _refused(request: Request, template: str, now: datetime, problem: str,
             **context: Any) -> HTMLResponse:
    """A form sent back that no person would send: expired, forged, too fast or trapped."""
    message = ("提交过快，请确认填写内容后再提交。" if problem == "too-fast"
               else "页面已过期，请重新提交。")
    return _page(request, template, now, status_code=403 if problem == "csrf" else 422,
                 error=message, problem=problem, **context)


def _too_many(request: Request, limiter: RateLimiter, now: datetime,
              template: str, **context: Any) -> HTMLResponse:
    wait = limiter.retry_after(_client(request), now=now)
    minutes = max(1, int(wait.total_seconds() + 59) // 60)
    response = _page(request, template, now, status_code=429, problem="rate-limit",
                     error=f"提交过于频繁，请在 {minutes} 分钟后再试。如情况紧急请拨打 12345。",
                     **context)
    response.headers["Retry-After"] = str(int(wait.total_seconds()) + 1)
    return response


def _checked(request: Request, token: str, trap: str, now: datetime) -> str | None:
    if trap:
        return "honeypot"
    return _guard(request).check(request.cookies.get(COOKIE), token, now=now)


# --- the request form -----------------------------------------------------------------------


@router.get("/public", response_class=HTMLResponse)
def form(request: Request, now: Now) -> HTMLResponse:
    return _page(request, "public/form.html", now, types=TYPES, values={})


@router.post("/public", response_class=HTMLResponse)
async def submit(
    request: Request, session: SessionDep, now: Now,
    form_token: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    request_type: Annotated[str, Form(max_length=16)] = "",
    location: Annotated[str, Form(max_length=256)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    console, client = public_console(request), _client(request)
    values = {"name": name, "phone": phone, "request_type": request_type,
              "location": location, "description": description}
    context: dict[str, Any] = {"types": TYPES, "values": values}
    if not console.submissions.allows(client, now=now):
        return _too_many(request, console.submissions, now, "public/form.html", **context)
    problem = _checked(request, form_token, website, now)
    if problem is not None:
        if problem == "honeypot":
            console.submissions.hit(client, now=now)
        return _refused(request, "public/form.html", now, problem, **context)
    number = normalize_number(phone)
    errors = _form_errors(name=name, phone=number, request_type=request_type,
                          description=description)
    data = await photo.read(console.attachments.max_bytes + 1) if photo and photo.filename \
        else b""
    if data and not errors:
        try:
            console.attachments.check(data, name=(photo.filename if photo else None) or "photo")
        except AttachmentRefused:
            errors.append(f"照片只接受 JPEG、PNG、WebP 格式，且不超过 "
                          f"{console.attachments.max_bytes // (1 << 20)} MB。")
    if errors:
        return _page(request, "public/form.html", now, status_code=422, errors=errors,
                     **context)
    ticket = _create(request, session, now, values=values, phone=number, photo=data,
                     photo_name=photo.filename if photo and photo.filename else "photo")
    console.submissions.hit(client, now=now)
    return _page(request, "public/submitted.html", now, number=ticket.number)


def _form_errors(*, name: str, phone: str, request_type: str, description: str) -> list[str]:
    errors = []
    if not name.strip():
        errors.append("请填写姓名。")
    if not (7 <= len(phone) <= 20 and set(phone) <= PHONE_CHARS):
        errors.append("请填写正确的联系电话（手机或座机号码）。")
    if request_type not in {t.value for t in TYPES}:
        errors.append("请选择诉求类型。")
    if len(description.strip()) < 5:
        errors.append("请描述您的诉求（至少 5 个字）。")
    return errors


def _create(request: Request, session: Session, now: datetime, *, values: dict[str, str],
            phone: str, photo: bytes, photo_name: str) -> Ticket:
    try:
        draft = TicketCreate(channel=Channel.WEB, caller_name=values["name"].strip(),
                             caller_phone=phone, request_type=TicketType(values["request_type"]),
                             location=values["location"].strip(),
                             description=values["description"].strip())
    except ValidationError as exc:  # checked above; a bug if it happens
        raise RuntimeError(f"public form passed the checks but not TicketCreate: {exc}") from exc
    ticket = service.create_ticket(session=session, draft=draft, now=now, actor=ACTOR,
                                   rules=_rules(request))
    assert ticket.id is not None
    if photo:
        public_console(request).attachments.save(
            session=session, data=photo, name=photo_name, ticket_id=ticket.id, unit_id=None,
            uploaded_by=ACTOR, now=now)
    session.commit()
    _announce(request)
    return ticket


def _rules(request: Request) -> service.Rules:
    rules = getattr(request.app.state, "ticket_rules", None)
    return rules if isinstance(rules, service.Rules) else service.DEFAULT_RULES


def _announce(request: Request) -> None:
    hook = getattr(request.app.state, "ticket_changed", None)
    if callable(hook):
        hook()


# --- the QR code ----------------------------------------------------------------------------


def form_url(request: Request) -> str:
    return str(request.url_for("form"))


@router.get("/public/qr.svg")
def qr_svg(request: Request) -> Response:
    out = BytesIO()
    segno.make(form_url(request), error="m").save(out, kind="svg", scale=8, border=2,
                                                  xmldecl=False)
    return Response(out.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-cache"})


@router.get("/public/qr", response_class=HTMLResponse)
def qr_page(request: Request, now: Now) -> HTMLResponse:
    return _page(request, "public/qr.html", now, url=form_url(request))


# --- status lookup --------------------------------------------------------------------------


@router.get("/public/status", response_class=HTMLResponse)
def status_form(request: Request, now: Now) -> HTMLResponse:
    return _page(request, "public/status.html", now, values={})


@router.post("/public/status", response_class=HTMLResponse)
def status(request: Request, session: SessionDep, now: Now,
           form_token: Annotated[str, Form()] = "", website: Annotated[str, Form()] = "",
           number: Annotated[str, Form(max_length=32)] = "",
           phone: Annotated[str, Form(max_length=32)] = "") -> HTMLResponse:
    console, client = public_console(request), _client(request)
    values = {"number": number}
    if not console.lookups.hit(client, now=now):
        return _too_many(request, console.lookups, now, "public/status.html", values=values)
    problem = "honeypot" if website else _guard(request).check(
        request.cookies.get(COOKIE), form_token, now=now)
    if problem == "csrf":
        return _refused(request, "public/status.html", now, problem, values=values)
    found = None if problem else lookup(session, number=number.strip(), phone=phone)
    if found is None:
        return _page(request, "public/status.html", now, values=values, not_found=True)
    return _page(request, "public/status.html", now, values=values,
                 found=_public_view(request, session, found))


def lookup(session: Session, *, number: str, phone: str) -> Ticket | None:
    """The ticket when both its number and its caller's phone match; None otherwise, however
    it failed (the caller cannot tell a wrong number from a wrong phone)."""
    ticket = session.exec(select(Ticket).where(Ticket.number == number)).first()
    given = normalize_number(phone).encode()
    stored = normalize_number(ticket.caller_phone).encode() if ticket else b"\0"
    if ticket is None or not given or not hmac.compare_digest(given, stored):
        return None
    return ticket


def _public_view(request: Request, session: Session, ticket: Ticket) -> dict[str, Any]:
    target = target_of(session, ticket)
    reply = None
    if ticket.parent_id is None and target.status in SHOWN_REPLY:
        reply = session.exec(select(Reply.text).where(Reply.ticket_id == target.id)
                             .order_by(col(Reply.at).desc(), col(Reply.id).desc())).first()
    return {
        "number": ticket.number, "type": TicketType(ticket.request_type).label,
        "status": PUBLIC_STATUS.get(lc.Status(target.status), "办理中"),
        "accepted_at": ticket.created_at, "updated_at": target.updated_at, "reply": reply,
        "merged": ticket.parent_id is not None,
        "survey": survey_path(request, session, ticket) if awaits(session, ticket) else None,
    }


# --- the satisfaction survey ----------------------------------------------------------------


def survey_path(request: Request, session: Session, ticket: Ticket) -> str:
    """The survey link of ``ticket`` for its current revisit round (put it in the message)."""
    token = survey_token(web_context(request).csrf_secret, ticket.number,
                         revisit_round(session, ticket))
    return f"/public/survey/{ticket.number}/{token}"


def _survey_ticket(request: Request, session: Session, number: str, token: str
                   ) -> Ticket | None:
    try:
        ticket = service.get_by_number(session=session, number=number)
    except NoSuchTicket:
        return None
    secret = web_context(request).csrf_secret
    return ticket if survey_token_ok(secret, number, revisit_round(session, ticket),
                                     token) else None


@router.get("/public/survey/{number}/{token}", response_class=HTMLResponse)
def survey(number: str, token: str, request: Request, session: SessionDep,
           now: Now) -> HTMLResponse:
    ticket = _survey_ticket(request, session, number, token)
    if ticket is None:
        return _page(request, "public/survey.html", now, status_code=404, invalid=True)
    return _page(request, "public/survey.html", now, number=ticket.number,
                 open=awaits(session, ticket), results=list(lc.Satisfaction))


@router.post("/public/survey/{number}/{token}", response_class=HTMLResponse)
def answer(number: str, token: str, request: Request, session: SessionDep, now: Now,
           form_token: Annotated[str, Form()] = "", website: Annotated[str, Form()] = "",
           result: Annotated[str, Form()] = "",
           comment: Annotated[str, Form(max_length=1000)] = "") -> HTMLResponse:
    console, client = public_console(request), _client(request)
    ticket = _survey_ticket(request, session, number, token)
    if ticket is None:
        return _page(request, "public/survey.html", now, status_code=404, invalid=True)
    context: dict[str, Any] = {"number": ticket.number, "results": list(lc.Satisfaction)}
    if not console.surveys.hit(client, now=now):
        return _too_many(request, console.surveys, now, "public/survey.html", open=True,
                         **context)
    problem = _checked(request, form_token, website, now)
    if problem is not None:
        return _refused(request, "public/survey.html", now, problem, open=True, **context)
    if result not in {s.value for s in lc.Satisfaction}:
        return _page(request, "public/survey.html", now, status_code=422, open=True,
                     errors=["请选择您的评价。"], **context)
    try:
        rate(session=session, number=ticket.number, result=lc.Satisfaction(result),
             comment=comment, actor=ACTOR, now=now, rules=_rules(request))
        session.commit()
    except HotlineError:
        session.rollback()
        return _page(request, "public/survey.html", now, status_code=409, open=False,
                     **context)
    _announce(request)
    return _page(request, "public/survey.html", now, open=False, thanked=True, **context)
