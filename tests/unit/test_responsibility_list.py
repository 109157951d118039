"""The responsibility list (职责清单): the shipped default, import/export round trips, errors
naming file, line and field with nothing half-imported, and dispatch suggestions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from hotline.db import make_engine, session_scope
from hotline.tickets.errors import NoSuchMatter, ResponsibilityFileError
from hotline.tickets.models import Matter, Unit, UnitKind
from hotline.tickets.suggestion import dispatch_suggestion
from hotline.tickets.units import (
    export_csv,
    export_yaml,
    import_list,
    load_default_list,
)
from tests.pg import sqlite_engine, sqlite_template  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "hotline" / "tickets" / "defaults" / "responsibility.yaml"
EVAL_UNITS = ROOT.parent / "shared" / "eval" / "units.txt"
UNITS_ONLY = """units:
- name: 12345中心
  kind: center
- name: 市城管局
  kind: department
  parent: 12345中心
"""


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:  # noqa: F811 - the fixture from tests.pg
    with session_scope(sqlite_engine) as session:
        load_default_list(session=session)
    return sqlite_engine


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_given_the_eval_unit_names_when_the_default_list_loads_then_all_are_units(engine):
    if not EVAL_UNITS.exists():
        pytest.fail(f"{EVAL_UNITS} is missing: the shared/ folder must sit beside the repo")
    wanted = {line.strip() for line in EVAL_UNITS.read_text("utf-8").splitlines() if line.strip()}

    with Session(engine) as session:
        units = {u.name: u for u in session.exec(select(Unit)).all()}
        mains = {m.main_unit_id for m in session.exec(select(Matter)).all()}

    assert wanted <= set(units)
    assert count(engine, Matter) >= 60
    covered = {name for name, unit in units.items() if unit.id in mains}
    assert wanted <= covered  # every label unit is the main unit of some matter


def test_given_the_default_tree_when_loaded_then_center_departments_streets_communities(engine):
    with Session(engine) as session:
        units = {u.id: u for u in session.exec(select(Unit)).all()}
    by_name = {u.name: u for u in units.values()}

    center = by_name["12345中心"]
    assert center.parent_id is None and center.kind == UnitKind.CENTER
    assert units[by_name["市城管局"].parent_id].name == "12345中心"
    street = by_name["东城街道"]
    assert units[street.parent_id].name == "属地乡镇街道"
    communities = [u for u in units.values() if u.parent_id == street.id]
    assert communities and all(u.kind == UnitKind.COMMUNITY for u in communities)


def test_given_the_default_file_when_imported_then_exported_yaml_is_the_same_text(engine):
    with Session(engine) as session:
        assert export_yaml(session=session) == DEFAULT.read_text("utf-8")


def test_given_a_loaded_list_when_its_export_is_imported_again_then_nothing_changes(engine):
    with Session(engine) as session:
        before = (export_yaml(session=session), export_csv(session=session))
    with session_scope(engine) as session:
        import_list(session=session, text=before[0], path="again.yaml")
        import_list(session=session, text=before[1], path="again.csv")
    with Session(engine) as session:
        assert (export_yaml(session=session), export_csv(session=session)) == before


def test_given_a_fresh_database_when_csv_imported_after_units_then_round_trip_exact(
    tmp_path, sqlite_template  # noqa: F811
):
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    shutil.copy(sqlite_template, source)
    shutil.copy(sqlite_template, target)
    first, second = make_engine(f"sqlite:///{source}"), make_engine(f"sqlite:///{target}")
    with session_scope(first) as session:
        load_default_list(session=session)
        units_part = export_yaml(session=session).split("matters:")[0]
        csv_text = export_csv(session=session)
    with session_scope(second) as session:
        import_list(session=session, text=units_part, path="units.yaml")
        import_list(session=session, text=csv_text, path="list.csv")
    with Session(second) as session:
        assert export_csv(session=session) == csv_text
        assert export_yaml(session=session) == DEFAULT.read_text("utf-8")
    first.dispose()
    second.dispose()


BAD_YAML = UNITS_ONLY + """matters:
- code: A-1
  name: 路灯损坏
  main_unit: 市城管局
  keywords: [路灯]
