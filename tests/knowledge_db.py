"""A real knowledge base (SQLite file, the packaged seed loaded) for the IVR's article tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from hotline.db import make_engine
from hotline.knowledge.service import load_seed


def seeded_knowledge_engine(path: Path) -> Engine:
    """An SQLite database holding only the knowledge tables, with the shipped seed."""
    engine = make_engine(f"sqlite:///{path}")
    tables = [SQLModel.metadata.tables["knowledgearticle"],
              SQLModel.metadata.tables["knowledgetoken"]]
    SQLModel.metadata.create_all(engine, tables=tables)
    with Session(engine) as session:
        load_seed(session=session)
        session.commit()
    return engine
