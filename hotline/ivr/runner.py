"""Runs an IVR flow on one call: executes each node on a ``CallChannel``, asks the engine what
comes next, and reports every step to a ``StepLog``.

Built once by the composition root and shared by every call::

    runner = FlowRunner(
        flows=flows, lookup=ticket_lookup, step_log=call_records, clock=now_in_center_tz,
        holidays={date(2026, 10, 1)}, queue_name="hotline", queue_max_wait=300,
        emergency_lines={"110": "PJSIP/e110", "120": "PJSIP/e120"},
    )
    result = await runner.run(channel, "default")     # RunResult(path=[...], reason="transferred")

The runner never answers the call (the adapter or dialplan does) and hangs up only at the end
of the flow. A caller hanging up (``CallerHungUp`` from any channel method) ends the run at
once, with no further command. Any other error inside a node is logged, the flow's apology is
played and the caller is put in the operators' queue; if even that fails, the call is hung up.
``run`` itself does not raise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from hotline.errors import CallerHungUp
from hotline.ivr.engine import End, FlowEngine, Retry, Transition, is_open
from hotline.ivr.engine import ticket_number_from_keys as _ticket_number
from hotline.ivr.flow import (
    DEFAULT_APOLOGY,
    EmergencyNode,
    ExtensionNode,
    Flow,
    GotoNode,
    HangupNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    SpeechMenuNode,
)
from hotline.ivr.ports import (
    CallChannel,
    DialOutcome,
    DialStatus,
    KnowledgeArticles,
    Prompt,
    QueueOutcome,
    QueueStatus,
    SpeechChoice,
    SpeechRecognizer,
    StepLog,
    StepRecord,
    TicketLookup,
)

logger = logging.getLogger(__name__)

RunEnd = Literal["hangup_by_caller", "completed", "transferred", "error"]
FALLBACK_NODE = "(fallback)"  # the node name of the apology + queue step after an error


@dataclass(frozen=True)
class RunResult:
    path: list[str]  # ids of the nodes executed, in order
    reason: RunEnd


@dataclass
class _Step:
    """What a node did so far; reported even when the node is cut short."""

    keys: str = ""
    outcome: str = ""
    detail: dict[str, str] = field(default_factory=dict)


class FlowRunner:
    def __init__(
        self,
        *,
        flows: Mapping[str, Flow],
        lookup: TicketLookup,
        step_log: StepLog,
        clock: Callable[[], datetime],
        holidays: set[date] | frozenset[date],
        queue_name: str,
        queue_max_wait: int,
        emergency_lines: Mapping[str, str],
        dial_timeout: int = 60,
        extension_format: str = "PJSIP/{extension}",
        max_steps: int = 200,
        speech: SpeechRecognizer | None = None,
        knowledge: KnowledgeArticles | None = None,
    ) -> None:
        self._engines = {name: FlowEngine(flow) for name, flow in flows.items()}
        self._lookup = lookup
        self._step_log = step_log
        self._clock = clock
        self._holidays = frozenset(holidays)
        self._queue_name = queue_name
        self._queue_max_wait = queue_max_wait
        self._emergency_lines = dict(emergency_lines)
        self._dial_timeout = dial_timeout
        self._extension_format = extension_format  # dial string of an ``extension`` transfer
        self._max_steps = max_steps  # a caller silent forever in a menu loop ends here
        self._speech = speech  # None: speech menus take keys only
        self._knowledge = knowledge  # None: play nodes with an article play their fallback

    async def run(self, channel: CallChannel, flow_name: str) -> RunResult:
        engine = self._engines.get(flow_name)
        if engine is None:
            logger.error("call %s: no IVR flow named %r, sending to the queue", channel.call_id,
                         flow_name)  # fmt: skip
            await self._fallback(channel, DEFAULT_APOLOGY)
            return RunResult(path=[], reason="error")
        path: list[str] = []
        node_id = engine.flow.start
        while len(path) < self._max_steps:
            node = engine.flow.nodes[node_id]
            path.append(node_id)
            step, started = _Step(), self._clock()
            try:
                transition = await self._execute(channel, engine=engine, node=node, step=step)
            except CallerHungUp:
                step.outcome = "caller_hung_up"
                await self._report(channel, node=node, step=step, started=started)
                return RunResult(path=path, reason="hangup_by_caller")
            except Exception as exc:
                logger.exception("call %s: IVR node %r of flow %r failed", channel.call_id,
                                 node.id, flow_name)  # fmt: skip
                step.outcome, step.detail["error"] = "error", repr(exc)
                await self._report(channel, node=node, step=step, started=started)
                await self._fallback(channel, engine.flow.apology)
                return RunResult(path=path, reason="error")
            await self._report(channel, node=node, step=step, started=started)
            if isinstance(transition, End):
                await self._hang_up(channel)
                return RunResult(path=path, reason=transition.reason)
            node_id = transition.node
        logger.error("call %s: flow %r ran %d steps, hanging up", channel.call_id, flow_name,
                     self._max_steps)  # fmt: skip
        await self._hang_up(channel)
        return RunResult(path=path, reason="error")

    async def _execute(
        self, channel: CallChannel, *, engine: FlowEngine, node: Node, step: _Step
    ) -> Transition:
        match node:
            case PlayNode():
                prompt = node.prompt or await self._article(channel, node=node, step=step)
                key = await channel.play(prompt, interrupt_keys=engine.play_interrupt_keys())
                step.keys = key or ""
                step.outcome = node.event or ("interrupted" if key else "played")
                return engine.after_play(node, key=key)
            case MenuNode():
                return await self._menu(channel, engine=engine, node=node, step=step)
            case SpeechMenuNode():
                return await self._speech_menu(channel, engine=engine, node=node, step=step)
            case HoursNode():
                now = self._clock()
                step.outcome = (
                    "open" if is_open(node, now=now, holidays=self._holidays) else "closed"
                )
                return engine.after_hours(node, now=now, holidays=self._holidays)
            case RecordNode():
                return await self._record(channel, engine=engine, node=node, step=step)
            case LookupNode():
                return await self._lookup_ticket(channel, engine=engine, node=node, step=step)
            case QueueNode():
                return await self._queue(channel, engine=engine, node=node, step=step)
            case EmergencyNode() | ExtensionNode():
                return await self._dial(channel, engine=engine, node=node, step=step)
            case GotoNode():
                step.outcome = "goto"
                return engine.after_goto(node)
            case HangupNode():
                if node.prompt is not None:
                    await channel.play(node.prompt)
                step.outcome = "completed"
                return End("completed")

    async def _article(self, channel: CallChannel, *, node: PlayNode, step: _Step) -> Prompt:
        """The current body of the node's knowledge article, or its fallback (logged).

        ``step.detail`` gets ``article`` (the reference), ``article_status`` and, when the
        article exists, ``article_id``.
        """
        ref = node.article or ""
        step.detail.update(article=ref)
        status, text = "unavailable", ""
        if self._knowledge is None:
            logger.warning("call %s: node %r: knowledge article %r: no knowledge base, playing "
                           "the fallback", channel.call_id, node.id, ref)  # fmt: skip
        else:
            try:
                found = await self._knowledge.spoken_article(ref, on_date=self._clock().date())
            except Exception:
                logger.exception("call %s: node %r: cannot read knowledge article %r, playing "
                                 "the fallback", channel.call_id, node.id, ref)  # fmt: skip
            else:
                status, text = found.status, found.text
                if found.article_id is not None:
                    step.detail["article_id"] = str(found.article_id)
                if status != "found":
                    logger.warning("call %s: node %r: knowledge article %r is %s, playing the "
                                   "fallback", channel.call_id, node.id, ref, status)  # fmt: skip
        step.detail["article_status"] = status
        return Prompt(text=text) if status == "found" else node.fallback

    async def _menu(
        self, channel: CallChannel, *, engine: FlowEngine, node: MenuNode, step: _Step
    ) -> Transition:
        keys = engine.menu_keys(node)
        attempt = 1
        while True:
            key = await channel.play(node.prompt, interrupt_keys=keys)
            if key is None:
                key = await channel.read_digits(None, max_digits=1, timeout=node.timeout)
            step.keys += key
            step.detail["attempts"] = str(attempt)
            decision = engine.after_menu(node, key=key, attempt=attempt)
            if not isinstance(decision, Retry):
                if key in node.choices:
                    step.outcome = "selected"
                elif key in engine.flow.global_keys:
                    step.outcome = "global_key"
                else:
                    step.outcome = "failed"
                return decision
            await channel.play(decision.prompt)
            attempt = decision.attempt

    async def _speech_menu(
        self, channel: CallChannel, *, engine: FlowEngine, node: SpeechMenuNode, step: _Step
    ) -> Transition:
        """Prompt, then listen for a phrase (a key ends it); keys only without a recogniser.

        Each try is logged in ``step.detail``: ``heard_N``, ``phrase_N`` and ``confidence_N``
        for try N, and ``phrase``/``confidence`` for the phrase that routed the call.
        """
        keys = engine.menu_keys(node)
        speech = self._speech if self._speech and self._speech.available(node.language) else None
        step.detail["input"] = "speech" if speech else "keys"
        attempt = 1
        while True:
            step.detail["attempts"] = str(attempt)
            key = await channel.play(node.prompt, interrupt_keys=keys) or ""
            choice: SpeechChoice | None = None
            if not key and speech is not None:
                heard = await channel.listen(max_seconds=node.listen_seconds,
                                             silence_seconds=node.silence_seconds, keys=keys)
                key = heard.key or ""
                if not key:
                    choice = await speech.choose(heard.path, list(node.phrases),
                                                 language=node.language)
                    if choice is None:  # the model went away: keys from now on
                        speech, step.detail["input"] = None, "keys"
            if not key and choice is None:
                key = await channel.read_digits(None, max_digits=1, timeout=node.timeout)
            if choice is not None:
                step.detail.update({f"heard_{attempt}": choice.heard,
                                    f"phrase_{attempt}": choice.phrase or "",
                                    f"confidence_{attempt}": f"{choice.confidence:.2f}"})
            step.keys += key
            decision = engine.after_speech(node, key=key, choice=choice, attempt=attempt)
            if not isinstance(decision, Retry):
                step.outcome = self._speech_outcome(engine, node, key=key, choice=choice)
                if step.outcome == "said" and choice is not None:
                    step.detail.update(phrase=choice.phrase or "",
                                       confidence=f"{choice.confidence:.2f}")
                return decision
            await channel.play(decision.prompt)
            attempt = decision.attempt

    @staticmethod
    def _speech_outcome(engine: FlowEngine, node: SpeechMenuNode, *, key: str,
                        choice: SpeechChoice | None) -> str:
        if key in node.choices:
            return "selected"
        if key in engine.flow.global_keys:
            return "global_key"
        if not key and choice is not None and engine.speech_match(node, choice) is not None:
            return "said"
        return "failed"

    async def _record(
        self, channel: CallChannel, *, engine: FlowEngine, node: RecordNode, step: _Step
    ) -> Transition:
        await channel.play(node.prompt)
        outcome = await channel.record(
            name=node.name,
            max_seconds=node.max_seconds,
            silence_seconds=node.silence_seconds,
            beep=node.beep,
        )
        step.detail.update(name=node.name, path=outcome.path, ended_by=outcome.ended_by)
        if outcome.duration_ms is not None:
            step.detail["duration_ms"] = str(outcome.duration_ms)
        if outcome.ended_by == "hangup":
            raise CallerHungUp("caller hung up while recording", channel=channel.call_id)
        step.outcome = "recorded"
        return engine.after_record(node)

    async def _lookup_ticket(
        self, channel: CallChannel, *, engine: FlowEngine, node: LookupNode, step: _Step
    ) -> Transition:
        digits = await channel.read_digits(
            node.prompt, max_digits=node.max_digits, timeout=node.timeout
        )
        step.keys = digits
        if not digits:
            step.outcome = "no_input"
            await channel.play(node.no_input)
            return engine.after_lookup(node)
        number = _ticket_number(digits)
        step.detail["number"] = number
        sentence = await self._lookup.status_sentence(number=number, caller=channel.caller)
        step.outcome = "found" if sentence else "not_found"
        await channel.play(Prompt(text=sentence) if sentence else node.not_found)
        return engine.after_lookup(node)

    async def _queue(
        self, channel: CallChannel, *, engine: FlowEngine, node: QueueNode, step: _Step
    ) -> Transition:
        exit_keys = engine.queue_exit_keys(node)
        step.detail["queue"] = self._queue_name
        key = await channel.play(node.prompt, interrupt_keys=exit_keys) if node.prompt else None
        if key:  # pressed during the announcement: as if pressed while waiting
            outcome = QueueOutcome(status=QueueStatus.EXIT_KEY, key=key)
        else:
            outcome = await channel.queue(
                queue=self._queue_name, max_wait=self._queue_max_wait, exit_keys=exit_keys
            )
        step.keys = outcome.key or ""
        step.outcome = outcome.status.value
        return engine.after_queue(node, outcome)

    async def _dial(
        self,
        channel: CallChannel,
        *,
        engine: FlowEngine,
        node: EmergencyNode | ExtensionNode,
        step: _Step,
    ) -> Transition:
        if node.prompt is not None:
            await channel.play(node.prompt)
        if isinstance(node, ExtensionNode):
            target: str | None = self._extension_format.format(extension=node.extension)
        else:
            target = self._emergency_lines.get(node.number)
            step.detail["line"] = node.number
        if target is None:
            logger.error("call %s: no dial target configured for emergency line %s",
                         channel.call_id, step.detail["line"])  # fmt: skip
            step.outcome = DialStatus.UNAVAILABLE.value
            return engine.after_dial(node, DialOutcome(status=DialStatus.UNAVAILABLE))
        step.detail["target"] = target
        outcome = await channel.dial(target=target, timeout=self._dial_timeout)
        if outcome.status is DialStatus.CANCELLED:
            raise CallerHungUp("caller hung up while the transfer rang", channel=channel.call_id)
        step.outcome = outcome.status.value
        return engine.after_dial(node, outcome)

    async def _report(
        self, channel: CallChannel, *, node: Node, step: _Step, started: datetime
    ) -> None:
        record = StepRecord(
            node=node.id,
            kind=node.kind,
            started=started,
            ended=self._clock(),
            keys=step.keys,
            outcome=step.outcome,
            detail=step.detail,
        )
        await self._send(channel, record)

    async def _send(self, channel: CallChannel, record: StepRecord) -> None:
        try:
            await self._step_log.on_step(channel.call_id, record)
        except Exception:  # the call goes on without its record
            logger.exception("call %s: cannot record IVR step %r", channel.call_id, record.node)

    async def _fallback(self, channel: CallChannel, apology: Prompt) -> None:
        """After an error: apologise and put the caller in the queue, else hang up."""
        started = self._clock()
        record = StepRecord(FALLBACK_NODE, "fallback", started, started, outcome="failed")
        try:
            await channel.play(apology)
            outcome = await channel.queue(
                queue=self._queue_name, max_wait=self._queue_max_wait, exit_keys=""
            )
            record.outcome = outcome.status.value
        except CallerHungUp:
            record.outcome = "caller_hung_up"
        except Exception:
            logger.exception("call %s: cannot send the caller to the queue", channel.call_id)
        record.ended = self._clock()
        await self._send(channel, record)
        if record.outcome != "caller_hung_up":
            await self._hang_up(channel)

    async def _hang_up(self, channel: CallChannel) -> None:
        try:
            await channel.hangup()
        except CallerHungUp:
            pass
        except Exception:
            logger.exception("call %s: hangup failed", channel.call_id)
