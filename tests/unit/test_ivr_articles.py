"""Play nodes that speak a knowledge article (``article:``): the flow file's checks, and what
the runner plays on a call, against a real knowledge base (SQLite, the shipped seed)."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from hotline.db import make_engine
from hotline.ivr.flow import DEFAULT_ARTICLE_FALLBACK, Flow, PlayNode
from hotline.ivr.loader import (
    article_refs,
    check_articles,
    check_flows,
    format_errors,
    load_flow,
    read_flow,
)
from hotline.ivr.ports import QueueOutcome, QueueStatus
from hotline.ivr.runner import FlowRunner
from hotline.knowledge.ivr import StoreKnowledgeArticles, find_article
from hotline.knowledge.models import KnowledgeArticleCreate, KnowledgeArticleUpdate
from hotline.knowledge.service import add_article, load_seed, retire_article, update_article
from tests.fakes import FakeCallChannel, FakeTicketLookup, HangUp, MemoryStepLog, Press
from tests.knowledge_db import seeded_knowledge_engine

SHIPPED = Path(__file__).resolve().parents[2] / "ivr_flows"
TODAY = date(2026, 11, 24)
SELF_INFO = {
    "self_info_hours": "service-center-hours",
    "self_info_residence": "residence-permit",
    "self_info_social_card": "social-security-card-application",
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = seeded_knowledge_engine(tmp_path / "knowledge.db")
    yield engine
    engine.dispose()


@pytest.fixture
def knowledge(engine: Engine) -> StoreKnowledgeArticles:
    return StoreKnowledgeArticles(engine)


def body_of(engine: Engine, ref: str) -> str:
    with Session(engine) as session:
        article = find_article(session=session, ref=ref)
        assert article is not None
        return article.body


def retire(engine: Engine, ref: str) -> int:
    with Session(engine) as session:
        article = find_article(session=session, ref=ref)
        assert article is not None and article.id is not None
        article_id = article.id
        retire_article(session=session, article_id=article_id)
        session.commit()
    return article_id


def tiny(folder: Path, ref: str) -> dict[str, Flow]:
    """A flow that plays one article, then says goodbye (not checked against the base)."""
    return {"tiny": load_flow(flow_file(folder, ONE_ARTICLE.format(ref=ref)))}


def flow_file(folder: Path, nodes: str) -> Path:
    path = folder / "tiny.yaml"
    text = "start: a\nnodes:\n" + textwrap.indent(textwrap.dedent(nodes), "  ")
    path.write_text(text, encoding="utf-8")
    return path


ONE_ARTICLE = """\
a:
  kind: play
  article: {ref}
  next: bye
