"""In-memory implementations of the IVR ports (``hotline.ivr.ports``), for unit tests.

Not mocks: each is a working implementation driven by a script, like httpx's ``MockTransport``.

``FakeCallChannel`` plays a caller following ``actions`` in order::

    channel = FakeCallChannel(
        actions=[Press("5", at="查询请按5"), Press("2026112200042", at="工单编号"), HangUp()],
        queue_outcomes=[QueueOutcome(QueueStatus.NO_SEAT)],   # then ANSWERED when used up
        dial_outcomes=[DialOutcome(DialStatus.BUSY)],          # then ANSWERED when used up
    )

* ``Press(keys, at=text)``: when a prompt containing ``text`` plays (or, for ``read_digits``
  without a prompt, was the last one played), the caller presses ``keys``. A single key
  interrupts a ``play`` when it is one of its interrupt keys; otherwise the keys go to the next
  ``read_digits``. ``at=None``: at the next chance.
* ``Silence(at=text)``: the next matching ``read_digits`` times out (it would anyway when
  no action matches; this makes the script explicit).
* ``Say(text, at=text)``: the caller answers a speech menu's listening (``listen``) with
  ``text`` ("" for silence); ``FakeSpeechRecognizer`` hears exactly that. A ``Press`` of one of
  the listening's keys ends it with the key instead.
* ``HangUp(at=text)``: the caller hangs up while that prompt plays. ``HangUp()`` in
  ``queue_outcomes``/``dial_outcomes``/``record_outcomes``: hangs up while waiting there.
* ``hang_up_at_step=N``: the N-th channel command (1-based) raises ``CallerHungUp``.
* ``failures={"record": OSError(...)}``: that command raises, every time.

After the caller hung up, every command raises ``CallerHungUp`` and is kept in
``commands_after_hangup``, which a test asserts empty.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from hotline.errors import CallerHungUp
from hotline.ivr.ports import (
    DialOutcome,
    DialStatus,
    ListenOutcome,
    Prompt,
    QueueOutcome,
    QueueStatus,
    RecordOutcome,
    SpeechChoice,
    StepRecord,
)


@dataclass(frozen=True)
class Press:
    keys: str
    at: str | None = None


@dataclass(frozen=True)
class Silence:
    at: str | None = None


@dataclass(frozen=True)
class HangUp:
    at: str | None = None


@dataclass(frozen=True)
class Say:
    text: str
    at: str | None = None
    confidence: float = 0.9


Action = Press | Silence | HangUp | Say
SAID = "said:"  # the fake answer "path": said:<confidence>:<text>


@dataclass(frozen=True)
class Command:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


class FakeCallChannel:
    """A ``CallChannel`` for one scripted caller; records every command and every prompt."""

    def __init__(
        self,
        *,
        actions: Sequence[Action] = (),
        queue_outcomes: Sequence[QueueOutcome | HangUp] = (),
        dial_outcomes: Sequence[DialOutcome | HangUp] = (),
        record_outcomes: Sequence[RecordOutcome | HangUp] = (),
        hang_up_at_step: int | None = None,
        failures: Mapping[str, Exception] | None = None,
        caller: str = "13800138000",
        call_id: str = "call-1",
    ) -> None:
        self.caller = caller
        self.call_id = call_id
        self.actions: deque[Action] = deque(actions)
        self._queue_outcomes = deque(queue_outcomes)
        self._dial_outcomes = deque(dial_outcomes)
        self._record_outcomes = deque(record_outcomes)
        self._hang_up_at_step = hang_up_at_step
        self._failures = dict(failures or {})
        self.commands: list[Command] = []
        self.commands_after_hangup: list[Command] = []
        self.played: list[Prompt] = []
        self.caller_hung_up = False
        self.hung_up = False  # by us, with hangup()
        self._last_text = ""

    # What happened.

    @property
    def played_texts(self) -> list[str]:
        return [prompt.text for prompt in self.played]

    def names(self) -> list[str]:
        return [command.name for command in self.commands]

    def heard(self, text: str) -> bool:
        return any(text in played for played in self.played_texts)

    # CallChannel.

    async def answer(self) -> None:
        self._begin("answer")

    async def play(self, prompt: Prompt, *, interrupt_keys: str = "") -> str | None:
        self._begin("play", text=prompt.text, interrupt_keys=interrupt_keys)
        self._hear(prompt)
        action = self._next_action(prompt.text)
        if isinstance(action, Press) and len(action.keys) == 1 and action.keys in interrupt_keys:
            self.actions.popleft()
            return action.keys
        return None

    async def read_digits(
        self,
        prompt: Prompt | None,
        *,
        max_digits: int,
        timeout: float,  # noqa: ASYNC109 (the CallChannel signature)
    ) -> str:
        self._begin("read_digits", max_digits=max_digits, timeout=timeout)
        if prompt is not None:
            self._hear(prompt)
        action = self._next_action(self._last_text)
        if isinstance(action, Press | Silence):
            self.actions.popleft()
        if isinstance(action, Press):
            return action.keys.split("#")[0][:max_digits]
        return ""

    async def record(
        self, *, name: str, max_seconds: int, silence_seconds: int, beep: bool
    ) -> RecordOutcome:
        self._begin("record", name=name, max_seconds=max_seconds, beep=beep)
        outcome = self._record_outcomes.popleft() if self._record_outcomes else None
        if isinstance(outcome, HangUp):
            return self._gone()
        if outcome is None:
            path = f"/var/spool/hotline/recordings/{self.call_id}-{name}.wav"
            return RecordOutcome(path=path, ended_by="key", duration_ms=4200)
        return outcome

    async def listen(self, *, max_seconds: int, silence_seconds: int, keys: str
                     ) -> ListenOutcome:
        self._begin("listen", max_seconds=max_seconds, silence_seconds=silence_seconds,
                    keys=keys)
        action = self._next_action(self._last_text)
        if isinstance(action, HangUp):
            self.actions.popleft()
            self._gone()
        if isinstance(action, Press) and len(action.keys) == 1 and action.keys in keys:
            self.actions.popleft()
            return ListenOutcome(path=f"{SAID}0:", key=action.keys)
        if isinstance(action, Say | Silence):
            self.actions.popleft()
        if isinstance(action, Say):
            return ListenOutcome(path=f"{SAID}{action.confidence}:{action.text}")
        return ListenOutcome(path=f"{SAID}0:")

    async def queue(self, *, queue: str, max_wait: int, exit_keys: str) -> QueueOutcome:
        self._begin("queue", queue=queue, max_wait=max_wait, exit_keys=exit_keys)
        outcome = self._queue_outcomes.popleft() if self._queue_outcomes else None
        if isinstance(outcome, HangUp):
            return self._gone()
        return outcome or QueueOutcome(status=QueueStatus.ANSWERED)

    async def dial(self, *, target: str, timeout: int) -> DialOutcome:  # noqa: ASYNC109
        self._begin("dial", target=target, timeout=timeout)
        outcome = self._dial_outcomes.popleft() if self._dial_outcomes else None
        if isinstance(outcome, HangUp):
            return self._gone()
        return outcome or DialOutcome(status=DialStatus.ANSWERED)

    async def hangup(self) -> None:
        self._begin("hangup")
        self.hung_up = True

    # Script machinery.

    def _begin(self, command_name: str, /, **args: Any) -> None:
        name = command_name
        command = Command(name, args)
        if self.caller_hung_up:
            self.commands_after_hangup.append(command)
            raise CallerHungUp("the caller has hung up", channel=self.call_id)
        self.commands.append(command)
        if self._hang_up_at_step == len(self.commands):
            self._gone()
        if name in self._failures:
            raise self._failures[name]

    def _hear(self, prompt: Prompt) -> None:
        self.played.append(prompt)
        self._last_text = prompt.text
        action = self._next_action(prompt.text)
        if isinstance(action, HangUp):
            self.actions.popleft()
            self._gone()

    def _next_action(self, text: str) -> Action | None:
        action = self.actions[0] if self.actions else None
        if action is None or (action.at is not None and action.at not in text):
            return None
        return action

    def _gone(self) -> NoReturn:
        self.caller_hung_up = True
        raise CallerHungUp("the caller hung up", channel=self.call_id)


class MemoryStepLog:
    """A ``StepLog`` keeping the steps in a list."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, StepRecord]] = []

    async def on_step(self, call_id: str, step: StepRecord) -> None:
        self.entries.append((call_id, step))

    @property
    def steps(self) -> list[StepRecord]:
        return [step for _, step in self.entries]

    def outcomes(self) -> list[tuple[str, str]]:
        return [(step.node, step.outcome) for step in self.steps]

    def step(self, node: str) -> StepRecord:
        """The last step at ``node``."""
        return [step for step in self.steps if step.node == node][-1]


