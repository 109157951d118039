"""Units (承办单位) and the responsibility list (职责清单): import and export.

A list file is YAML (``units`` then ``matters``) or CSV (matters only; their units must exist).
Import checks every row first and writes only when all are good, in the caller's transaction:
a bad row raises ``ResponsibilityFileError`` naming the file, line and field, and nothing is
written. Export writes the canonical form: importing it into an empty database and exporting
again gives the same text.

The admin API changes units one by one (``add_unit``, ``update_unit``: a move that would make
a cycle is refused, a new name is carried to the unit's handlers) and lists matters with their
units' names (``list_matters``).

    >>> from hotline.db import make_engine, migrate, session_scope
    >>> engine = make_engine("sqlite://")  # doctest: +SKIP
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     load_default_list(session=session)
    ...     print(export_csv(session=session))
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Field, Session, SQLModel, col, delete, select

from hotline.tickets.errors import NoSuchUnit, ResponsibilityFileError, TicketError
from hotline.tickets.models import Locality, Matter, MatterAssist, Unit, UnitCreate, UnitKind
from hotline.users.models import User

CSV_FIELDS = ("code", "name", "main_unit", "assist_units", "locality", "keywords", "legal_basis")
LIST_SEPARATOR = "|"
YAML_HEADER = "# 职责清单 (responsibility list): units, then matters. Written by hotline.\n"
DEFAULT_LIST = "responsibility.yaml"


@dataclass(frozen=True)
class _Row:
    """One record of a file with the line of each field, for errors."""

    values: dict[str, Any]
    line: int
    lines: dict[str, int] = field(default_factory=dict)

    def fail(self, path: str, name: str, reason: str) -> ResponsibilityFileError:
        return ResponsibilityFileError(
            path=path, line=self.lines.get(name, self.line), field=name, reason=reason
        )


# --- reading files -------------------------------------------------------------------------


def _yaml_rows(text: str, path: str) -> tuple[list[_Row], list[_Row]]:
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ResponsibilityFileError(path=path, line=line, reason=str(exc.problem)) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ResponsibilityFileError(path=path, line=1, reason="expected units: and matters:")
    unknown = set(data) - {"units", "matters"}
    if unknown:
        raise ResponsibilityFileError(path=path, line=1, reason=f"unknown sections {unknown}")
    sections = {key.value: value for key, value in root.value}
    return _section(data, sections, "units", path), _section(data, sections, "matters", path)


def _section(data: dict[str, Any], nodes: dict[str, Any], name: str, path: str) -> list[_Row]:
    items, node = data.get(name) or [], nodes.get(name)
    if not isinstance(items, list) or not isinstance(node, yaml.SequenceNode | None):
        line = node.start_mark.line + 1 if node is not None else 1
        raise ResponsibilityFileError(path=path, line=line, field=name, reason="expected a list")
    rows = []
    for item, item_node in zip(items, node.value if node is not None else [], strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, dict):
            raise ResponsibilityFileError(path=path, line=line, reason="expected a mapping")
        lines = {k.value: v.start_mark.line + 1 for k, v in item_node.value}
        rows.append(_Row(item, line, lines))
    return rows


def _csv_rows(text: str, path: str) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text))
    if tuple(reader.fieldnames or ()) != CSV_FIELDS:
        raise ResponsibilityFileError(
            path=path, line=1, reason=f"the header must be {','.join(CSV_FIELDS)}"
        )
    rows = []
    for record in reader:
        values: dict[str, Any] = dict(record)
        for name in ("assist_units", "keywords"):
            raw = values.get(name) or ""
            values[name] = [part for part in raw.split(LIST_SEPARATOR) if part]
        rows.append(_Row(values, reader.line_num))
    return rows


# --- checking ------------------------------------------------------------------------------


def _text(row: _Row, path: str, name: str, *, required: bool = True) -> str:
    value = row.values.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str | int) or (required and not str(value).strip()):
        raise row.fail(path, name, "required text is missing")
    return str(value).strip()


def _names(row: _Row, path: str, name: str) -> list[str]:
    value = row.values.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise row.fail(path, name, "expected a list of names")
    return [v.strip() for v in value]


def _check_units(rows: list[_Row], path: str, known: set[str]) -> list[dict[str, Any]]:
    units: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        name = _text(row, path, "name")
        if name in seen:
            raise row.fail(path, "name", f"unit {name!r} is listed twice")
        kind = _text(row, path, "kind")
        if kind not in set(UnitKind):
            raise row.fail(path, "kind", f"{kind!r} is not one of {', '.join(UnitKind)}")
        parent = _text(row, path, "parent", required=False) or None
        seen.add(name)
        units.append(
            {"name": name, "kind": kind, "parent": parent, "row": row,
             "duty_phone": _text(row, path, "duty_phone", required=False)}
        )
    for unit in units:
        if unit["parent"] is not None and unit["parent"] not in seen | known:
            raise unit["row"].fail(path, "parent", f"no unit {unit['parent']!r}")
        if unit["parent"] == unit["name"]:
            raise unit["row"].fail(path, "parent", "a unit cannot be its own parent")
    return units


def _check_matters(rows: list[_Row], path: str, units: set[str]) -> list[dict[str, Any]]:
    matters: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in rows:
        code = _text(row, path, "code")
        if code in seen:
            raise row.fail(path, "code", f"matter {code!r} is listed twice")
        seen.add(code)
        main = _text(row, path, "main_unit")
        if main not in units:
            raise row.fail(path, "main_unit", f"no unit {main!r}")
        assist = _names(row, path, "assist_units")
        for unit in assist:
            if unit not in units or unit == main:
                raise row.fail(path, "assist_units", f"{unit!r} is unknown or the main unit")
        locality = _text(row, path, "locality", required=False) or Locality.NONE.value
        if locality not in set(Locality):
            raise row.fail(path, "locality", f"{locality!r} is not one of {', '.join(Locality)}")
        matters.append(
            {"code": code, "name": _text(row, path, "name"), "main_unit": main,
             "assist_units": assist, "locality": locality,
             "keywords": _names(row, path, "keywords"),
             "legal_basis": _text(row, path, "legal_basis", required=False)}
        )
    return matters


# --- writing -------------------------------------------------------------------------------


def import_list(*, session: Session, text: str, path: str, fmt: str | None = None) -> int:
    """Add or update the units and matters of a list file; returns the number of matters.

    ``fmt`` is ``yaml`` or ``csv`` (from ``path``'s suffix when not given).
    """
    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "yaml")
    if fmt == "yaml":
        unit_rows, matter_rows = _yaml_rows(text, path)
    else:
        unit_rows, matter_rows = [], _csv_rows(text, path)
    existing = {u.name: u for u in session.exec(select(Unit)).all()}
    units = _check_units(unit_rows, path, set(existing))
    matters = _check_matters(matter_rows, path, set(existing) | {u["name"] for u in units})
    for unit in units:
        row = existing.get(unit["name"]) or Unit(name=unit["name"], kind=unit["kind"])
        row.kind, row.duty_phone = unit["kind"], unit["duty_phone"]
        existing[unit["name"]] = row
        session.add(row)
    session.flush()
    for unit in units:
        parent = unit["parent"]
        existing[unit["name"]].parent_id = existing[parent].id if parent else None
    _refuse_cycles(existing, path, units)
    _write_matters(session, matters, {name: u.id for name, u in existing.items()})
    session.flush()
    return len(matters)


def _refuse_cycles(units: dict[str, Unit], path: str, rows: list[dict[str, Any]]) -> None:
    by_id = {u.id: u for u in units.values()}
    for row in rows:
        seen: set[int | None] = set()
        unit: Unit | None = units[row["name"]]
        while unit is not None and unit.parent_id is not None:
            if unit.id in seen:
                raise row["row"].fail(path, "parent", "the unit tree has a cycle")
            seen.add(unit.id)
            unit = by_id.get(unit.parent_id)


def _write_matters(
    session: Session, matters: list[dict[str, Any]], unit_ids: dict[str, int | None]
) -> None:
    existing = {m.code: m for m in session.exec(select(Matter)).all()}
    for item in matters:
        matter = existing.get(item["code"]) or Matter(code=item["code"], name=item["name"],
                                                      main_unit_id=0)
        matter.name, matter.locality = item["name"], item["locality"]
        matter.main_unit_id = unit_ids[item["main_unit"]] or 0
        matter.keywords, matter.legal_basis = list(item["keywords"]), item["legal_basis"]
        session.add(matter)
        session.flush()
        session.exec(delete(MatterAssist).where(col(MatterAssist.matter_id) == matter.id))
        for position, unit in enumerate(item["assist_units"]):
            assert matter.id is not None and unit_ids[unit] is not None
            session.add(MatterAssist(matter_id=matter.id, unit_id=unit_ids[unit] or 0,
                                     position=position))


def import_file(*, session: Session, path: Path) -> int:
    return import_list(session=session, text=path.read_text(encoding="utf-8"), path=str(path))


def load_default_list(*, session: Session) -> int:
    """Import the shipped list (``hotline/tickets/defaults/responsibility.yaml``)."""
    source = resources.files("hotline.tickets").joinpath("defaults", DEFAULT_LIST)
    return import_list(session=session, text=source.read_text(encoding="utf-8"),
                       path=f"hotline/tickets/defaults/{DEFAULT_LIST}")


# --- export --------------------------------------------------------------------------------


def _matter_records(session: Session, *, with_id: bool = False) -> list[dict[str, Any]]:
    names = {u.id: u.name for u in session.exec(select(Unit)).all()}
    assists: dict[int, list[str]] = {}
    for link in session.exec(select(MatterAssist).order_by(
        col(MatterAssist.matter_id), col(MatterAssist.position)
    )).all():
        assists.setdefault(link.matter_id, []).append(names[link.unit_id])
    return [
        {**({"id": m.id} if with_id else {}),
         "code": m.code, "name": m.name, "main_unit": names[m.main_unit_id],
         "assist_units": assists.get(m.id or 0, []), "locality": str(m.locality),
         "keywords": list(m.keywords), "legal_basis": m.legal_basis}
        for m in session.exec(select(Matter).order_by(col(Matter.id))).all()
    ]


class _FlowListDumper(yaml.SafeDumper):
    """Short lists of names on one line: ``keywords: [路灯, 灯不亮]``."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_FlowListDumper.add_representer(list, _represent_list)


def export_yaml(*, session: Session) -> str:
    names = {u.id: u.name for u in session.exec(select(Unit)).all()}
    units = []
    for u in session.exec(select(Unit).order_by(col(Unit.id))).all():
        record: dict[str, Any] = {"name": u.name, "kind": str(u.kind)}
        if u.parent_id is not None:
            record["parent"] = names[u.parent_id]
        if u.duty_phone:
            record["duty_phone"] = u.duty_phone
        units.append(record)
    body = yaml.dump(
        {"units": units, "matters": _matter_records(session)},
        Dumper=_FlowListDumper, allow_unicode=True, sort_keys=False, width=100,
    )
    return YAML_HEADER + body


def export_csv(*, session: Session) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in _matter_records(session):
        for name in ("assist_units", "keywords"):
            record[name] = LIST_SEPARATOR.join(record[name])
        writer.writerow(record)
    return out.getvalue()


# --- lookups and the dispatch suggestion ---------------------------------------------------


def unit_ids(session: Session, names: list[str] | tuple[str, ...]) -> dict[str, int]:
    """Ids of the named units; ``NoSuchUnit`` for the first unknown one."""
    found = {
        u.name: u.id or 0
        for u in session.exec(select(Unit).where(col(Unit.name).in_(set(names)))).all()
    }
    for name in names:
        if name not in found:
            raise NoSuchUnit(name)
    return found


# --- units one by one and matters (the admin API) ------------------------------------------


class UnitNameTaken(TicketError):
    error_id = "unit-name-taken"
    status_code = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"there is a unit {name!r} already", unit=name, field="name")


