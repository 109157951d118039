"""Ticket changes for the console: a server-sent event stream, and the same as a JSON page.

    GET /api/ticket-changes?after=<id>           JSON: {"changes": [...], "cursor": id}
    GET /api/ticket-changes/stream               text/event-stream, one event per change

Both read the outbox (``changes.py``), so nothing is held only in memory: a browser that
reconnects sends ``Last-Event-ID`` (the id of the last change it saw) and gets every change
after it; without one the stream starts from now. A unit handler gets only the changes of the
tickets its unit holds. ``ChangeSignal`` wakes the streams right after a commit in this process;
without it (another process wrote) they still look every ``POLL`` seconds.

    event: ticket
    id: 1042
    data: {"id": 1042, "number": "20261123-00007", "kind": "event", "action": "sign", ...}

A work-order draft made from a caller's words comes as ``kind`` "draft" with its ``draft_id``
(and ``ticket_id`` once it is a ticket); ``payload`` holds the suggestions.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session

from hotline.tickets.changes import changes_after, latest_cursor
from hotline.tickets.http import unit_of
from hotline.tickets.models import TicketChange
from hotline.web.deps import CurrentUser, Now, SessionDep, web_context

POLL = 1.0  # seconds between looks at the outbox when nothing woke the stream
KEEPALIVE = 15.0  # seconds of silence before a comment line keeps proxies from closing it

router = APIRouter(prefix="/api/ticket-changes", tags=["ticket changes"])


class ChangeSignal:
    """Wakes every waiting stream; ``notify`` may be called from any thread."""

    def __init__(self) -> None:
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._lock = threading.Lock()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(waiter)


def change_json(change: TicketChange) -> dict[str, Any]:
    return {
        "id": change.id, "ticket_id": change.ticket_id, "draft_id": change.draft_id,
        "number": change.number,
        "kind": change.kind, "action": change.action, "seq": change.seq,
        "status": change.status, "light": change.light, "at": change.at.isoformat(),
        "payload": change.payload,
    }


@router.get("", summary="Ticket changes after a cursor (the id of the last change seen)")
def page(
    session: SessionDep, user: CurrentUser, now: Now,
    after: Annotated[int | None, Query(ge=0, description="omit: start from now")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> dict[str, Any]:
    if after is None:
        return {"changes": [], "cursor": latest_cursor(session=session)}
    batch = changes_after(session=session, cursor=after, now=now, limit=limit,
                          unit_id=unit_of(session, user))
    return {"changes": [change_json(c) for c in batch.changes], "cursor": batch.cursor}


@router.get("/stream", summary="Server-sent events of ticket changes",
            response_class=StreamingResponse)
async def stream(
    request: Request, session: SessionDep, user: CurrentUser,
    last_event_id: Annotated[str | None, Header()] = None,
    after: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    context = web_context(request)
    unit_id = unit_of(session, user)
    cursor = _start(last_event_id, after)
    if cursor is None:
        cursor = latest_cursor(session=session)
    signal = getattr(request.app.state, "ticket_signal", None)
    events = _events(request, context.engine, context.clock, cursor, unit_id,
                     signal if isinstance(signal, ChangeSignal) else None)
    return StreamingResponse(events, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _start(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return after


async def _events(
    request: Request, engine: Engine, clock: Callable[[], datetime], cursor: int,
    unit_id: int | None, signal: ChangeSignal | None,
) -> AsyncIterator[str]:
    yield f"retry: 2000\nid: {cursor}\n: connected\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        batch = await asyncio.to_thread(_read, engine, cursor, clock(), unit_id)
        for change in batch[0]:
            yield f"event: ticket\nid: {change['id']}\ndata: {json.dumps(change)}\n\n"
        if batch[1] != cursor and not batch[0]:
            yield f"id: {batch[1]}\n: moved\n\n"  # changes of other units: move the cursor
        cursor = batch[1]
        if batch[0]:
            quiet = 0.0
            continue
        if signal is not None:
            await signal.wait(POLL)
        else:
            await asyncio.sleep(POLL)
        quiet += POLL
        if quiet >= KEEPALIVE:
            quiet = 0.0
            yield ": keep-alive\n\n"


def _read(engine: Engine, cursor: int, now: datetime, unit_id: int | None
          ) -> tuple[list[dict[str, Any]], int]:
    with Session(engine) as session:
        batch = changes_after(session=session, cursor=cursor, now=now, unit_id=unit_id)
        return [change_json(c) for c in batch.changes], batch.cursor
