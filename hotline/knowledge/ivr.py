"""The knowledge base as the IVR speaks it: ``play`` nodes with ``article:`` (fixed-content
answers such as office hours) take the article's current body from here.

A flow names an article by its id (digits), its slug (the stable key of seeded articles) or
its exact title. The body is spoken only while the article is active and valid on the day of
the call (``valid_from``/``valid_to``, inclusive); otherwise the node plays its fallback::

    knowledge = StoreKnowledgeArticles(engine)
    await knowledge.spoken_article("service-center-hours", on_date=date(2026, 11, 24))
    # SpokenArticle(status='found', text='市政务服务中心办事大厅工作日…', article_id=1, ...)
    knowledge.articles_not_found(["service-center-hours", "no-such"])  # ['no-such']
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from datetime import date
from importlib import resources

import yaml
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from hotline.ivr.ports import ArticleStatus, SpokenArticle
from hotline.knowledge.models import KnowledgeArticle
from hotline.knowledge.service import load_seed

log = logging.getLogger(__name__)


def find_article(*, session: Session, ref: str) -> KnowledgeArticle | None:
    """The article a flow names: by id when ``ref`` is digits, else by slug, else by exact
    title (an active article before a retired one, then the oldest)."""
    ref = ref.strip()
    if ref.isdigit():
        return session.get(KnowledgeArticle, int(ref))
    by_slug = session.exec(
        select(KnowledgeArticle).where(col(KnowledgeArticle.slug) == ref)
    ).first()
    if by_slug is not None:
        return by_slug
    return session.exec(
        select(KnowledgeArticle)
        .where(col(KnowledgeArticle.title) == ref)
        .order_by(col(KnowledgeArticle.active).desc(), col(KnowledgeArticle.id))
    ).first()


def article_status(article: KnowledgeArticle | None, *, on_date: date) -> ArticleStatus:
    """Whether the article can be spoken on ``on_date``, or why not."""
    if article is None:
        return "missing"
    if not article.active:
        return "retired"
    if article.valid_from is not None and on_date < article.valid_from:
        return "not_yet_valid"
    if article.valid_to is not None and on_date > article.valid_to:
        return "expired"
    if not article.body.strip():
        return "empty"
    return "found"


def spoken_text(body: str) -> str:
    """The body as one line for text-to-speech (line breaks of the editor removed)."""
    return "".join(line.strip() for line in body.splitlines())


class StoreKnowledgeArticles:
    """``KnowledgeArticles`` (``hotline.ivr.ports``) on the articles in the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def spoken_article(self, ref: str, *, on_date: date) -> SpokenArticle:
        return await asyncio.to_thread(self._spoken, ref, on_date)

    def _spoken(self, ref: str, on_date: date) -> SpokenArticle:
        with Session(self.engine) as session:
            article = find_article(session=session, ref=ref)
            status = article_status(article, on_date=on_date)
            if article is None:
                return SpokenArticle(status=status)
            text = spoken_text(article.body) if status == "found" else ""
            return SpokenArticle(status=status, text=text, article_id=article.id,
                                 title=article.title)

    def articles_not_found(self, refs: Collection[str]) -> list[str] | None:
        """An empty knowledge base is checked against the packaged seed, which the first
        start loads into it (``hotline.app.first_start_data``)."""
        try:
            with Session(self.engine) as session:
                if session.exec(select(KnowledgeArticle.id).limit(1)).first() is None:
                    seeded = _seed_names()
                    return [ref for ref in refs if ref.strip() not in seeded]
                missing = []
                for ref in refs:
                    article = find_article(session=session, ref=ref)
                    if article is None or not article.active:
                        missing.append(ref)
                return missing
        except SQLAlchemyError as exc:  # no database yet, or not migrated
            log.warning("cannot read the knowledge base to check flow articles: %s", exc)
            return None

    def add_seeded(self, refs: Collection[str]) -> int:
        """Add the packaged seed articles that ``refs`` name by slug and the base lacks (a
        base seeded by an older version); returns how many were added. Retired ones stay
        retired: their slug is stored."""
        with Session(self.engine) as session:
            added = load_seed(session=session, only={ref.strip() for ref in refs})
            session.commit()
        return added


def _seed_names() -> set[str]:
    """Slugs and titles of the packaged seed articles."""
    text = resources.files("hotline.knowledge").joinpath("seed.yaml").read_text("utf-8")
    entries = (yaml.safe_load(text) or {}).get("articles") or []
    return {str(e[key]) for e in entries if isinstance(e, dict) for key in ("slug", "title")
            if e.get(key)}
