"""The console's server-rendered pages (Jinja2 templates in ``web/templates``, htmx from
``web/static/vendor``), one module per workspace:

    login.py         /login, /logout
    seat.py          /seat...          the seat operator (话务员): seat state, call pop
    seat_ticket.py   /seat/tickets...  the operator's ticket form, knowledge base beside it
    unit.py          /unit...          the unit handler (承办单位): inbox, sign, return,
                                       extension, reply with attachments
    callback.py      /callback...      the callback agent (回访员): revisit queue, ratings
    public.py        /public...        citizens, no login: request form, QR code, status
                                       lookup, satisfaction survey (rate-limited)
    supervisor_review.py  /supervisor  the supervisor (督办): live wall, replies to review,
                                       extension requests, the overdue (red) list
    supervisor_escalations.py  /supervisor/escalations: the escalation list (督办升级),
                                       resolved with a note
    supervisor.py    /supervisor/recordings, /supervisor/audit: recordings with the
                                       transcript, plays and downloads in the audit log
    monitoring.py    /supervisor/monitor: listen, whisper, barge on live calls (ChanSpy)
    retention.py     /supervisor/retention: retention periods, the clean-up shown and run
    reports.py       /supervisor/reports: unit ranking, the three rates with their tickets,
                                       call rates, analyses, CSV/XLSX downloads
    figures.py       /public/figures: the published rates of a past month (optional)

``include_pages`` installs them on the app ``include_api`` built (it needs its WebContext);
the seat pages need the ``SeatConsole`` (pop board, queue members) from ``hotline.app``, the
recordings the ``RecordingsConsole`` (the recordings folder, the center's time zone).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hotline.web.pages import (
    callback,
    figures,
    login,
    monitoring,
    reports,
    retention,
    seat,
    seat_ticket,
    supervisor,
    supervisor_escalations,
    supervisor_review,
    unit,
)
from hotline.web.pages import public as public_pages
from hotline.web.pages.common import install_pages
from hotline.web.pages.public import PublicConsole
from hotline.web.pages.seat_context import SeatConsole
from hotline.web.pages.supervisor import RecordingsConsole
from hotline.web.pages.unit import UnitConsole

__all__ = ["PublicConsole", "RecordingsConsole", "SeatConsole", "UnitConsole", "include_pages"]


def include_pages(app: FastAPI, *, web_dir: Path, seats: SeatConsole | None = None,
                  units: UnitConsole | None = None,
                  recordings: RecordingsConsole | None = None,
                  public: PublicConsole | None = None, public_figures: bool = False) -> None:
    install_pages(app, web_dir=web_dir)
    app.include_router(login.router)
    app.include_router(callback.router)
    if seats is not None:
        app.state.seat_console = seats
        app.include_router(seat.router)
        app.include_router(seat_ticket.router)
    if units is not None:
        app.state.unit_console = units
        app.include_router(unit.router)
    app.include_router(supervisor_review.router)
    app.include_router(supervisor_escalations.router)
    app.include_router(reports.router)
    if getattr(app.state, "monitor", None) is not None:  # hotline.app sets it
        app.include_router(monitoring.router)
    if getattr(app.state, "retention", None) is not None:
        app.include_router(retention.router)
    if recordings is not None:
        app.state.recordings_console = recordings
        app.include_router(supervisor.router)
    if public is None and units is not None:
        public = PublicConsole(attachments=units.attachments)
    if public is not None:
        app.state.public_console = public
        app.include_router(public_pages.router)
    if public_figures:
        app.include_router(figures.router)
