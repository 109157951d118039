"""The port outbound calls are placed through, as a Protocol (``ami.py`` implements it over
AMI Originate; tests implement it in memory). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from hotline.outbound.rules import Outcome, Purpose


@dataclass(frozen=True)
class PlacedCall:
    """One attempt to dial: what the dialer and the flow need to know."""

    call_id: int
    attempt_id: int
    attempt: int
    purpose: Purpose
    phone: str
    trunk: str
    ticket_number: str
    subject: str = ""  # surveys: what the ticket was about; reminders: the unit
    deadline: datetime | None = None  # reminders: the deadline named


@dataclass(frozen=True)
class CallReport:
    """How a placed call went.

    ``reached`` is ANSWERED when the line was answered (whatever happened next), else
    NO_ANSWER, BUSY or FAILED. ``key`` is the survey's rating key or the reminder's
    acknowledgement key ("" when none was pressed); ``comment`` the recorded comment's path.
    """

    reached: Outcome
    key: str = ""
    comment: str | None = None
    uniqueid: str | None = None
    detail: dict[str, str] = field(default_factory=dict)


class Dialer(Protocol):
    async def place(self, call: PlacedCall) -> CallReport:
        """Dial, run the call's flow if answered, and say how it went. Never raises for a
        call that could not be made: that is ``CallReport(Outcome.FAILED, …)``."""
        ...
