"""Automatic dispatch of a left message's draft (``intake.auto_dispatch_confidence``), on
SQLite and PostgreSQL: off by default; when set, a message whose unit suggestion is at least
that confident is accepted and dispatched by ``system`` with the confidence logged; below it,
or with an emergency suggested, the message is handled as without the setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from hotline.config import Settings
from hotline.intake.drafts import DraftStatus, TranscriptDrafts
from hotline.intake.settings import IntakeSettings
from hotline.tickets.models import Ticket, Unit
from tests.api import ApiWorld
from tests.unit.test_drafts import (
    NOISE,
    STREET_LIGHT,
    drafts_of,
    feed,
    make_call,
    message_later,
    transcribed,
)

FIRE = "着火了，快来人，房子烧起来了"
MESSAGE = ("full", "caller", "message")


def hook(world: ApiWorld, tmp_path: Path, threshold: float | None) -> TranscriptDrafts:
    settings = Settings(home=tmp_path,
                        intake=IntakeSettings(auto_dispatch_confidence=threshold))
    return TranscriptDrafts(settings=settings, clock=world.clock)


def ticket_of(world: ApiWorld, uid: str) -> tuple[Ticket, dict[str, Any]]:
    [draft] = drafts_of(world.engine, uid)
    assert draft.status == DraftStatus.accepted and draft.decided_by == "system"
    with Session(world.engine) as session:
        ticket = session.get(Ticket, draft.ticket_id)
        assert ticket is not None
        return ticket, draft.suggestions


def unit_name(world: ApiWorld, unit_id: int | None) -> str | None:
    with Session(world.engine) as session:
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        return unit.name if unit else None


def events(world: ApiWorld, ticket: Ticket) -> list[tuple[str, str]]:
    r = world.client("operator").get(f"/api/tickets/{ticket.number}/events")
    assert r.status_code == 200, r.text
    return [(e["action"], e["actor"]) for e in r.json()]


def test_given_default_settings_then_automatic_dispatch_is_off() -> None:
    assert Settings().intake.auto_dispatch_confidence is None


def test_given_the_setting_in_the_environment_then_it_is_read_and_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOTLINE_INTAKE__AUTO_DISPATCH_CONFIDENCE", "0.85")
    assert Settings().intake.auto_dispatch_confidence == 0.85
    monkeypatch.setenv("HOTLINE_INTAKE__AUTO_DISPATCH_CONFIDENCE", "1.5")
    with pytest.raises(ValidationError, match="auto_dispatch_confidence"):
        Settings()


def test_given_a_threshold_when_a_confident_message_is_left_then_it_is_dispatched_by_system(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path, 0.8)
    recs = make_call(api_world.engine, "1765.1", kinds=MESSAGE)
    transcribed(api_world.engine, drafts, recs["message"], STREET_LIGHT)

    ticket, suggestions = ticket_of(api_world, "1765.1")
    unit, confidence = suggestions["unit"]["value"], suggestions["unit"]["confidence"]
    assert unit == "市城管局" and confidence >= 0.8
    assert ticket.status == "dispatched"
    assert unit_name(api_world, ticket.main_unit_id) == unit
    assert events(api_world, ticket) == [("create", "system"), ("dispatch", "system")]
    changes = feed(api_world)
    assert [(c["kind"], c["action"]) for c in changes] == [
        ("event", "create"), ("draft", "accepted"), ("event", "dispatch"),
        ("draft", "auto_dispatched")]
    logged = changes[-1]
    assert logged["ticket_id"] == ticket.id and logged["number"] == ticket.number
    assert logged["payload"] == {"call_uniqueid": "1765.1", "by": "system", "unit": unit,
                                 "confidence": confidence, "threshold": 0.8}
    with Session(api_world.engine) as session:  # the unit sees its new work order
        assert session.exec(select(Ticket.id).where(Ticket.main_unit_id == ticket.main_unit_id)
                            ).all() == [ticket.id]


@pytest.mark.parametrize(("threshold", "text"), [(None, STREET_LIGHT), (0.8, NOISE),
                                                 (0.5, FIRE)])
def test_given_off_below_threshold_or_emergency_when_message_left_then_accepted_only(
    api_world: ApiWorld, tmp_path: Path, threshold: float | None, text: str
) -> None:
    drafts = hook(api_world, tmp_path, threshold)
    recs = make_call(api_world.engine, "1765.2", kinds=MESSAGE)
    transcribed(api_world.engine, drafts, recs["message"], text)

    ticket, suggestions = ticket_of(api_world, "1765.2")
    if text == NOISE:
        assert 0 < suggestions["unit"]["confidence"] < 0.8
    if text == FIRE:
        assert suggestions["unit"]["confidence"] >= 0.5 and suggestions["emergency"]["value"]
    assert ticket.status == "accepted" and ticket.main_unit_id is None
    assert events(api_world, ticket) == [("create", "system")]
    assert "auto_dispatched" not in [c["action"] for c in feed(api_world)]


def test_given_a_threshold_when_an_answered_call_leaves_a_confident_message_then_dispatched(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path, 0.8)
    recs = make_call(api_world.engine, "1765.3", kinds=("caller",), answered_by="seat-2")
    transcribed(api_world.engine, drafts, recs["caller"], STREET_LIGHT)
    [caller_draft] = drafts_of(api_world.engine, "1765.3")
    assert caller_draft.status == DraftStatus.open  # the caller's side: the operator decides

    transcribed(api_world.engine, drafts, message_later(api_world.engine, "1765.3"),
                STREET_LIGHT)

    ticket, _ = ticket_of(api_world, "1765.3")
    assert ticket.status == "dispatched"
    assert events(api_world, ticket) == [("create", "system"), ("dispatch", "system")]
