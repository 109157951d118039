"""Dispatch suggestion: 谁主管谁负责 from the responsibility list, 属地管理优先 from the place.

The matter is given, or the one whose name and keywords cover most of the text. When the
location (or the text) names a town or street, or one of its communities, the matter's
``locality`` rule puts that town/street in as the main unit (``main``) or as an assisting unit
(``assist``); the group ``属地乡镇街道`` in the list stands for it. The operator confirms or
changes the suggestion; ``service.dispatch`` stores both.

    >>> with Session(engine) as session:  # doctest: +SKIP
    ...     dispatch_suggestion(session=session, text="路口流动摊贩占道经营", location="城关街道")
    Suggestion(matter_code='CG-002', main_unit='市城管局', assist_units=('城关街道',), ...)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from hotline.tickets.errors import NoSuchMatter
from hotline.tickets.models import Locality, Matter, MatterAssist, Unit, UnitKind

_LOCAL_KINDS = (UnitKind.TOWN_STREET, UnitKind.COMMUNITY)


@dataclass(frozen=True)
class Suggestion:
    """谁主管谁负责 from the matter, 属地管理优先 from the location's town or street."""

    matter_id: int | None
    matter_code: str | None
    main_unit: str | None
    assist_units: tuple[str, ...] = ()
    local_unit: str | None = None  # the town/street the location names
    candidates: tuple[tuple[str, int], ...] = ()  # (matter code, score) best first


def match_matters(matters: list[Matter], text: str) -> list[tuple[Matter, int]]:
    """Matters whose name or keywords occur in ``text``, scored by the characters matched."""
    scored = []
    for matter in matters:
        words = {matter.name, *matter.keywords}
        score = sum(len(word) for word in words if word and word in text)
        if score:
            scored.append((matter, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0].id or 0))
    return scored


def local_unit(session: Session, location: str) -> Unit | None:
    """The town or street a location names (a named community counts for its parent)."""
    if not location:
        return None
    local = session.exec(select(Unit).where(col(Unit.kind).in_(_LOCAL_KINDS))).all()
    named = sorted((u for u in local if u.name in location), key=lambda u: -len(u.name))
    for unit in named:
        if unit.kind == UnitKind.TOWN_STREET and not _is_group(session, unit):
            return unit
        if unit.kind == UnitKind.COMMUNITY and unit.parent_id is not None:
            return session.get(Unit, unit.parent_id)
    return None


def _is_group(session: Session, unit: Unit) -> bool:
    """``属地乡镇街道``: the towns' and streets' common parent, not a place."""
    child = session.exec(select(Unit).where(Unit.parent_id == unit.id)).first()
    return child is not None and child.kind == UnitKind.TOWN_STREET


def dispatch_suggestion(
    *, session: Session, matter_id: int | None = None, text: str = "", location: str = ""
) -> Suggestion:
    """Suggest units for the matter (or the matter the text matches best) at ``location``."""
    candidates: list[tuple[Matter, int]] = []
    if matter_id is not None:
        matter = session.get(Matter, matter_id)
        if matter is None:
            raise NoSuchMatter(matter_id)
    else:
        candidates = match_matters(list(session.exec(select(Matter)).all()), text)
        matter = candidates[0][0] if candidates else None
    place = local_unit(session, location or text)
    ranked = tuple((m.code, score) for m, score in candidates[:5])
    if matter is None:
        return Suggestion(None, None, place.name if place else None, (), _name(place), ranked)
    names = {u.id: u.name for u in session.exec(select(Unit)).all()}
    main = names[matter.main_unit_id]
    assist = [names[link.unit_id] for link in session.exec(
        select(MatterAssist).where(MatterAssist.matter_id == matter.id)
        .order_by(col(MatterAssist.position))
    ).all()]
    if place is not None and matter.locality != Locality.NONE:
        main, assist = _localise(session, matter, main, assist, place)
    return Suggestion(matter.id, matter.code, main, tuple(assist), _name(place), ranked)


def _localise(
    session: Session, matter: Matter, main: str, assist: list[str], place: Unit
) -> tuple[str, list[str]]:
    groups = {u.name for u in session.exec(select(Unit).where(
        col(Unit.kind) == UnitKind.TOWN_STREET)).all() if _is_group(session, u)}
    assist = [u for u in assist if u not in groups and u != place.name]
    if matter.locality == Locality.MAIN:
        if main not in groups:
            assist.insert(0, main)
        return place.name, assist
    if main in groups:
        return place.name, assist
    return main, [place.name, *assist]


def _name(unit: Unit | None) -> str | None:
    return unit.name if unit is not None else None
