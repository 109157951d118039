"""Settings of request understanding and drafts (``Settings.intake``, ``HOTLINE_INTAKE__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IntakeSettings(BaseModel):
    # Automatic dispatch of a left message's draft (off by default: None). When set, a
    # message whose unit suggestion has at least this confidence (0..1) becomes a ticket
    # dispatched at once to that unit by ``system``; below it, operators dispatch as usual.
    auto_dispatch_confidence: float | None = Field(default=None, ge=0, le=1)
