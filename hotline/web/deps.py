"""Dependencies of the routes, as typed ``Annotated`` aliases.

Example::

    @router.get("/api/tickets/{number}")
    def get_ticket(number: str, session: SessionDep, user: CurrentUser,
                   mask: PhoneMask) -> TicketPublic: ...

    @router.post("/api/units", dependencies=[Depends(require_roles(Role.admin))])
    def add_unit(...): ...

``include_auth`` (``hotline.web.routes.auth``) puts the ``WebContext`` these read on the app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine
from sqlmodel import Session

from hotline.users.errors import NotAuthenticated, RoleNotAllowed
from hotline.users.models import Role, User
from hotline.users.security import SessionCodec
from hotline.users.service import user_for_session, user_for_token
from hotline.web.csrf import csrf_token

SESSION_COOKIE = "hotline_session"
CENTER_TZ = ZoneInfo("Asia/Shanghai")


def center_clock(tz: ZoneInfo = CENTER_TZ) -> Callable[[], datetime]:
    """The center's wall clock: working days and ticket numbers follow local time."""
    return lambda: datetime.now(tz)


@dataclass(frozen=True)
class WebContext:
    engine: Engine
    sessions: SessionCodec
    cookie_name: str = SESSION_COOKIE
    clock: Callable[[], datetime] = field(default_factory=center_clock)
    csrf_secret: str = ""  # hotline.web.csrf: the key of every session's CSRF token
    secure_cookies: bool = False  # behind https (a proxy): cookies only over https

    def csrf_for(self, request: Request) -> str | None:
        """The CSRF token of the request's session; None without a session cookie."""
        cookie = request.cookies.get(self.cookie_name)
        return csrf_token(self.csrf_secret, cookie) if cookie else None

    def cookie_secure(self, request: Request) -> bool:
        return self.secure_cookies or request.url.scheme == "https"


def install_context(app: FastAPI, context: WebContext) -> None:
    app.state.web = context


def web_context(request: Request) -> WebContext:
    context = getattr(request.app.state, "web", None)
    if not isinstance(context, WebContext):
        raise RuntimeError("no WebContext on the app: call include_auth(app, ...) first")
    return context


def get_session(request: Request) -> Iterator[Session]:
    """One database session per request; the services commit what they change."""
    with Session(web_context(request).engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def client_address(request: Request) -> str:
    """The address a request came from, for the audit log ("" when the server does not know)."""
    return request.client.host if request.client is not None else ""


def current_time(request: Request) -> datetime:
    """``now`` for the use cases, from the context's clock (tests set their own)."""
    return web_context(request).clock()


Now = Annotated[datetime, Depends(current_time)]


def get_current_user(request: Request, session: SessionDep) -> User:
    """The user of an ``Authorization: Bearer <token>`` header, else of the session cookie."""
    context = web_context(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("the Authorization header must read 'Bearer <token>'")
        return user_for_token(session=session, token=token.strip())
    cookie = request.cookies.get(context.cookie_name)
    if not cookie:
        raise NotAuthenticated("log in (session cookie) or send an API token")
    return user_for_session(session=session, codec=context.sessions, cookie=cookie)


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency that lets only users with one of ``roles`` through (403 for the others).

    Roles are not ranked: an admin passes only where ``Role.admin`` is listed.
    """
    if not roles:
        raise ValueError("require_roles needs at least one role")
    allowed = frozenset(roles)
    names = tuple(role.value for role in roles)

    def check_role(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise RoleNotAllowed(user.role, allowed=names)
        return user

    return check_role


AdminUser = Annotated[User, Depends(require_roles(Role.admin))]

# Roles that need a caller's full number (to call back, to dispatch, to supervise).
FULL_NUMBER_ROLES = frozenset({Role.operator, Role.supervisor, Role.callback_agent})


def mask_phone(number: str | None, *, role: Role | str) -> str | None:
    """The number as ``role`` may see it: whole for FULL_NUMBER_ROLES, else masked.

    ``13812345678`` becomes ``138****5678``; a landline ``62345678`` becomes ``****5678``;
    anything shorter than 7 characters is masked whole.
    """
    if number is None or role in FULL_NUMBER_ROLES:
        return number
    n = len(number)
    if n >= 11:
        return number[:3] + "*" * (n - 7) + number[-4:]
    if n >= 7:
        return "*" * (n - 4) + number[-4:]
    return "*" * n


def phone_masker(user: CurrentUser) -> Callable[[str | None], str | None]:
    return partial(mask_phone, role=user.role)


PhoneMask = Annotated[Callable[[str | None], str | None], Depends(phone_masker)]
