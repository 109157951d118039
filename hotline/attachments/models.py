"""The attachment table: the file lives in ``<attachments_dir>/<stored_name>``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    name: str = Field(max_length=255)  # as uploaded, for display and download only
    content_type: str = Field(max_length=64)  # found from the content, not the name
    size_bytes: int
    sha256: str = Field(max_length=64)
    stored_name: str = Field(max_length=128, unique=True)  # <sha256>-<id>.<ext>: no user input
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime
