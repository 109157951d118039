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
import gc
import logging
from collections.abc import AsyncIterator, Callable, Generator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlmodel import Session, select

from hotline.attachments.store import AttachmentStore
from hotline.calls.ivr_session import IvrCallHandler
from hotline.calls.service import CallEvents, StoreStepLog
from hotline.calls.store import CallStore, call_as_dict
from hotline.config import Settings
from hotline.db import make_engine, migrate, session_scope
from hotline.errors import HotlineError
from hotline.intake.drafts import TranscriptDrafts
from hotline.intake.not_request import intake_of_calls
from hotline.ivr.loader import article_refs, check_articles, load_flows
from hotline.ivr.runner import FlowRunner
from hotline.knowledge.ivr import StoreKnowledgeArticles
from hotline.knowledge.models import KnowledgeArticle
from hotline.knowledge.search import segment
from hotline.knowledge.service import load_seed
from hotline.monitoring.service import Monitor
from hotline.notify.sender import MessageSender
from hotline.outbound.comments import SurveyComments
from hotline.outbound.plugin import Outbound
from hotline.oversight.generated import ReportGenerator
from hotline.oversight.scheduler import ReportScheduler, WarningScheduler
from hotline.oversight.settings import rules_from_settings as oversight_rules
from hotline.prompts.sounds import build_zh_sounds
from hotline.prompts.store import PromptStore
from hotline.recording.library import WAV_HEADER_BYTES
from hotline.retention.job import RetentionJob
from hotline.seats.ami import AmiCallMover, AmiQueueMembers
from hotline.seats.events import SeatEvents
from hotline.seats.pop import PopBoard
from hotline.stt.live import LiveTranscripts
from hotline.stt.service import TranscriptionService
from hotline.stt.speech import ModelVocabulary, PoolSpeechRecognizer
from hotline.telephony.agi import AgiServer
from hotline.telephony.ami import AmiController
from hotline.tickets.deployment import rules_from_settings
from hotline.tickets.ivr_lookup import StoreTicketLookup
from hotline.tickets.models import Unit
from hotline.tickets.scheduler import LightScheduler
from hotline.tickets.stream import ChangeSignal
from hotline.tickets.units import load_default_list
from hotline.users.models import Role
from hotline.users.service import ensure_admin
from hotline.web.api import include_api
from hotline.web.deps import (
    CurrentUser,
    PhoneMask,
    get_current_user,
    get_session,
    mask_phone,
    require_roles,
)
from hotline.web.pages import RecordingsConsole, SeatConsole, UnitConsole, include_pages
from hotline.web.pages import messages as message_pages
from hotline.web.pages.common import PageForbidden, render
from hotline.web.pages.reports import ReportHtml

log = logging.getLogger(__name__)


def first_start_data(session: Session) -> list[str]:
    """On an empty database: the shipped responsibility list and knowledge base seed."""
    loaded = []
    if session.exec(select(Unit.id).limit(1)).first() is None:
        loaded.append(f"responsibility list ({load_default_list(session=session)} rows)")
    if session.exec(select(KnowledgeArticle.id).limit(1)).first() is None:
        loaded.append(f"knowledge base seed ({load_seed(session=session)} articles)")
    return loaded


def build_prompt_store(settings: Settings) -> PromptStore:
    return PromptStore(folder=settings.prompts_dir, voice=settings.prompts.voice,
                       speed=settings.prompts.speed,
                       asterisk_folder=settings.asterisk_prompts_dir())


class TranscribingCallEvents(CallEvents):
    """Call events that wake the transcription service once a call's recordings are complete,
    so their jobs start at once rather than at the next poll."""

    def __init__(self, *, settings: Settings, store: CallStore,
                 on_complete: Callable[[], None]) -> None:
        super().__init__(settings=settings, store=store)
        self.on_complete = on_complete

    async def finalize(self, uid: str) -> None:
        await super().finalize(uid)
        self.on_complete()


