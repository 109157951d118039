"""Calls that are not requests (无效来电, ``hotline.intake.not_request``) on SQLite and
PostgreSQL: the seat marks an answered call silent, a wrong number, harassment…; its draft is
discarded with the reason (made empty when no transcript has arrived yet, and a transcript
arriving later makes no new one), the change is told with the reason, the 受理 clock stops and
no ticket is made. A call with a ticket, ``other`` without a note, an unknown call and a second
mark are refused with errors naming them. Through the API and through the seat's pop."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from hotline.calls.models import Call, Recording
from hotline.db import session_scope
from hotline.intake import not_request
from hotline.intake.drafts import DraftStatus
from hotline.intake.not_request import NotRequest, mark_not_request
from hotline.tickets.accept import due_calls, running_clock
from hotline.tickets.models import Ticket
from tests.api import ApiWorld
from tests.unit.test_drafts import NOISE, STARTED, drafts_of, feed, hook, make_call, transcribed
from tests.unit.test_seat_transfer import UID, answered
from tests.unit.test_seat_transfer import world as seat_world  # noqa: F401 - fixture


def queue_answered(world: ApiWorld, uid: str) -> None:
    """A finished call seat-1 answered through the queue (its 受理 clock runs), recordings."""
    make_call(world.engine, uid, answered_by="seat-1")
    with session_scope(world.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == uid)).one()
        call.queue_outcome, call.queue_joined_at, call.queue_wait_seconds = (
            "answered", STARTED, 5)
        call.direction = "in"


def clock_runs(world: ApiWorld, uid: str) -> bool:
    with Session(world.engine) as session:
        call = session.exec(select(Call).where(Call.uniqueid == uid)).one()
        return running_clock(session=session, call=call) is not None


def test_given_an_answered_call_without_a_draft_when_marked_silent_then_no_ticket_and_no_clock(
    api_world: ApiWorld, tmp_path: Path,
) -> None:
    queue_answered(api_world, "1764.30")
    assert clock_runs(api_world, "1764.30")
    r = api_world.client("operator").post("/api/drafts/not-request",
                                          json={"call": "1764.30", "reason": "silent"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["discard_reason"], body["decided_by"], body["source"]) == (
        "discarded", "silent", "operator", "seat")
    assert not clock_runs(api_world, "1764.30")
    with Session(api_world.engine) as session:  # the scan of a minute later leaves it out
        now = STARTED + timedelta(seconds=65)
        assert session.connection().execute(due_calls(now=now, since=now)).all() == []
        assert session.exec(select(Ticket)).first() is None
    [change] = feed(api_world)
    assert (change["kind"], change["action"], change["payload"]["reason"],
            change["payload"]["call_uniqueid"]) == ("draft", "discarded", "silent", "1764.30")

    # The caller's side is transcribed after the hang-up: no new draft, no change told.
    transcribed(api_world.engine, hook(api_world, tmp_path), caller_side(api_world, "1764.30"),
                NOISE)
    [draft] = drafts_of(api_world.engine, "1764.30")
    assert draft.status == DraftStatus.discarded and draft.text == ""
    assert len(feed(api_world)) == 1


def caller_side(world: ApiWorld, uid: str) -> int:
    """The id of the call's caller-side recording (``make_call`` made it)."""
    with Session(world.engine) as session:
        found = session.exec(select(Recording.id).where(Recording.call_uniqueid == uid,
                                                        Recording.kind == "caller")).one()
        assert found is not None
        return found


def test_given_an_open_draft_when_marked_other_with_a_note_then_that_draft_is_discarded(
    api_world: ApiWorld, tmp_path: Path,
) -> None:
    queue_answered(api_world, "1764.31")
    transcribed(api_world.engine, hook(api_world, tmp_path), caller_side(api_world, "1764.31"),
                NOISE)
    op = api_world.client("operator")
    refused = op.post("/api/drafts/not-request", json={"call": "1764.31", "reason": "other"})
    assert refused.status_code == 422 and refused.json()["details"]["field"] == "note"
    r = op.post("/api/drafts/not-request",
                json={"call": "1764.31", "reason": "other", "note": "  咨询 114\n查号  "})
    assert r.status_code == 200, r.text
    [draft] = drafts_of(api_world.engine, "1764.31")
    assert (draft.status, draft.discard_reason, draft.discard_note, draft.text) == (
        DraftStatus.discarded, "other", "咨询 114 查号", NOISE)
    again = op.post("/api/drafts/not-request", json={"call": "1764.31", "reason": "silent"})
    assert again.status_code == 409 and again.json()["error_id"] == "draft-not-open"


