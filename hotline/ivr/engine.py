"""Pure state machine over a ``Flow``: given a node and what happened there, what comes next.

The runner executes a node on the call channel, then asks the engine where to go::

    engine = FlowEngine(flow)
    step = engine.after_menu(node, key="1", attempt=1)    # GoTo("info") | End(...) | Retry(...)

Also the graph checks the loader runs on every flow: nodes with no way out, and loops that
would spin without the caller doing anything. Pure: no I/O here.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from hotline.ivr.flow import (
    DTMF_KEYS,
    EmergencyNode,
    ExtensionNode,
    Flow,
    GotoNode,
    HoursNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    RecordNode,
    Ref,
    SpeechMenuNode,
)
from hotline.ivr.ports import (
    DialOutcome,
    DialStatus,
    Prompt,
    QueueOutcome,
    QueueStatus,
    SpeechChoice,
)

EndReason = Literal["completed", "transferred"]


@dataclass(frozen=True)
class GoTo:
    """Go on with this node."""

    node: str


@dataclass(frozen=True)
class End:
    """The flow is over: ``completed`` (hangup node, natural end) or ``transferred``."""

    reason: EndReason


@dataclass(frozen=True)
class Retry:
    """A menu got a wrong or no key: play ``prompt``, then ask again (try number ``attempt``)."""

    prompt: Prompt
    attempt: int


Transition = GoTo | End

_TICKET_KEYS = re.compile(r"\d{13}")


def _follow(target: str | None) -> Transition:
    return GoTo(target) if target else End("completed")


def _keys(keys: Iterable[str]) -> str:
    """The keys in DTMF order, each once: the form ``interrupt_keys``/``exit_keys`` take."""
    wanted = set(keys)
    return "".join(key for key in DTMF_KEYS if key in wanted)


def is_open(node: HoursNode, *, now: datetime, holidays: frozenset[date]) -> bool:
    """Whether ``now`` (wall-clock time of the center) falls in the node's opening hours."""
    today = now.date()
    if today in holidays or today in node.holidays:
        return False
    minute = now.hour * 60 + now.minute
    weekday = now.weekday()
    return any(
        weekday in rule.days and any(span.start <= minute < span.end for span in rule.spans)
        for rule in node.schedule
    )


def ticket_number_from_keys(keys: str) -> str:
    """13 keyed digits ``2026112200042`` -> ``20261122-00042``; anything else unchanged."""
    if _TICKET_KEYS.fullmatch(keys):
        return f"{keys[:8]}-{keys[8:]}"
    return keys


