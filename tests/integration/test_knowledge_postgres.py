"""Knowledge search ranks the same on PostgreSQL as on SQLite (scores, order, snippets)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from hotline.knowledge.service import add_articles, load_seed, retire_article, search
from tests.pg import PostgresServer, pg_engine, postgres_server  # noqa: F401  (fixtures)
from tests.unit.test_knowledge import (
    REALISTIC_QUERIES,
    TODAY,
    article,
    knowledge_tables,
    new_engine,
    noise_articles,
)

QUERIES = [query for query, _ in REALISTIC_QUERIES] + ["K1234", "社保", "几点下班", "？？"]
Ranking = dict[str, list[tuple[str, int, str]]]


def ranking(engine: Engine) -> Ranking:
    """Seed plus 2,000 notes, the same ones in the same order; every query's hits."""
    with Session(engine, expire_on_commit=False) as session:
        load_seed(session=session)
        add_articles(session=session, articles=noise_articles(2_000))
        session.commit()
        return {
            query: [
                (hit.article.title, hit.score, hit.snippet)
                for hit in search(session=session, query=query, on_date=TODAY, limit=10)
            ]
            for query in QUERIES
        }


@pytest.fixture
def sqlite_ranking(tmp_path: Path) -> Ranking:
    engine = new_engine(tmp_path / "knowledge.db")
    try:
        return ranking(engine)
    finally:
        engine.dispose()


@pytest.fixture
def knowledge_pg(pg_engine: Engine) -> Iterator[Engine]:  # noqa: F811
    SQLModel.metadata.create_all(pg_engine, tables=knowledge_tables())
    yield pg_engine


def test_given_same_articles_then_postgres_ranks_exactly_like_sqlite(knowledge_pg, sqlite_ranking):
    on_postgres = ranking(knowledge_pg)

    assert on_postgres == sqlite_ranking
    for query, slug_title in [
        ("社保卡丢了补办", "社会保障卡遗失补办"),
        ("居住证怎么办", "居住证申领"),
    ]:
        assert on_postgres[query][0][0] == slug_title
    assert on_postgres["？？"] == []


def test_given_periods_and_retired_articles_then_postgres_returns_only_valid_ones(knowledge_pg):
    with Session(knowledge_pg, expire_on_commit=False) as session:
        valid, expired, future, retired = add_articles(
            session=session,
            articles=[
                article("燃气安全提示", "燃气安全。", valid_from=TODAY, valid_to=TODAY),
                article("燃气安全旧规", "燃气安全。", valid_to=date(2025, 6, 1)),
                article("燃气安全新规", "燃气安全。", valid_from=date(2025, 6, 3)),
                article("燃气安全须知", "燃气安全。"),
            ],
        )
        assert retired.id is not None
        retire_article(session=session, article_id=retired.id)
        session.commit()

        def found(on: date) -> list[str]:
            return [h.article.title for h in search(session=session, query="燃气", on_date=on)]

        assert found(TODAY) == [valid.title]
        assert found(date(2025, 6, 1)) == [expired.title]
        assert found(date(2025, 6, 3)) == [future.title]