def test_given_a_ticket_or_an_unknown_call_then_marking_is_refused_naming_it(
    api_world: ApiWorld,
) -> None:
    queue_answered(api_world, "1764.32")
    op = api_world.client("operator")
    taken = op.post("/api/tickets", json={"request_type": "求助", "description": "路灯坏了",
                                          "caller_phone": "13800000000",
                                          "call_uniqueid": "1764.32"})
    assert taken.status_code == 201, taken.text
    r = op.post("/api/drafts/not-request", json={"call": "1764.32", "reason": "test"})
    assert r.status_code == 409 and r.json()["error_id"] == "call-already-taken"
    assert taken.json()["number"] in r.json()["message"]
    assert drafts_of(api_world.engine, "1764.32") == []
    r = op.post("/api/drafts/not-request", json={"call": "nope", "reason": "test"})
    assert r.status_code == 404 and r.json()["details"]["call"] == "nope"
    r = op.post("/api/drafts/not-request", json={"call": "1764.32", "reason": "bored"})
    assert r.status_code == 422
    assert api_world.client("cg").post("/api/drafts/not-request",
                                       json={"call": "1764.32", "reason": "test"}
                                       ).status_code == 403


def test_given_a_draft_discarded_through_the_api_with_a_reason_then_it_is_kept(
    api_world: ApiWorld, tmp_path: Path,
) -> None:
    make_call(api_world.engine, "1764.33", answered_by="seat-1")
    transcribed(api_world.engine, hook(api_world, tmp_path), caller_side(api_world, "1764.33"),
                NOISE)
    [draft] = drafts_of(api_world.engine, "1764.33")
    sup = api_world.client("supervisor")
    r = sup.post(f"/api/drafts/{draft.id}/discard", json={"reason": "harassment"})
    assert r.status_code == 200 and r.json()["discard_reason"] == "harassment"
    assert feed(api_world)[-1]["payload"]["reason"] == "harassment"


def test_the_pop_marks_the_call_not_a_request_and_then_says_so(seat_world: ApiWorld) -> None:  # noqa: F811
    world = seat_world
    answered(world)
    op = world.client("operator")
    pop = op.get("/seat/pop").text
    assert 'id="mark-not-request"' in pop and 'data-key="Alt+W"' in pop
    assert '<option value="wrong_number">打错电话</option>' in pop
    refused = op.post("/seat/not-request", data={"call_uniqueid": UID,
                                                  "not_request_reason": "other"})
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == "#form-error"
    assert "请注明" in refused.text
    done = op.post("/seat/not-request", data={"call_uniqueid": UID,
                                               "not_request_reason": "wrong_number",
                                               "not_request_note": "找派出所"})
    assert done.status_code == 200, done.text
    assert 'id="not-request-done" data-reason="wrong_number"' in done.text
    assert "打错电话" in done.text and "找派出所" in done.text
    pop = op.get("/seat/pop").text  # drawn again: the mark, the form folded away, no clock
    assert 'id="not-request" data-reason="wrong_number"' in pop
    assert "已标记为无效来电：打错电话（找派出所） · operator" in pop
    assert 'id="take-anyway"' in pop and 'id="mark-not-request"' not in pop
    assert 'id="accept-clock"' not in pop
    with Session(world.engine) as session:
        assert session.exec(select(Ticket)).first() is None
    # The seat changes its mind: a ticket is still taken for the call from the folded form.
    taken = op.post("/seat/tickets", data={"do": "dispatch", "description": "其实是路灯坏了",
                                           "caller_phone": "13812345678", "call_uniqueid": UID,
                                           "main_unit": "市城管局", "draft_id": ""})
    assert taken.status_code == 200 and 'id="taken"' in taken.text


def test_given_the_transcription_drafting_the_call_meanwhile_then_its_draft_is_discarded(
    api_world: ApiWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The transcription's draft is stored between the mark's look for a draft and its insert
    (the look is made to miss it once): the insert meets the unique call, is undone to its
    savepoint, and the transcription's draft is the one discarded."""
    queue_answered(api_world, "1764.34")
    transcribed(api_world.engine, hook(api_world, tmp_path), caller_side(api_world, "1764.34"),
                NOISE)
    looked = not_request._draft_of
    misses = iter([True])
    monkeypatch.setattr(not_request, "_draft_of", lambda session, uid: (
        None if next(misses, False) else looked(session, uid)))
    with session_scope(api_world.engine) as session:
        mark_not_request(session=session, call_uniqueid="1764.34", reason=NotRequest.TEST,
                         actor="op", now=STARTED)
    [draft] = drafts_of(api_world.engine, "1764.34")
    assert (draft.status, draft.discard_reason, draft.source, draft.text) == (
        DraftStatus.discarded, "test", "caller", NOISE)
