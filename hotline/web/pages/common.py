"""What every console page shares: templates, the signed-in user with a role check, rendering
with the CSRF token, and HTML answers for a missing login or a role not allowed.

    router = APIRouter()
    Operator = Annotated[User, Depends(page_user(Role.operator))]

    @router.get("/seat")
    def seat(request: Request, user: Operator) -> HTMLResponse:
        return render(request, "seat/index.html", user=user, calls=...)

A page asked for without a session redirects to ``/login?next=<path>``; a user whose role
may not see it gets the 403 page. htmx requests get the same answers as fragments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from hotline.errors import HotlineError
from hotline.intake.not_request import NOT_REQUEST_LABELS
from hotline.users.errors import NotAuthenticated
from hotline.users.models import Role, User
from hotline.web.deps import get_current_user, get_session, mask_phone, web_context
from hotline.web.pages.labels import FILTERS, TYPE_LABELS, ivr_path

ROLE_LABELS = {
    Role.operator: "话务员", Role.unit_handler: "承办单位", Role.supervisor: "督办",
    Role.callback_agent: "回访员", Role.admin: "管理员",
}
# Where each role starts after logging in.
HOME_BY_ROLE = {Role.operator: "/seat", Role.unit_handler: "/unit",
                Role.supervisor: "/supervisor", Role.callback_agent: "/callback"}
DEFAULT_HOME = "/"


class LoginRequired(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class PageForbidden(Exception):
    def __init__(self, user: User, allowed: frozenset[Role]) -> None:
        self.user = user
        self.allowed = allowed


def home_of(user: User) -> str:
    return HOME_BY_ROLE.get(Role(user.role), DEFAULT_HOME)


def templates_of(request: Request) -> Jinja2Templates:
    templates = getattr(request.app.state, "page_templates", None)
    if not isinstance(templates, Jinja2Templates):
        raise RuntimeError("no page templates on the app: call include_pages first")
    return templates


def page_user(*roles: Role) -> Callable[[Request, Session], User]:
    """A dependency: the signed-in user if their role is one of ``roles``."""
    allowed = frozenset(roles)

    def check(request: Request, session: Annotated[Session, Depends(get_session)]) -> User:
        try:
            user = get_current_user(request, session)
        except NotAuthenticated as exc:
            raise LoginRequired(request.url.path) from exc
        if user.role not in allowed:
            raise PageForbidden(user, allowed)
        return user

    return check


def render(request: Request, template: str, *, user: User | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page or fragment, with what the base layout needs (user, CSRF token, masking)."""
    web = web_context(request)
    role = Role(user.role) if user is not None else None
    mask: Callable[[str | None], str | None] = (
        (lambda n: mask_phone(n, role=role)) if role is not None else (lambda n: n and "****"))
    base = {
        "user": user, "role_label": ROLE_LABELS.get(role, "") if role else "",
        "csrf": web.csrf_for(request) or "", "mask": mask, "now": web.clock(),
        "fragment": request.headers.get("hx-request") == "true",
    }
    return templates_of(request).TemplateResponse(
        request, template, {**base, **context}, status_code=status_code)


def error_fragment(request: Request, user: User, error: HotlineError) -> HTMLResponse:
    """A domain error shown where the action's answer would go (status kept for htmx)."""
    from hotline.web.errors import status_for

    return render(request, "partials/error.html", user=user, error=error,
                  status_code=status_for(error))


def _on_login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = f"/login?next={quote(exc.path)}"
    if request.headers.get("hx-request") == "true":
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _on_forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    return render(request, "forbidden.html", user=exc.user, status_code=403,
                  allowed=[ROLE_LABELS[r] for r in sorted(exc.allowed)])


def install_pages(app: FastAPI, *, web_dir: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(web_dir / "templates"))
    templates.env.filters["hm"] = _hm
    templates.env.filters["left"] = time_left
    templates.env.filters.update(FILTERS)
    templates.env.filters["ivr_path"] = ivr_path
    templates.env.globals["request_types"] = TYPE_LABELS
    templates.env.globals["not_request_reasons"] = {
        str(r): label for r, label in NOT_REQUEST_LABELS.items()}
    app.state.page_templates = templates
    app.add_exception_handler(LoginRequired, _on_login_required)
    app.add_exception_handler(PageForbidden, _on_forbidden)
    return templates


def _hm(value: datetime | None) -> str:
    return value.strftime("%m-%d %H:%M") if value is not None else "—"


def time_left(seconds: int | None) -> str:
    """``2天3小时`` / ``45分钟`` / ``超时 1小时5分钟``."""
    if seconds is None:
        return "—"
    late, s = seconds < 0, abs(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "",
             f"{minutes}分钟" if minutes and not days else ""]
    text = "".join(parts) or "不到1分钟"
    return f"超时 {text}" if late else text
