"""Load and check the IVR flow files, ``ivr_flows/*.yaml`` (one flow per file, named by stem).

Every problem becomes a ``FlowFileError`` naming the file, the line of the node (1-based),
the node id and the reason. All problems of all files are reported, and one broken file never
stops the others from loading::

    flows, errors = load_flows(settings.flows_dir, vocabulary=vocabulary)  # broken: left out
    for error in errors:
        log.error("%s", error)                           # ivr_flows/menu.yaml:12: node 'main': ...

    errors = check_flows(path, vocabulary=ModelVocabulary(settings))  # `hotline flows check`
    print(format_errors(errors))

The format is shown by the shipped flows in ``ivr_flows/``; the nodes are in
``hotline.ivr.flow``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import yaml

from hotline.errors import FlowFileError
from hotline.ivr._fields import EXTENSION, NAME, FieldReader, LineLoader, LineMap
from hotline.ivr.engine import FlowEngine
from hotline.ivr.flow import (
    DEFAULT_APOLOGY,
    DEFAULT_ARTICLE_FALLBACK,
    DEFAULT_INVALID,
    DEFAULT_LOOKUP_NO_INPUT,
    DEFAULT_NO_INPUT,
    DEFAULT_NOT_FOUND,
    DEFAULT_SPEECH_INVALID,
    DEFAULT_SPEECH_NO_INPUT,
    EMERGENCY_LINES,
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
from hotline.ivr.ports import KnowledgeArticles, SpeechVocabulary

FLOW_SUFFIXES = (".yaml", ".yml")
log = logging.getLogger(__name__)


# One builder per kind; each reads the fields its kind allows (checked before by _KINDS).


def _play(r: FieldReader) -> Node | None:
    prompt, article = r.prompt("prompt"), r.text("article")
    fallback = r.prompt("fallback", default=DEFAULT_ARTICLE_FALLBACK)
    event = r.text("event", pattern=NAME)
    if r.ok and (prompt is None) == (article is None):
        r.error("a play node needs exactly one of 'prompt' and 'article' (a knowledge "
                "article's id, slug or exact title)")
    if article is None and "fallback" in r.data and r.ok:
        r.error("'fallback' is only for a play node with an 'article'", key="fallback")
    if not r.ok or fallback is None:
        return None
    return PlayNode(id=r.node, line=r.line, prompt=prompt, article=article, fallback=fallback,
                    next=r.text("next"), event=event)  # fmt: skip


def _hours(r: FieldReader) -> Node | None:
    schedule, holidays = r.schedule("schedule"), r.dates("holidays")
    open_, closed = r.text("open"), r.text("closed")
    if open_ is None or closed is None:
        return None
    return HoursNode(
        id=r.node, line=r.line, schedule=schedule, holidays=holidays, open=open_, closed=closed
    )


def _menu(r: FieldReader) -> Node | None:
    prompt, on_fail = r.prompt("prompt"), r.text("on_fail")
    choices = r.keymap("choices", label="choice key")
    timeout = r.number("timeout", default=5.0, minimum=1)
    retries = r.integer("retries", default=3, minimum=0)
    invalid = r.prompt("invalid", default=DEFAULT_INVALID)
    no_input = r.prompt("no_input", default=DEFAULT_NO_INPUT)
    if not choices and r.ok:
        r.error("'choices' must give at least one key")
    if prompt is None or on_fail is None or invalid is None or no_input is None:
        return None
    return MenuNode(
        id=r.node, line=r.line, prompt=prompt, choices=choices, on_fail=on_fail,
        timeout=timeout, retries=retries, invalid=invalid, no_input=no_input,
    )  # fmt: skip


def _speech_menu(r: FieldReader) -> Node | None:
    prompt, on_fail = r.prompt("prompt"), r.text("on_fail")
    phrases = r.phrasemap("phrases")
    choices = r.keymap("choices", label="choice key")
    if not choices and r.ok:
        r.error("'choices' must give at least one key (keys always work, and are all there "
                "is without a speech model)")
    language = r.text("language", pattern=NAME)
    listen_seconds = r.integer("listen_seconds", default=5, minimum=1)
    silence_seconds = r.integer("silence_seconds", default=2, minimum=1)
    min_confidence = r.number("min_confidence", default=0.0, minimum=0)
    if min_confidence > 1:
        r.error("'min_confidence' must be at most 1", key="min_confidence")
    timeout = r.number("timeout", default=5.0, minimum=1)
    retries = r.integer("retries", default=3, minimum=0)
    invalid = r.prompt("invalid", default=DEFAULT_SPEECH_INVALID)
    no_input = r.prompt("no_input", default=DEFAULT_SPEECH_NO_INPUT)
    if prompt is None or on_fail is None or invalid is None or no_input is None:
        return None
    return SpeechMenuNode(
        id=r.node, line=r.line, prompt=prompt, phrases=phrases, choices=choices,
        on_fail=on_fail, language=language, listen_seconds=listen_seconds,
        silence_seconds=silence_seconds, min_confidence=min_confidence, timeout=timeout,
        retries=retries, invalid=invalid, no_input=no_input,
    )  # fmt: skip


def _record(r: FieldReader) -> Node | None:
    prompt = r.prompt("prompt")
    name = r.text("name", pattern=NAME) or r.node
    max_seconds = r.integer("max_seconds", default=120, minimum=1)
    silence_seconds = r.integer("silence_seconds", default=5, minimum=0)
    beep = r.boolean("beep", default=True)
    if prompt is None:
        return None
    return RecordNode(
        id=r.node, line=r.line, prompt=prompt, name=name, max_seconds=max_seconds,
        silence_seconds=silence_seconds, beep=beep, next=r.text("next"),
    )  # fmt: skip


def _lookup(r: FieldReader) -> Node | None:
    prompt = r.prompt("prompt")
    max_digits = r.integer("max_digits", default=16, minimum=1)
    timeout = r.number("timeout", default=10.0, minimum=1)
    not_found = r.prompt("not_found", default=DEFAULT_NOT_FOUND)
    no_input = r.prompt("no_input", default=DEFAULT_LOOKUP_NO_INPUT)
    if prompt is None or not_found is None or no_input is None:
        return None
    return LookupNode(
        id=r.node, line=r.line, prompt=prompt, max_digits=max_digits, timeout=timeout,
        not_found=not_found, no_input=no_input, next=r.text("next"),
    )  # fmt: skip


def _goto(r: FieldReader) -> Node | None:
    target = r.text("target")
    return GotoNode(id=r.node, line=r.line, target=target) if target else None


def _hangup(r: FieldReader) -> Node | None:
    return HangupNode(id=r.node, line=r.line, prompt=r.prompt("prompt"))


def _queue(r: FieldReader) -> Node | None:
    exit_keys = r.keymap("exit_keys", label="exit key")
    on_no_seat, on_timeout = r.text("on_no_seat"), r.text("on_timeout")
    if on_no_seat is None or on_timeout is None:
        return None
    return QueueNode(
        id=r.node, line=r.line, prompt=r.prompt("prompt"), exit_keys=exit_keys,
        on_no_seat=on_no_seat, on_timeout=on_timeout,
    )  # fmt: skip


def _emergency(r: FieldReader) -> Node | None:
    line, on_fail = r.text("line"), r.text("on_fail")
    if line is not None and line not in EMERGENCY_LINES:
        r.error(f"emergency line '{line}' is not one of {', '.join(EMERGENCY_LINES)}")
    if line is None or on_fail is None:
        return None
    return EmergencyNode(
        id=r.node, line=r.line, prompt=r.prompt("prompt"), number=line, on_fail=on_fail
    )


def _extension(r: FieldReader) -> Node | None:
    extension, on_fail = r.text("extension", pattern=EXTENSION), r.text("on_fail")
    if extension is None or on_fail is None:
        return None
    return ExtensionNode(
        id=r.node, line=r.line, prompt=r.prompt("prompt"), extension=extension, on_fail=on_fail
    )


_Builder = Callable[[FieldReader], Node | None]
# kind -> (required fields, optional fields, builder); "kind" itself is always allowed.
_KINDS: dict[str, tuple[set[str], set[str], _Builder]] = {
    "play": (set(), {"prompt", "article", "fallback", "next", "event"}, _play),
    "hours": ({"schedule", "open", "closed"}, {"holidays"}, _hours),
    "menu": (
        {"prompt", "choices", "on_fail"},
        {"timeout", "retries", "invalid", "no_input"},
        _menu,
    ),
    "speech_menu": (
        {"prompt", "phrases", "choices", "on_fail"},
        {"language", "listen_seconds", "silence_seconds", "min_confidence", "timeout",
         "retries", "invalid", "no_input"},
        _speech_menu,
    ),
    "record": ({"prompt"}, {"name", "max_seconds", "silence_seconds", "beep", "next"}, _record),
    "lookup": ({"prompt"}, {"max_digits", "timeout", "not_found", "no_input", "next"}, _lookup),
    "goto": ({"target"}, set(), _goto),
    "hangup": (set(), {"prompt"}, _hangup),
}
# transfer target -> (required fields, optional fields, builder)
_TARGETS: dict[str, tuple[set[str], set[str], _Builder]] = {
    "queue": ({"on_no_seat", "on_timeout"}, {"prompt", "exit_keys"}, _queue),
    "emergency": ({"line", "on_fail"}, {"prompt"}, _emergency),
    "extension": ({"extension", "on_fail"}, {"prompt"}, _extension),
}


KINDS = ("goto", "hangup", "hours", "lookup", "menu", "play", "record", "speech_menu",
         "transfer")


def _spec(r: FieldReader) -> tuple[set[str], set[str], _Builder, str] | None:
    """What the node's kind (and transfer target) allows, or None after reporting why not."""
    kind = r.data.get("kind")
    if kind is None:
        r.error("missing field 'kind'")
        return None
    if kind not in KINDS:
        r.error(f"unknown kind '{kind}' (expected one of: {', '.join(KINDS)})")
        return None
    if kind != "transfer":
        required, optional, build = _KINDS[kind]
        return required | {"kind"}, optional, build, f"for kind '{kind}'"
    target = r.data.get("target")
    if target is None:
        r.error("missing field 'target' for kind 'transfer'")
        return None
    if target not in _TARGETS:
        r.error(f"unknown transfer target '{target}' (expected one of: {', '.join(_TARGETS)})")
        return None
    required, optional, build = _TARGETS[target]
    return required | {"kind", "target"}, optional, build, f"for a transfer to '{target}'"


