"""Composition root: builds every part from the Settings and owns their lifetimes.

``Hotline`` is the running controller (database, prompts, flows, FastAGI server, AMI
controller); ``build_app`` wraps it in the FastAPI application whose lifespan starts and stops
it. Tests use ``Hotline`` directly.

Example::

    async with Hotline(settings) as hotline:
        ...            # calls to 12345 now run the IVR flows and are recorded in the database
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from hotline.calls.ivr_session import IvrCallHandler
from hotline.calls.service import CallEvents, StoreStepLog
from hotline.calls.store import CallStore, call_as_dict
from hotline.config import Settings
from hotline.db import make_engine, migrate
from hotline.ivr.loader import load_flows
from hotline.ivr.runner import FlowRunner
from hotline.prompts.sounds import build_zh_sounds
from hotline.prompts.store import PromptStore
from hotline.telephony.agi import AgiServer
from hotline.telephony.ami import AmiController

log = logging.getLogger(__name__)


class NoTickets:
    """Ticket lookup until work orders exist: every number is unknown."""

    async def status_sentence(self, *, number: str, caller: str) -> str | None:
        return None


def build_prompt_store(settings: Settings) -> PromptStore:
    return PromptStore(folder=settings.prompts_dir, voice=settings.prompts.voice,
                       speed=settings.prompts.speed,
                       asterisk_folder=settings.asterisk_prompts_dir())


class Hotline:
    def __init__(self, settings: Settings, *, clock: Any = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.db_url)
        self.store = CallStore(self.engine)
        self.prompts = build_prompt_store(settings)
        self.flows, self.flow_errors = load_flows(settings.flows_dir)
        for error in self.flow_errors:
            log.error("flow not loaded: %s", error)
        tz = ZoneInfo(settings.ivr.timezone)
        self.runner = FlowRunner(
            flows=self.flows,
            lookup=NoTickets(),
            step_log=StoreStepLog(self.store),
            clock=clock or (lambda: datetime.now(tz)),
            holidays={date.fromisoformat(d) for d in settings.ivr.holidays},
            queue_name=settings.queue.name,
            queue_max_wait=settings.queue.max_wait,
            emergency_lines=dict(settings.sip.emergency),
        )
        self.ivr = IvrCallHandler(settings=settings, store=self.store, prompts=self.prompts,
                                  runner=self.runner)
        self.agi = AgiServer(host=settings.agi.host, port=settings.agi.port,
                             header_timeout=settings.agi.header_timeout)
        self.agi.add_route("ivr", self.ivr.handle)
        self.events = CallEvents(settings=settings, store=self.store)
        self.ami = AmiController(settings=settings.ami, secret=settings.ami_secret,
                                 handler=self.events)

    async def start(self) -> None:
        migrate(self.engine)
        await asyncio.to_thread(build_zh_sounds, self.prompts, self.settings.zh_sounds_dir,
                                hold_text=self.settings.queue.hold_text)
        await self.agi.start()
        await self.ami.start()

    async def stop(self) -> None:
        await self.ami.stop()
        await self.agi.stop()
        await self.events.drain()
        self.engine.dispose()

    async def __aenter__(self) -> Hotline:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def status(self) -> dict[str, Any]:
        return {
            "ami": {"connected": self.ami.connected, "logins": self.ami.logins},
            "agi": {"listening": self.agi.listening, "calls_handled": self.agi.handled,
                    "active": self.ivr.active},
            "flows": {"loaded": sorted(self.flows),
                      "errors": [str(e) for e in self.flow_errors]},
        }


def build_app(settings: Settings, *, on_ready: Callable[[], None] | None = None) -> FastAPI:
    hotline = Hotline(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hotline.start()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await hotline.stop()

    app = FastAPI(title="hotline", lifespan=lifespan)
    app.state.hotline = hotline

    web_dir = settings.home / "web"
    templates = Jinja2Templates(directory=str(web_dir / "templates"))
    if (web_dir / "static").is_dir():
        app.mount("/static", StaticFiles(directory=str(web_dir / "static")), name="static")

    @app.get("/", response_class=HTMLResponse)
    async def console(request: Request) -> HTMLResponse:
        views = hotline.store.recent(limit=50)
        rows = [call_as_dict(v, recordings_root=str(settings.recordings_dir)) for v in views]
        return templates.TemplateResponse(
            request, "calls.html",
            {"calls": rows, "status": hotline.status(), "number": settings.sip.hotline_number},
        )

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return hotline.status()

    @app.get("/api/calls")
    async def calls(limit: int = 50) -> list[dict[str, Any]]:
        views = hotline.store.recent(limit=max(1, min(limit, 500)))
        root = str(settings.recordings_dir)
        return [call_as_dict(v, recordings_root=root) for v in views]

    return app
