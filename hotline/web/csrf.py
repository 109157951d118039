"""CSRF protection for everything a browser sends with the session cookie.

A request that changes something (POST, PUT, PATCH, DELETE) and is authenticated by the
session cookie must carry the session's CSRF token, in the ``X-CSRF-Token`` header (htmx and
``fetch`` send it from the page) or, for a plain HTML form, in a ``csrf_token`` field. The token
is an HMAC of the session cookie under the server's secret: one per session, nothing stored,
and a new login gets a new one. Requests with an ``Authorization`` header (API tokens) carry no
ambient credential and are not checked.

Whatever the credentials, an unsafe request whose ``Origin`` (or, without one, ``Referer``)
names another site is refused: that covers the login form too, which has no session yet.

    app.add_middleware(CsrfMiddleware, secret=secret, cookie_name="hotline_session")
    token = csrf_token(secret, cookie_value)   # put it in the page
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 1 << 20  # a form we read to find the field; bigger forms must use the header

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


def csrf_token(secret: str, session_cookie: str) -> str:
    """The CSRF token of one session (the value of its session cookie)."""
    return hmac.new(secret.encode(), b"csrf:" + session_cookie.encode(),
                    hashlib.sha256).hexdigest()


def same_origin(headers: Headers) -> bool:
    """False when the browser says the request comes from another site (or an opaque one)."""
    origin = headers.get("origin") or headers.get("referer")
    if not origin:
        return True  # not a browser, or one that tells nothing: the token check remains
    return origin != "null" and urlsplit(origin).netloc == headers.get("host", "")


class CsrfMiddleware:
    def __init__(self, app: Asgi, *, secret: str, cookie_name: str) -> None:
        self.app = app
        self.secret = secret
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not same_origin(headers):
            await _refuse(send, "csrf-origin", "the request comes from another site")
            return
        cookie = cookie_parser(headers.get("cookie", "")).get(self.cookie_name)
        if headers.get("authorization") is not None or not cookie:
            await self.app(scope, receive, send)  # no ambient credential to abuse
            return
        expected = csrf_token(self.secret, cookie)
        given = headers.get(CSRF_HEADER)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if given is None and content_type == FORM_TYPE:
            body, receive = await _buffer(receive)
            if body is None:
                await _refuse(send, "csrf-missing", "form too large to check: send the header")
                return
            fields = parse_qs(body.decode("utf-8", "replace"))
            values = fields.get(CSRF_FIELD)
            given = values[0] if values else None
        if given is None or not hmac.compare_digest(given, expected):
            await _refuse(send, "csrf-missing" if given is None else "csrf-invalid",
                          "this form has expired or was not sent by the console: reload")
            return
        await self.app(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """Read the whole body (up to MAX_FORM_BYTES) and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None, receive
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _refuse(send: Send, error_id: str, message: str) -> None:
    body = json.dumps({"error_id": error_id, "message": message, "details": {}},
                      ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