class Hotline:
    def __init__(self, settings: Settings, *, clock: Any = None) -> None:
        self.settings = settings
        self.engine = make_engine(settings.db_url)
        self.store = CallStore(self.engine)
        self.prompts = build_prompt_store(settings)
        # Speech menus' words are checked against the models (no model: keys only, logged).
        self.flows, self.flow_errors = load_flows(settings.flows_dir,
                                                  vocabulary=ModelVocabulary(settings))
        for error in self.flow_errors:
            log.error("flow not loaded: %s", error)
        tz = ZoneInfo(settings.ivr.timezone)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(tz))
        self.ticket_signal = ChangeSignal()
        # One calendar (the configured holidays) for deadlines, the IVR and outbound calls.
        self.rules = rules_from_settings(settings)
        self.lights = LightScheduler(engine=self.engine, clock=self.clock,
                                     on_change=self.ticket_signal.notify,
                                     limits=self.rules.limits)
        # Early warnings (未诉先办) told once per period, shown as notices on the consoles.
        self.warnings = WarningScheduler(engine=self.engine, clock=self.clock,
                                         settings=settings.oversight, zone=tz,
                                         on_change=self.ticket_signal.notify)
        # Reports (日报, 周报, 月报) of each ended period, generated once into the exports folder.
        self.reports = ReportScheduler(settings=settings.oversight, generator=ReportGenerator(
            engine=self.engine, clock=self.clock, settings=settings.oversight, zone=tz,
            exports_dir=settings.exports_dir, rules=oversight_rules(settings.oversight),
            html=ReportHtml(settings.home / "web")))
        # Transcripts of callers and messages become work-order drafts (a message left with
        # nobody answering, a ticket); no model for the language: jobs wait, calls still flow.
        self.drafts = TranscriptDrafts(settings=settings, clock=self.clock,
                                       on_change=self.ticket_signal.notify, rules=self.rules)
        # Survey comments (回访意见) are transcribed onto the ticket's revisit instead.
        self.stt = TranscriptionService(settings, self.engine,
                                        on_transcript=SurveyComments(inner=self.drafts))
        self.runner = FlowRunner(
            flows=self.flows,
            lookup=StoreTicketLookup(self.engine, tz=tz),
            step_log=StoreStepLog(self.store),
            clock=self.clock,
            holidays=set(self.rules.calendar.holidays),
            queue_name=settings.queue.name,
            queue_max_wait=settings.queue.max_wait,
            emergency_lines=dict(settings.sip.emergency),
            speech=PoolSpeechRecognizer(self.stt),
            knowledge=StoreKnowledgeArticles(self.engine),  # play nodes with an article
        )
        # Messages are transcribed while the caller speaks (AudioSocket); the batch job on
        # the recording stays the fallback.
        self.live = LiveTranscripts(settings=settings, service=self.stt)
        self.ivr = IvrCallHandler(settings=settings, store=self.store, prompts=self.prompts,
                                  runner=self.runner, streams=self.live)
        self.agi = AgiServer(host=settings.agi.host, port=settings.agi.port,
                             header_timeout=settings.agi.header_timeout)
        self.agi.add_route("ivr", self.ivr.handle)
        self.events = TranscribingCallEvents(settings=settings, store=self.store,
                                             on_complete=self.stt.notify)
        # The call pop and the seats' state follow the same AMI events (hotline.seats).
        self.pop = PopBoard(clock=self.clock)
        self.ami = AmiController(settings=settings.ami, secret=settings.ami_secret,
                                 handler=SeatEvents(inner=self.events, board=self.pop,
                                                    engine=self.engine, clock=self.clock))
        self.queue_members = AmiQueueMembers(self.ami, queue=settings.queue.name)
        # Surveys (回访) and reminders (督办) placed by AMI Originate into ivr_flows/.
        self.outbound = Outbound.build(settings, engine=self.engine, clock=self.clock,
                                       ami=self.ami, store=self.store, prompts=self.prompts,
                                       runner=self.runner, rules=self.rules,
                                       on_comment=self.stt.notify)
        self.agi.add_route("outbound", self.outbound.flows.handle)
        # Hang-ups to the dialer and the outbound recordings; call-backs onto the seats' pops.
        self.ami.handler = self.outbound.events(inner=self.ami.handler, board=self.pop)
        # Supervisors listen in on live calls (ChanSpy, AMI Originate to their phone).
        self.monitor = Monitor(ami=self.ami, engine=self.engine, clock=self.clock,
                               settings=settings.monitoring)
        self.retention = RetentionJob(engine=self.engine, clock=self.clock,
                                      settings=settings.retention,
                                      recordings_root=settings.recordings_dir,
                                      exports_dir=settings.exports_dir)
        # Messages to web callers (SMS: accepted, the survey link), from the change outbox.
        self.notify = MessageSender.build(settings, engine=self.engine, clock=self.clock)
        self.admin_password: str | None = None  # set once, on the very first start

    async def start(self) -> None:
        migrate(self.engine)
        with session_scope(self.engine) as session:
            self.admin_password = ensure_admin(session=session, settings=self.settings)
            for loaded in first_start_data(session):
                log.info("first start: loaded the %s", loaded)
        # The flows were read before the database was migrated: their articles are checked now
        # (an unknown one plays its node's fallback on each call). Seed articles they name that
        # a base seeded by an older version lacks are added first.
        knowledge = StoreKnowledgeArticles(self.engine)
        if added := knowledge.add_seeded(article_refs(self.flows.values())):
            log.info("knowledge base: added %d seed articles named by the flows", added)
        for error in check_articles(self.flows.values(), articles=knowledge):
            log.error("flow article: %s", error)
        await asyncio.to_thread(self._prepare_drafts)
        await asyncio.to_thread(build_zh_sounds, self.prompts, self.settings.zh_sounds_dir,
                                hold_text=self.settings.queue.hold_text)
        await self.agi.start()
        await self.ami.start()
        await self.lights.start()
        await self.warnings.start()
        await self.reports.start()
        await self.stt.start()
        await self.live.start()
        await self.outbound.start()
        await self.monitor.start()
        await self.retention.start()
        await self.notify.start()

    def _prepare_drafts(self) -> None:
        with session_scope(self.engine) as session:
            self.drafts.prepare(session)

    async def stop(self) -> None:
        await self.notify.stop()
        await self.retention.stop()
        await self.monitor.stop()
        await self.outbound.stop()
        await self.reports.stop()
        await self.warnings.stop()
        await self.lights.stop()
        await self.ami.stop()
        await self.agi.stop()
        await self.events.drain()
        await self.store.drain()
        await self.live.stop()
        await self.stt.stop()
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
            "lights": self.lights.status(),
            "warnings": self.warnings.status(),
            "reports": self.reports.status(),
            "stt": {**self.stt.status(), "drafts": self.drafts.status(),
                    "live": self.live.status()},
            "outbound": self.outbound.status(),
            "retention": self.retention.status(),
            "notify": self.notify.status(),
        }


