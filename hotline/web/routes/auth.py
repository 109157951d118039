"""Log in and out, the current user, API tokens, and the admin's user list.

    POST   /api/login            JSON or form {username, password}: sets the session cookie
                                 and answers its CSRF token in ``X-CSRF-Token``
    POST   /api/logout           drops the session cookie
    GET    /api/me               who am I (and, with a cookie, the session's CSRF token)

Every unsafe request made with the session cookie needs that token (``hotline.web.csrf``);
requests with an API token do not.
    POST   /api/me/password      {current_password, new_password}: ends the other sessions
    GET    /api/tokens           my API tokens (never the tokens themselves)
    POST   /api/tokens           {name}: a new token, shown once
    DELETE /api/tokens/{id}      revoke one (an admin may revoke anyone's)
    GET    /api/users            admin only
    POST   /api/users            admin only; without a password one is generated, shown once
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import Engine

from hotline.config import Settings, generated_secret
from hotline.users import service
from hotline.users.models import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenPublic,
    UserCreate,
    UserCreated,
    UserCreateRequest,
    UserPublic,
)
from hotline.users.security import SessionCodec, generate_password
from hotline.web.csrf import CSRF_HEADER, CsrfMiddleware, csrf_token
from hotline.web.deps import (
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    SessionDep,
    WebContext,
    center_clock,
    install_context,
    web_context,
)

SESSION_MAX_AGE = 12 * 3600  # one working shift and some


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=PASSWORD_MAX)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


async def login_body(request: Request) -> LoginRequest:
    """The login body, as JSON or as an HTML form (application/x-www-form-urlencoded)."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any = {}
    if content_type == "application/x-www-form-urlencoded":
        data = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    elif raw.strip():
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise RequestValidationError([{
                "type": "json_invalid", "loc": ("body",),
                "msg": f"not JSON nor a form ({exc.__class__.__name__}: {exc})",
            }]) from exc
    try:
        return LoginRequest.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from exc


_LOGIN_SCHEMA = LoginRequest.model_json_schema()
_LOGIN_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": _LOGIN_SCHEMA},
            "application/x-www-form-urlencoded": {"schema": _LOGIN_SCHEMA},
        },
    }
}

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/login", openapi_extra=_LOGIN_OPENAPI)
def login(
    body: Annotated[LoginRequest, Depends(login_body)],
    session: SessionDep,
    request: Request,
    response: Response,
) -> UserPublic:
    user = service.authenticate(session=session, username=body.username, password=body.password)
    context = web_context(request)
    assert user.id is not None
    cookie = context.sessions.encode(user_id=user.id, password_hash=user.password_hash)
    response.set_cookie(
        context.cookie_name,
        cookie,
        max_age=context.sessions.max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=context.cookie_secure(request),
    )
    response.headers[CSRF_HEADER] = csrf_token(context.csrf_secret, cookie)
    return UserPublic.model_validate(user)


@router.post("/logout", status_code=204)
def logout(request: Request, response: Response) -> None:
    context = web_context(request)
    response.delete_cookie(context.cookie_name, path="/", httponly=True,
                           samesite="lax", secure=context.cookie_secure(request))


@router.get("/me")
def me(user: CurrentUser, request: Request, response: Response) -> UserPublic:
    """Who am I; with a session cookie, its CSRF token in the ``X-CSRF-Token`` header."""
    token = web_context(request).csrf_for(request)
    if token is not None and request.headers.get("authorization") is None:
        response.headers[CSRF_HEADER] = token
    return UserPublic.model_validate(user)


@router.post("/me/password", status_code=204)
def change_my_password(body: PasswordChange, session: SessionDep, user: CurrentUser) -> None:
    service.change_password(session=session, user=user, new_password=body.new_password,
                            current_password=body.current_password)


@router.get("/tokens")
def my_tokens(session: SessionDep, user: CurrentUser) -> list[ApiTokenPublic]:
    tokens = service.list_tokens(session=session, user=user)
    return [ApiTokenPublic.model_validate(t) for t in tokens]


@router.post("/tokens", status_code=201)
def create_token(body: ApiTokenCreate, session: SessionDep, user: CurrentUser) -> ApiTokenCreated:
    row, token = service.issue_token(session=session, user=user, name=body.name)
    return ApiTokenCreated.model_validate(row, update={"token": token})


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: int, session: SessionDep, user: CurrentUser) -> None:
    service.revoke_token(session=session, user=user, token_id=token_id)


@router.get("/users")
def list_users(session: SessionDep, admin: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in service.list_users(session=session)]


@router.post("/users", status_code=201)
def add_user(body: UserCreateRequest, session: SessionDep, admin: AdminUser) -> UserCreated:
    generated = None if body.password else generate_password()
    fields = body.model_dump()
    fields["password"] = body.password or generated
    user = service.create_user(session=session, user_create=UserCreate.model_validate(fields))
    return UserCreated.model_validate(user, update={"generated_password": generated})


def include_auth(
    app: FastAPI, *, engine: Engine, settings: Settings, session_max_age: int = SESSION_MAX_AGE,
    clock: Callable[[], datetime] | None = None,
) -> None:
    """Give ``app`` the database, session signer and clock the dependencies use, and these
    routes. The clock defaults to the center's local time (``settings.ivr.timezone``).

    The session secret is generated on first run and kept in ``var/secrets.json``.
    """
    codec = SessionCodec(generated_secret(settings.var_dir, "session"), max_age=session_max_age)
    clock = clock or center_clock(ZoneInfo(settings.ivr.timezone))
    csrf_secret = generated_secret(settings.var_dir, "csrf")
    install_context(app, WebContext(engine=engine, sessions=codec, clock=clock,
                                    csrf_secret=csrf_secret,
                                    secure_cookies=settings.web.secure_cookies))
    app.add_middleware(CsrfMiddleware, secret=csrf_secret, cookie_name=SESSION_COOKIE)
    app.include_router(router)
