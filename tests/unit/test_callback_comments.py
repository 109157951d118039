"""The automatic survey's spoken comment on the callback agent's page
(``hotline.web.pages.callback``), over HTTP on SQLite: the survey call is placed through the
scheduler with the in-memory dialer of the comment tests (it records a comment of kind
``comment``), the transcript is stored through the real job queue and the
``SurveyComments`` hook. The page lists the comment (转写中 until transcribed, then its text,
with the rating and a link to the recording's role-checked player), and a caller back in the
queue after the 重办 the comment came with shows it in the row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from hotline.outbound.comments import SurveyComments
from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Ticket
from hotline.web.pages import include_pages
from hotline.web.pages.supervisor import RecordingsConsole
from tests.api import ApiWorld, make_world
from tests.pg import sqlite_engine, sqlite_template  # noqa: F401 - fixtures
from tests.unit.test_callback_dial import logged_in
from tests.unit.test_outbound_comments import SPOKEN, CommentingDialer, surveyed, transcribe
from tests.unit.test_outbound_service import MAIN, T0, act, approve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["text", "recordings"])
def world(request: pytest.FixtureRequest, sqlite_engine: Engine,  # noqa: F811
          tmp_path: Path) -> Iterator[ApiWorld]:
    """The pages without, then with, the recordings pages (``include_pages(recordings=)``)."""
    world = make_world(sqlite_engine, tmp_path)
    world.clock.now = T0  # in calling hours
    console = RecordingsConsole(root=tmp_path / "rec", tz=ZoneInfo("Asia/Shanghai"))
    include_pages(world.app, web_dir=REPO / "web",
                  recordings=console if request.param == "recordings" else None)
    yield world
    world.close()


def number_of(world: ApiWorld, ticket_id: int) -> str:
    with Session(world.engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.number


def section(page: str) -> str:
    start = page.index('<table id="survey-comments">')
    return page[start:page.index("</table>", start)]


def test_given_a_survey_comment_then_the_callback_page_shows_it_once_transcribed(
    world: ApiWorld,
) -> None:
    ticket_id, _ = surveyed(world.engine, world.clock,
                            CommentingDialer(world.engine, world.clock, key="3"))
    number = number_of(world, ticket_id)
    agent = logged_in(world, "callback")
    try:
        listed = section(agent.get("/callback").text)
        assert f'class="survey-comment" data-number="{number}"' in listed
        assert "不满意" in listed and "转写中" in listed and SPOKEN not in listed

        transcribe(world.engine, SPOKEN, SurveyComments())

        listed = section(agent.get("/callback").text)
        assert f'<td class="comment">{SPOKEN}</td>' in listed and "转写中" not in listed
        # the player's link only where the recordings pages are installed, else the length
        recordings = hasattr(world.app.state, "recordings_console")
        assert ("听录音" in listed) == recordings and ("4 秒" in listed) != recordings
    finally:
        agent.__exit__(None, None, None)


def test_given_the_redo_answered_then_the_caller_row_shows_the_earlier_comment_and_a_player(
    world: ApiWorld,
) -> None:
    ticket_id, _ = surveyed(world.engine, world.clock,
                            CommentingDialer(world.engine, world.clock, key="3"))
    transcribe(world.engine, SPOKEN, SurveyComments())
    act(world.engine, ticket_id, lc.Reply(unit=MAIN, text="另一盏也修好了"), world.clock)
    approve(world.engine, ticket_id, world.clock)  # back in the revisit queue, after 重办
    number = number_of(world, ticket_id)
    agent = logged_in(world, "callback")
    try:
        page = agent.get("/callback").text
        row = page[page.index(f'class="revisit-row" data-number="{number}"'):]
        row = row[:row.index("</tr>")]
        assert "重办后" in row
        assert f'class="spoken-comment" data-number="{number}"' in row
        assert f"自动回访意见（不满意）：「{SPOKEN}」" in row

        if not hasattr(world.app.state, "recordings_console"):
            return
        link = section(page).split('<a href="', 1)[1].split('"', 1)[0]
        assert link.startswith("/supervisor/recordings/")
        player = agent.get(link)
        assert player.status_code == 200, player.text  # the agent may listen there
        assert "audio" in player.text
    finally:
        agent.__exit__(None, None, None)


def test_given_no_survey_comment_then_the_section_says_so(world: ApiWorld) -> None:
    agent = logged_in(world, "callback")
    try:
        assert "没有自动回访意见" in section(agent.get("/callback").text)
        assert agent.get("/callback", headers={"HX-Request": "true"}).status_code == 200
    finally:
        agent.__exit__(None, None, None)