# The calls page (/) and /api/calls: the center's staff, not the units.
CALLS_PAGE_ROLES = frozenset({Role.operator, Role.supervisor, Role.callback_agent, Role.admin})


def audible(recording: dict[str, Any]) -> bool:
    """A recording with sound (as ``hotline.recording.library.audible``)."""
    return bool(recording["complete"] and (recording["duration_seconds"] or 0) > 0
                and (recording["size_bytes"] or 0) > WAV_HEADER_BYTES)


def settle_heap() -> None:
    """Load what the first requests would (jieba's dictionary), then put everything alive out
    of the garbage collector's full collections (``gc.freeze``): see ``build_app``."""
    segment("热线受理")
    gc.collect()
    gc.freeze()


def build_app(settings: Settings, *, on_ready: Callable[[], None] | None = None,
              freeze_heap: bool = False) -> FastAPI:
    """``freeze_heap`` (the served app: ``hotline run`` / ``serve``): once started, what start-up
    made (modules, jieba's dictionary, the models) is moved out of the garbage collector's
    reach (``gc.freeze``): its full collections walked all of it, about 110 ms every twenty
    requests of the callback page at a million tickets."""
    hotline = Hotline(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hotline.start()
        if freeze_heap:
            settle_heap()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await hotline.stop()

    app = FastAPI(title="hotline", lifespan=lifespan)
    app.state.hotline = hotline
    app.state.agent_caller = hotline.outbound.agent_caller  # click-to-call (hotline.outbound.http)
    app.state.monitor = hotline.monitor  # /supervisor/monitor (hotline.web.pages.monitoring)
    app.state.retention = hotline.retention  # /supervisor/retention
    app.state.oversight_reports = hotline.reports.generator  # listed on /supervisor/reports
    app.state.ivr_flows = hotline.flows  # node labels of the IVR paths shown (ivr_path filter)
    include_api(app, engine=hotline.engine, settings=settings, clock=hotline.clock,
                signal=hotline.ticket_signal, rules=hotline.rules)
    staff = Depends(require_roles(*CALLS_PAGE_ROLES))

    web_dir = settings.home / "web"
    include_pages(
        app, web_dir=web_dir,
        seats=SeatConsole(board=hotline.pop, queue=hotline.queue_members,
                          seats=[f"PJSIP/{name}" for name in settings.sip.seats],
                          emergency_lines=sorted(settings.sip.emergency),
                          mover=AmiCallMover(hotline.ami)),
        units=UnitConsole(attachments=AttachmentStore(
            settings.attachments_dir, max_bytes=settings.web.attachment_max_bytes)),
        recordings=RecordingsConsole(root=settings.recordings_dir,
                                     tz=ZoneInfo(settings.ivr.timezone)),
        public_figures=settings.web.public_figures,
    )
    app.state.message_sender = hotline.notify  # /supervisor/messages
    app.include_router(message_pages.router)
    if (web_dir / "static").is_dir():
        app.mount("/static", StaticFiles(directory=str(web_dir / "static")), name="static")

    def call_rows(limit: int, mask: Callable[[str | None], str | None]) -> list[dict[str, Any]]:
        views = hotline.store.recent(limit=max(1, min(limit, 500)))
        rows = [call_as_dict(v, recordings_root=str(settings.recordings_dir)) for v in views]
        for row in rows:
            row["caller"] = mask(row["caller"])
        return rows

    @app.get("/", response_class=HTMLResponse)
    async def console(request: Request) -> HTMLResponse:
        context: dict[str, Any] = {"status": hotline.status(),
                                   "number": settings.sip.hotline_number}
        sessions = cast(Generator[Session, None, None], get_session(request))
        try:
            user = get_current_user(request, next(sessions))
        except HotlineError:
            return render(request, "login.html", user=None, next="")
        finally:
            sessions.close()
        if user.role not in CALLS_PAGE_ROLES:  # unit handlers: the 403 page
            raise PageForbidden(user, CALLS_PAGE_ROLES)
        rows = call_rows(50, lambda n: mask_phone(n, role=user.role))
        with Session(hotline.engine) as session:  # 工单 … or 无效来电 per call
            intake = intake_of_calls(session=session, uniqueids=[r["uniqueid"] for r in rows])
        for row in rows:  # zero-length recordings are not listed
            row["recordings"] = [r for r in row["recordings"] if audible(r)]
            row["intake"] = intake.get(row["uniqueid"], "")
        return render(request, "calls.html", user=user, calls=rows, **context)

    @app.get("/status")
    async def status() -> dict[str, Any]:
        return hotline.status()

    @app.get("/api/calls", dependencies=[staff])
    async def calls(user: CurrentUser, mask: PhoneMask, limit: int = 50
                    ) -> list[dict[str, Any]]:
        return call_rows(limit, mask)

    return app
