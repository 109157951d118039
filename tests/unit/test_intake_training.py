"""The model learns from the center's operator decisions: tickets created and dispatched through
the real service functions (SQLite), ``train_from_session``, then a new similar request goes to
the unit the operators chose."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hotline.db import session_scope
from hotline.intake.errors import ModelFileError
from hotline.intake.model import load_model
from hotline.intake.training import train_from_session
from hotline.intake.understand import Understander
from hotline.tickets import service
from hotline.tickets.models import TicketCreate, TicketType
from hotline.tickets.units import load_default_list

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
# Operators send shared bikes blocking the way to the town/street, whatever the words suggest.
HISTORY = [
    "小区门口共享单车乱停乱放把出口都堵住了",
    "地铁口的共享单车堆成山了行人过不去",
    "共享单车停满了人行道轮椅推不过去",
    "商场外面共享单车横七竖八的没人整理",
    "学校门口的共享单车占了半条路",
]
NEW = "我们楼下的共享单车乱停乱放把路都堵了"
CHOSEN = "属地乡镇街道"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    with session_scope(sqlite_engine) as session:
        load_default_list(session=session)
    return sqlite_engine


def decide(engine: Engine, text: str, *, unit: str, at: datetime, actor: str = "op-1") -> None:
    with session_scope(engine) as session:
        ticket = service.create_ticket(
            session=session, now=at, actor=actor,
            draft=TicketCreate(request_type=TicketType.COMPLAINT, description=text),
        )
        assert ticket.id is not None
        service.dispatch(session=session, ticket_id=ticket.id, main_unit=unit, actor=actor,
                         now=at + timedelta(minutes=5))


def test_given_operator_decisions_when_trained_then_similar_request_goes_to_chosen_unit(
    engine: Engine, tmp_path: Path
) -> None:
    model_file = tmp_path / "intake" / "model.pkl"
    with session_scope(engine) as session:
        before = Understander.from_session(session).understand(NEW)
    assert before.unit.value != CHOSEN

    for number, text in enumerate(HISTORY):
        decide(engine, text, unit=CHOSEN, at=T0 + timedelta(hours=number))
    with session_scope(engine) as session:
        model, report = train_from_session(session, path=model_file)
    assert report.history == len(HISTORY)
    assert report.placed == len(HISTORY)
    assert model_file.exists()

    with session_scope(engine) as session:
        after = Understander.from_session(session, model_file=model_file).understand(NEW)
    assert after.unit.value == CHOSEN
    # Other requests keep their unit: the list still speaks.
    gas = Understander.default(model_file=model_file).understand("楼道里一股很大的煤气味")
    assert gas.unit.value == "燃气公司"


def test_given_automatic_dispatches_when_trained_then_they_teach_no_unit(
    engine: Engine, tmp_path: Path
) -> None:
    for number, text in enumerate(HISTORY):
        decide(engine, text, unit=CHOSEN, at=T0 + timedelta(hours=number), actor="system")
    with session_scope(engine) as session:
        _, report = train_from_session(session, path=tmp_path / "model.pkl")
    assert report.history == len(HISTORY)  # the texts still count (their request type)
    assert report.placed == 0  # the unit was the model's own guess, not an operator's


def test_given_broken_model_file_when_loaded_then_error_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "model.pkl"
    broken.write_bytes(b"not a pickle")
    with pytest.raises(ModelFileError, match="model.pkl"):
        load_model(broken)
