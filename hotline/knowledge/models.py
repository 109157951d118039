"""Tables of the knowledge base (知识库, SQLModel).

``KnowledgeArticle`` holds what operators read out; ``KnowledgeToken`` is its search index: one
row per (article, word) with the word's weight in that article (title > keywords > body), so
that ranking is plain SQL that SQLite and PostgreSQL compute the same way.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

TITLE_MAX = 200
KEYWORD_MAX = 32
TOKEN_MAX = 64


def _clean_keywords(value: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for keyword in value:
        keyword = keyword.strip()
        if keyword:
            seen.setdefault(keyword[:KEYWORD_MAX], None)
    return list(seen)


class KnowledgeArticleBase(SQLModel):
    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(sa_column=Column(Text, nullable=False))
    unit_name: str = Field(default="", max_length=128)  # owning unit; a foreign key later
    valid_from: date | None = None  # None: valid since always
    valid_to: date | None = None  # None: no end; inclusive


class KnowledgeArticleCreate(KnowledgeArticleBase):
    keywords: list[str] = Field(default_factory=list)
    # stable key of an article that comes from a file (the seed); None when typed in
    slug: str | None = Field(default=None, max_length=64)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return _clean_keywords(value)

    @model_validator(mode="after")
    def _period(self) -> KnowledgeArticleCreate:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class KnowledgeArticleUpdate(SQLModel):
    """Only the fields given are changed; ``valid_to=None`` given explicitly opens the end."""

    title: str | None = Field(default=None, min_length=1, max_length=TITLE_MAX)
    body: str | None = None
    keywords: list[str] | None = None
    unit_name: str | None = Field(default=None, max_length=128)
    valid_from: date | None = None
    valid_to: date | None = None

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _clean_keywords(value)


class KnowledgeArticle(KnowledgeArticleBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str | None = Field(default=None, unique=True, max_length=64)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True  # False once retired; never deleted
    created_at: datetime
    updated_at: datetime


class KnowledgeArticlePublic(KnowledgeArticleBase):
    id: int
    slug: str | None
    keywords: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class KnowledgeToken(SQLModel, table=True):
    """One word of one article, with its summed field weight (see ``search.index_terms``)."""

    __table_args__ = (Index("ix_knowledgetoken_token_article", "token", "article_id", "weight"),)

    article_id: int = Field(foreign_key="knowledgearticle.id", primary_key=True, ondelete="CASCADE")
    token: str = Field(primary_key=True, max_length=TOKEN_MAX)
    weight: int
