"""Knowledge base use cases (知识库): write articles, keep their index current, search.

Functions take the session by keyword and only flush: the caller owns the transaction
(``hotline.db.session_scope``), so an article and its index rows are written together or not
at all.

Ranking is one SQL statement over ``KnowledgeToken``, the same on SQLite and PostgreSQL:

    score = Σ (token weight in the article × weight of the token in the query)
          + ALL_GROUPS_BONUS × groups   when every meaning of the query matched

Token weights are integers (title 8, keywords 4, body 1 per occurrence up to 3; summed over
fields); query weights are 3 for a word typed, 2 for a synonym, 1 for a sub-word. Ties go to
the older article (smaller id).

    with session_scope(engine) as session:
        load_seed(session=session)
        hits = search(session=session, query="社保卡丢了补办", on_date=date.today())
        hits[0].article.title, hits[0].snippet  # '社会保障卡遗失补办', '<mark>社保卡丢失</mark>后…'
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Table, and_, case, delete, distinct, func, insert, or_
from sqlmodel import Session, SQLModel, col, select

from hotline.errors import HotlineError
from hotline.knowledge.models import (
    KnowledgeArticle,
    KnowledgeArticleCreate,
    KnowledgeArticleUpdate,
    KnowledgeToken,
)
from hotline.knowledge.search import index_terms, plan_query, snippet

ALL_GROUPS_BONUS = 4  # per query group, added once when the article matches every group
INDEXED_FIELDS = frozenset({"title", "body", "keywords"})
# Core table, not the ORM class: a plain executemany for index rows, no ORM bookkeeping
TOKEN_TABLE: Table = SQLModel.metadata.tables["knowledgetoken"]


class KnowledgeError(HotlineError):
    error_id = "knowledge-error"


class NoSuchArticle(KnowledgeError):
    error_id = "no-such-article"

    def __init__(self, article_id: int) -> None:
        super().__init__(f"no knowledge article {article_id}", article_id=article_id)
        self.article_id = article_id


class InvalidArticle(KnowledgeError):
    """An article or a seed file entry cannot be stored as given (field and reason)."""

    error_id = "invalid-article"
    status_code = 422  # hotline.web.errors: the request named a field it cannot have

    def __init__(self, *, field: str, reason: str, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {reason}", field=field, reason=reason, where=where)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class KnowledgeHit:
    article: KnowledgeArticle
    score: int
    snippet: str  # HTML-escaped body excerpt, matches wrapped in <mark>


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _index_rows(article: KnowledgeArticle) -> list[dict[str, Any]]:
    terms = index_terms(title=article.title, keywords=article.keywords, body=article.body)
    return [{"article_id": article.id, "token": t, "weight": w} for t, w in terms.items()]


def _insert_index(*, session: Session, articles: Iterable[KnowledgeArticle]) -> None:
    rows = [row for article in articles for row in _index_rows(article)]
    if rows:
        session.exec(insert(TOKEN_TABLE), params=rows)


def _write_index(*, session: Session, article: KnowledgeArticle) -> None:
    session.exec(delete(KnowledgeToken).where(col(KnowledgeToken.article_id) == article.id))
    _insert_index(session=session, articles=[article])


def get(*, session: Session, article_id: int) -> KnowledgeArticle:
    article = session.get(KnowledgeArticle, article_id)
    if article is None:
        raise NoSuchArticle(article_id)
    return article


def list_articles(
    *,
    session: Session,
    unit_name: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[KnowledgeArticle], int]:
    """One page of articles, oldest first, and how many match in all."""
    conditions = []
    if unit_name is not None:
        conditions.append(col(KnowledgeArticle.unit_name) == unit_name)
    if active is not None:
        conditions.append(col(KnowledgeArticle.active) == active)
    total = session.exec(select(func.count()).select_from(KnowledgeArticle).where(*conditions))
    page = session.exec(
        select(KnowledgeArticle).where(*conditions)
        .order_by(col(KnowledgeArticle.id)).offset(offset).limit(limit)
    )
    return list(page.all()), int(total.one())


def add_article(
    *, session: Session, article: KnowledgeArticleCreate, now: datetime | None = None
) -> KnowledgeArticle:
    """Add one article; a slug already used is refused (``InvalidArticle``, field slug)."""
    if article.slug is not None and session.exec(
        select(KnowledgeArticle.id).where(col(KnowledgeArticle.slug) == article.slug)
    ).first() is not None:
        raise InvalidArticle(field="slug", reason=f"{article.slug!r} is already used")
    return add_articles(session=session, articles=[article], now=now)[0]


def add_articles(
    *,
    session: Session,
    articles: Iterable[KnowledgeArticleCreate],
    now: datetime | None = None,
) -> list[KnowledgeArticle]:
    """Add many articles with one flush and one index insert (imports, the seed)."""
    moment = _now(now)
    rows = [
        KnowledgeArticle.model_validate(
            article, update={"created_at": moment, "updated_at": moment}
        )
        for article in articles
    ]
    session.add_all(rows)
    session.flush()
    _insert_index(session=session, articles=rows)
    return rows


def update_article(
    *,
    session: Session,
    article_id: int,
    changes: KnowledgeArticleUpdate,
    now: datetime | None = None,
) -> KnowledgeArticle:
    """Change the given fields; the article is re-indexed when its text changed."""
    article = get(session=session, article_id=article_id)
    given = changes.model_dump(exclude_unset=True)
    for field in ("title", "body", "keywords", "unit_name"):
        if field in given and given[field] is None:
            raise InvalidArticle(field=field, reason="cannot be empty")
    valid_from = given.get("valid_from", article.valid_from)
    valid_to = given.get("valid_to", article.valid_to)
    if valid_from and valid_to and valid_to < valid_from:
        raise InvalidArticle(field="valid_to", reason="is before valid_from")
    for field, value in given.items():
        setattr(article, field, value)
    article.updated_at = _now(now)
    session.add(article)
    session.flush()
    if INDEXED_FIELDS & given.keys() and article.active:
        _write_index(session=session, article=article)
    return article


def retire_article(
    *, session: Session, article_id: int, now: datetime | None = None
) -> KnowledgeArticle:
    """Take an article out of search for good; the row stays for the record."""
    article = get(session=session, article_id=article_id)
    article.active = False
    article.updated_at = _now(now)
    session.add(article)
    session.exec(delete(KnowledgeToken).where(col(KnowledgeToken.article_id) == article_id))
    session.flush()
    return article


def reindex_all(*, session: Session) -> int:
    """Rebuild the index of every active article (after the segmenter's dictionary changed)."""
    articles = session.exec(select(KnowledgeArticle).where(col(KnowledgeArticle.active))).all()
    for article in articles:
        _write_index(session=session, article=article)
    session.flush()
    return len(articles)


def search(*, session: Session, query: str, on_date: date, limit: int = 10) -> list[KnowledgeHit]:
    """Active articles valid on ``on_date`` that match ``query``, best first."""
    plan = plan_query(query)
    if not plan or limit <= 0:
        return []
    token = col(KnowledgeToken.token)
    groups_hit = func.count(distinct(case(plan.group_of(), value=token)))
    score = func.sum(KnowledgeToken.weight * case(plan.weights(), value=token, else_=0))
    bonus = case((groups_hit == plan.groups, ALL_GROUPS_BONUS * plan.groups), else_=0)
    rank = (score + bonus).label("rank")
    valid_from, valid_to = col(KnowledgeArticle.valid_from), col(KnowledgeArticle.valid_to)
    statement = (
        select(KnowledgeToken.article_id, rank)
        .join(KnowledgeArticle, col(KnowledgeArticle.id) == col(KnowledgeToken.article_id))
        .where(
            token.in_(plan.tokens()),
            col(KnowledgeArticle.active),
            and_(
                or_(valid_from.is_(None), valid_from <= on_date),
                or_(valid_to.is_(None), valid_to >= on_date),
            ),
        )
        .group_by(col(KnowledgeToken.article_id))
        .order_by(rank.desc(), col(KnowledgeToken.article_id))
        .limit(limit)
    )
    ranked = [(int(article_id), int(points)) for article_id, points in session.exec(statement)]
    if not ranked:
        return []
    ids = [article_id for article_id, _ in ranked]
    by_id = {
        article.id: article
        for article in session.exec(
            select(KnowledgeArticle).where(col(KnowledgeArticle.id).in_(ids))
        )
    }
    tokens = plan.tokens()
    return [
        KnowledgeHit(article=by_id[i], score=points, snippet=snippet(by_id[i].body, tokens))
        for i, points in ranked
    ]


def _seed_entries(data: Any, *, source: str) -> Iterable[KnowledgeArticleCreate]:
    entries = data.get("articles") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidArticle(field="articles", reason="expected a list", where=source)
    for number, entry in enumerate(entries):
        where = f"{source}: articles[{number}]"
        if not isinstance(entry, dict) or not entry.get("slug"):
            raise InvalidArticle(field="slug", reason="every seed article needs one", where=where)
        try:
            yield KnowledgeArticleCreate.model_validate(entry)
        except ValueError as exc:
            raise InvalidArticle(field=str(entry["slug"]), reason=str(exc), where=where) from exc


def load_seed(
    *, session: Session, text: str | None = None, source: str = "seed.yaml",
    only: Collection[str] | None = None,
) -> int:
    """Add the seed articles whose slug is not stored yet; returns how many were added.

    Running it again adds nothing and leaves edited articles alone. ``text`` defaults to the
    packaged ``hotline/knowledge/seed.yaml``; ``only`` limits it to those slugs.
    """
    if text is None:
        text = resources.files("hotline.knowledge").joinpath("seed.yaml").read_text("utf-8")
    entries = [entry for entry in _seed_entries(yaml.safe_load(text), source=source)
               if only is None or entry.slug in only]
    slugs = [entry.slug for entry in entries]
    known = set(
        session.exec(
            select(KnowledgeArticle.slug).where(col(KnowledgeArticle.slug).in_(slugs))
        ).all()
    )
    fresh = {entry.slug: entry for entry in entries if entry.slug not in known}
    add_articles(session=session, articles=fresh.values())
    return len(fresh)