bye: {{kind: hangup, prompt: 再见}}
"""


def runner(flows: dict[str, Flow], knowledge: StoreKnowledgeArticles | None,
           log: MemoryStepLog, *, day: date = TODAY) -> FlowRunner:
    start = datetime(day.year, day.month, day.day, 10, 0)
    ticks = iter(start + timedelta(seconds=n) for n in range(10_000))
    return FlowRunner(flows=flows, lookup=FakeTicketLookup(), step_log=log,
                      clock=lambda: next(ticks), holidays=set(), queue_name="hotline",
                      queue_max_wait=300, emergency_lines={}, knowledge=knowledge)


# --- the flow file -------------------------------------------------------------------------


def test_given_article_slug_when_loaded_then_play_node_names_it_with_the_default_fallback(
    tmp_path, knowledge
):
    flow = load_flow(flow_file(tmp_path, ONE_ARTICLE.format(ref="residence-permit")),
                     articles=knowledge)

    assert flow.nodes["a"] == PlayNode(id="a", line=3, article="residence-permit", next="bye")
    assert flow.nodes["a"].fallback == DEFAULT_ARTICLE_FALLBACK


@pytest.mark.parametrize("ref", ["1", "居住证申领", "'社会保障卡申领'"])
def test_given_article_id_or_exact_title_when_checked_then_it_is_found(tmp_path, knowledge, ref):
    _, errors = read_flow(flow_file(tmp_path, ONE_ARTICLE.format(ref=ref)), articles=knowledge)

    assert errors == []


def test_given_unknown_article_when_checked_then_error_names_file_line_node_and_article(
    tmp_path, knowledge
):
    path = flow_file(tmp_path, ONE_ARTICLE.format(ref="no-such-article"))

    flow, errors = read_flow(path, articles=knowledge)

    assert flow is None
    assert format_errors(errors) == (
        f"{path}:3: node 'a': 'article' refers to unknown knowledge article 'no-such-article' "
        "(no active article has this id, slug or title)\n1 error in 1 file"
    )


def test_given_retired_article_when_checked_then_it_counts_as_unknown(tmp_path, engine, knowledge):
    retire(engine, "residence-permit")

    _, errors = read_flow(flow_file(tmp_path, ONE_ARTICLE.format(ref="residence-permit")),
                          articles=knowledge)

    assert [e.reason for e in errors] == [
        "'article' refers to unknown knowledge article 'residence-permit' (no active article "
        "has this id, slug or title)"
    ]


@pytest.mark.parametrize(
    ("node", "reason"),
    [
        ("{kind: play, prompt: 您好, article: residence-permit, next: bye}",
         "a play node needs exactly one of 'prompt' and 'article' (a knowledge article's id, "
         "slug or exact title)"),
        ("{kind: play, prompt: 您好, fallback: 抱歉, next: bye}",
         "'fallback' is only for a play node with an 'article'"),
        ("{kind: play, article: '', next: bye}", "'article' must be a non-empty text"),
        ("{kind: play, article: residence-permit, fallback: {text: ' '}, next: bye}",
         "'fallback' has an empty text"),
    ],
)
def test_given_bad_article_fields_when_loaded_then_exact_error(tmp_path, node, reason):
    path = flow_file(tmp_path, f"a: {node}\nbye: {{kind: hangup}}\n")

    _, errors = read_flow(path)

    assert [(e.line, e.node, e.reason) for e in errors] == [(3, "a", reason)]


def test_given_shipped_flows_when_checked_against_the_seed_then_every_article_exists(knowledge):
    assert check_flows(SHIPPED, articles=knowledge) == []


def test_given_a_base_seeded_before_the_flow_when_checked_then_the_missing_article_is_named(
    tmp_path,
):
    engine = seeded_knowledge_engine(tmp_path / "k.db")
    retire(engine, "social-security-card-application")  # as if seeded before the flow

    errors = check_flows(SHIPPED, articles=StoreKnowledgeArticles(engine))

    assert sorted(e.node or "" for e in errors) == ["info_social_card", "self_info_social_card"]
    engine.dispose()


def test_given_a_migrated_but_empty_base_when_checked_then_the_packaged_seed_counts(tmp_path):
    """The first start loads the seed into an empty base: a flow may name its articles."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    tables = [SQLModel.metadata.tables["knowledgearticle"]]
    SQLModel.metadata.create_all(engine, tables=tables)
    articles = StoreKnowledgeArticles(engine)

    assert check_flows(SHIPPED, articles=articles) == []
    _, errors = read_flow(flow_file(tmp_path, ONE_ARTICLE.format(ref="residence-permt")),
                          articles=articles)
    assert [e.node for e in errors] == ["a"]
    engine.dispose()


def test_given_a_base_seeded_by_an_older_version_when_started_then_named_seed_articles_added(
    tmp_path,
):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables["knowledgearticle"],
                                                 SQLModel.metadata.tables["knowledgetoken"]])
    with Session(engine) as session:  # the seed before social-security-card-application
        load_seed(session=session, only={"service-center-hours", "residence-permit"})
        session.commit()
    retire(engine, "residence-permit")  # retired on purpose: stays retired
    articles = StoreKnowledgeArticles(engine)
    refs = article_refs(default_flow().values())

    assert articles.add_seeded(refs) == 1
    assert articles.add_seeded(refs) == 0
    errors = check_articles(default_flow().values(), articles=articles)
    assert sorted(e.node or "" for e in errors) == ["info_residence", "self_info_residence"]
    engine.dispose()


def test_given_no_database_when_checked_then_articles_are_not_checked_and_flow_loads(
    tmp_path, caplog
):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: not migrated
    path = flow_file(tmp_path, ONE_ARTICLE.format(ref="residence-permit"))

    with caplog.at_level(logging.WARNING):
        flow, errors = read_flow(path, articles=StoreKnowledgeArticles(engine))

    assert errors == [] and flow is not None
    assert "the knowledge base cannot be read" in caplog.text
    engine.dispose()


def test_given_loaded_flows_when_articles_checked_later_then_unknown_ones_are_reported(
    tmp_path, knowledge
):
    flow = load_flow(flow_file(tmp_path, ONE_ARTICLE.format(ref="later-article")))

    errors = check_articles([flow], articles=knowledge)

    assert [(e.node, e.line) for e in errors] == [("a", 3)]


# --- on a call -----------------------------------------------------------------------------


def default_flow() -> dict[str, Flow]:
    return {"default": load_flow(SHIPPED / "default.yaml")}


@pytest.mark.parametrize(("key", "node"), [("1", "self_info_hours"), ("2", "self_info_residence"),
                                           ("3", "self_info_social_card")])
