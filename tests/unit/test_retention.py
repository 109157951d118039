"""Retention on a real SQLite database with real files in a temporary folder: what is older than
its period is deleted (files, rows, transcripts), nothing of a call behind an open ticket is,
a dry run deletes nothing, each clean-up is in the audit log, the supervisor's page shows it,
and ``hotline retention run`` does the same from the command line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.audit.models import AuditEntry
from hotline.calls.models import Call, Recording
from hotline.db import session_scope
from hotline.outbound.agent_calls import start_agent_call
from hotline.outbound.ami import channel_id
from hotline.outbound.models import OutboundAttempt, OutboundCall
from hotline.outbound.rules import TrunkLimits
from hotline.retention.job import RetentionJob
from hotline.retention.service import run_cleanup
from hotline.retention.settings import RetentionSettings
from hotline.stt.models import Transcript, TranscriptionJob
from hotline.tickets.models import Ticket
from hotline.web.pages import include_pages
from tests.api import ApiWorld, make_world, sqlite_engine, sqlite_template  # noqa: F401
from tests.recordings import WORDS, RecordedCall, add_recorded_call, write_wav

REPO = Path(__file__).resolve().parents[2]
SETTINGS = RetentionSettings(call_days=400, recording_days=90, export_days=30)


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:  # noqa: F811
    world = make_world(sqlite_engine, tmp_path)
    world.app.state.retention = RetentionJob(
        engine=sqlite_engine, clock=world.clock, settings=SETTINGS,
        recordings_root=tmp_path / "rec", exports_dir=tmp_path / "exports")
    include_pages(world.app, web_dir=REPO / "web")
    try:
        yield world
    finally:
        world.close()


def recorded(world: ApiWorld, uid: str, *, days_ago: float, unit: str | None = None
             ) -> RecordedCall:
    return add_recorded_call(world.engine, world.root_rec, uniqueid=uid,  # type: ignore[attr-defined]
                             caller="13812345678", started=world.clock() - timedelta(days=days_ago),
                             unit=unit, words=WORDS)


@pytest.fixture
def files(world: ApiWorld, tmp_path: Path) -> ApiWorld:
    world.root_rec = tmp_path / "rec"  # type: ignore[attr-defined]
    return world


def export(tmp_path: Path, name: str, *, days_ago: float, now: float) -> Path:
    path = tmp_path / "exports" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 1000)
    stamp = now - days_ago * 86400
    os.utime(path, (stamp, stamp))
    return path


def close_ticket(engine: Engine, number: str | None) -> None:
    with session_scope(engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == number)).one()
        ticket.status = "closed"
        session.add(ticket)


def run(world: ApiWorld, tmp_path: Path, *, dry_run: bool):  # type: ignore[no-untyped-def]
    return run_cleanup(engine=world.engine, settings=SETTINGS, now=world.clock(),
                       recordings_root=tmp_path / "rec", exports_dir=tmp_path / "exports",
                       dry_run=dry_run, actor="sup", role="supervisor")


def rows(engine: Engine, model: type) -> list:  # type: ignore[type-arg]
    with Session(engine) as session:
        return list(session.exec(select(model)).all())


def test_given_old_and_new_items_when_cleaned_then_only_the_old_ones_go_with_their_rows(
        files: ApiWorld, tmp_path: Path) -> None:
    world = files
    old = recorded(world, "1700000000.1", days_ago=100)
    new = recorded(world, "1700000000.2", days_ago=10)
    ancient = recorded(world, "1700000000.3", days_ago=500)
    now = world.clock().timestamp()
    stale = export(tmp_path, "2026/report-old.xlsx", days_ago=31, now=now)
    fresh = export(tmp_path, "report-new.xlsx", days_ago=2, now=now)
    size = old.path.stat().st_size

    report = run(world, tmp_path, dry_run=False)

    assert not old.path.exists() and not ancient.path.exists() and new.path.exists()
    assert not stale.exists() and fresh.exists()
    assert {r.id for r in rows(world.engine, Recording)} == {new.recording_id}
    assert {t.recording_id for t in rows(world.engine, Transcript)} == {new.recording_id}
    assert {j.recording_id for j in rows(world.engine, TranscriptionJob)} == {new.recording_id}
    # call records have their own, longer period: only the 500-day-old one goes
    assert {c.uniqueid for c in rows(world.engine, Call)} == {"1700000000.1", "1700000000.2"}
    counts = report.summary()
    assert (counts["recordings"], counts["recording_bytes"]) == (2, 2 * size)
    assert (counts["exports"], counts["export_bytes"], counts["calls"]) == (1, 1000, 1)
    [entry] = rows(world.engine, AuditEntry)
    assert (entry.action, entry.actor) == ("retention", "sup")
    assert entry.detail["recordings"] == 2 and entry.detail["recording_bytes"] == 2 * size
    assert entry.detail["exports"] == 1 and entry.detail["calls"] == 1


def test_given_a_dry_run_then_it_lists_what_would_go_and_deletes_nothing(
        files: ApiWorld, tmp_path: Path) -> None:
    old = recorded(files, "1700000000.1", days_ago=100)
    report = run(files, tmp_path, dry_run=True)
    assert [i.name for i in report.plan.recordings] == [
        r.path for r in rows(files.engine, Recording)]
    assert old.path.exists() and len(rows(files.engine, Recording)) == 1
    assert rows(files.engine, AuditEntry) == []


def test_given_an_open_ticket_then_its_recording_and_call_are_kept_until_it_is_closed(
        files: ApiWorld, tmp_path: Path) -> None:
    held = recorded(files, "1700000000.1", days_ago=600, unit="市城管局")
    report = run(files, tmp_path, dry_run=False)
    assert held.path.exists() and len(rows(files.engine, Recording)) == 1
    assert len(rows(files.engine, Call)) == 1
    assert (report.plan.kept_recordings, report.plan.kept_calls) == (1, 1)

    close_ticket(files.engine, held.ticket)
    report = run(files, tmp_path, dry_run=False)
    assert not held.path.exists() and rows(files.engine, Recording) == []
    assert rows(files.engine, Call) == [] and report.plan.kept_recordings == 0


def test_given_periods_of_none_then_nothing_is_deleted(files: ApiWorld, tmp_path: Path) -> None:
    old = recorded(files, "1700000000.1", days_ago=5000)
    report = run_cleanup(engine=files.engine, settings=RetentionSettings(
        call_days=None, recording_days=None, export_days=None), now=files.clock(),
        recordings_root=tmp_path / "rec", exports_dir=tmp_path / "exports", dry_run=False)
    assert old.path.exists() and report.plan.counts()["recordings"] == 0


def test_the_page_shows_the_preview_and_the_button_runs_and_logs_the_cleanup(
        files: ApiWorld, tmp_path: Path) -> None:
    old = recorded(files, "1700000000.1", days_ago=100)
    sup = files.client("supervisor")
    page = sup.get("/supervisor/retention")
    assert page.status_code == 200
    assert 'data-count="recordings">录音 <b>1</b>' in page.text
    rel = old.path.relative_to(tmp_path / "rec")
    assert f'<td class="path">{rel}</td>' in page.text
    assert old.path.exists()  # showing is not deleting

    done = sup.post("/supervisor/retention/run", follow_redirects=False)
    assert done.status_code == 303
    assert not old.path.exists()
    page = sup.get(done.headers["location"])
    assert 'class="cleanup"' in page.text and "supervisor" in page.text
    assert files.client("operator").get("/supervisor/retention").status_code == 403


def test_the_command_runs_dry_then_for_real(files: ApiWorld, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline import cli

    old = recorded(files, "1700000000.1", days_ago=400)
    db = str(files.engine.url).removeprefix("sqlite:///")
    args = ["--settings", str(tmp_path / "none.yaml")]
    (tmp_path / "none.yaml").write_text(
        f"db: {{url: 'sqlite:///{db}'}}\nrecordings: {{dir: '{tmp_path / 'rec'}'}}\n"
        f"retention: {{exports_dir: '{tmp_path / 'exports'}', recording_days: 90}}\n")
    assert cli.main([*args, "retention", "run", "--dry-run"]) == 0
    assert "would delete: 0 call records, 1 recordings" in capsys.readouterr().out
    assert old.path.exists()
    assert cli.main([*args, "retention", "run"]) == 0
    assert "deleted: 0 call records, 1 recordings" in capsys.readouterr().out
    assert not old.path.exists()
    assert [e.actor for e in rows(files.engine, AuditEntry)] == ["cli"]


def survey_comment(world: ApiWorld, ticket_number: str | None, *, days_ago: float
                   ) -> RecordedCall:
    """A survey call for the ticket, its comment recorded on ``hotline-ob-<attempt id>``."""
    at = world.clock() - timedelta(days=days_ago)
    with session_scope(world.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == ticket_number)).one()
        assert ticket.id is not None
        call = OutboundCall(purpose="survey", dedupe_key=f"survey:{ticket.number}:0",
                            ticket_id=ticket.id, number=ticket.number, phone="13812345678",
                            status="done", created_at=at, updated_at=at)
        session.add(call)
        session.flush()
        assert call.id is not None
        attempt = OutboundAttempt(call_id=call.id, attempt=1, phone=call.phone,
                                  trunk="default", started_at=at, outcome="answered")
        session.add(attempt)
        session.flush()
        assert attempt.id is not None
        uid = channel_id(attempt.id)
    return add_recorded_call(world.engine, world.root_rec, uniqueid=uid,  # type: ignore[attr-defined]
                             caller="13812345678", started=at, kind="comment")


def test_given_an_open_ticket_then_its_survey_comment_recording_is_kept_until_it_is_closed(
        files: ApiWorld, tmp_path: Path) -> None:
    source = recorded(files, "1700000000.1", days_ago=120, unit="市城管局")
    comment = survey_comment(files, source.ticket, days_ago=100)
    other = recorded(files, "1700000000.2", days_ago=120, unit="市城管局")
    close_ticket(files.engine, other.ticket)
    gone = survey_comment(files, other.ticket, days_ago=100)

    report = run(files, tmp_path, dry_run=False)

    assert comment.path.exists() and source.path.exists()
    assert not gone.path.exists() and not other.path.exists()
    assert {r.id for r in rows(files.engine, Recording)} == {
        source.recording_id, comment.recording_id}
    assert report.plan.kept_recordings == 2

    close_ticket(files.engine, source.ticket)
    report = run(files, tmp_path, dry_run=False)
    assert not comment.path.exists() and rows(files.engine, Recording) == []
    assert report.plan.kept_recordings == 0


def test_given_a_merged_ticket_then_its_survey_comment_is_kept_while_its_parent_is_open(
        files: ApiWorld, tmp_path: Path) -> None:
    parent = recorded(files, "1700000000.1", days_ago=10, unit="市城管局")
    child = recorded(files, "1700000000.2", days_ago=10, unit="市城管局")
    with session_scope(files.engine) as session:
        tickets = {t.number: t for t in session.exec(select(Ticket)).all()}
        merged = tickets[child.ticket or ""]
        merged.status, merged.parent_id = "merged", tickets[parent.ticket or ""].id
        session.add(merged)
    comment = survey_comment(files, child.ticket, days_ago=100)

    run(files, tmp_path, dry_run=False)
    assert comment.path.exists()

    close_ticket(files.engine, parent.ticket)
    run(files, tmp_path, dry_run=False)
    assert not comment.path.exists()


def agent_callback(world: ApiWorld, ticket_number: str | None, *, days_ago: float) -> Path:
    """A callback agent's click-to-call for the ticket, stored by the real
    ``start_agent_call`` (call, attempt, bridged recording row), its file written, ended."""
    at = world.clock() - timedelta(days=days_ago)
    with session_scope(world.engine) as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == ticket_number)).one()
        placed = start_agent_call(session=session, ticket=ticket, phone="13812345678",
                                  agent="callback", agent_dial="PJSIP/cb1", now=at,
                                  trunk="default", limits=TrunkLimits())
        rec = session.exec(select(Recording).where(
            Recording.call_uniqueid == placed.uniqueid)).one()
        rec.complete = True
        call = session.exec(select(OutboundCall).where(
            OutboundCall.id == placed.call_id)).one()
        call.status = "done"
        call.active_number = None
    path = world.root_rec / placed.recording  # type: ignore[attr-defined]
    write_wav(path, seconds=2.0)
    return path


def test_given_an_open_ticket_then_its_agent_callback_recording_is_kept_until_it_is_closed(
        files: ApiWorld, tmp_path: Path) -> None:
    source = recorded(files, "1700000000.1", days_ago=120, unit="市城管局")
    kept = agent_callback(files, source.ticket, days_ago=100)
    other = recorded(files, "1700000000.2", days_ago=120, unit="市城管局")
    close_ticket(files.engine, other.ticket)
    gone = agent_callback(files, other.ticket, days_ago=100)
    assert kept.name.startswith("hotline-ag-") and kept.exists() and gone.exists()

    report = run(files, tmp_path, dry_run=False)
    assert kept.exists() and source.path.exists()
    assert not gone.exists() and not other.path.exists()
    assert report.plan.kept_recordings == 2

    close_ticket(files.engine, source.ticket)
    run(files, tmp_path, dry_run=False)
    assert not kept.exists() and rows(files.engine, Recording) == []