def _build_node(r: FieldReader) -> Node | None:
    spec = _spec(r)
    if spec is None:
        return None
    required, optional, build, where = spec
    r.check_fields(required=required, optional=optional | {"label"}, where=where)
    if not r.ok:
        return None
    label = _label(r)
    node = build(r)
    if node is None or not r.ok:
        return None
    return dataclasses.replace(node, label=label) if label else node


LABEL_MAX = 24  # characters: a label is a few words in the console's IVR path


def _label(r: FieldReader) -> str | None:
    """Any node's optional ``label``: a short single line, shown in place of its id."""
    label = r.text("label")
    if label is not None and (len(label.strip()) > LABEL_MAX or "\n" in label.strip()):
        r.error(f"'label' must be one line of at most {LABEL_MAX} characters", key="label")
        return None
    return label.strip() if label else None


def _build_nodes(
    *, path: Path, errors: list[FlowFileError], data: LineMap
) -> tuple[dict[str, Node], set[str]]:
    """The good nodes, and the ids of the broken ones (not reported again as unknown)."""
    nodes: dict[str, Node] = {}
    broken: set[str] = set()
    for node_id, node_data in data.items():
        line = data.key_lines[node_id]
        if not isinstance(node_id, str) or not isinstance(node_data, LineMap):
            reason = "a node must be a mapping with a 'kind', under a text id"
            errors.append(
                FlowFileError(path=str(path), line=line, node=str(node_id), reason=reason)
            )
            broken.add(str(node_id))
            continue
        r = FieldReader(path=path, errors=errors, data=node_data, node=node_id, line=line)
        node = _build_node(r)
        if node is None:
            broken.add(node_id)
        else:
            nodes[node_id] = node
    for node_id, line in data.duplicates:
        first = data.key_lines[node_id]
        reason = f"node id given twice (first at line {first})"
        errors.append(FlowFileError(path=str(path), line=line, node=str(node_id), reason=reason))
    return nodes, broken


def _read_top(*, path: Path, errors: list[FlowFileError], data: LineMap) -> Flow | None:
    top = FieldReader(path=path, errors=errors, data=data, node="", line=1)
    top.check_fields(
        required={"start", "nodes"},
        optional={"description", "apology", "global_keys"},
        where="at the top of the flow file",
    )
    description = top.text("description") or ""
    apology = top.prompt("apology", default=DEFAULT_APOLOGY)
    global_keys = top.keymap("global_keys", label="global key")
    start = top.text("start")
    nodes_data = data.get("nodes")
    if nodes_data is not None and (not isinstance(nodes_data, LineMap) or not nodes_data):
        top.error("'nodes' must map node ids to nodes", key="nodes")
    if not isinstance(nodes_data, LineMap):
        return None
    nodes, broken = _build_nodes(path=path, errors=errors, data=nodes_data)
    known = set(nodes) | broken
    for node in nodes.values():
        for label, target in node.refs():
            if target not in known:
                errors.append(FlowFileError(
                    path=str(path), line=node.line, node=node.id,
                    reason=f"{label} refers to unknown node '{target}'",
                ))  # fmt: skip
    for key, target in global_keys.items():
        if target not in known:
            top.error(f"global key '{key}' refers to unknown node '{target}'", key="global_keys")
    if start is not None and start not in known:
        top.error(f"'start' refers to unknown node '{start}'", key="start")
    if errors or start is None or apology is None:
        return None
    return Flow(
        name=path.stem, path=str(path), description=description, start=start,
        apology=apology, global_keys=global_keys, nodes=nodes,
    )  # fmt: skip


