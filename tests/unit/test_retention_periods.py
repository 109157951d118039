"""The retention periods set on the supervisor's page: validated whole days per kind, stored
over the settings' defaults, each change in the audit log with the old and new days, CSRF-
protected like every form, and used by the clean-up from then on: by the app's job and by
``hotline retention run`` in another process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from hotline.audit.models import AuditEntry
from hotline.calls.models import Recording
from hotline.retention.models import RetentionPeriod
from hotline.retention.periods import RetentionPeriodError, parse_days
from hotline.web.pages import RecordingsConsole, supervisor
from tests.api import CENTER, PASSWORD, ApiWorld, sqlite_engine, sqlite_template  # noqa: F401
from tests.composed_app import TestClient
from tests.unit.test_retention import files, recorded, rows, world  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kept(files: ApiWorld) -> ApiWorld:  # noqa: F811
    """The retention world (``test_retention``): recordings folder, exports, the page."""
    return files


FORM = {"call_days": "400", "recording_days": "90", "export_days": "30"}  # = SETTINGS


def post(w: ApiWorld, user: str, **days: str):  # type: ignore[no-untyped-def]
    return w.client(user).post("/supervisor/retention/periods", data={**FORM, **days},
                               follow_redirects=False)


def edits(w: ApiWorld) -> list[AuditEntry]:
    return [e for e in rows(w.engine, AuditEntry) if e.action == "retention_edit"]


def test_given_a_shorter_recording_period_when_saved_then_logged_and_the_cleanup_uses_it(
        kept: ApiWorld) -> None:
    old = recorded(kept, "1700000000.1", days_ago=60)  # kept by the default of 90 days
    page = kept.client("supervisor").get("/supervisor/retention")
    assert 'data-count="recordings">录音 <b>0</b>' in page.text
    assert 'name="recording_days" value="90"' in page.text

    saved = post(kept, "supervisor", recording_days="30")

    assert saved.status_code == 303
    [entry] = edits(kept)
    assert (entry.actor, entry.role) == ("supervisor", "supervisor")
    assert entry.detail == {"old": {"calls": 400, "recordings": 90, "exports": 30},
                            "new": {"calls": 400, "recordings": 30, "exports": 30},
                            "changed": ["recordings"]}
    assert [(r.kind, r.days) for r in rows(kept.engine, RetentionPeriod)] == [("recordings", 30)]
    page = kept.client("supervisor").get(saved.headers["location"])
    assert f'data-saved="{entry.id}"' in page.text
    assert 'name="recording_days" value="30"' in page.text
    assert 'data-count="recordings">录音 <b>1</b>' in page.text
    assert "录音保留天数 90 天 → 30 天" in page.text
    kept.app.state.recordings_console = RecordingsConsole(root=kept.root_rec, tz=CENTER)  # type: ignore[attr-defined]
    kept.app.include_router(supervisor.router)  # the audit log's page
    audit = kept.client("supervisor").get("/supervisor/audit").text
    assert "修改保留期限" in audit and "录音 90 天 → 30 天" in audit

    kept.client("supervisor").post("/supervisor/retention/run")  # the job's run
    assert not old.path.exists() and rows(kept.engine, Recording) == []


def test_given_an_admin_then_periods_can_be_set_and_an_empty_field_keeps_forever(
        kept: ApiWorld) -> None:
    old = recorded(kept, "1700000000.1", days_ago=5000)
    assert post(kept, "admin", recording_days="", call_days="").status_code == 303
    [entry] = edits(kept)
    assert entry.detail is not None
    assert entry.detail["new"] == {"calls": None, "recordings": None, "exports": 30}
    assert entry.actor == "admin"
    kept.client("admin").post("/supervisor/retention/run")
    assert old.path.exists() and len(rows(kept.engine, Recording)) == 1
    page = kept.client("admin").get("/supervisor/retention").text
    assert 'name="recording_days" value=""' in page and "录音保留天数 90 天 → 永久" in page


def test_given_the_same_periods_when_saved_then_nothing_is_stored_or_logged(
        kept: ApiWorld) -> None:
    saved = post(kept, "supervisor")
    assert saved.headers["location"].endswith("saved=0")
    assert edits(kept) == [] and rows(kept.engine, RetentionPeriod) == []
    assert "保留期限没有变化" in kept.client("supervisor").get(saved.headers["location"]).text


@pytest.mark.parametrize("typed", ["0", "-3", "1.5", "abc", "3651", "３０", "1e3"])
def test_given_a_bad_period_then_400_naming_the_field_and_nothing_changes(
        kept: ApiWorld, typed: str) -> None:
    refused = post(kept, "supervisor", export_days=typed)
    assert refused.status_code == 400
    assert 'data-field="export_days"' in refused.text
    assert "导出文件保留天数须为 1 到 3650 之间的整数天" in refused.text
    assert f'name="export_days" value="{typed}"' in refused.text  # what was typed stays
    assert edits(kept) == [] and rows(kept.engine, RetentionPeriod) == []


def test_parse_days_takes_whole_days_in_range_or_empty_for_forever() -> None:
    assert parse_days("call_days", " 365 ") == 365
    assert parse_days("call_days", "1") == 1 and parse_days("call_days", "3650") == 3650
    assert parse_days("call_days", "") is None
    with pytest.raises(RetentionPeriodError) as caught:
        parse_days("call_days", "0")
    assert caught.value.field == "call_days" and "通话记录保留天数" in caught.value.message


def test_given_other_roles_then_refused(kept: ApiWorld) -> None:
    for user in ("operator", "callback", "cg"):
        assert post(kept, user, recording_days="1").status_code == 403
    assert edits(kept) == [] and rows(kept.engine, RetentionPeriod) == []


def test_given_a_session_cookie_then_the_form_needs_its_csrf_token(kept: ApiWorld) -> None:
    with TestClient(kept.app, base_url="http://console.test") as browser:
        login = browser.post("/api/login", json={"username": "supervisor",
                                                 "password": PASSWORD})
        token = login.headers["x-csrf-token"]
        missing = browser.post("/supervisor/retention/periods",
                               data={**FORM, "recording_days": "30"}, follow_redirects=False)
        assert missing.status_code == 403 and edits(kept) == []
        page = browser.get("/supervisor/retention").text
        assert f'name="csrf_token" value="{token}"' in page
        ok = browser.post("/supervisor/retention/periods", follow_redirects=False,
                          data={**FORM, "recording_days": "30", "csrf_token": token})
        assert ok.status_code == 303 and len(edits(kept)) == 1


def test_given_a_period_set_on_the_page_then_the_command_in_another_process_uses_it(
        kept: ApiWorld, tmp_path: Path) -> None:
    old = recorded(kept, "1700000000.1", days_ago=60)
    assert post(kept, "supervisor", recording_days="30").status_code == 303
    db = str(kept.engine.url).removeprefix("sqlite:///")
    (tmp_path / "s.yaml").write_text(
        f"db: {{url: 'sqlite:///{db}'}}\nrecordings: {{dir: '{tmp_path / 'rec'}'}}\n"
        f"retention: {{exports_dir: '{tmp_path / 'exports'}', recording_days: 90}}\n")
    done = subprocess.run([sys.executable, "-m", "hotline", "--settings",
                           str(tmp_path / "s.yaml"), "retention", "run"],
                          cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "deleted: 0 call records, 1 recordings" in done.stdout
    assert not old.path.exists()
    with Session(kept.engine) as session:
        entry = session.get(AuditEntry, max(e.id or 0 for e in rows(kept.engine, AuditEntry)))
        assert entry is not None and entry.actor == "cli"
        assert entry.detail is not None and entry.detail["days"]["recordings"] == 30


def test_the_migration_makes_the_table_the_model_says(kept: ApiWorld) -> None:
    with kept.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "retention_period" in repr(d)] == []
