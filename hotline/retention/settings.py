"""Settings of retention (``Settings.retention``, ``HOTLINE_RETENTION__*``).

Each kind has its own period in days; ``null`` keeps it forever. The clean-up runs in the app
every ``interval_hours`` (``enabled``) and on demand (``hotline retention run [--dry-run]``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class RetentionSettings(BaseModel):
    enabled: bool = True  # the periodic job in the app; the command works either way
    call_days: int | None = Field(default=3 * 365, ge=1)  # call records and their IVR steps
    recording_days: int | None = Field(default=365, ge=1)  # audio files and transcripts
    export_days: int | None = Field(default=30, ge=1)  # files written to exports_dir
    exports_dir: Path | None = None  # None: <home>/var/exports
    interval_hours: float = Field(default=24.0, gt=0)
