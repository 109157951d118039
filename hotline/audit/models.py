"""The audit log table (SQLModel). Times are aware, in UTC.

One row per access: ``action`` is ``play`` (the audio fetched from its first byte, the way a
player starts) or ``download``; one row per monitoring session of a live call (``listen``,
``whisper``, ``barge``: ``at`` its start, ``ended_at`` its end, ``detail`` the phone and how
the originate went); one row per retention clean-up (``retention``: counts and bytes deleted in
``detail``). The recording is named by id and path, without a foreign key:
the entry must outlive the recording when retention deletes it. A change of the retention
periods on the page is one ``retention_edit`` row, the old and new days of each kind in
``detail``. Every table or report taken out of the oversight pages is one ``export`` row: the
file's name in ``path``, what it holds (period, rows, the generated report's id) in ``detail``.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class AuditAction(enum.StrEnum):
    PLAY = "play"  # 播放
    DOWNLOAD = "download"  # 下载
    LISTEN = "listen"  # 监听
    WHISPER = "whisper"  # 耳语 (the agent hears the supervisor, the caller does not)
    BARGE = "barge"  # 强插 (both hear the supervisor)
    RETENTION = "retention"  # 过期清理
    RETENTION_EDIT = "retention_edit"  # 保留期限修改: old and new days in ``detail``
    TRANSFER = "transfer"  # 转警: the seat moved a live call to an emergency line (or failed)
    EXPORT = "export"  # 导出: a table or generated report taken out (file name in ``path``)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    actor: str = Field(index=True, max_length=64)
    role: str = Field(max_length=32)
    action: str = Field(max_length=16)
    recording_id: int | None = Field(default=None, index=True)
    call_uniqueid: str = Field(default="", max_length=64)
    path: str = Field(default="", max_length=512)
    client: str = Field(default="", max_length=64)  # the address the request came from
    ended_at: datetime | None = None  # monitoring sessions: when it ended
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
