"""A play node with ``article:`` over real FastAGI: a scripted Asterisk peer on a loopback
socket, a real ``AgiServer`` and ``FlowRunner``, a real knowledge base (SQLite, the seed).
What Asterisk is told to play is the article's current body, or the fallback, then goodbye."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from hotline.ivr.flow import DEFAULT_ARTICLE_FALLBACK
from hotline.ivr.loader import load_flow
from hotline.ivr.runner import FlowRunner, RunResult
from hotline.knowledge.ivr import StoreKnowledgeArticles, find_article
from hotline.knowledge.models import KnowledgeArticleUpdate
from hotline.knowledge.service import update_article
from hotline.telephony.agi import AgiCallChannel
from tests.fakes import FakeTicketLookup, MemoryStepLog
from tests.knowledge_db import seeded_knowledge_engine
from tests.protocol.test_agi_server import PROMPTS, Harness, Step
from tests.protocol.test_agi_server import agi as agi  # noqa: F401 - the fixture

FLOW = """\
start: answer
nodes:
  answer: {kind: play, article: residence-permit, next: bye}
  bye: {kind: hangup, prompt: 再见}
"""
BODY = "居住证请到派出所办理。"  # no spaces: the harness plays a prompt by its text
DAY = date(2026, 11, 24)


def article_runner(tmp_path: Path, *, valid_to: date | None) -> tuple[FlowRunner, MemoryStepLog]:
    engine = seeded_knowledge_engine(tmp_path / "knowledge.db")
    with Session(engine) as session:
        article = find_article(session=session, ref="residence-permit")
        assert article is not None and article.id is not None
        update_article(session=session, article_id=article.id,
                       changes=KnowledgeArticleUpdate(body=BODY, valid_to=valid_to))
        session.commit()
    (tmp_path / "default.yaml").write_text(FLOW, encoding="utf-8")
    ticks = iter(datetime(2026, 11, 24, 10) + timedelta(seconds=n) for n in range(1000))
    log = MemoryStepLog()
    runner = FlowRunner(
        flows={"default": load_flow(tmp_path / "default.yaml")}, lookup=FakeTicketLookup(),
        step_log=log, clock=lambda: next(ticks), holidays=set(), queue_name="hotline",
        queue_max_wait=300, emergency_lines={}, knowledge=StoreKnowledgeArticles(engine))
    return runner, log


def script(first_prompt: str) -> list[Step]:
    return [
        Step(f'STREAM FILE {PROMPTS}/{first_prompt} ""', "200 result=0 endpos=24000"),
        Step(f'STREAM FILE {PROMPTS}/再见 ""', "200 result=0 endpos=8000"),
        Step("HANGUP", "200 result=1"),
    ]


@pytest.mark.parametrize(("valid_to", "spoken", "status"), [
    (None, BODY, "found"),
    (DAY, BODY, "found"),  # the last valid day
    (DAY - timedelta(days=1), DEFAULT_ARTICLE_FALLBACK.text, "expired"),
])
async def test_given_article_node_when_called_over_agi_then_body_or_fallback_is_streamed(
    agi: Harness, tmp_path: Path, valid_to: date | None, spoken: str, status: str
) -> None:
    runner, log = article_runner(tmp_path, valid_to=valid_to)

    async def run(channel: AgiCallChannel) -> RunResult:
        return await runner.run(channel, "default")

    outcome, commands = await agi.converse(run, script(spoken))

    assert outcome == RunResult(path=["answer", "bye"], reason="completed")
    assert commands == [step.expect for step in script(spoken)]
    assert log.step("answer").detail["article_status"] == status
    await agi.wait_idle()
