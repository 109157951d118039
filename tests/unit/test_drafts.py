"""Work-order drafts from transcripts (``hotline.intake.drafts``) and their API, on SQLite and
PostgreSQL: one draft per call, a message left with nobody answering becomes a ticket, an
operator accepts or discards, and every step reaches the ticket change feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from hotline.calls.models import Call, Recording
from hotline.config import Settings
from hotline.db import session_scope
from hotline.intake.drafts import DraftStatus, TicketDraft, TranscriptDrafts
from hotline.intake.understand import Understander
from hotline.stt import queue
from hotline.stt.models import JobStatus, Transcript, TranscriptionJob
from hotline.stt.service import TranscriptionService
from hotline.tickets.models import Ticket, TicketChange
from tests.api import ApiWorld

STREET_LIGHT = "我们小区门口的路灯坏了一个多星期了，麻烦派人来修一下。"
NOISE = "楼下饭店每天晚上噪音很大，吵得睡不着，希望有人管一管。"
STARTED = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def make_call(engine: Engine, uid: str, *, kinds: Sequence[str] = ("full", "caller"),
              answered_by: str | None = None) -> dict[str, int]:
    """A finished call with recordings of ``kinds``; returns kind -> recording id."""
    with session_scope(engine) as session:
        session.add(Call(uniqueid=uid, caller_number="13800000000", started_at=STARTED,
                         ended_at=STARTED, answered_by=answered_by))
        ids = {}
        for kind in kinds:
            rec = Recording(call_uniqueid=uid, kind=kind, path=f"2026/11/23/{uid}-{kind}.wav",
                            started_at=STARTED, complete=True)
            session.add(rec)
            session.flush()
            ids[kind] = rec.id or 0
        return ids


def transcribed(engine: Engine, drafts: TranscriptDrafts, recording_id: int, text: str) -> int:
    """The job and transcript of a recording, stored with the drafts hook as the service does."""
    with session_scope(engine) as session:
        rec = session.get(Recording, recording_id)
        assert rec is not None
        job = TranscriptionJob(recording_id=recording_id, audio_path=rec.path, language="zh",
                               status=JobStatus.done)
        session.add(job)
        session.flush()
        row = Transcript(job_id=job.id or 0, recording_id=recording_id, audio_path=rec.path,
                         language="zh", model_name="test", text=text, words=[],
                         audio_seconds=5.0, processing_seconds=1.0)
        session.add(row)
        session.flush()
        drafts(session, row)
        return row.id or 0


def message_later(engine: Engine, uid: str) -> int:
    """The operator sent the caller to leave a message: its recording, finished."""
    with session_scope(engine) as session:
        rec = Recording(call_uniqueid=uid, kind="message", path=f"m-{uid}.wav",
                        started_at=STARTED, complete=True)
        session.add(rec)
        session.flush()
        return rec.id or 0


def hook(world: ApiWorld, tmp_path: Path, woken: list[int] | None = None) -> TranscriptDrafts:
    return TranscriptDrafts(settings=Settings(home=tmp_path), clock=world.clock,
                            on_change=(lambda: woken.append(1)) if woken is not None else None)


def drafts_of(engine: Engine, uid: str) -> list[TicketDraft]:
    with Session(engine) as session:
        return list(session.exec(select(TicketDraft).where(TicketDraft.call_uniqueid == uid)))


def feed(world: ApiWorld, user: str = "operator") -> list[dict[str, Any]]:
    r = world.client(user).get("/api/ticket-changes", params={"after": 0})
    assert r.status_code == 200, r.text
    return list(r.json()["changes"])


def test_given_an_answered_call_when_its_caller_transcript_is_done_then_an_open_draft_is_told(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    woken: list[int] = []
    drafts = hook(api_world, tmp_path, woken)
    recs = make_call(api_world.engine, "1764.10", answered_by="seat-1")
    transcript_id = transcribed(api_world.engine, drafts, recs["caller"], STREET_LIGHT)

    [draft] = drafts_of(api_world.engine, "1764.10")
    assert draft.status == DraftStatus.open and draft.ticket_id is None
    assert draft.source == "caller" and draft.text == STREET_LIGHT
    assert draft.recording_id == recs["caller"] and draft.transcript_id == transcript_id
    assert sorted(draft.recording_ids) == sorted(recs.values())
    with Session(api_world.engine) as session:
        expected = Understander.from_session(session).understand(STREET_LIGHT).as_json()
        assert session.exec(select(Ticket)).first() is None
    assert draft.suggestions == expected
    assert set(draft.suggestions["unit"]) == {"value", "confidence"}
    assert woken == [1]  # after the commit: the streams look at once

    [change] = feed(api_world)
    assert change["kind"] == "draft" and change["action"] == "created"
    assert change["draft_id"] == draft.id and change["ticket_id"] is None
    assert change["payload"]["suggestions"] == expected
    assert feed(api_world, "cg") == []  # a unit handler is never told of drafts


def test_given_nobody_answered_when_the_message_transcript_is_done_then_it_becomes_a_ticket(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.11", kinds=("full", "caller", "message"))
    assert transcribed(api_world.engine, drafts, recs["caller"], "喂 你好") > 0
    assert drafts_of(api_world.engine, "1764.11") == []  # the message will say it better
    transcribed(api_world.engine, drafts, recs["message"], NOISE)

    [draft] = drafts_of(api_world.engine, "1764.11")
    assert draft.source == "message" and draft.text == NOISE
    assert draft.status == DraftStatus.accepted and draft.decided_by == "system"
    assert sorted(draft.recording_ids) == sorted(recs.values())
    with Session(api_world.engine) as session:
        ticket = session.get(Ticket, draft.ticket_id)
        assert ticket is not None
        assert ticket.channel == "phone" and ticket.call_uniqueid == "1764.11"
        assert ticket.transcript == NOISE and ticket.description == NOISE
        assert ticket.request_type == draft.suggestions["request_type"]["value"]
        assert ticket.main_unit_id is None  # never dispatched by itself
        assert ticket.caller_phone == "13800000000"

    changes = feed(api_world)
    assert [(c["kind"], c["action"]) for c in changes] == [("event", "create"),
                                                           ("draft", "accepted")]
    assert {c["ticket_id"] for c in changes} == {ticket.id}
    assert changes[1]["draft_id"] == draft.id and changes[1]["number"] == ticket.number
    r = api_world.client("operator").get(f"/api/tickets/{ticket.number}/events")
    assert r.status_code == 200 and r.json()[0]["actor"] == "system"


def test_given_a_caller_draft_when_a_message_arrives_later_then_the_message_replaces_it(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.12", kinds=("caller",), answered_by="seat-2")
    transcribed(api_world.engine, drafts, recs["caller"], STREET_LIGHT)
    transcribed(api_world.engine, drafts, message_later(api_world.engine, "1764.12"), NOISE)

    [draft] = drafts_of(api_world.engine, "1764.12")
    assert draft.source == "message" and draft.text == NOISE
    assert draft.status == DraftStatus.open  # a seat answered: an operator decides
    assert [c["action"] for c in feed(api_world)] == ["created", "updated"]


def test_given_an_open_draft_when_the_operator_accepts_then_the_ticket_is_linked(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.13", answered_by="seat-1")
    transcript_id = transcribed(api_world.engine, drafts, recs["caller"], STREET_LIGHT)
    op = api_world.client("operator")
    [listed] = op.get("/api/drafts", params={"call": "1764.13"}).json()
    assert op.get("/api/drafts").json()[0]["id"] == listed["id"]  # among the open ones

    body = {"request_type": "求助", "description": "小区门口路灯坏了一周", "location": "幸福小区"}
    r = op.post(f"/api/drafts/{listed['id']}/accept", json=body)
    assert r.status_code == 201, r.text
    accepted = r.json()
    assert accepted["draft"]["status"] == "accepted"
    assert accepted["draft"]["decided_by"] == "operator"
    assert accepted["draft"]["transcript_id"] == transcript_id
    ticket = op.get(f"/api/tickets/{accepted['number']}").json()
    assert ticket["call_uniqueid"] == "1764.13" and ticket["transcript"] == STREET_LIGHT
    assert ticket["description"] == body["description"] and ticket["location"] == "幸福小区"
    assert op.get(f"/api/drafts/{listed['id']}").json()["ticket_id"] == accepted["ticket_id"]

    again = op.post(f"/api/drafts/{listed['id']}/accept", json=body)
    assert again.status_code == 409 and again.json()["error_id"] == "draft-not-open"
    assert [(c["kind"], c["action"]) for c in feed(api_world)] == [
        ("draft", "created"), ("event", "create"), ("draft", "accepted")]
    assert op.get("/api/drafts").json() == []


def test_given_an_open_draft_when_discarded_then_it_cannot_be_accepted(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.14", answered_by="seat-1")
    transcribed(api_world.engine, drafts, recs["caller"], NOISE)
    [draft] = drafts_of(api_world.engine, "1764.14")
    sup = api_world.client("supervisor")

    r = sup.post(f"/api/drafts/{draft.id}/discard")
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    r = sup.post(f"/api/drafts/{draft.id}/accept",
                 json={"request_type": "投诉", "description": "噪音"})
    assert r.status_code == 409 and r.json()["details"]["status"] == "discarded"
    assert [c["action"] for c in feed(api_world)] == ["created", "discarded"]
    with Session(api_world.engine) as session:
        assert session.exec(select(Ticket)).first() is None


def test_given_unknown_draft_or_wrong_role_then_404_and_403(api_world: ApiWorld) -> None:
    r = api_world.client("operator").get("/api/drafts/999")
    assert r.status_code == 404 and r.json()["error_id"] == "no-such-draft"
    assert api_world.client("cg").get("/api/drafts").status_code == 403
    assert api_world.client("callback").post("/api/drafts/1/discard").status_code == 403


def test_given_an_upload_or_a_full_recording_then_no_draft(
    api_world: ApiWorld, tmp_path: Path
) -> None:
    drafts = hook(api_world, tmp_path)
    recs = make_call(api_world.engine, "1764.15", kinds=("full",))
    transcribed(api_world.engine, drafts, recs["full"], NOISE)
    with session_scope(api_world.engine) as session:
        job = queue.enqueue(session=session, audio_path="/tmp/upload.wav", language="zh")
        row = Transcript(job_id=job.id or 0, audio_path=job.audio_path, language="zh",
                         model_name="test", text=NOISE, words=[], audio_seconds=1.0,
                         processing_seconds=0.1)
        session.add(row)
        session.flush()
        drafts(session, row)
    with Session(api_world.engine) as session:
        assert session.exec(select(TicketDraft)).first() is None
        assert session.exec(select(TicketChange)).first() is None


def test_given_a_failing_hook_when_the_service_stores_a_transcript_then_it_is_kept(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    make_call(sqlite_engine, "1764.16", kinds=("caller",))

    def broken(session: Session, transcript: Transcript) -> None:
        session.add(TicketDraft(call_uniqueid="1764.16", source="caller",
                                created_at=STARTED, updated_at=STARTED))
        session.flush()
        raise RuntimeError("the understanding broke")

    service = TranscriptionService(Settings(home=tmp_path), sqlite_engine, on_transcript=broken)
    with session_scope(sqlite_engine) as session:
        queue.enqueue_finished_recordings(session=session, kinds=["caller"], language="zh")
        [claim] = queue.claim(session=session, languages=["zh"], limit=1, lease_seconds=30)
    result = {"model_name": "m", "text": "x", "words": [], "audio_seconds": 1.0,
              "processing_seconds": 0.1}
    with session_scope(sqlite_engine) as session:
        assert service._complete(session, claim, result) is not None
    with Session(sqlite_engine) as session:
        assert session.exec(select(Transcript)).one().text == "x"
        assert session.exec(select(TicketDraft)).first() is None  # rolled back to the savepoint


def test_given_the_migrations_then_the_draft_tables_are_as_the_models_say(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "draft" in repr(d) or "ticket_change" in repr(d)] == []
