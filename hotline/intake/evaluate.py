"""Scoring the understanding on a labelled file (``hotline eval classify FILE.jsonl``).

Each line of the file is ``{"text", "type", "unit", "urgent", "emergency"}`` (the eval set's
README). A unit the understanding names below a top-level unit is scored as that top-level unit.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.intake.errors import EvalFileError
from hotline.intake.understand import Understander, Understanding

LINES = ("110", "119", "120", "122")


@dataclass(frozen=True)
class Labelled:
    text: str
    type: str
    unit: str
    urgent: bool
    emergency: str | None


def read_labelled(path: Path) -> list[Labelled]:
    """The file's rows; a broken line raises ``EvalFileError`` with its line and field."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalFileError(path=str(path), line=0, field="file", reason=str(exc)) from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(path=str(path), line=number, field="json",
                                reason=exc.msg) from exc
        rows.append(_row(data, str(path), number))
    return rows


def _row(data: Any, path: str, number: int) -> Labelled:
    def fail(name: str, reason: str) -> EvalFileError:
        return EvalFileError(path=path, line=number, field=name, reason=reason)

    if not isinstance(data, dict):
        raise fail("line", "expected a JSON object")
    for name in ("text", "type", "unit"):
        if not isinstance(data.get(name), str):
            raise fail(name, "missing or not a string")
    if not isinstance(data.get("urgent"), bool):
        raise fail("urgent", "missing or not true/false")
    emergency = data.get("emergency")
    if emergency is not None and str(emergency) not in LINES:
        raise fail("emergency", f"{emergency!r} is not one of {', '.join(LINES)} or null")
    return Labelled(data["text"], data["type"], data["unit"], data["urgent"],
                    None if emergency is None else str(emergency))


@dataclass
class Report:
    n: int = 0
    type_right: int = 0
    unit_right: int = 0
    urgent: Counter[str] = field(default_factory=Counter)  # tp / fp / fn
    emergency: Counter[str] = field(default_factory=Counter)  # tp / wrong_line / missed / false
    type_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    unit_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        u, e = self.urgent, self.emergency
        labelled_emergencies = e["tp"] + e["wrong_line"] + e["missed"]
        return {
            "n": self.n,
            "type_accuracy": _ratio(self.type_right, self.n),
            "unit_accuracy": _ratio(self.unit_right, self.n),
            "urgent_recall": _ratio(u["tp"], u["tp"] + u["fn"]),
            "urgent_precision": _ratio(u["tp"], u["tp"] + u["fp"]),
            "emergency_recall": _ratio(e["tp"], labelled_emergencies),
            "emergency_precision": _ratio(e["tp"], e["tp"] + e["wrong_line"] + e["false"]),
            "emergency_false": e["false"],
        }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def score(
    rows: Sequence[Labelled], understand: Callable[[str], Understanding],
    top_unit: Callable[[str | None], str | None] = lambda unit: unit,
) -> Report:
    report = Report()
    for row in rows:
        found = understand(row.text)
        kind = found.request_type.value.label
        unit = top_unit(found.unit.value) or "-"
        report.n += 1
        report.type_right += kind == row.type
        report.unit_right += unit == row.unit
        report.type_confusion[(row.type, kind)] += 1
        report.unit_confusion[(row.unit, unit)] += 1
        _count_urgent(report.urgent, row.urgent, found.urgent.value)
        _count_emergency(report.emergency, row.emergency, found.emergency.value)
        if (kind, unit, found.urgent.value, found.emergency.value) != (
            row.type, row.unit, row.urgent, row.emergency
        ):
            report.misses.append({"text": row.text, "expected": [row.type, row.unit, row.urgent,
                                  row.emergency], "got": [kind, unit, found.urgent.value,
                                  found.emergency.value]})
    return report


def _count_urgent(counts: Counter[str], expected: bool, got: bool) -> None:
    if expected and got:
        counts["tp"] += 1
    elif got:
        counts["fp"] += 1
    elif expected:
        counts["fn"] += 1


def _count_emergency(counts: Counter[str], expected: str | None, got: str | None) -> None:
    if expected is not None and got == expected:
        counts["tp"] += 1
    elif expected is not None and got is not None:
        counts["wrong_line"] += 1
    elif expected is not None:
        counts["missed"] += 1
    elif got is not None:
        counts["false"] += 1


def evaluate_file(path: Path, understander: Understander) -> Report:
    return score(read_labelled(path), understander.understand, understander.catalog.top_unit)


def format_report(report: Report) -> str:
    """The table printed by ``hotline eval classify``."""
    data = report.as_json()
    u, e = report.urgent, report.emergency
    lines = [
        f"requests            {report.n}",
        f"type accuracy       {data['type_accuracy']:.1%}  ({report.type_right}/{report.n})",
        f"unit accuracy       {data['unit_accuracy']:.1%}  ({report.unit_right}/{report.n})",
        f"urgent recall       {data['urgent_recall']:.1%}  ({u['tp']}/{u['tp'] + u['fn']})",
        f"urgent precision    {data['urgent_precision']:.1%}  ({u['tp']}/{u['tp'] + u['fp']})",
        f"emergency recall    {data['emergency_recall']:.1%}  "
        f"({e['tp']}/{e['tp'] + e['wrong_line'] + e['missed']})",
        f"emergency precision {data['emergency_precision']:.1%}",
        f"emergency false     {e['false']}  (sent to an emergency line wrongly)",
        "",
        "request type confusion (rows: expected, columns: suggested)",
        *_confusion(report.type_confusion),
        "",
        "unit errors (expected → suggested: count)",
        *(f"  {want} → {got}: {count}" for (want, got), count
          in sorted(report.unit_confusion.items(), key=lambda item: -item[1]) if want != got),
    ]
    return "\n".join(lines)


def _confusion(counts: Counter[tuple[str, str]]) -> list[str]:
    labels = sorted({label for pair in counts for label in pair},
                    key=lambda label: (label not in _TYPE_ORDER, _TYPE_ORDER.get(label, 0)))
    head = "      " + "".join(f"{label:>5}" for label in labels)
    rows = [head]
    for want in labels:
        cells = "".join(f"{counts.get((want, got), 0):>6}" for got in labels)
        rows.append(f"  {want}{cells}")
    return rows


_TYPE_ORDER = {label: n for n, label in enumerate(("咨询", "求助", "投诉", "举报", "建议", "表扬"))}
