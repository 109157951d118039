"""The responsibility list as the understanding needs it: units, their top-level unit, matters.

Built from the shipped ``responsibility.yaml`` (no database) or from a session's tables. A unit
below a top-level unit (a street under ``属地乡镇街道``, a community under its street) is
reported as its top-level unit by ``top_unit``, so that results can be scored against the
member units of the hotline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

from hotline.intake.errors import CatalogError
from hotline.intake.vocabulary import VOCABULARY

if TYPE_CHECKING:
    from sqlmodel import Session

DEFAULT_SOURCE = "hotline/tickets/defaults/responsibility.yaml"



@dataclass(frozen=True)
class MatterInfo:
    code: str
    name: str
    main_unit: str
    keywords: tuple[str, ...]

    def words(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w for w in (self.name, *self.keywords) if w))


# A word of the everyday vocabulary counts this much against a keyword of the list.
VOCABULARY_WEIGHT = 0.6


@dataclass(frozen=True)
class Catalog:
    """Units (name → parent name) and matters of one responsibility list, with the everyday
    words of each unit (``vocabulary.py``, units of this list only)."""

    parents: dict[str, str | None]
    matters: tuple[MatterInfo, ...]
    vocabulary: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def with_vocabulary(self, vocabulary: dict[str, tuple[str, ...]]) -> Catalog:
        known = {unit: words for unit, words in vocabulary.items() if unit in self.parents}
        return replace(self, vocabulary=known)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.parents)

    def roots(self) -> set[str]:
        return {name for name, parent in self.parents.items() if parent is None}

    def top_unit(self, name: str | None) -> str | None:
        """The unit directly under the center that ``name`` belongs to (itself if top-level)."""
        if name is None or name not in self.parents:
            return name
        roots = self.roots()
        seen: set[str] = set()
        current = name
        while current not in seen:
            seen.add(current)
            parent = self.parents.get(current)
            if parent is None or parent in roots:
                return current
            current = parent
        return name

    def match(self, text: str) -> list[tuple[MatterInfo, int]]:
        """Matters whose name or keywords occur in ``text``, scored by characters matched."""
        scored = []
        for matter in self.matters:
            score = sum(len(word) for word in matter.words() if word in text)
            if score:
                scored.append((matter, score))
        scored.sort(key=lambda pair: -pair[1])
        return scored

    def unit_scores(self, text: str, words: set[str]) -> dict[str, float]:
        """Top-level units by the list's keywords and their everyday words found in ``text``
        (a one-character word only as a whole word of ``words``)."""
        scores: dict[str, float] = {}

        def found(word: str) -> bool:
            return word in words if len(word) == 1 else word in text

        for matter, matched in self.match(text):
            unit = self.top_unit(matter.main_unit) or matter.main_unit
            scores[unit] = scores.get(unit, 0.0) + matched
        for unit, vocabulary in self.vocabulary.items():
            everyday = sum(len(w) for w in vocabulary if found(w)) * VOCABULARY_WEIGHT
            if everyday:
                top = self.top_unit(unit) or unit
                scores[top] = scores.get(top, 0.0) + everyday
        return scores

    def place_names(self) -> list[str]:
        """Names of towns, streets and communities (units under a place group), longest first."""
        local = {n for n in self.parents if self.top_unit(n) != n}
        return sorted(local, key=len, reverse=True)


def catalog_from_data(data: Any, *, source: str) -> Catalog:
    """A catalog from the YAML list's content; a wrong shape names the entry."""
    if not isinstance(data, dict):
        raise CatalogError(source, "top level", "expected a mapping with units and matters")
    parents: dict[str, str | None] = {}
    for number, unit in enumerate(data.get("units") or []):
        if not isinstance(unit, dict) or not isinstance(unit.get("name"), str):
            raise CatalogError(source, f"units[{number}]", "a unit needs a name")
        parent = unit.get("parent")
        parents[unit["name"]] = parent if isinstance(parent, str) else None
    matters = []
    for number, matter in enumerate(data.get("matters") or []):
        where = f"matters[{number}]"
        if not isinstance(matter, dict):
            raise CatalogError(source, where, "expected a mapping")
        main = matter.get("main_unit")
        if main not in parents:
            raise CatalogError(source, where, f"main_unit {main!r} is not a unit of the list")
        matters.append(MatterInfo(
            code=str(matter.get("code", "")), name=str(matter.get("name", "")),
            main_unit=str(main), keywords=_strings(matter.get("keywords")),
        ))
    return Catalog(parents=parents, matters=tuple(matters))


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(str(v) for v in value if str(v).strip())


@cache
def default_catalog() -> Catalog:
    """The shipped responsibility list."""
    text = resources.files("hotline.tickets").joinpath("defaults", "responsibility.yaml")
    catalog = catalog_from_data(yaml.safe_load(text.read_text("utf-8")), source=DEFAULT_SOURCE)
    return catalog.with_vocabulary(VOCABULARY)


def catalog_from_session(session: Session) -> Catalog:
    """The database's responsibility list (units and matters tables)."""
    from sqlmodel import select

    from hotline.tickets.models import Matter, Unit

    units = list(session.exec(select(Unit)).all())
    names = {u.id: u.name for u in units}
    parents = {u.name: names.get(u.parent_id) if u.parent_id else None for u in units}
    matters = _matters(session.exec(select(Matter)).all(), names)
    catalog = Catalog(parents=parents, matters=tuple(matters))
    return catalog.with_vocabulary(VOCABULARY)


def _matters(rows: Iterable[Any], names: dict[int | None, str]) -> list[MatterInfo]:
    return [
        MatterInfo(code=m.code, name=m.name, main_unit=names[m.main_unit_id],
                   keywords=tuple(m.keywords or ()))
        for m in rows if m.main_unit_id in names
    ]
