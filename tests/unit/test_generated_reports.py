"""Scheduled reports (``oversight.generated``, ``scheduler.ReportScheduler``) on real SQLite
and PostgreSQL databases with real files in a temporary exports folder: each ended period is
generated once (two generators, as two processes, make one report; a restart catches up on
the missed periods, at most ``reports_catch_up`` of them), a folder that cannot be written is
a logged error naming the path, retried after a wait that doubles with each failure (the pass
interval first, at most six hours) without stopping the job, and the
retention clean-up deletes a report older than ``export_days`` and marks its row removed."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, update
from sqlmodel import Session, SQLModel, col, select

from hotline.audit.models import AuditEntry
from hotline.db import session_scope
from hotline.oversight.definitions import DEFAULT_RULES, PeriodKind, period
from hotline.oversight.generated import (
    RETRY_MAX,
    STALE_CLAIM,
    Outcome,
    ReportGenerator,
    ReportStatus,
    claim,
    listed_reports,
    retry_wait,
)
from hotline.oversight.models import OversightReport
from hotline.oversight.scheduler import ReportScheduler
from hotline.oversight.settings import OversightSettings
from hotline.retention.service import run_cleanup
from hotline.retention.settings import RetentionSettings
from hotline.tickets.units import load_default_list
from hotline.web.deps import CENTER_TZ as CST
from hotline.web.pages.reports import ReportHtml, listing
from tests.api import Clock

REPO = Path(__file__).resolve().parents[2]
# Tuesday 24 November 2026, 09:00: the 23rd (Monday) is due, the week of the 16th, October.
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=CST)
DAYS_ONLY = OversightSettings(reports_kinds=[PeriodKind.DAY], reports_catch_up=3)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    found: Engine = request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}"
                                            "_engine")
    with session_scope(found) as session:
        load_default_list(session=session)
    return found


def generator(engine: Engine, exports: Path, clock: Clock, *, who: str = "a",
              settings: OversightSettings = DAYS_ONLY) -> ReportGenerator:
    return ReportGenerator(engine=engine, clock=clock, settings=settings, zone=CST,
                           exports_dir=exports, rules=DEFAULT_RULES,
                           html=ReportHtml(REPO / "web"), who=who)


def rows(engine: Engine) -> list[OversightReport]:
    with Session(engine) as session:
        return list(session.exec(select(OversightReport).order_by(
            col(OversightReport.kind), col(OversightReport.period_start))).all())


def files_in(exports: Path) -> list[str]:
    return sorted(str(p.relative_to(exports)) for p in exports.rglob("*") if p.is_file())


def test_given_two_generators_then_each_period_is_generated_once(engine, tmp_path):
    exports, clock = tmp_path / "exports", Clock(NOW)
    first = generator(engine, exports, clock, who="host-1:10")
    second = generator(engine, exports, clock, who="host-2:20")
    done = first.run_due()
    assert [(o.label, o.status) for o in done] == [
        ("2026-11-23", "done"), ("2026-11-22", "done"), ("2026-11-21", "done")]
    written = files_in(exports)
    assert second.run_due() == [] and first.run_due() == []  # nothing due is left
    assert files_in(exports) == written
    found = rows(engine)
    assert [(r.kind, r.period_start.isoformat(), r.status, r.attempts, r.claimed_by)
            for r in found] == [("day", f"2026-11-2{d}", "done", 1, "host-1:10")
                                for d in (1, 2, 3)]
    report = found[-1]
    assert report.folder == "reports/day/2026-11-23"
    assert sorted(report.files) == [
        "day-2026-11-23-analyses.csv", "day-2026-11-23-calls.csv",
        "day-2026-11-23-ranking.csv", "day-2026-11-23-rates.csv", "day-2026-11-23.html",
        "day-2026-11-23.xlsx"]
    for name, size in report.files.items():
        assert (exports / report.folder / name).stat().st_size == size


def test_given_a_claim_then_a_second_claim_of_the_period_is_refused(engine):
    p = period(PeriodKind.WEEK, NOW.date(), zone=CST)
    assert claim(engine=engine, p=p, zone=CST, now=NOW, who="a") is not None
    assert claim(engine=engine, p=p, zone=CST, now=NOW, who="b") is None  # being generated
    # A claim left by a process that died is taken over once it is stale, by one only.
    later = NOW + STALE_CLAIM + timedelta(seconds=1)
    taken = claim(engine=engine, p=p, zone=CST, now=later, who="b")
    assert taken is not None and taken.attempts == 2
    assert claim(engine=engine, p=p, zone=CST, now=later, who="c") is None


def test_given_the_service_down_then_the_restart_catches_up_on_the_missed_days(
    engine, tmp_path,
):
    exports, clock = tmp_path / "exports", Clock(NOW)
    assert len(generator(engine, exports, clock).run_due()) == 3  # 21, 22, 23
    clock.now = NOW + timedelta(days=2)  # down on the 24th and 25th; back on the 26th 09:00
    restarted = generator(engine, exports, clock, who="after-restart")
    assert [o.label for o in restarted.run_due()] == ["2026-11-25", "2026-11-24"]
    clock.now = NOW + timedelta(days=10)  # down a week: only the last three are made
    assert [o.label for o in restarted.run_due()] == ["2026-12-03", "2026-12-02",
                                                      "2026-12-01"]
    assert len(rows(engine)) == 8


def test_given_every_kind_then_days_weeks_and_months_are_generated(engine, tmp_path):
    settings = OversightSettings(reports_catch_up=1, reports_hour=1)
    made = generator(engine, tmp_path / "x", Clock(NOW), settings=settings).run_due()
    assert [(o.kind, o.label) for o in made] == [
        (PeriodKind.DAY, "2026-11-23"), (PeriodKind.WEEK, "2026-11-16..2026-11-22"),
        (PeriodKind.MONTH, "2026-10-01..2026-10-31")]


def test_given_an_exports_folder_not_writable_then_a_logged_error_and_a_retry(
    engine, tmp_path, caplog,
):
    blocker = tmp_path / "exports"
    blocker.write_text("a file where the folder should be")
    clock = Clock(NOW)
    gen = generator(engine, blocker, clock, settings=OversightSettings(
        reports_kinds=[PeriodKind.DAY], reports_catch_up=1))
    with caplog.at_level(logging.ERROR, logger="hotline.oversight.generated"):
        outcome = gen.run_due()
    assert [o.status for o in outcome] == [ReportStatus.FAILED]
    folder = str(blocker / "reports" / "day" / "2026-11-23")
    assert folder in outcome[0].error
    assert any(folder in r.getMessage() and "2026-11-23" in r.getMessage()
               for r in caplog.records)
    assert any("retried in 0:05:00" in r.getMessage() for r in caplog.records)
    [row] = rows(engine)
    assert row.status == "failed" and folder in row.error and row.attempts == 1
    assert listing(row, every=timedelta(seconds=300))["retry_at"] == "2026-11-24 09:05"
    assert gen.run_due() == []  # the next pass at once: not yet

    def after(seconds: int) -> list[Outcome]:
        clock.advance(seconds=seconds)
        return gen.run_due()

    # A pass interval (300 s) after the failed claim: tried again, fails again; then the wait
    # is twice the interval.
    assert [o.status for o in after(300)] == [
        ReportStatus.FAILED]
    assert after(599) == []
    blocker.unlink()  # the folder is fixed: the pass after the wait generates it
    assert after(0) == []
    assert [o.status for o in after(1)] == [ReportStatus.DONE]
    [row] = rows(engine)
    assert row.status == "done" and row.attempts == 3 and row.error == ""


@pytest.mark.parametrize(("attempts", "wait"), [
    (0, timedelta(0)), (1, timedelta(minutes=5)), (2, timedelta(minutes=10)),
    (4, timedelta(minutes=40)), (7, timedelta(minutes=320)), (8, RETRY_MAX), (10_000, RETRY_MAX)])
def test_given_failures_then_the_wait_doubles_up_to_six_hours(attempts, wait):
    assert retry_wait(attempts, timedelta(minutes=5)) == wait
    assert RETRY_MAX == timedelta(hours=6)


def test_given_a_broken_folder_then_the_scheduler_goes_on_and_retries(engine, tmp_path):
    blocker = tmp_path / "exports"
    blocker.write_text("not a folder")
    settings = OversightSettings(reports_kinds=[PeriodKind.DAY], reports_catch_up=1,
                                 reports_every_seconds=0.02)
    passes: list[datetime] = []
    third = threading.Event()

    def clock() -> datetime:  # read once per pass; an hour passes between passes (> the waits)
        passes.append(NOW)
        if len(passes) == 3:
            blocker.unlink()  # fixed while the job runs
        if len(passes) == 4:
            third.set()
        return NOW + timedelta(hours=len(passes) - 1)

    job = ReportScheduler(generator=generator(engine, blocker, Clock(NOW), settings=settings),
                          settings=settings)
    job.generator.clock = clock

    async def run() -> None:
        await job.start()
        assert await asyncio.to_thread(third.wait, 60)
        await job.stop()

    asyncio.run(run())
    [row] = rows(engine)
    assert row.status == "done" and row.attempts == 3  # failed twice, then written
    assert job.status()["running"] is False and job.generated == 1
    assert job.passes >= 4 and job.last_error is None


def test_given_reports_disabled_then_the_job_does_not_start(engine, tmp_path):
    settings = OversightSettings(reports_enabled=False)
    job = ReportScheduler(generator=generator(engine, tmp_path, Clock(NOW)), settings=settings)

    async def run() -> None:
        await job.start()
        assert job.status()["running"] is False
        await job.stop()

    asyncio.run(run())
    assert rows(engine) == []


def test_given_retention_then_reports_older_than_export_days_are_removed(engine, tmp_path):
    exports, clock = tmp_path / "exports", Clock(NOW)
    generator(engine, exports, clock).run_due()  # 21, 22, 23 generated on the 24th
    with session_scope(engine) as session:  # the 21st was generated a day earlier
        session.execute(update(OversightReport).where(
            col(OversightReport.period_start) == NOW.date() - timedelta(days=3)).values(
            generated_at=NOW - timedelta(days=1)))
    retention = RetentionSettings(export_days=30)
    later = NOW + timedelta(days=30, hours=-12)  # the 21st's is 30.5 days old, the others 29.5
    report = run_cleanup(engine=engine, settings=retention, now=later,
                         recordings_root=tmp_path / "rec", exports_dir=exports, dry_run=False)
    assert report.summary()["reports"] == 1 and report.errors == []
    states = {r.period_start.day: (r.status, r.removed_at is not None) for r in rows(engine)}
    assert states == {21: ("removed", True), 22: ("done", False), 23: ("done", False)}
    assert not (exports / "reports" / "day" / "2026-11-21").exists()
    assert (exports / "reports" / "day" / "2026-11-22").is_dir()
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry)).one()
        assert entry.action == "retention" and entry.detail and entry.detail["reports"] == 1
        assert [r.period_start.day for r in listed_reports(session=session)] == [23, 22]
    # Removed, not forgotten: the period is not generated again.
    clock.now = NOW + timedelta(hours=1)
    assert generator(engine, exports, clock).run_due() == []


def test_given_the_migrations_then_the_report_table_is_as_the_model_says(engine):
    with engine.connect() as conn:  # migration 0074
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "oversight_report" in repr(d)] == []