class FakeSpeechRecognizer:
    """A ``SpeechRecognizer`` hearing what ``FakeCallChannel``'s ``Say`` said.

    ``languages``: those with a model (None: every language). ``fail_after``: after that many
    answers ``choose`` returns None (the model went away).
    """

    def __init__(self, *, languages: set[str | None] | None = None,
                 fail_after: int | None = None) -> None:
        self.languages = languages
        self.fail_after = fail_after
        self.heard: list[tuple[str, tuple[str, ...], str | None]] = []

    def available(self, language: str | None) -> bool:
        return self.languages is None or language in self.languages

    async def choose(self, audio_path: str, phrases: Sequence[str], *,
                     language: str | None) -> SpeechChoice | None:
        if self.fail_after is not None and len(self.heard) >= self.fail_after:
            return None
        self.heard.append((audio_path, tuple(phrases), language))
        confidence, _, text = audio_path.removeprefix(SAID).partition(":")
        said = " ".join(text.split())
        return SpeechChoice(phrase=said if said in phrases else None, heard=said,
                            confidence=float(confidence) if said else 0.0)


class FakeTicketLookup:
    """A ``TicketLookup`` over a dict ticket number -> status sentence."""

    def __init__(
        self, sentences: Mapping[str, str] | None = None, *, error: Exception | None = None
    ) -> None:
        self.sentences = dict(sentences or {})
        self.error = error
        self.queries: list[tuple[str, str]] = []

    async def status_sentence(self, *, number: str, caller: str) -> str | None:
        self.queries.append((number, caller))
        if self.error is not None:
            raise self.error
        return self.sentences.get(number)
