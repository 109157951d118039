"""Composition of outbound calls (wazo ``plugin.py`` style): the policy from the settings, the
AMI dialer, the FastAGI route ``outbound`` and the scheduler, built by ``hotline.app``.

    outbound = Outbound.build(settings, engine=engine, clock=clock, ami=ami, store=store,
                              prompts=prompts, runner=runner)
    agi.add_route("outbound", outbound.flows.handle)
    await outbound.start(); …; await outbound.stop()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from hotline.calls.store import CallStore
from hotline.config import Settings
from hotline.outbound.agent_calls import CHANNEL_PREFIX as AGENT_PREFIX
from hotline.outbound.agent_calls import AgentCaller
from hotline.outbound.agi import OutboundFlowHandler
from hotline.outbound.ami import CHANNEL_PREFIX, AmiDialer, AmiSender, DialerEvents, PopSink
from hotline.outbound.queue_callbacks import CHANNEL_PREFIX as QUEUE_CALLBACK_PREFIX
from hotline.outbound.queue_callbacks import QueueCallbacks
from hotline.outbound.recordings import OutboundRecordings
from hotline.outbound.rules import CallingHours, RetryPolicy, TrunkLimits
from hotline.outbound.scheduler import OutboundScheduler
from hotline.outbound.service import Policy
from hotline.outbound.settings import OutboundSettings
from hotline.prompts.store import PromptStore
from hotline.tickets.deployment import rules_from_settings
from hotline.tickets.service import Rules


def _clock_time(text: str) -> time:
    return time(0) if text in ("24:00", "00:00") else time.fromisoformat(text)


def policy_from(settings: OutboundSettings, *, rules: Rules, tz: ZoneInfo,
                comment_language: str = "zh") -> Policy:
    """The policy of the settings, on the deployment's one calendar (``rules.calendar``);
    survey comments are transcribed in ``comment_language`` (``stt.language``)."""
    calendar = rules.calendar
    return Policy(
        hours=CallingHours(start=_clock_time(settings.calling_start),
                           end=_clock_time(settings.calling_end), calendar=calendar,
                           on_holidays=settings.call_on_holidays,
                           on_weekends=settings.call_on_weekends, tz=tz),
        retry=RetryPolicy(max_attempts=settings.max_attempts,
                          interval=timedelta(hours=settings.retry_hours)),
        limits=TrunkLimits(default=settings.max_concurrent, limits=settings.trunk_limits),
        rules=rules, comment_language=comment_language,
    )


@dataclass
class Outbound:
    dialer: AmiDialer
    flows: OutboundFlowHandler
    scheduler: OutboundScheduler
    agent_caller: AgentCaller
    queue_callbacks: QueueCallbacks
    recordings: OutboundRecordings
    enabled: bool
    interval: float
    queue_callbacks_on: bool

    @classmethod
    def build(cls, settings: Settings, *, engine: Engine, clock: Callable[[], datetime],
              ami: AmiSender, store: CallStore, prompts: PromptStore, runner: Any,
              rules: Rules | None = None, on_comment: Callable[[], None] | None = None
              ) -> Outbound:
        """``rules``: the app's ticket rules (default: built from the settings alike);
        ``on_comment``: told when a survey comment was queued for transcription, or an
        outbound call's recordings were finished at its hang-up (wake the transcription
        service)."""
        tz = ZoneInfo(settings.ivr.timezone)
        s = settings.outbound
        dialer = AmiDialer(ami=ami, settings=s, tz=tz)
        flows = OutboundFlowHandler(dialer=dialer, settings=settings, store=store,
                                    prompts=prompts, runner=runner)
        policy = policy_from(s, rules=rules or rules_from_settings(settings), tz=tz,
                             comment_language=settings.stt.language)
        scheduler = OutboundScheduler(engine=engine, clock=clock, dialer=dialer, trunk=s.trunk,
                                      policy=policy, interval=s.interval_seconds,
                                      on_comment=on_comment)
        agent_caller = AgentCaller(ami=ami, engine=engine, clock=clock, settings=s,
                                   policy=policy)
        queue_callbacks = QueueCallbacks(ami=ami, engine=engine, clock=clock, settings=s,
                                         queue=settings.queue.name, policy=policy,
                                         max_attempts=s.queue_callback_attempts)
        recordings = OutboundRecordings(
            settings=settings, store=store, on_complete=on_comment,
            prefixes=(CHANNEL_PREFIX, AGENT_PREFIX, QUEUE_CALLBACK_PREFIX))
        return cls(dialer=dialer, flows=flows, scheduler=scheduler, agent_caller=agent_caller,
                   queue_callbacks=queue_callbacks, recordings=recordings, enabled=s.enabled,
                   interval=s.interval_seconds, queue_callbacks_on=s.queue_callbacks)

    def events(self, *, inner: Any, board: PopSink | None = None) -> DialerEvents:
        """The AMI event handler around ``inner``: hang-ups to the dialer and the recordings,
        the call-backs' rings onto the seats' pops (``board``)."""
        return DialerEvents(inner=inner, dialer=self.dialer, recordings=self.recordings,
                            pops=self.queue_callbacks, board=board)

    async def start(self) -> None:
        if self.enabled:
            await self.scheduler.start()
            if self.queue_callbacks_on:
                await self.queue_callbacks.start(self.interval)

    async def stop(self) -> None:
        await self.agent_caller.stop()
        await self.queue_callbacks.stop()
        await self.scheduler.stop()
        await self.recordings.drain()

    def status(self) -> dict[str, object]:
        return {"enabled": self.enabled, **self.scheduler.status(),
                "queue_callbacks": self.queue_callbacks.status()}
