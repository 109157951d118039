"""The seat operator's workspace (话务员工作台).

    GET  /seat                the workspace: seat state, call pop, knowledge base
    POST /seat/bind           interface: sit at a seat (PJSIP/seat1)
    POST /seat/state          state (ready / paused / after_call / offline), reason:
                              the queue member is told through AMI, then the state is stored
    GET  /seat/pop            the pop of the call ringing or talking to my seat (fragment)
    GET  /seat/pop/stream     server-sent ``pop`` events whenever my seat's call changes;
                              ?seen=<version> (the call the page was drawn with): a change
                              made before the stream began is sent at once

Operators only; every route checks the role on the server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlmodel import Session

from hotline.errors import HotlineError
from hotline.seats import service as seats
from hotline.seats.models import Seat, SeatState
from hotline.users.models import Role, User
from hotline.web.deps import Now, SessionDep, current_time, web_context
from hotline.web.pages.common import error_fragment, page_user, render
from hotline.web.pages.seat_context import PopView, pop_view, seat_console

router = APIRouter(prefix="/seat", include_in_schema=False)
Operator = Annotated[User, Depends(page_user(Role.operator))]
KEEPALIVE = 15.0


def _seat(session: Session, user: User) -> Seat | None:
    assert user.id is not None
    return seats.seat_of(session, user.id)


def _pop(request: Request, session: Session, seat: Seat | None) -> PopView | None:
    ring = seat_console(request).board.current(seat.interface) if seat else None
    return (pop_view(session, ring, now=current_time(request)) if ring is not None
            else None)


@router.get("", response_class=HTMLResponse)
def workspace(request: Request, session: SessionDep, user: Operator) -> HTMLResponse:
    console = seat_console(request)
    seat = _seat(session, user)
    pop = _pop(request, session, seat)
    return render(request, "seat/workspace.html", user=user, seat=seat, pop=pop,
                  drawn=pop.ring.version if pop else 0, seats=console.seats,
                  reasons=seats.PAUSE_REASONS, states=SeatState, lines=console.emergency_lines)


@router.post("/bind", response_class=HTMLResponse)
def bind(request: Request, session: SessionDep, user: Operator, now: Now,
         interface: Annotated[str, Form(max_length=64)]) -> HTMLResponse:
    console = seat_console(request)
    try:
        seat = seats.bind_seat(session=session, user=user, interface=interface,
                               seats=console.seats, now=now)
        session.commit()
    except HotlineError as exc:
        return error_fragment(request, user, exc)
    response = _seat_panel(request, user, seat)
    response.headers["HX-Refresh"] = "true"  # the pop stream follows the new seat
    return response


@router.post("/state", response_class=HTMLResponse)
async def change_state(request: Request, user: Operator, now: Now,
                       state: Annotated[SeatState, Form()],
                       reason: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    console = seat_console(request)
    assert user.id is not None
    error = None
    try:
        await seats.change_state(engine=web_context(request).engine, queue=console.queue,
                                 user_id=user.id, username=user.username, state=state,
                                 reason=reason, now=now)
    except HotlineError as exc:
        error = exc
    seat = await asyncio.to_thread(_read_seat, request, user)
    return _seat_panel(request, user, seat, error=error)


def _read_seat(request: Request, user: User) -> Seat | None:
    with Session(web_context(request).engine) as session:
        return _seat(session, user)


def _seat_panel(request: Request, user: User, seat: Seat | None,
                error: HotlineError | None = None) -> HTMLResponse:
    console = seat_console(request)
    return render(request, "seat/seat_panel.html", user=user, seat=seat, error=error,
                  seats=console.seats, reasons=seats.PAUSE_REASONS, states=SeatState)


@router.get("/pop", response_class=HTMLResponse)
def pop(request: Request, session: SessionDep, user: Operator) -> HTMLResponse:
    view = _pop(request, session, _seat(session, user))
    return render(request, "seat/pop.html", user=user, pop=view,
                  lines=seat_console(request).emergency_lines)


@router.get("/pop/stream")
async def pop_stream(request: Request, user: Operator,
                     seen: int | None = None) -> StreamingResponse:
    seat = await asyncio.to_thread(_read_seat, request, user)
    interface = seat.interface if seat else ""
    board = seat_console(request).board

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n: connected\n\n"
        # ``seen``: the version of the call the page was drawn with (workspace.html), so that
        # a change made after the page was drawn but before this stream began is sent too.
        current = board.current(interface)
        seen_version = seen if seen is not None else current.version if current else 0
        while not await request.is_disconnected():
            ring = board.current(interface)
            if ring is not None and ring.version != seen_version:
                seen_version = ring.version
                data = {"uniqueid": ring.uniqueid, "state": ring.state}
                yield f"event: pop\ndata: {json.dumps(data)}\n\n"
                continue
            await board.changed.wait(KEEPALIVE)
            yield ": keep-alive\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
