"""The supervisor's live wall over HTTP on SQLite: the longest wait of the callers now in the
queue, the seats by state with their names, the wall fragment polled by htmx, and the wall's
call queries staying on the ``started_at`` index."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, select

from hotline.calls.models import Call
from hotline.db import session_scope
from hotline.seats.models import Seat, SeatState
from hotline.users.models import Role, User, UserCreate
from hotline.users.service import create_user
from hotline.web.pages.supervisor_review import wall
from tests.api import PASSWORD, ApiWorld, sqlite_engine, sqlite_template  # noqa: F401
from tests.unit import test_charts

site = test_charts.world  # the fixture: the app with its pages, on SQLite


def add_call(site: ApiWorld, uniqueid: str, *, started: datetime, joined: datetime | None = None,
             left: datetime | None = None, answered_by: str | None = None,
             ended: datetime | None = None) -> None:
    with session_scope(site.engine) as session:
        session.add(Call(uniqueid=uniqueid, started_at=started, queue_joined_at=joined,
                         queue_left_at=left, ended_at=ended, answered_by=answered_by,
                         answered_at=left if answered_by else None))


def add_seat(site: ApiWorld, username: str, display: str, n: int, state: SeatState,
             reason: str = "") -> None:
    with session_scope(site.engine) as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            user = create_user(session=session, user_create=UserCreate(
                username=username, display_name=display, role=Role.operator,
                password=PASSWORD))
        assert user.id is not None
        session.add(Seat(user_id=user.id, interface=f"PJSIP/seat{n}", member_name=f"seat{n}",
                         state=state, reason=reason, since=site.clock()))


def tile(page: str, name: str) -> str:
    found = re.search(rf'data-wall="{name}"[^>]*>([^<]*)<', page)
    assert found is not None, name
    return found.group(1)


def seats_in(page: str, state: str) -> list[str]:
    block = re.search(rf'data-seats="{state}"><b>(\d+)</b>.*?<ul>(.*?)</ul>', page, re.S)
    assert block is not None, state
    names = re.findall(r'<li data-seat="[^"]*">([^<]*)</li>', block.group(2))
    assert int(block.group(1)) == len(names)
    return names


def test_the_wall_shows_the_longest_wait_of_callers_still_queued_and_the_seats_by_state(
    site: ApiWorld,
) -> None:
    now = site.clock().astimezone(UTC)

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    # still waiting: joined 95 s and 40 s ago -> the longest wait is 95 s = 1:35
    add_call(site, "w1", started=ago(seconds=120), joined=ago(seconds=95))
    add_call(site, "w2", started=ago(seconds=50), joined=ago(seconds=40))
    # not waiting any more: left the queue (answered by seat1), hung up, or too old to count
    add_call(site, "a1", started=ago(minutes=9), joined=ago(minutes=8),
             left=ago(minutes=7), answered_by="seat1")
    add_call(site, "h1", started=ago(minutes=10), joined=ago(minutes=9), ended=ago(minutes=5))
    add_call(site, "old", started=ago(hours=13), joined=ago(hours=13))
    add_seat(site, "operator", "", 1, SeatState.ready)  # answering a1: in a call
    add_seat(site, "op2", "李四", 2, SeatState.ready)
    add_seat(site, "op3", "王五", 3, SeatState.paused, reason="培训")
    add_seat(site, "op4", "赵六", 4, SeatState.after_call)
    add_seat(site, "op5", "", 5, SeatState.offline)

    for page in (site.client("supervisor").get("/supervisor").text,
                 site.client("supervisor").get("/supervisor/wall").text):
        assert tile(page, "calls") == "3"  # w1, w2, a1
        assert tile(page, "waiting") == "2"
        assert tile(page, "longest") == "1:35"
        assert 'data-seconds="95"' in page
        assert seats_in(page, "in_call") == ["operator"]  # no display name: the username
        assert seats_in(page, "ready") == ["李四"]
        assert seats_in(page, "paused") == ["王五（培训）"]
        assert seats_in(page, "after_call") == ["赵六"]
        assert seats_in(page, "offline") == ["op5"]

    site.clock.advance(seconds=30)  # the wait grows with the clock
    assert tile(site.client("supervisor").get("/supervisor/wall").text, "longest") == "2:05"


def test_an_empty_queue_shows_no_longest_wait_and_the_wall_is_polled(site: ApiWorld) -> None:
    page = site.client("supervisor").get("/supervisor").text
    assert tile(page, "waiting") == "0" and tile(page, "longest") == "—"
    wall = re.search(r'<section class="panel wall" id="wall"[^>]*>', page)
    assert wall is not None
    assert 'hx-get="/supervisor/wall"' in wall.group(0)
    assert 'hx-trigger="sse-ticket from:body, every 5s"' in wall.group(0)


def test_the_wall_fragment_is_for_supervisors_and_admins_only(site: ApiWorld) -> None:
    assert site.client("supervisor").get("/supervisor/wall").status_code == 200
    assert site.client("admin").get("/supervisor/wall").status_code == 200
    for other in ("operator", "callback", "cg"):
        assert site.client(other).get("/supervisor/wall").status_code == 403


def test_the_wall_call_queries_search_the_started_at_index(site: ApiWorld) -> None:
    """The statements ``wall`` sends, captured and explained: each call query is a range
    search on the ``started_at`` index, never a scan of the call table."""
    sent: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if re.search(r"\bFROM call\b", statement):
            sent.append((statement, params))

    event.listen(site.engine, "before_cursor_execute", keep)
    try:
        with Session(site.engine) as session:
            wall(session, site.clock())
    finally:
        event.remove(site.engine, "before_cursor_execute", keep)
    assert len(sent) == 3
    with site.engine.connect() as conn:
        for statement, params in sent:
            plan = " ".join(str(row[-1]) for row in
                            conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params))
            assert "USING INDEX ix_call_started_at" in plan and "SCAN call" not in plan, plan
