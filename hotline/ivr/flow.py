"""IVR flows as pure data: a ``Flow`` of nodes, one dataclass per kind of node.

Built by ``hotline.ivr.loader`` from ``ivr_flows/*.yaml``, walked by ``hotline.ivr.engine``
and ``hotline.ivr.runner``. Every node remembers the line of the flow file it was written at,
so that errors and call records can point back to it. Pure: no I/O here.

A ``transfer`` node is one of three dataclasses, by its ``target``: ``QueueNode`` (the
operators' queue), ``EmergencyNode`` (110/119/120/122) and ``ExtensionNode``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from hotline.ivr.ports import Prompt

DTMF_KEYS = "0123456789*#"
EMERGENCY_LINES = ("110", "119", "120", "122")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()

DEFAULT_APOLOGY = Prompt(text="抱歉，系统出现故障，正在为您转接人工服务。")
DEFAULT_INVALID = Prompt(text="您的输入有误，请重新选择。")
DEFAULT_NO_INPUT = Prompt(text="您没有按键，请重新选择。")
DEFAULT_SPEECH_INVALID = Prompt(text="抱歉，没有听清，请重新说一遍或按键选择。")
DEFAULT_SPEECH_NO_INPUT = Prompt(text="您没有回答，请说出您的选择或按键选择。")
DEFAULT_NOT_FOUND = Prompt(text="没有查询到该工单。")
DEFAULT_LOOKUP_NO_INPUT = Prompt(text="您没有输入工单编号。")
# A ``play`` node's knowledge article that is missing, retired or not valid today
DEFAULT_ARTICLE_FALLBACK = Prompt(text="抱歉，这项信息暂时无法为您播报，请稍后再拨打本热线咨询。")

# A reference from a node to another node: (how the flow file names it, target node id),
# e.g. ("'next'", "main") or ("choice '1'", "info").
Ref = tuple[str, str]


@dataclass(frozen=True)
class TimeSpan:
    """Open from ``start`` (included) to ``end`` (excluded), in minutes since midnight."""

    start: int
    end: int  # up to 24 * 60


@dataclass(frozen=True)
class DayRule:
    """Opening hours for some days of the week (0 = Monday ... 6 = Sunday)."""

    days: frozenset[int]
    spans: tuple[TimeSpan, ...]


@dataclass(frozen=True, kw_only=True)
class _NodeBase:
    id: str
    line: int  # 1-based line of the node's id in its flow file
    label: str | None = None  # what people see in call records (the console), else the id

    kind: ClassVar[str] = ""
    interactive: ClassVar[bool] = True  # waits for the caller (keys, voice, a seat, a dial)
    interruptible: ClassVar[bool] = False  # the flow's global keys work here
    terminal: ClassVar[bool] = False  # the call may end here (hangup, transfer)

    def refs(self) -> tuple[Ref, ...]:
        return ()

    def ends_flow(self) -> bool:
        """True when the flow may end naturally after this node (no ``next``)."""
        return False


@dataclass(frozen=True, kw_only=True)
class _Sequential(_NodeBase):
    next: str | None = None  # None: the natural end of the flow (the runner hangs up)

    def refs(self) -> tuple[Ref, ...]:
        return (("'next'", self.next),) if self.next else ()

    def ends_flow(self) -> bool:
        return self.next is None


@dataclass(frozen=True, kw_only=True)
class PlayNode(_Sequential):
    kind: ClassVar[str] = "play"
    interactive: ClassVar[bool] = False
    interruptible: ClassVar[bool] = True

    """Plays ``prompt``, or with ``article`` the current body of that knowledge article.

    ``article`` is the article's id, slug or exact title; when it is missing, retired or not
    valid on the day of the call, ``fallback`` is played instead (never silence).
    """

    prompt: Prompt | None = None  # exactly one of prompt and article (the loader checks)
    article: str | None = None
    fallback: Prompt = DEFAULT_ARTICLE_FALLBACK
    event: str | None = None  # logged as the step's outcome, e.g. "callback_requested"


@dataclass(frozen=True, kw_only=True)
class HoursNode(_NodeBase):
    kind: ClassVar[str] = "hours"
    interactive: ClassVar[bool] = False

    schedule: tuple[DayRule, ...]
    open: str
    closed: str
    holidays: frozenset[date] = frozenset()  # closed all day

    def refs(self) -> tuple[Ref, ...]:
        return (("'open'", self.open), ("'closed'", self.closed))


@dataclass(frozen=True, kw_only=True)
class MenuNode(_NodeBase):
    kind: ClassVar[str] = "menu"
    interruptible: ClassVar[bool] = True

    prompt: Prompt
    choices: Mapping[str, str]  # DTMF key -> node id
    on_fail: str
    timeout: float = 5.0
    retries: int = 3  # further tries after a wrong or missing key
    invalid: Prompt = DEFAULT_INVALID
    no_input: Prompt = DEFAULT_NO_INPUT

    def refs(self) -> tuple[Ref, ...]:
        choices = tuple((f"choice '{key}'", target) for key, target in self.choices.items())
        return (*choices, ("'on_fail'", self.on_fail))


@dataclass(frozen=True, kw_only=True)
class SpeechMenuNode(_NodeBase):
    """A menu answered by voice (a grammar restricted to ``phrases``) or by key (``choices``).

    Keys always work: pressed during the prompt or while listening they route as in a
    ``menu``. With no speech model for the language the node takes keys only.
    """

    kind: ClassVar[str] = "speech_menu"
    interruptible: ClassVar[bool] = True

    prompt: Prompt
    phrases: Mapping[str, str]  # phrase (words separated by spaces) -> node id
    choices: Mapping[str, str]  # DTMF key -> node id
    on_fail: str
    language: str | None = None  # None: the default language of speech recognition
    listen_seconds: int = 5  # longest answer
    silence_seconds: int = 2  # the answer ends after this much silence
    min_confidence: float = 0.0  # a phrase heard with less is no match
    timeout: float = 5.0  # waiting for a key when there is no speech model
    retries: int = 3  # further tries after no match or no answer
    invalid: Prompt = DEFAULT_SPEECH_INVALID
    no_input: Prompt = DEFAULT_SPEECH_NO_INPUT

    def words(self) -> list[str]:
        """Every word of the phrases, each once (what the model's vocabulary must hold)."""
        return list(dict.fromkeys(w for phrase in self.phrases for w in phrase.split()))

    def refs(self) -> tuple[Ref, ...]:
        said = tuple((f"phrase '{phrase}'", target) for phrase, target in self.phrases.items())
        keys = tuple((f"choice '{key}'", target) for key, target in self.choices.items())
        return (*said, *keys, ("'on_fail'", self.on_fail))


@dataclass(frozen=True, kw_only=True)
class RecordNode(_Sequential):
    kind: ClassVar[str] = "record"

    prompt: Prompt
    name: str  # label of the recording
    max_seconds: int = 120
    silence_seconds: int = 5
    beep: bool = True


@dataclass(frozen=True, kw_only=True)
class LookupNode(_Sequential):
    kind: ClassVar[str] = "lookup"

    prompt: Prompt
    max_digits: int = 16
    timeout: float = 10.0
    not_found: Prompt = DEFAULT_NOT_FOUND
    no_input: Prompt = DEFAULT_LOOKUP_NO_INPUT


@dataclass(frozen=True, kw_only=True)
class QueueNode(_NodeBase):
    """``kind: transfer, target: queue``: the operators' queue."""

    kind: ClassVar[str] = "transfer"
    interruptible: ClassVar[bool] = True
    terminal: ClassVar[bool] = True

    on_no_seat: str  # nobody logged in, or the queue is full
    on_timeout: str  # waited too long
    prompt: Prompt | None = None
    exit_keys: Mapping[str, str] = field(default_factory=dict)  # key while waiting -> node

    def refs(self) -> tuple[Ref, ...]:
        keys = tuple((f"exit key '{key}'", target) for key, target in self.exit_keys.items())
        return (*keys, ("'on_no_seat'", self.on_no_seat), ("'on_timeout'", self.on_timeout))


@dataclass(frozen=True, kw_only=True)
class EmergencyNode(_NodeBase):
    """``kind: transfer, target: emergency``: dial 110, 119, 120 or 122."""

    kind: ClassVar[str] = "transfer"
    terminal: ClassVar[bool] = True

    number: str  # one of EMERGENCY_LINES (``line:`` in the flow file)
    on_fail: str  # not answered, busy, unavailable
    prompt: Prompt | None = None

    def refs(self) -> tuple[Ref, ...]:
        return (("'on_fail'", self.on_fail),)


@dataclass(frozen=True, kw_only=True)
class ExtensionNode(_NodeBase):
    """``kind: transfer, target: extension``: dial an internal extension."""

    kind: ClassVar[str] = "transfer"
    terminal: ClassVar[bool] = True

    extension: str
    on_fail: str
    prompt: Prompt | None = None

    def refs(self) -> tuple[Ref, ...]:
        return (("'on_fail'", self.on_fail),)


@dataclass(frozen=True, kw_only=True)
class GotoNode(_NodeBase):
    kind: ClassVar[str] = "goto"
    interactive: ClassVar[bool] = False

    target: str

    def refs(self) -> tuple[Ref, ...]:
        return (("'target'", self.target),)


@dataclass(frozen=True, kw_only=True)
class HangupNode(_NodeBase):
    kind: ClassVar[str] = "hangup"
    terminal: ClassVar[bool] = True

    prompt: Prompt | None = None


Node = (
    PlayNode
    | HoursNode
    | MenuNode
    | SpeechMenuNode
    | RecordNode
    | LookupNode
    | QueueNode
    | EmergencyNode
    | ExtensionNode
    | GotoNode
    | HangupNode
)

TransferNode = QueueNode | EmergencyNode | ExtensionNode


@dataclass(frozen=True, kw_only=True)
class Flow:
    name: str  # the flow file's stem
    path: str  # the flow file
    start: str
    nodes: Mapping[str, Node]
    description: str = ""
    apology: Prompt = DEFAULT_APOLOGY
    global_keys: Mapping[str, str] = field(default_factory=dict)  # key -> node id, anywhere

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def label_of(self, node_id: str) -> str:
        """The node's ``label``; its id when it has none or is not (any more) in the flow."""
        node = self.nodes.get(node_id)
        return node.label if node is not None and node.label else node_id