def _check_graph(flow: Flow, *, errors: list[FlowFileError]) -> None:
    engine = FlowEngine(flow)
    for node_id in engine.nodes_without_exit():
        errors.append(FlowFileError(
            path=flow.path, line=flow.nodes[node_id].line, node=node_id,
            reason="no way out: no hangup, transfer or end of the flow can be reached from here",
        ))  # fmt: skip
    for cycle in engine.silent_cycles():
        errors.append(FlowFileError(
            path=flow.path, line=flow.nodes[cycle[0]].line, node=cycle[0],
            reason=f"endless loop without caller input: {' -> '.join(cycle)}",
        ))  # fmt: skip


def _check_vocabulary(
    flow: Flow, *, errors: list[FlowFileError], vocabulary: SpeechVocabulary
) -> None:
    """Every word of every speech menu's phrases must be known to its language's model.

    With no usable model the words cannot be checked: the node will take keys only (the
    recogniser says the same at call time), which is logged, not refused.
    """
    for node in flow.nodes.values():
        if not isinstance(node, SpeechMenuNode):
            continue
        language = node.language or "default"
        unknown = vocabulary.unknown_words(node.language, node.words())
        if unknown is None:
            log.warning("%s:%d: node '%s': no speech model for language %s: the node takes "
                        "keys only until one is installed", flow.path, node.line, node.id,
                        language)  # fmt: skip
            continue
        for word in unknown:
            phrase = next(p for p in node.phrases if word in p.split())
            errors.append(FlowFileError(
                path=flow.path, line=node.line, node=node.id,
                reason=f"word '{word}' of phrase '{phrase}' is not in the vocabulary of the "
                       f"speech model for language {language}",
            ))  # fmt: skip


def _check_articles(
    flow: Flow, *, errors: list[FlowFileError], articles: KnowledgeArticles
) -> None:
    """Every knowledge article a ``play`` node names must exist (validity is checked per call:
    an article that has expired by then plays the node's fallback)."""
    nodes = [n for n in flow.nodes.values() if isinstance(n, PlayNode) and n.article]
    if not nodes:
        return
    missing = articles.articles_not_found([n.article for n in nodes if n.article])
    if missing is None:
        log.warning("%s: the knowledge base cannot be read: the articles of play nodes are "
                    "checked on each call (a missing one plays the fallback)", flow.path)
        return
    for node in nodes:
        if node.article in missing:
            errors.append(FlowFileError(
                path=flow.path, line=node.line, node=node.id,
                reason=f"'article' refers to unknown knowledge article '{node.article}' (no "
                       f"active article has this id, slug or title)",
            ))  # fmt: skip


def article_refs(flows: Iterable[Flow]) -> list[str]:
    """Every knowledge article the flows' play nodes name, each once."""
    return list(dict.fromkeys(node.article for flow in flows for node in flow.nodes.values()
                              if isinstance(node, PlayNode) and node.article))


