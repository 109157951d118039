"""Ports of the IVR: what the runner needs from the outside world, as Protocols.

``telephony/agi.py`` implements ``CallChannel`` over FastAGI; ``tests/fakes.py`` implements it
in memory (a real implementation driven by a script, not a ``Mock``). Pure: no I/O here.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol


@dataclass(frozen=True)
class Prompt:
    """A fixed prompt: the text (rendered by TTS when no recorded file is given)."""

    text: str
    file: str | None = None  # a recorded audio file given by the center always wins


class QueueStatus(enum.StrEnum):
    ANSWERED = "answered"  # a seat answered and the conversation ended
    EXIT_KEY = "exit_key"  # the caller pressed a key while waiting (see QueueOutcome.key)
    TIMEOUT = "timeout"  # waited max_wait without a seat answering
    NO_SEAT = "no_seat"  # no seat logged in (join empty / leave empty / unavailable)
    FULL = "full"  # the queue is full


@dataclass(frozen=True)
class QueueOutcome:
    status: QueueStatus
    key: str | None = None  # the key pressed, with EXIT_KEY


class DialStatus(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    UNAVAILABLE = "unavailable"  # congestion, channel unavailable, invalid target
    CANCELLED = "cancelled"  # the caller hung up while it rang


@dataclass(frozen=True)
class DialOutcome:
    status: DialStatus


@dataclass(frozen=True)
class RecordOutcome:
    path: str  # host path of the recorded file (with extension)
    ended_by: str  # "key" (#), "silence", "max_length", "hangup"
    duration_ms: int | None = None


@dataclass(frozen=True)
class ListenOutcome:
    """The caller's spoken answer at a speech menu, or the key that ended the listening."""

    path: str  # host path of the recorded answer (WAV)
    key: str | None = None  # a key pressed while listening (the answer is then ignored)
    duration_ms: int | None = None


@dataclass(frozen=True)
class SpeechChoice:
    """What a restricted grammar made of a spoken answer."""

    phrase: str | None  # one of the node's phrases; None when nothing, or several, were heard
    heard: str  # the recogniser's words, within the grammar ("" when nothing was heard)
    confidence: float  # mean confidence of the words heard, 0..1 (0 when none)


class CallChannel(Protocol):
    """One live call, as the IVR runner drives it.

    Every method raises ``hotline.errors.CallerHungUp`` once the caller has hung up;
    after that the runner must issue no further command.
    """

    caller: str  # caller number (may be "" when withheld)
    call_id: str  # Asterisk's unique id of the caller's channel

    async def answer(self) -> None: ...

    async def play(self, prompt: Prompt, *, interrupt_keys: str = "") -> str | None:
        """Play a prompt; return the key that interrupted it, or None if it played through."""
        ...

    async def read_digits(
        self, prompt: Prompt | None, *, max_digits: int, timeout: float
    ) -> str:
        """Play ``prompt`` (interruptible) and collect up to ``max_digits`` keys ending at '#'.

        Returns "" when no key was pressed before ``timeout`` seconds.
        """
        ...

    async def record(
        self, *, name: str, max_seconds: int, silence_seconds: int, beep: bool
    ) -> RecordOutcome:
        """Record the caller's message (ends on '#', silence or max length)."""
        ...

    async def listen(self, *, max_seconds: int, silence_seconds: int, keys: str
                     ) -> ListenOutcome:
        """Record a short spoken answer (no beep), ending on one of ``keys``, after
        ``silence_seconds`` of silence or at ``max_seconds``."""
        ...

    async def queue(self, *, queue: str, max_wait: int, exit_keys: str) -> QueueOutcome:
        """Put the caller in the operators' queue until answered, a key, or a reason to leave."""
        ...

    async def dial(self, *, target: str, timeout: int) -> DialOutcome:
        """Transfer the caller to ``target`` (an emergency line or an extension)."""
        ...

    async def hangup(self) -> None: ...


class TicketLookup(Protocol):
    """Status of a work order for the caller keying its number (``lookup`` node)."""

    async def status_sentence(self, *, number: str, caller: str) -> str | None:
        """A sentence to speak, or None when no such ticket is known."""
        ...


class SpeechRecognizer(Protocol):
    """Recognises a spoken answer among a speech menu's phrases (``speech_menu`` node).

    ``language`` None is the default language of speech recognition. A recogniser that has
    no usable model says so with ``available`` (or returns None from ``choose``), and the
    node then takes keys only: a missing model never stops a call.
    """

    def available(self, language: str | None) -> bool: ...

    async def choose(self, audio_path: str, phrases: Sequence[str], *,
                     language: str | None) -> SpeechChoice | None: ...


class SpeechVocabulary(Protocol):
    """The words a language's speech model knows, checked when the flows are loaded."""

    def unknown_words(self, language: str | None, words: Collection[str]) -> list[str] | None:
        """The ``words`` missing from the model's vocabulary, in the given order; None when
        no model is usable for ``language`` (nothing can be checked)."""
        ...


ArticleStatus = Literal["found", "missing", "retired", "not_yet_valid", "expired", "empty"]


@dataclass(frozen=True)
class SpokenArticle:
    """A knowledge article as a ``play`` node with ``article:`` speaks it (or why it cannot).

    Only ``found`` carries text to speak; every other status makes the node play its
    fallback prompt.
    """

    status: ArticleStatus
    text: str = ""  # the article's current body, with ``found``
    article_id: int | None = None  # None with ``missing``
    title: str = ""


class KnowledgeArticles(Protocol):
    """The knowledge base (知识库) as the IVR reads it, for ``play`` nodes with ``article:``.

    ``ref`` is how the flow file names the article: its id (digits), its slug or its exact
    title. ``articles_not_found`` serves the check when the flows are loaded.
    """

    async def spoken_article(self, ref: str, *, on_date: date) -> SpokenArticle:
        """The article's body when it is valid on ``on_date``, else why not."""
        ...

    def articles_not_found(self, refs: Collection[str]) -> list[str] | None:
        """The ``refs`` naming no active article, in the given order; None when the
        knowledge base cannot be read (nothing can be checked)."""
        ...


@dataclass
class StepRecord:
    """One IVR step, as the runner reports it for the call's record."""

    node: str
    kind: str
    started: datetime
    ended: datetime
    keys: str = ""
    outcome: str = ""
    detail: dict[str, str] = field(default_factory=dict)


class StepLog(Protocol):
    async def on_step(self, call_id: str, step: StepRecord) -> None: ...
