"""An emergency suggested for a caller interrupts the operator at once: an ``alert`` change
(action ``emergency``) reaches the ticket change feed before the draft's own change, once per
call and line, operators only; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from tests.api import ApiWorld
from tests.unit.test_drafts import (
    STREET_LIGHT,
    drafts_of,
    feed,
    hook,
    make_call,
    message_later,
    transcribed,
)

FIRE = "救命啊，我家楼下着火了，火很大，有人被困在里面！"
COLLAPSE = "我老公突然倒地不省人事，快叫救护车"


def test_given_a_caller_in_danger_when_the_transcript_is_done_then_an_alert_before_the_draft(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    woken: list[int] = []
    recs = make_call(api_world.engine, "1764.40", answered_by="seat-1")
    transcribed(api_world.engine, hook(api_world, tmp_path, woken), recs["caller"], FIRE)

    [draft] = drafts_of(api_world.engine, "1764.40")
    alert, told = feed(api_world)
    assert (alert["kind"], alert["action"], alert["draft_id"]) == ("alert", "emergency", draft.id)
    assert alert["id"] < told["id"] and (told["kind"], told["action"]) == ("draft", "created")
    assert alert["payload"] == {
        "line": "119", "confidence": draft.suggestions["emergency"]["confidence"],
        "call_uniqueid": "1764.40", "source": "caller", "caller_number": "13800000000",
        "text": FIRE}
    assert woken == [1]  # the streams look at once
    assert feed(api_world, "cg") == []  # unit handlers are not interrupted


def test_given_a_message_in_danger_with_nobody_answering_then_an_alert_before_its_ticket(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    recs = make_call(api_world.engine, "1764.41", kinds=("full", "caller", "message"))
    transcribed(api_world.engine, hook(api_world, tmp_path), recs["message"], COLLAPSE)

    alert, *rest = feed(api_world)
    assert (alert["kind"], alert["action"], alert["payload"]["line"]) == (
        "alert", "emergency", "120")
    assert [(c["kind"], c["action"]) for c in rest] == [("event", "create"),
                                                        ("draft", "accepted")]
    assert rest[-1]["ticket_id"] is not None and alert["ticket_id"] is None


def test_given_an_emergency_already_told_when_the_draft_is_updated_then_not_told_again(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.42", kinds=("caller",), answered_by="seat-1")
    transcribed(api_world.engine, drafts, recs["caller"], FIRE)
    transcribed(api_world.engine, drafts, message_later(api_world.engine, "1764.42"),
                "楼下着火了，有人被困，快来救火！")

    assert [(c["kind"], c["action"]) for c in feed(api_world)] == [
        ("alert", "emergency"), ("draft", "created"), ("draft", "updated")]


def test_given_a_draft_without_danger_when_a_message_says_otherwise_then_told_then(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.44", kinds=("caller",), answered_by="seat-1")
    transcribed(api_world.engine, drafts, recs["caller"], STREET_LIGHT)
    transcribed(api_world.engine, drafts, message_later(api_world.engine, "1764.44"), COLLAPSE)

    assert [(c["kind"], c["action"], c["payload"].get("line")) for c in feed(api_world)] == [
        ("draft", "created", None), ("alert", "emergency", "120"), ("draft", "updated", None)]


def test_given_no_danger_then_no_alert(api_world: ApiWorld, tmp_path: Path) -> None:
    recs = make_call(api_world.engine, "1764.43", answered_by="seat-1")
    transcribed(api_world.engine, hook(api_world, tmp_path), recs["caller"], STREET_LIGHT)
    assert [c["kind"] for c in feed(api_world)] == ["draft"]
