"""The login page (a plain form: works without JavaScript) and logging out.

    GET  /login?next=/seat     the form
    POST /login                username, password, next: sets the session cookie, 303 to next
                               (or the role's workspace)
    POST /logout               csrf_token: drops the cookie, 303 to /login
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.users import service
from hotline.users.errors import InvalidCredentials
from hotline.web.deps import SessionDep, web_context
from hotline.web.pages.common import home_of, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str | None:
    """Only a path of this site (never ``//other.host`` or a full URL)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:  # noqa: A002
    return render(request, "login.html", user=None, next=_safe_next(next) or "")


@router.post("/login")
def login(request: Request, session: SessionDep,
          username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form(max_length=512)] = "") -> Response:  # noqa: A002
    try:
        user = service.authenticate(session=session, username=username, password=password)
    except InvalidCredentials:
        return render(request, "login.html", user=None, next=_safe_next(next) or "",
                      error="用户名或密码不正确", username=username, status_code=401)
    context = web_context(request)
    assert user.id is not None
    response = RedirectResponse(_safe_next(next) or home_of(user), status_code=303)
    response.set_cookie(
        context.cookie_name,
        context.sessions.encode(user_id=user.id, password_hash=user.password_hash),
        max_age=context.sessions.max_age, path="/", httponly=True, samesite="lax",
        secure=context.cookie_secure(request),
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    context = web_context(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(context.cookie_name, path="/", httponly=True, samesite="lax",
                           secure=context.cookie_secure(request))
    return response