class InvalidUnit(TicketError):
    """A unit change that would break the tree: an unknown parent, or a cycle."""

    error_id = "invalid-unit"
    status_code = 422

    def __init__(self, *, unit: str, field: str, reason: str) -> None:
        super().__init__(f"unit {unit!r}: {field}: {reason}", unit=unit, field=field,
                         reason=reason)


class UnitUpdate(SQLModel):
    """Only the fields given change; ``parent`` is a unit's name, ``null`` for the top."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    kind: UnitKind | None = None
    duty_phone: str | None = Field(default=None, max_length=32)
    parent: str | None = Field(default=None, min_length=1, max_length=64)


def list_units(*, session: Session, kind: UnitKind | None = None) -> list[Unit]:
    statement = select(Unit).order_by(col(Unit.id))
    if kind is not None:
        statement = statement.where(col(Unit.kind) == kind)
    return list(session.exec(statement).all())


def get_unit(*, session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NoSuchUnit(unit_id)
    return unit


def _parent_id(session: Session, unit: str, parent: str | None) -> int | None:
    if parent is None:
        return None
    row = session.exec(select(Unit).where(col(Unit.name) == parent)).first()
    if row is None:
        raise InvalidUnit(unit=unit, field="parent", reason=f"no unit {parent!r}")
    return row.id


def _refuse_taken(session: Session, name: str, unit_id: int | None = None) -> None:
    other = session.exec(select(Unit.id).where(col(Unit.name) == name)).first()
    if other is not None and other != unit_id:
        raise UnitNameTaken(name)


def add_unit(*, session: Session, unit: UnitCreate) -> Unit:
    _refuse_taken(session, unit.name)
    row = Unit(name=unit.name, kind=unit.kind, duty_phone=unit.duty_phone,
               parent_id=_parent_id(session, unit.name, unit.parent))
    session.add(row)
    session.flush()
    return row


def update_unit(*, session: Session, unit_id: int, changes: UnitUpdate) -> Unit:
    """Change the fields given. A new parent under the unit itself is refused (a cycle); a new
    name is carried to the unit handlers who work for the unit."""
    unit = get_unit(session=session, unit_id=unit_id)
    given = changes.model_dump(exclude_unset=True)
    for field_name in ("name", "kind", "duty_phone"):
        if field_name in given and given[field_name] is None:
            raise InvalidUnit(unit=unit.name, field=field_name, reason="cannot be empty")
    if "parent" in given:
        parent_id = _parent_id(session, unit.name, given["parent"])
        ancestor = parent_id
        while ancestor is not None:
            if ancestor == unit.id:
                raise InvalidUnit(unit=unit.name, field="parent",
                                  reason=f"{given['parent']!r} is under {unit.name!r}: a cycle")
            ancestor = get_unit(session=session, unit_id=ancestor).parent_id
        unit.parent_id = parent_id
    if "name" in given and given["name"] != unit.name:
        _refuse_taken(session, given["name"], unit.id)
        for user in session.exec(select(User).where(col(User.unit_name) == unit.name)).all():
            user.unit_name = given["name"]
            session.add(user)
        unit.name = given["name"]
    unit.kind = given.get("kind", unit.kind)
    unit.duty_phone = given.get("duty_phone", unit.duty_phone)
    session.add(unit)
    session.flush()
    return unit


def list_matters(*, session: Session, query: str = "") -> list[dict[str, Any]]:
    """Matters with their units' names, in list order; ``query`` must be in the code, the name
    or a keyword (case-insensitive)."""
    needle = query.strip().lower()
    return [
        record for record in _matter_records(session, with_id=True)
        if not needle or any(needle in text.lower() for text in
                             (record["code"], record["name"], *record["keywords"]))
    ]