- code: A-2
  name: 占道经营
  main_unit: 市不存在局
  keywords: [摆摊]
"""


def test_given_a_yaml_row_with_an_unknown_unit_when_imported_then_error_and_nothing_kept(
    sqlite_engine,  # noqa: F811
):
    with pytest.raises(ResponsibilityFileError) as bad, session_scope(sqlite_engine) as session:
        import_list(session=session, text=BAD_YAML, path="list.yaml")

    assert (bad.value.path, bad.value.line, bad.value.field) == ("list.yaml", 14, "main_unit")
    assert str(bad.value).startswith("list.yaml:14: main_unit:")
    assert count(sqlite_engine, Unit) == 0 and count(sqlite_engine, Matter) == 0


def test_given_a_csv_row_with_a_bad_locality_when_imported_then_its_line_is_named(engine):
    before = count(engine, Matter)
    text = (
        "code,name,main_unit,assist_units,locality,keywords,legal_basis\n"
        "N-1,新事项,市城管局,,none,新词,\n"
        "N-2,另一事项,市城管局,,nearby,别的,\n"
    )

    with pytest.raises(ResponsibilityFileError) as bad, session_scope(engine) as session:
        import_list(session=session, text=text, path="new.csv")

    assert (bad.value.line, bad.value.field) == (3, "locality")
    assert count(engine, Matter) == before


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("units:\n- name: a\n  kind: [oops\n", 4, None),  # where the parser gave up
        (UNITS_ONLY + "- name: 市城管局\n  kind: department\n", 7, "name"),
        (UNITS_ONLY + "- name: x\n  kind: planet\n", 8, "kind"),
        (UNITS_ONLY + "- name: y\n  kind: community\n  parent: 无\n", 9, "parent"),
        (UNITS_ONLY + "matters:\n- code: A\n  main_unit: 市城管局\n", 8, "name"),
        (UNITS_ONLY + "matters:\n- code: A\n  name: n\n  main_unit: 市城管局\n"
         "  assist_units: [市城管局]\n", 11, "assist_units"),
    ],
)
def test_given_a_broken_yaml_when_imported_then_the_error_names_line_and_field(
    sqlite_engine, text, line, field  # noqa: F811
):
    with pytest.raises(ResponsibilityFileError) as bad, session_scope(sqlite_engine) as session:
        import_list(session=session, text=text, path="x.yaml")

    assert (bad.value.line, bad.value.field) == (line, field)
    assert count(sqlite_engine, Unit) == 0


def test_given_a_matter_when_suggested_then_its_main_and_assisting_units(engine):
    with Session(engine) as session:
        gas = session.exec(select(Matter).where(Matter.code == "RQ-001")).one()
        suggestion = dispatch_suggestion(session=session, matter_id=gas.id)
        with pytest.raises(NoSuchMatter):
            dispatch_suggestion(session=session, matter_id=10_000)

    assert (suggestion.main_unit, suggestion.assist_units) == ("燃气公司", ("市应急管理局",))


@pytest.mark.parametrize(
    ("text", "location", "main", "assist"),
    [
        ("小区门口的路灯不亮了", "东城街道", "市城管局", ()),  # no locality rule
        ("路口有流动摊贩占道经营", "城关街道", "市城管局", ("城关街道",)),  # 属地 assists
        ("楼上装修天天砸墙", "幸福里社区3号楼", "东城街道", ("市住建局",)),  # community → street
        ("楼上装修天天砸墙", "", "属地乡镇街道", ("市住建局",)),  # no place: the group
        ("家里停水两天了", "新华镇", "供水公司", ()),
    ],
)
def test_given_text_and_location_when_suggested_then_list_and_locality_decide(
    engine, text, location, main, assist
):
    with Session(engine) as session:
        suggestion = dispatch_suggestion(session=session, text=text, location=location)

    assert (suggestion.main_unit, suggestion.assist_units) == (main, assist)


def test_given_text_matching_nothing_when_suggested_then_no_matter(engine):
    with Session(engine) as session:
        suggestion = dispatch_suggestion(session=session, text="你好", location="")

    assert (suggestion.matter_id, suggestion.main_unit, suggestion.candidates) == (None, None, ())
