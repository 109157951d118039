"""The app's early-warning job (``WarningScheduler``) on SQLite: three tickets of one caller in
a week are a repeat cluster over the alert threshold (3); the job tells it once per week however
often it runs, again in the next week, and the supervisor workspace and the unit inbox of the
unit concerned show the notice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from hotline.attachments.store import AttachmentStore
from hotline.oversight.definitions import PeriodKind
from hotline.oversight.scheduler import WarningScheduler
from hotline.oversight.settings import OversightSettings
from hotline.tickets.models import ChangeKind, TicketChange
from hotline.web.pages import include_pages
from hotline.web.pages.unit import UnitConsole
from tests.api import CENTER, ApiWorld, make_world
from tests.oversight_world import CG, T0, Desk

REPO = Path(__file__).resolve().parents[2]
NOTICE = "预警：重复诉求 3 件，同一来电人"


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:
    world = make_world(sqlite_engine, tmp_path)
    units = UnitConsole(attachments=AttachmentStore(tmp_path / "files", max_bytes=1 << 20))
    include_pages(world.app, web_dir=REPO / "web", units=units)
    try:
        yield world
    finally:
        world.close()


def alerts(world: ApiWorld) -> list[TicketChange]:
    with Session(world.engine) as session:
        return list(session.exec(select(TicketChange).where(
            col(TicketChange.kind) == ChangeKind.ALERT.value).order_by(col(TicketChange.id))))


def job_of(world: ApiWorld, woken: list[int]) -> WarningScheduler:
    return WarningScheduler(engine=world.engine, clock=world.clock,
                            settings=OversightSettings(warnings_period=PeriodKind.WEEK),
                            zone=CENTER,
                            on_change=lambda: woken.append(1))


def test_given_a_repeat_cluster_then_the_job_tells_it_once_per_week(world: ApiWorld) -> None:
    desk = Desk(world.engine)
    numbers = [desk.number(desk.new(now=T0 + timedelta(hours=h))) for h in range(3)]
    woken: list[int] = []
    job = job_of(world, woken)
    world.clock.now = T0 + timedelta(hours=4)
    assert job.run_once() == 1
    world.clock.now = T0 + timedelta(days=2)
    assert job.run_once() == 0  # the same week: already told
    [told] = alerts(world)
    assert (told.action, told.payload["key"], told.payload["size"]) == (
        "repeat", "caller:13800000000", 3)
    assert told.payload["tickets"] == numbers and told.number == numbers[-1]
    assert woken == [1]
    desk.new(now=T0 + timedelta(days=7))  # next Monday: the run goes on, 4 within the window
    world.clock.now = T0 + timedelta(days=7, hours=1)
    assert job.run_once() == 1
    assert job.run_once() == 0
    assert [(c.payload["period"], c.payload["size"]) for c in alerts(world)] == [
        (alerts(world)[0].payload["period"], 3), (alerts(world)[1].payload["period"], 4)]
    assert alerts(world)[0].payload["period"] != alerts(world)[1].payload["period"]
    assert job.status() == {"running": False, "passes": 4, "sent": 2, "last_error": None}


def test_given_a_told_warning_then_the_consoles_show_the_notice(world: ApiWorld) -> None:
    desk = Desk(world.engine)
    for h in range(3):
        desk.dispatch(desk.new(now=T0 + timedelta(hours=h)), CG, now=T0 + timedelta(hours=h))
    world.clock.now = T0 + timedelta(hours=4)
    assert world.client("supervisor").get("/supervisor").text.count(NOTICE) == 0
    assert job_of(world, []).run_once() == 1
    workspace = world.client("supervisor").get("/supervisor")
    assert workspace.status_code == 200, workspace.text
    assert workspace.text.count(NOTICE) == 1
    inbox = world.client("cg").get("/unit")  # 城管 holds the tickets
    assert inbox.status_code == 200, inbox.text
    assert inbox.text.count(NOTICE) == 1
    assert NOTICE not in world.client("zj").get("/unit").text  # not 住建's tickets


def test_given_the_job_started_then_it_tells_the_warning_by_itself_once(world: ApiWorld) -> None:
    desk = Desk(world.engine)
    for h in range(3):
        desk.new(now=T0 + timedelta(hours=h))
    world.clock.now = T0 + timedelta(hours=4)
    woken: list[int] = []
    asked: list[datetime] = []
    third_pass = threading.Event()

    def clock() -> datetime:  # read once per pass
        asked.append(world.clock.now)
        if len(asked) == 3:
            third_pass.set()
        return world.clock.now

    job = WarningScheduler(engine=world.engine, clock=clock,
                           settings=OversightSettings(warnings_every_seconds=0.05), zone=CENTER,
                           on_change=lambda: woken.append(1))

    async def run() -> None:
        await job.start()
        assert await asyncio.to_thread(third_pass.wait, 60)  # several passes, the same week
        await job.stop()

    asyncio.run(run())
    assert job.status()["running"] is False and job.passes == 3 and job.sent == 1
    assert len(alerts(world)) == 1 and woken == [1]
