"""Domain errors to HTTP, in one place: status, stable ``error_id``, message and details.

Every error answer has the body ``{"error_id": ..., "message": ..., "details": {...}}``.

The status of a ``HotlineError`` is found in this order:

1. a ``status_code`` attribute on its class (for a domain that needs a status not listed here);
2. the table ``STATUS_BY_CLASS`` (NotAuthenticated 401, Forbidden 403, ActionNotAllowed 409 ...);
3. its class name: ``NoSuch*`` is 404, ``ConcurrentUpdate`` is 409;
4. otherwise 400.

A malformed request is 422 and lists each field with where it is and what is wrong with it
(the value is never echoed back: it may be a password).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.errors import AmiUnavailable, HotlineError, TelephonyError
from hotline.tickets.errors import ActionNotAllowed, ResponsibilityFileError
from hotline.users.errors import Forbidden, InvalidPassword, NotAuthenticated, UsernameTaken

log = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins.
STATUS_BY_CLASS: tuple[tuple[type[HotlineError], int], ...] = (
    (NotAuthenticated, 401),
    (Forbidden, 403),
    (UsernameTaken, 409),
    (InvalidPassword, 422),
    (ActionNotAllowed, 409),
    (ResponsibilityFileError, 422),  # a list file sent to us: the sender's file is at fault
    (AmiUnavailable, 503),
    (TelephonyError, 502),
)
STATUS_BY_NAME = {"ConcurrentUpdate": 409}
DEFAULT_STATUS = 400


def status_for(error: HotlineError) -> int:
    explicit = getattr(type(error), "status_code", None)
    if isinstance(explicit, int):
        return explicit
    for cls, status in STATUS_BY_CLASS:
        if isinstance(error, cls):
            return status
    for cls in type(error).__mro__:
        if cls.__name__.startswith("NoSuch"):
            return 404
        if cls.__name__ in STATUS_BY_NAME:
            return STATUS_BY_NAME[cls.__name__]
    return DEFAULT_STATUS


def error_response(
    status: int, *, error_id: str, message: str, details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error_id": error_id, "message": message, "details": jsonable_encoder(details or {})}
    return JSONResponse(body, status_code=status, headers=headers)


async def on_hotline_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HotlineError)
    status = status_for(exc)
    if status == DEFAULT_STATUS:
        log.info("%s %s: %s (%s) has no HTTP status of its own, answered %d",
                 request.method, request.url.path, type(exc).__name__, exc.error_id, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return error_response(status, error_id=exc.error_id, message=exc.message,
                          details=exc.details, headers=headers)


def describe_validation_errors(errors: Any) -> list[dict[str, str]]:
    """``[{"location": "body", "field": "username", "reason": "Field required", ...}]``."""
    fields = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        fields.append({
            "location": loc[0] if loc else "",
            "field": ".".join(loc[1:]),
            "reason": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        })
    return fields


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = describe_validation_errors(exc.errors())
    named = ", ".join(f["field"] or f["location"] for f in fields)
    return error_response(422, error_id="invalid-request", message=f"invalid request: {named}",
                          details={"fields": fields})


HTTP_ERROR_IDS = {404: "not-found", 405: "method-not-allowed"}


async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    """Framework errors (unknown path, wrong method) in the same shape as ours."""
    assert isinstance(exc, StarletteHTTPException)
    return error_response(exc.status_code,
                          error_id=HTTP_ERROR_IDS.get(exc.status_code, f"http-{exc.status_code}"),
                          message=str(exc.detail), headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HotlineError, on_hotline_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
