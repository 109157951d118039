"""The REST API in one place: error handlers, authentication and every domain's router.

``build_app`` (``hotline.app``) calls ``include_api`` on the console's app; the API tests call
it on a bare ``FastAPI()`` with their own engine and clock (``tests/api.py``).

    app = FastAPI()
    include_api(app, engine=engine, settings=settings, clock=lambda: now)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from hotline.config import Settings
from hotline.intake.drafts_http import router as drafts_router
from hotline.knowledge.http import router as knowledge_router
from hotline.outbound.http import router as outbound_router
from hotline.oversight.http import router as oversight_router
from hotline.oversight.settings import rules_from_settings as oversight_rules_from
from hotline.tickets.deployment import rules_from_settings
from hotline.tickets.http import router as tickets_router
from hotline.tickets.http_actions import router as ticket_actions_router
from hotline.tickets.service import Rules
from hotline.tickets.stream import ChangeSignal
from hotline.tickets.stream import router as changes_router
from hotline.tickets.units_http import router as units_router
from hotline.web.errors import install_error_handlers
from hotline.web.routes.auth import include_auth


def include_api(
    app: FastAPI, *, engine: Engine, settings: Settings,
    clock: Callable[[], datetime] | None = None, signal: ChangeSignal | None = None,
    rules: Rules | None = None,
) -> ChangeSignal:
    """Install everything; returns the signal that wakes the ticket streams (share it with
    the light scheduler so that its changes reach the consoles at once). ``rules``: the
    deployment's ticket rules (default: ``rules_from_settings``), read by ``TicketRules``;
    the oversight rules are built once from ``settings.oversight`` (``OversightRulesDep``)."""
    signal = signal or ChangeSignal()
    app.state.ticket_rules = rules or rules_from_settings(settings)
    app.state.oversight_rules = oversight_rules_from(settings.oversight)
    app.state.ticket_signal = signal
    app.state.ticket_changed = signal.notify
    install_error_handlers(app)
    include_auth(app, engine=engine, settings=settings, clock=clock)
    app.include_router(changes_router)  # before /api/tickets/{number}
    app.include_router(tickets_router)
    app.include_router(ticket_actions_router)
    app.include_router(knowledge_router)
    app.include_router(units_router)
    app.include_router(drafts_router)
    app.include_router(outbound_router)
    app.include_router(oversight_router)
    return signal
