"""Settings of outbound calls (``Settings.outbound``, ``HOTLINE_OUTBOUND__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OutboundSettings(BaseModel):
    enabled: bool = True
    max_attempts: int = Field(default=3, ge=1)
    retry_hours: float = Field(default=2.0, ge=0)
    calling_start: str = "08:00"  # center-local time
    calling_end: str = "20:00"  # "24:00" or "00:00": until midnight
    call_on_holidays: bool = False
    call_on_weekends: bool = True
    # Concurrent calls: per trunk by name, and on any other trunk.
    trunk: str = "default"
    max_concurrent: int = Field(default=4, ge=0)
    trunk_limits: dict[str, int] = Field(default_factory=dict)
    # Originate: the dial string ({number}, {trunk}), caller ID, ring time, the flows' context.
    dial: str = "PJSIP/{number}"
    caller_id: str = '"12345" <12345>'
    ring_seconds: int = Field(default=30, ge=5)
    max_call_seconds: float = Field(default=300.0, gt=0)
    context: str = "hotline-outbound-flow"
    survey_flow: str = "survey"
    reminder_flow: str = "reminder"
    interval_seconds: float = Field(default=15.0, gt=0)
    # Click-to-call (agent callbacks): a user's phone when not signed in to a seat
    # (user name -> dial string, e.g. {"cb": "PJSIP/seat3"}), and the bridging context.
    agent_phones: dict[str, str] = Field(default_factory=dict)
    agent_context: str = "hotline-agent-callback"
    # Call-backs from the queue (漏接回拨): asked for with the IVR's key, or hung up waiting.
    queue_callbacks: bool = True
    queue_callback_attempts: int = Field(default=3, ge=1)
    queue_callback_delay_seconds: float = Field(default=60.0, ge=0)  # after the call ended
    queue_callback_retry_minutes: float = Field(default=10.0, ge=0)  # then the calling hours
