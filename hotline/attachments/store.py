"""Attachment files: the type found from the content (never the name), a size limit, a
generated name under a folder outside the web root.

    store = AttachmentStore(settings.attachments_dir, max_bytes=10 << 20)
    kind = store.check(data, name="现场.jpg")          # AttachmentRefused if not allowed
    row = store.save(session=session, data=data, name=..., ticket_id=..., unit_id=...,
                     uploaded_by=..., now=now)
    path = store.path_of(row)
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from hotline.attachments.models import Attachment
from hotline.errors import HotlineError

# (content type, extension, magic prefix at offset 0)
SIGNATURES: tuple[tuple[str, str, bytes], ...] = (
    ("image/jpeg", "jpg", b"\xff\xd8\xff"),
    ("image/png", "png", b"\x89PNG\r\n\x1a\n"),
    ("application/pdf", "pdf", b"%PDF-"),
)


class AttachmentRefused(HotlineError):
    error_id = "attachment-refused"
    status_code = 422


@dataclass(frozen=True)
class Kind:
    content_type: str
    extension: str


def sniff(data: bytes) -> Kind | None:
    """The type of ``data`` from its first bytes: JPEG, PNG, WebP or PDF; None otherwise."""
    for content_type, ext, magic in SIGNATURES:
        if data.startswith(magic):
            return Kind(content_type, ext)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Kind("image/webp", "webp")
    return None


class AttachmentStore:
    def __init__(self, folder: Path, *, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def check(self, data: bytes, *, name: str) -> Kind:
        if not data:
            raise AttachmentRefused(f"{name}: empty file", name=name)
        if len(data) > self.max_bytes:
            raise AttachmentRefused(
                f"{name}: {len(data)} bytes, more than {self.max_bytes}", name=name,
                size=len(data), max_bytes=self.max_bytes)
        kind = sniff(data)
        if kind is None:
            raise AttachmentRefused(f"{name}: not a photo (JPEG, PNG, WebP) nor a PDF",
                                    name=name)
        return kind

    def save(self, *, session: Session, data: bytes, name: str, ticket_id: int,
             unit_id: int | None, uploaded_by: str, now: datetime) -> Attachment:
        kind = self.check(data, name=name)
        digest = hashlib.sha256(data).hexdigest()
        stored = f"{digest[:16]}-{uuid.uuid4().hex}.{kind.extension}"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / stored
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        row = Attachment(ticket_id=ticket_id, unit_id=unit_id, name=Path(name).name[:255],
                         content_type=kind.content_type, size_bytes=len(data), sha256=digest,
                         stored_name=stored, uploaded_by=uploaded_by, uploaded_at=now)
        session.add(row)
        session.flush()
        return row

    def path_of(self, row: Attachment) -> Path:
        return self.folder / row.stored_name