class FlowEngine:
    """Transitions of one flow. Stateless apart from the flow: one engine serves every call."""

    def __init__(self, flow: Flow) -> None:
        self.flow = flow

    def start(self) -> GoTo:
        return GoTo(self.flow.start)

    # Keys the channel must listen for at a node.

    def play_interrupt_keys(self) -> str:
        return _keys(self.flow.global_keys)

    def menu_keys(self, node: MenuNode | SpeechMenuNode) -> str:
        return _keys([*node.choices, *self.flow.global_keys])

    def queue_exit_keys(self, node: QueueNode) -> str:
        return _keys([*node.exit_keys, *self.flow.global_keys])

    # What next, by kind of node.

    def _global(self, key: str | None) -> GoTo | None:
        target = self.flow.global_keys.get(key) if key else None
        return GoTo(target) if target else None

    def after_play(self, node: PlayNode, *, key: str | None) -> Transition:
        return self._global(key) or _follow(node.next)

    def after_menu(
        self, node: MenuNode | SpeechMenuNode, *, key: str, attempt: int
    ) -> Transition | Retry:
        """``key`` is "" when the caller pressed nothing; ``attempt`` counts from 1."""
        if key in node.choices:
            return GoTo(node.choices[key])
        global_target = self._global(key)
        if global_target:
            return global_target
        if attempt > node.retries:
            return GoTo(node.on_fail)
        return Retry(prompt=node.invalid if key else node.no_input, attempt=attempt + 1)

    def after_speech(
        self, node: SpeechMenuNode, *, key: str, choice: SpeechChoice | None, attempt: int
    ) -> Transition | Retry:
        """A key routes as in a menu; else the phrase ``choice`` found in the answer, if heard
        with at least the node's ``min_confidence``. ``choice`` None: nothing was said (or
        it could not be recognised); ``attempt`` counts from 1."""
        if key or choice is None:
            return self.after_menu(node, key=key, attempt=attempt)
        phrase = self.speech_match(node, choice)
        if phrase is not None:
            return GoTo(node.phrases[phrase])
        if attempt > node.retries:
            return GoTo(node.on_fail)
        return Retry(prompt=node.invalid if choice.heard else node.no_input, attempt=attempt + 1)

    @staticmethod
    def speech_match(node: SpeechMenuNode, choice: SpeechChoice) -> str | None:
        """The node's phrase ``choice`` stands for, or None (no match, or too unsure)."""
        if choice.phrase in node.phrases and choice.confidence >= node.min_confidence:
            return choice.phrase
        return None

    def after_hours(
        self, node: HoursNode, *, now: datetime, holidays: frozenset[date]
    ) -> Transition:
        return GoTo(node.open if is_open(node, now=now, holidays=holidays) else node.closed)

    def after_record(self, node: RecordNode) -> Transition:
        return _follow(node.next)

    def after_lookup(self, node: LookupNode) -> Transition:
        return _follow(node.next)

    def after_goto(self, node: GotoNode) -> Transition:
        return GoTo(node.target)

    def after_queue(self, node: QueueNode, outcome: QueueOutcome) -> Transition:
        if outcome.status is QueueStatus.ANSWERED:
            return End("transferred")
        if outcome.status is QueueStatus.EXIT_KEY:
            target = node.exit_keys.get(outcome.key or "")
            # A key nobody asked for (should not happen): back into the queue.
            return GoTo(target) if target else self._global(outcome.key) or GoTo(node.id)
        if outcome.status is QueueStatus.TIMEOUT:
            return GoTo(node.on_timeout)
        return GoTo(node.on_no_seat)  # NO_SEAT, FULL

    def after_dial(self, node: EmergencyNode | ExtensionNode, outcome: DialOutcome) -> Transition:
        if outcome.status is DialStatus.ANSWERED:
            return End("transferred")
        return GoTo(node.on_fail)

    # Graph checks (used by the loader).

    def exits(self, node: Node) -> tuple[Ref, ...]:
        """Every node the call may go to from ``node``, global keys included."""
        refs = node.refs()
        if node.interruptible:
            refs += tuple((f"global key '{k}'", t) for k, t in self.flow.global_keys.items())
        return refs

    def nodes_without_exit(self) -> list[str]:
        """Nodes from which no hangup, transfer or natural end of the flow can be reached."""
        nodes = self.flow.nodes
        callers: dict[str, set[str]] = {node_id: set() for node_id in nodes}
        for node_id, node in nodes.items():
            for _, target in self.exits(node):
                if target in callers:
                    callers[target].add(node_id)
        ok = {node_id for node_id, node in nodes.items() if node.terminal or node.ends_flow()}
        todo = deque(ok)
        while todo:
            for caller in callers[todo.popleft()] - ok:
                ok.add(caller)
                todo.append(caller)
        return sorted((n for n in nodes if n not in ok), key=lambda n: nodes[n].line)

    def silent_cycles(self) -> list[list[str]]:
        """Loops made only of play/goto/hours nodes, each as ``[a, b, ..., a]``.

        Each loop is given once, starting at its node written first in the file.
        """
        nodes = self.flow.nodes
        silent = {node_id for node_id, node in nodes.items() if not node.interactive}
        succ = {n: [t for _, t in nodes[n].refs() if t in silent] for n in silent}
        reach = {n: _reachable(succ, n) for n in silent}
        cycles: list[list[str]] = []
        seen: set[str] = set()
        for node_id in sorted(silent, key=lambda n: nodes[n].line):
            if node_id in seen or node_id not in reach[node_id]:
                continue
            group = {n for n in reach[node_id] if node_id in reach[n]}
            seen |= group
            cycles.append(_shortest_cycle(succ, start=node_id, within=group))
        return cycles


def _reachable(succ: Mapping[str, list[str]], start: str) -> set[str]:
    """Nodes reachable from ``start`` in one step or more."""
    found: set[str] = set()
    todo = deque(succ[start])
    while todo:
        node_id = todo.popleft()
        if node_id not in found:
            found.add(node_id)
            todo.extend(succ[node_id])
    return found


def _shortest_cycle(succ: Mapping[str, list[str]], *, start: str, within: set[str]) -> list[str]:
    previous: dict[str, str] = {}
    todo = deque([start])
    while todo:
        node_id = todo.popleft()
        for target in succ[node_id]:
            if target == start:
                path = [node_id]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if target in within and target not in previous:
                previous[target] = node_id
                todo.append(target)
    raise ValueError(f"no cycle through {start!r}")
