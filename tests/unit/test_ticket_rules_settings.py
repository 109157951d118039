"""One calendar for the deployment: the holidays of the settings (``ivr.holidays``) move the
deadlines the API sets, and the app's outbound calls, IVR and API share the very same rules."""

from __future__ import annotations

import shutil
import socket
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from hotline.app import build_app
from hotline.config import Settings, load_settings
from hotline.db import make_engine
from hotline.tickets.deployment import rules_from_settings
from hotline.tickets.service import DEFAULT_RULES
from tests.api import (
    START,  # noqa: F401
    ApiWorld,
    make_world,
    sqlite_template,  # noqa: F401
)

TUESDAY = "2026-11-24"  # the day after the world's clock starts (Monday 09:00)
STREETLIGHT = {"request_type": "求助", "caller_phone": "13812345678",
               "description": "幸福路路灯不亮已经一周了"}


def dispatched_deadline(world: ApiWorld) -> datetime:
    operator = world.client("operator")
    number = operator.post("/api/tickets", json=STREETLIGHT).json()["number"]
    r = operator.post(f"/api/tickets/{number}/dispatch", json={"main_unit": "市城管局"})
    assert r.status_code == 200, r.text
    r = world.client("cg").post(f"/api/tickets/{number}/sign", json={})
    assert r.status_code == 200, r.text  # signed: the handling deadline runs
    deadline: Any = operator.get(f"/api/tickets/{number}").json()["deadline"]
    return datetime.fromisoformat(deadline)


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:  # noqa: F811
    value: Engine = request.getfixturevalue("sqlite_engine" if request.param == "sqlite"
                                            else "pg_engine")
    return value


def test_given_a_holiday_in_the_settings_then_the_api_deadline_skips_it(
    engine: Engine, sqlite_template: Path, tmp_path: Path,  # noqa: F811
) -> None:
    shutil.copy(sqlite_template, tmp_path / "plain.db")
    plain_engine = make_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    plain = make_world(plain_engine, tmp_path)
    with_holiday = make_world(engine, tmp_path, Settings(home=tmp_path,
                                                         ivr={"holidays": [TUESDAY]}))
    try:
        before = dispatched_deadline(plain)
        after = dispatched_deadline(with_holiday)
    finally:
        plain.close()
        with_holiday.close()
        plain_engine.dispose()
    assert after > before
    # The same working time from the start, on each world's own calendar.
    holiday = rules_from_settings(Settings(home=tmp_path, ivr={"holidays": [TUESDAY]})).calendar
    plain_calendar = DEFAULT_RULES.calendar
    assert holiday.working_time_between(START, after) == \
        plain_calendar.working_time_between(START, before)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_app_builds_one_calendar_from_the_settings_for_tickets_outbound_and_the_ivr(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        db={"url": f"sqlite:///{tmp_path / 'h.db'}"}, agi={"port": _free_port()},
        ami={"port": _free_port()}, recordings={"dir": str(tmp_path / "recordings")},
        ivr={"holidays": [TUESDAY]},
    )
    app = build_app(settings)
    hotline = app.state.hotline
    assert app.state.ticket_rules is hotline.rules
    assert hotline.outbound.scheduler.policy.rules is hotline.rules
    assert hotline.outbound.scheduler.policy.hours.calendar is hotline.rules.calendar
    assert hotline.drafts.rules is hotline.rules
    assert date.fromisoformat(TUESDAY) in hotline.rules.calendar.holidays