async def test_given_self_service_when_question_chosen_then_the_seeded_article_is_spoken(
    engine, knowledge, key, node
):
    log = MemoryStepLog()
    channel = FakeCallChannel(
        queue_outcomes=[QueueOutcome(QueueStatus.NO_SEAT)],
        actions=[Press("1", at="查询工单办理进度请按3"), Press(key, at="返回上一级请按0"),
                 HangUp(at="返回上一级请按0")],
    )  # fmt: skip

    result = await runner(default_flow(), knowledge, log).run(channel, "default")

    assert result.path[-2:] == [node, "self_info_menu"]
    body = body_of(engine, SELF_INFO[node])
    assert channel.played_texts[-2] == "".join(line.strip() for line in body.splitlines())
    step = log.step(node)
    assert step.outcome == "played"
    assert step.detail["article"] == SELF_INFO[node]
    assert step.detail["article_status"] == "found"
    assert int(step.detail["article_id"]) > 0


async def test_given_article_edited_when_next_call_asks_then_the_new_body_is_spoken(
    tmp_path, engine, knowledge
):
    flows = tiny(tmp_path, "居住证申领")
    with Session(engine) as session:
        article = find_article(session=session, ref="居住证申领")
        assert article is not None and article.id is not None
        update_article(session=session, article_id=article.id,
                       changes=KnowledgeArticleUpdate(body="居住证改在社区服务中心办理。"))
        session.commit()
    channel = FakeCallChannel()

    result = await runner(flows, knowledge, MemoryStepLog()).run(channel, "tiny")

    assert channel.played_texts == ["居住证改在社区服务中心办理。", "再见"]
    assert result.reason == "completed"


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "spoken"),
    [
        (None, TODAY - timedelta(days=1), "expired"),
        (TODAY + timedelta(days=1), None, "not_yet_valid"),
        (TODAY, TODAY, "found"),  # both ends included
    ],
)
async def test_given_article_validity_when_called_then_body_only_while_valid_else_fallback(
    tmp_path, engine, knowledge, caplog, valid_from, valid_to, spoken
):
    with Session(engine) as session:
        add_article(session=session, article=KnowledgeArticleCreate(
            title="冬季供暖时间", body="今年供暖从十一月十五日开始。", slug="heating",
            valid_from=valid_from, valid_to=valid_to))  # fmt: skip
        session.commit()
    flows = tiny(tmp_path, "heating")
    log = MemoryStepLog()
    channel = FakeCallChannel()

    with caplog.at_level(logging.WARNING, logger="hotline.ivr.runner"):
        result = await runner(flows, knowledge, log).run(channel, "tiny")

    first = channel.played_texts[0]
    assert log.step("a").detail["article_status"] == spoken
    assert result.path == ["a", "bye"]
    if spoken == "found":
        assert first == "今年供暖从十一月十五日开始。"
        assert caplog.text == ""
    else:
        assert first == DEFAULT_ARTICLE_FALLBACK.text
        assert f"call call-1: node 'a': knowledge article 'heating' is {spoken}, playing " \
               "the fallback" in caplog.text


async def test_given_article_missing_at_call_time_then_the_nodes_own_fallback_is_spoken(
    tmp_path, knowledge, caplog
):
    nodes = ONE_ARTICLE.format(ref="gone").replace("next: bye",
                                                   "fallback: 暂无此信息。\n  next: bye")
    flows = {"tiny": load_flow(flow_file(tmp_path, nodes))}  # not checked against the base
    log = MemoryStepLog()
    channel = FakeCallChannel()

    with caplog.at_level(logging.WARNING, logger="hotline.ivr.runner"):
        await runner(flows, knowledge, log).run(channel, "tiny")

    assert channel.played_texts == ["暂无此信息。", "再见"]
    assert log.step("a").detail == {"article": "gone", "article_status": "missing"}
    assert "knowledge article 'gone' is missing" in caplog.text


async def test_given_retired_article_at_call_time_then_fallback_and_its_id_is_logged(
    tmp_path, engine, knowledge
):
    flows = tiny(tmp_path, "residence-permit")
    article_id = retire(engine, "residence-permit")
    log = MemoryStepLog()
    channel = FakeCallChannel()

    await runner(flows, knowledge, log).run(channel, "tiny")

    assert channel.played_texts[0] == DEFAULT_ARTICLE_FALLBACK.text
    assert log.step("a").detail == {"article": "residence-permit", "article_status": "retired",
                                    "article_id": str(article_id)}


@pytest.mark.parametrize("base", ["none", "unreadable"])
async def test_given_no_readable_knowledge_base_when_called_then_fallback_never_silence(
    tmp_path, caplog, base
):
    flows = tiny(tmp_path, "residence-permit")
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    knowledge = None if base == "none" else StoreKnowledgeArticles(engine)
    log = MemoryStepLog()
    channel = FakeCallChannel()

    with caplog.at_level(logging.WARNING, logger="hotline.ivr.runner"):
        result = await runner(flows, knowledge, log).run(channel, "tiny")

    assert channel.played_texts == [DEFAULT_ARTICLE_FALLBACK.text, "再见"]
    assert result.reason == "completed"
    assert log.step("a").detail["article_status"] == "unavailable"
    assert "knowledge article 'residence-permit'" in caplog.text
    engine.dispose()