def check_articles(flows: Iterable[Flow], *, articles: KnowledgeArticles) -> list[FlowFileError]:
    """The unknown knowledge articles of flows already loaded (at start, once the database
    is migrated and seeded; such a node plays its fallback on each call meanwhile)."""
    errors: list[FlowFileError] = []
    for flow in flows:
        _check_articles(flow, errors=errors, articles=articles)
    return errors


def _parse_yaml(path: Path, errors: list[FlowFileError]) -> LineMap | None:
    def fail(reason: str, line: int | None = None) -> None:
        errors.append(FlowFileError(path=str(path), line=line, reason=reason))

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=LineLoader)  # noqa: S506
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the file: {exc}")
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        fail(f"YAML syntax error: {exc.problem or exc.context}", mark.line + 1 if mark else None)
        return None
    except yaml.YAMLError as exc:
        fail(f"YAML error: {exc}")
        return None
    if data is None:
        fail("the file is empty")
    elif not isinstance(data, LineMap):
        fail("a flow file must be a mapping with 'start' and 'nodes'", 1)
    return data if isinstance(data, LineMap) else None


def read_flow(
    path: Path | str,
    *,
    vocabulary: SpeechVocabulary | None = None,
    articles: KnowledgeArticles | None = None,
) -> tuple[Flow | None, list[FlowFileError]]:
    """Parse and check one flow file: the flow (None when broken) and every problem found.

    With a ``vocabulary``, the words of speech menus are checked against the speech models;
    with ``articles``, the knowledge articles of play nodes must exist.
    """
    path = Path(path)
    errors: list[FlowFileError] = []
    data = _parse_yaml(path, errors)
    flow = _read_top(path=path, errors=errors, data=data) if data is not None else None
    if flow is not None:
        _check_graph(flow, errors=errors)
        if vocabulary is not None:
            _check_vocabulary(flow, errors=errors, vocabulary=vocabulary)
        if articles is not None:
            _check_articles(flow, errors=errors, articles=articles)
    return (flow if not errors else None), errors


def load_flow(
    path: Path | str,
    *,
    vocabulary: SpeechVocabulary | None = None,
    articles: KnowledgeArticles | None = None,
) -> Flow:
    """One flow file; raises the first ``FlowFileError`` when it is broken."""
    flow, errors = read_flow(path, vocabulary=vocabulary, articles=articles)
    if errors:
        raise errors[0]
    assert flow is not None
    return flow


def load_flows(
    directory: Path | str,
    *,
    vocabulary: SpeechVocabulary | None = None,
    articles: KnowledgeArticles | None = None,
) -> tuple[dict[str, Flow], list[FlowFileError]]:
    """Every flow of a folder by name (file stem), and the problems of the broken files."""
    directory = Path(directory)
    if not directory.is_dir():
        return {}, [FlowFileError(path=str(directory), reason="no such folder")]
    paths = sorted(p for p in directory.iterdir() if p.suffix in FLOW_SUFFIXES and p.is_file())
    if not paths:
        return {}, [FlowFileError(path=str(directory), reason="no flow files (*.yaml) here")]
    flows: dict[str, Flow] = {}
    errors: list[FlowFileError] = []
    for path in paths:
        flow, file_errors = read_flow(path, vocabulary=vocabulary, articles=articles)
        if flow is not None and flow.name in flows:
            reason = f"another file already defines the flow '{flow.name}'"
            file_errors.append(FlowFileError(path=str(path), reason=reason))
        elif flow is not None:
            flows[flow.name] = flow
        errors.extend(file_errors)
    return flows, errors


def check_flows(
    directory: Path | str,
    *,
    vocabulary: SpeechVocabulary | None = None,
    articles: KnowledgeArticles | None = None,
) -> list[FlowFileError]:
    """Every problem of every flow file in a folder (``hotline flows check``)."""
    return load_flows(directory, vocabulary=vocabulary, articles=articles)[1]


def format_errors(errors: Sequence[FlowFileError]) -> str:
    """One line per problem (``path:line: node 'x': reason``), then a count; "" when none."""
    if not errors:
        return ""
    files = len({error.path for error in errors})
    count = f"{len(errors)} error{'s' if len(errors) > 1 else ''}"
    return "\n".join([*map(str, errors), f"{count} in {files} file{'s' if files > 1 else ''}"])
