"""Alembic environment: the engine is handed in by hotline.db.migrate."""

from alembic import context
from sqlmodel import SQLModel

import hotline.attachments.models  # noqa: F401
import hotline.audit.models  # noqa: F401
import hotline.calls.models  # noqa: F401  (register tables)
import hotline.knowledge.models  # noqa: F401
import hotline.notify.models  # noqa: F401
import hotline.outbound.models  # noqa: F401
import hotline.oversight.models  # noqa: F401
import hotline.retention.models  # noqa: F401
import hotline.seats.models  # noqa: F401
import hotline.stt.models  # noqa: F401
import hotline.tickets.models  # noqa: F401
import hotline.users.models  # noqa: F401

target_metadata = SQLModel.metadata
engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
