"""Flow files as YAML with line numbers, and typed reading of their fields.

Private to ``hotline.ivr.loader``: ``yaml_map()`` parses a file into ``LineMap``s (dicts
that remember their lines), and a ``FieldReader`` reads one node's fields, reporting each
problem as a ``FlowFileError`` with the file, the node's line and the node id.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from hotline.errors import FlowFileError
from hotline.ivr.flow import DTMF_KEYS, WEEKDAYS, DayRule, TimeSpan
from hotline.ivr.ports import Prompt

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_SPAN = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
EXTENSION = re.compile(r"[0-9*#]{1,20}")
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class LineMap(dict[Any, Any]):
    """A YAML mapping that remembers its line, the line of each key and repeated keys."""

    line: int
    key_lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are ``LineMap``s; dates stay text (checked by us, with a line)."""


LineLoader.yaml_implicit_resolvers = {
    first: [entry for entry in entries if entry[0] != _TIMESTAMP_TAG]
    for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_map(loader: LineLoader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            if key in result:
                result.duplicates.append((key, line))
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                "found a key that is not text",
                key_node.start_mark,
            ) from exc
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines.setdefault(key, line)
    return result


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)


class FieldReader:
    """Reads the fields of one mapping (a node, or the top of a file) and reports problems.

    Errors about a node carry the node's line; errors at the top carry the field's line.
    """

    def __init__(
        self, *, path: Path, errors: list[FlowFileError], data: LineMap, node: str, line: int
    ) -> None:
        self.path = path
        self.errors = errors
        self.data = data
        self.node = node  # "" at the top of the file
        self.line = line
        self.ok = True
        for key, dup_line in data.duplicates:
            first = data.key_lines[key]
            reason = f"field '{key}' is given twice (first at line {first})"
            self.error(reason, line=None if node else dup_line)

    def error(self, reason: str, *, key: str | None = None, line: int | None = None) -> None:
        self.ok = False
        if line is None:
            line = self.line if self.node or key is None else self.data.key_lines[key]
        self.errors.append(
            FlowFileError(path=str(self.path), line=line, node=self.node or None, reason=reason)
        )

    def check_fields(self, *, required: set[str], optional: set[str], where: str) -> None:
        for key in self.data:
            if key not in required and key not in optional:
                self.error(f"unknown field '{key}' {where}", key=key)
        for key in sorted(required):
            if self.data.get(key) is None:
                self.error(f"missing field '{key}' {where}")

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None) -> str | None:
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # line: 120, extension: 8001
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(f"'{key}' must be a non-empty text", key=key)
            return None
        if pattern and not pattern.fullmatch(value):
            self.error(f"'{key}' has a bad value '{value}'", key=key)
            return None
        return value

    def number(self, key: str, *, default: float, minimum: float) -> float:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            self.error(f"'{key}' must be a number of at least {minimum:g}", key=key)
            return default
        return float(value)

    def integer(self, key: str, *, default: int, minimum: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(f"'{key}' must be a whole number of at least {minimum}", key=key)
            return default
        return value

    def boolean(self, key: str, *, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.error(f"'{key}' must be true or false", key=key)
            return default
        return value

    def prompt(self, key: str, *, default: Prompt | None = None) -> Prompt | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, str):
            value = {"text": value}
        if not isinstance(value, dict) or set(value) - {"text", "file"}:
            self.error(f"'{key}' must be a text or a mapping with 'text' and 'file'", key=key)
            return None
        text, file = value.get("text"), value.get("file")
        if not isinstance(text, str) or not text.strip():
            self.error(f"'{key}' has an empty text", key=key)
            return None
        if file is None:
            return Prompt(text=text.strip())
        full = self.path.parent / str(file)
        if not isinstance(file, str) or not full.is_file():
            self.error(f"'{key}' file '{file}' not found in {self.path.parent}", key=key)
            return None
        return Prompt(text=text.strip(), file=str(full.resolve()))

    def keymap(self, key: str, *, label: str) -> dict[str, str]:
        """A mapping DTMF key -> node id (``choices``, ``exit_keys``, ``global_keys``)."""
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, LineMap):
            self.error(f"'{key}' must map keys to node ids", key=key)
            return {}
        for dup, _ in value.duplicates:
            self.error(f"{label} '{dup}' is given twice", key=key)
        result: dict[str, str] = {}
        for dtmf, target in value.items():
            dtmf = str(dtmf) if isinstance(dtmf, int) and not isinstance(dtmf, bool) else dtmf
            if not isinstance(dtmf, str) or len(dtmf) != 1 or dtmf not in DTMF_KEYS:
                self.error(f"{label} '{dtmf}' is not a single DTMF key (0-9, *, #)", key=key)
            elif not isinstance(target, str) or not target:
                self.error(f"{label} '{dtmf}' must name a node", key=key)
            else:
                result[dtmf] = target
        return result

    def phrasemap(self, key: str) -> dict[str, str]:
        """A mapping spoken phrase -> node id (``phrases``); spaces inside a phrase collapse."""
        value = self.data.get(key)
        if not isinstance(value, LineMap) or not value:
            self.error(f"'{key}' must map spoken phrases to node ids", key=key)
            return {}
        result: dict[str, str] = {}
        for said, target in value.items():
            phrase = " ".join(said.split()) if isinstance(said, str) else ""
            if not phrase:
                self.error(f"phrase {said!r} must be a non-empty text (quote it)", key=key)
            elif phrase in result:
                self.error(f"phrase '{phrase}' is given twice", key=key)
            elif not isinstance(target, str) or not target:
                self.error(f"phrase '{phrase}' must name a node", key=key)
            else:
                result[phrase] = target
        return result

    def schedule(self, key: str) -> tuple[DayRule, ...]:
        value = self.data.get(key)
        if not isinstance(value, LineMap) or not value:
            self.error(f'\'{key}\' must map days to hours, e.g. {{"mon-fri": "08:00-20:00"}}')
            return ()
        rules: list[DayRule] = []
        for days_text, hours in value.items():
            try:
                days = _parse_days(str(days_text))
            except ValueError as exc:
                self.error(f"bad schedule days '{days_text}': {exc}")
                continue
            spans: list[TimeSpan] = []
            for span_text in hours if isinstance(hours, list) and hours else [hours]:
                try:
                    spans.append(_parse_span(span_text))
                except ValueError as exc:
                    self.error(f"bad schedule hours '{span_text}' for '{days_text}'{exc}")
            rules.append(DayRule(days=days, spans=tuple(spans)))
        return tuple(rules)

    def dates(self, key: str) -> frozenset[date]:
        value = self.data.get(key)
        if value is None:
            return frozenset()
        if not isinstance(value, list):
            self.error(f"'{key}' must be a list of dates (YYYY-MM-DD)", key=key)
            return frozenset()
        found: set[date] = set()
        for item in value:
            try:
                if not isinstance(item, str) or not _DATE.fullmatch(item):
                    raise ValueError(item)
                found.add(date.fromisoformat(item))
            except ValueError:
                self.error(f"bad date '{item}' in '{key}' (expected YYYY-MM-DD)", key=key)
        return frozenset(found)


def _parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        for name in (first, last or first):
            if name not in WEEKDAYS:
                raise ValueError(f"unknown day '{name}' (use {', '.join(WEEKDAYS)})")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return frozenset(days)


def _parse_span(text: object) -> TimeSpan:
    """``"08:00-20:00"``; a ValueError's text is the end of the error reason."""
    match = _SPAN.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(" (expected HH:MM-HH:MM)")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2 > 0):
        raise ValueError(": no such time of day (00:00 to 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(": the end must be after the start")
    return TimeSpan(start=start, end=end)
