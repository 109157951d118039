"""The knowledge base (知识库) over HTTP: search for every staff role, edits for supervisors.

    GET    /api/knowledge/search?q=社保卡丢了&limit=10&on=2026-11-23   hits, best first
    GET    /api/knowledge/articles?unit=&active=&limit=&offset=        one page, oldest first
    GET    /api/knowledge/articles/{id}
    POST   /api/knowledge/articles          supervisor, admin (201)
    PATCH  /api/knowledge/articles/{id}     supervisor, admin: only the fields given change
    DELETE /api/knowledge/articles/{id}     supervisor, admin: retire (204); the row is kept

The routes own the transaction: the service only flushes, a route commits once it succeeded,
and an error leaves the session to roll back (nothing half written).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator, BaseModel
from sqlmodel import Session, SQLModel

from hotline.knowledge import service
from hotline.knowledge.models import (
    KnowledgeArticle,
    KnowledgeArticleCreate,
    KnowledgeArticlePublic,
    KnowledgeArticleUpdate,
)
from hotline.users.models import Role, User
from hotline.web.deps import CurrentUser, Now, SessionDep, require_roles

QUERY_MAX = 200
PAGE_MAX = 200

Editor = Annotated[User, Depends(require_roles(Role.supervisor, Role.admin))]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("type the words to look for")
    return value.strip()


SearchWords = Annotated[
    str, Query(max_length=QUERY_MAX, description="what the caller asked"),
    AfterValidator(_not_blank),
]


class KnowledgeHitPublic(BaseModel):
    id: int
    title: str
    snippet: str  # HTML-escaped, the query's words wrapped in <mark>
    score: int
    unit_name: str
    valid_from: date | None
    valid_to: date | None


class KnowledgeSearchPublic(BaseModel):
    query: str
    on: date  # the day the articles had to be valid on
    hits: list[KnowledgeHitPublic]


class KnowledgeArticlesPublic(SQLModel):
    data: list[KnowledgeArticlePublic]
    count: int  # articles matching the filters in all pages


def _public(article: KnowledgeArticle) -> KnowledgeArticlePublic:
    return KnowledgeArticlePublic.model_validate(article)


def _stored(session: Session, article: KnowledgeArticle) -> KnowledgeArticlePublic:
    """Commit, then answer with the row as stored (what a later GET gives, times in UTC)."""
    session.commit()
    session.refresh(article)
    return _public(article)


router = APIRouter(prefix="/api/knowledge", tags=["knowledge"])


@router.get("/search", summary="Search the knowledge base (best first)")
def search(
    q: SearchWords,
    session: SessionDep,
    user: CurrentUser,
    now: Now,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    on: Annotated[date | None, Query(description="valid on this day; default today")] = None,
) -> KnowledgeSearchPublic:
    day = on or now.date()
    hits = service.search(session=session, query=q, on_date=day, limit=limit)
    return KnowledgeSearchPublic(query=q, on=day, hits=[
        KnowledgeHitPublic(
            id=hit.article.id or 0, title=hit.article.title, snippet=hit.snippet, score=hit.score,
            unit_name=hit.article.unit_name, valid_from=hit.article.valid_from,
            valid_to=hit.article.valid_to,
        )
        for hit in hits
    ])


@router.get("/articles", summary="List articles, by owning unit and whether still active")
def list_articles(
    session: SessionDep,
    user: CurrentUser,
    unit: Annotated[str | None, Query(max_length=128)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> KnowledgeArticlesPublic:
    rows, count = service.list_articles(
        session=session, unit_name=unit, active=active, limit=limit, offset=offset
    )
    return KnowledgeArticlesPublic(data=[_public(a) for a in rows], count=count)


@router.get("/articles/{article_id}", summary="One article, retired ones included")
def get_article(article_id: int, session: SessionDep, user: CurrentUser) -> KnowledgeArticlePublic:
    return _public(service.get(session=session, article_id=article_id))


@router.post("/articles", status_code=201, summary="Write a new article")
def add_article(
    body: KnowledgeArticleCreate, session: SessionDep, user: Editor, now: Now
) -> KnowledgeArticlePublic:
    article = service.add_article(session=session, article=body, now=now)
    return _stored(session, article)


@router.patch("/articles/{article_id}", summary="Change the fields given; search follows")
def update_article(
    article_id: int, body: KnowledgeArticleUpdate, session: SessionDep, user: Editor, now: Now
) -> KnowledgeArticlePublic:
    article = service.update_article(session=session, article_id=article_id, changes=body, now=now)
    return _stored(session, article)


@router.delete("/articles/{article_id}", status_code=204,
               summary="Retire an article: out of search for good, kept for the record")
def retire_article(article_id: int, session: SessionDep, user: Editor, now: Now) -> None:
    service.retire_article(session=session, article_id=article_id, now=now)
    session.commit()
