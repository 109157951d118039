"""The supervisor's pages on a real database (SQLite and PostgreSQL): the recording audio
served with HTTP Range behind the role check, plays and downloads in the audit log, the search,
and the review of replies and extensions through the life-cycle actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel, col, select

from hotline.audit.models import AuditEntry
from hotline.db import session_scope
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.web.pages import RecordingsConsole, include_pages
from hotline.web.pages.supervisor import starts_a_play
from tests.api import (  # noqa: F401
    CENTER,
    ApiWorld,
    make_world,
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)
from tests.recordings import WORDS, add_recorded_call

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiWorld]:
    engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                     else "pg_engine")
    world = make_world(engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web",
                  recordings=RecordingsConsole(root=tmp_path / "rec", tz=CENTER))
    world.root = tmp_path / "rec"  # type: ignore[attr-defined]
    try:
        yield world
    finally:
        world.close()


def recorded(world: ApiWorld, **kw: object) -> tuple[int, bytes, str | None]:
    args: dict[str, object] = {"uniqueid": "1795000000.1", "caller": "13812345678",
                               "started": world.clock(), "unit": "市城管局", "words": WORDS}
    made = add_recorded_call(world.engine, world.root, **{**args, **kw})  # type: ignore
    return made.recording_id, made.path.read_bytes(), made.ticket


def entries(world: ApiWorld) -> list[AuditEntry]:
    with Session(world.engine) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all())


def test_given_range_headers_then_only_a_request_from_the_first_byte_starts_a_play() -> None:
    assert starts_a_play(None) and starts_a_play("bytes=0-") and starts_a_play("bytes=0-1")
    assert not starts_a_play("bytes=1024-") and not starts_a_play("bytes=10-20")


def test_given_a_recording_when_fetched_by_ranges_then_206_with_the_bytes_and_one_play_logged(
    world: ApiWorld,
) -> None:
    rec_id, data, _ = recorded(world)
    sup = world.client("supervisor")
    url = f"/supervisor/recordings/{rec_id}/audio"

    first = sup.get(url, headers={"Range": "bytes=0-"})
    assert first.status_code == 206
    assert first.headers["content-range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    assert first.headers["content-type"] == "audio/wav"
    assert first.headers["accept-ranges"] == "bytes"
    assert first.content == data

    seek = sup.get(url, headers={"Range": "bytes=1000-1999"})
    assert seek.status_code == 206
    assert seek.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert seek.content == data[1000:2000]

    assert sup.get(url, headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416
    whole = sup.get(url)
    assert whole.status_code == 200 and whole.content == data

    logged = entries(world)  # the start and the whole file; not the seek nor the refused one
    assert [(e.action, e.actor, e.recording_id) for e in logged] == [
        ("play", "supervisor", rec_id), ("play", "supervisor", rec_id)]
    assert logged[0].path.endswith("1795000000.1-full.wav")


def test_given_no_play_logged_when_the_audio_is_asked_from_a_later_byte_then_logged_once(
    world: ApiWorld,
) -> None:
    rec_id, data, _ = recorded(world)
    sup = world.client("supervisor")
    url = f"/supervisor/recordings/{rec_id}/audio"

    nearly_all = sup.get(url, headers={"Range": "bytes=1-"})  # skips the first byte only
    assert nearly_all.status_code == 206 and nearly_all.content == data[1:]
    assert sup.get(url, headers={"Range": "bytes=100-199"}).status_code == 206  # a seek
    world.clock.advance(minutes=31)
    assert sup.get(url, headers={"Range": "bytes=200-299"}).status_code == 206

    assert [(e.action, e.actor) for e in entries(world)] == [
        ("play", "supervisor"), ("play", "supervisor")]  # the first request, then after 30 min


def test_given_roles_when_they_ask_for_the_audio_then_listeners_play_and_only_some_download(
    world: ApiWorld,
) -> None:
    rec_id, data, number = recorded(world)
    url = f"/supervisor/recordings/{rec_id}"
    assert world.client("callback").get(f"{url}/audio").status_code == 200
    refused = world.client("callback").get(f"{url}/download")
    assert refused.status_code == 403
    assert refused.json()["error_id"] == "download-not-allowed"
    assert world.client("operator").get(f"{url}/audio").status_code == 403
    assert world.client("cg").get(f"{url}/audio").status_code == 403
    anonymous = world.anonymous().get(f"{url}/audio", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")

    got = world.client("admin").get(f"{url}/download")
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-disposition"].startswith("attachment")
    assert f"{number}-full.wav" in got.headers["content-disposition"]
    assert [(e.action, e.actor, e.role) for e in entries(world)] == [
        ("play", "callback", "callback_agent"), ("download", "admin", "admin")]


def test_given_plays_when_the_audit_page_is_read_then_it_lists_them_to_supervisors_only(
    world: ApiWorld,
) -> None:
    rec_id, _, _ = recorded(world)
    world.client("callback").get(f"/supervisor/recordings/{rec_id}/audio")
    world.client("supervisor").get(f"/supervisor/recordings/{rec_id}/download")
    page = world.client("supervisor").get("/supervisor/audit")
    assert page.status_code == 200
    assert page.text.count('class="audit-row"') == 2
    assert 'data-action="play" data-actor="callback"' in page.text
    assert 'data-action="download" data-actor="supervisor"' in page.text
    only = world.client("supervisor").get("/supervisor/audit", params={"actor": "callback"})
    assert only.text.count('class="audit-row"') == 1
    assert world.client("callback").get("/supervisor/audit").status_code == 403


def test_given_recordings_when_searched_then_filters_apply_and_zero_length_never_listed(
    world: ApiWorld,
) -> None:
    rec_id, _, number = recorded(world)
    other, _, _ = recorded(world, uniqueid="1795000100.2", caller="13900001111",
                           unit="市住建局", words=None)
    empty, _, _ = recorded(world, uniqueid="1795000200.3", caller="13812345678",
                           seconds=0.0, unit=None, words=None)
    sup = world.client("supervisor")

    def listed(**params: str) -> list[int]:
        page = sup.get("/supervisor/recordings", params=params)
        assert page.status_code == 200
        return sorted(int(part.split('"')[0]) for part in
                      page.text.split('class="recording-row" data-id="')[1:])

    assert listed() == sorted([rec_id, other])
    assert listed(ticket=number or "") == [rec_id]
    assert listed(caller="5678") == [rec_id]  # the zero-length one of that number is not
    assert listed(unit="市住建局") == [other]
    assert listed(day=world.clock().date().isoformat()) == sorted([rec_id, other])
    assert listed(day=date(2020, 1, 1).isoformat()) == []
    assert sup.get(f"/supervisor/recordings/{empty}/audio").status_code == 404

    player = sup.get(f"/supervisor/recordings/{rec_id}")
    assert player.text.count('class="w"') == len(WORDS)
    assert 'data-start="0.7"' in player.text and "解放路" in player.text
    assert entries(world) == []  # showing the player plays nothing


def _replied_with_extension(world: ApiWorld) -> str:
    now = world.clock()
    _, _, number = recorded(world)
    assert number is not None
    with session_scope(world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        assert ticket.id is not None
        for action in (lc.Sign(unit="市城管局"), lc.StartHandling(unit="市城管局"),
                       lc.RequestExtension(unit="市城管局", days=2, reason="需协调施工单位")):
            service.act(session=session, ticket_id=ticket.id, action=action, actor="cg",
                        now=now)
    return number


def test_given_an_extension_request_when_the_supervisor_approves_then_decided(
    world: ApiWorld,
) -> None:
    number = _replied_with_extension(world)
    sup = world.client("supervisor")
    page = sup.get("/supervisor")
    assert page.status_code == 200 and f'class="extension-row" data-number="{number}"' in page.text
    done = sup.post(f"/supervisor/tickets/{number}/extension",
                    data={"approve": "true", "reason": "同意"})
    assert done.status_code == 200 and f'data-done="{number}"' in done.text
    assert 'class="extension-row"' not in done.text
    with Session(world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        detail = service.get_ticket(session=session, ticket_id=ticket.id or 0)
    assert detail.status == "in_progress"
    assert world.client("callback").get("/supervisor").status_code == 403


def test_given_a_reply_when_sent_back_then_in_progress_and_a_stale_version_is_refused(
    world: ApiWorld,
) -> None:
    number = _replied_with_extension(world)
    with session_scope(world.engine) as session:
        ticket = service.get_by_number(session=session, number=number)
        service.act(session=session, ticket_id=ticket.id or 0, action=lc.Reply(
            unit="市城管局", text="已修复路灯"), actor="cg", now=world.clock())
        version = service.get_by_number(session=session, number=number).version
    sup = world.client("supervisor")
    assert f'class="review-row" data-number="{number}"' in sup.get("/supervisor").text
    stale = sup.post(f"/supervisor/tickets/{number}/review",
                     data={"approve": "true", "version": str(version - 1)})
    assert stale.status_code == 409
    assert 'data-error-id="ticket-changed-concurrently"' in stale.text
    back = sup.post(f"/supervisor/tickets/{number}/review",
                    data={"approve": "false", "reason": "未附现场照片", "version": str(version)})
    assert f'data-done="{number}"' in back.text
    with Session(world.engine) as session:
        assert service.get_by_number(session=session, number=number).status == "in_progress"


def test_given_the_migrations_then_the_audit_table_is_as_the_model_says(
    world: ApiWorld,
) -> None:
    with world.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "audit" in repr(d)] == []
