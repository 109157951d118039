"""Bodies and answers of the tickets API (``http.py``).

Every action body carries ``expected_version``: the ``version`` the client read. When the
ticket has moved on since, the action is refused with 409 and nothing is written; leave it out
to act on whatever the ticket is now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, model_validator

from hotline.tickets.lifecycle import EmergencyLine, Satisfaction
from hotline.tickets.models import Light, TicketCreate, TicketPublic, TicketType

Reason = Annotated[str, Field(min_length=2, max_length=2000)]


def _type_from_label(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return TicketType.from_label(value)
        except ValueError:
            return value  # the enum check names the allowed values
    return value


class TicketCreateRequest(TicketCreate):
    """A new ticket. ``request_type`` takes the value (``complaint``) or the label (``投诉``)."""

    request_type: Annotated[TicketType, BeforeValidator(_type_from_label)]
    description: str = Field(min_length=1, max_length=8000)


class Versioned(BaseModel):
    expected_version: int | None = Field(default=None, ge=0)


class DispatchBody(Versioned):
    main_unit: str = Field(min_length=1, max_length=64)
    assist_units: list[str] = Field(default_factory=list, max_length=20)


class ReasonBody(Versioned):
    reason: Reason


class ReviewReturnBody(Versioned):
    """改派 to ``redispatch_to``, or ``insist`` that the unit keeps it (维持)."""

    redispatch_to: str | None = Field(default=None, min_length=1, max_length=64)
    insist: bool = False
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _one_decision(self) -> ReviewReturnBody:
        if (self.redispatch_to is None) == (not self.insist):
            raise ValueError("give exactly one of redispatch_to or insist=true")
        return self


class ExtensionBody(Versioned):
    days: int = Field(ge=1, le=14)
    reason: Reason


class DecisionBody(Versioned):
    approve: bool
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _reason_when_refused(self) -> DecisionBody:
        if not self.approve and len(self.reason.strip()) < 2:
            raise ValueError("a refusal or a send-back needs a reason")
        return self


class ReplyBody(Versioned):
    text: str = Field(min_length=2, max_length=8000)


class RevisitBody(Versioned):
    result: Satisfaction
    caller_ticket: str | None = Field(default=None, max_length=16)  # a merged child's number


class AnswerNowBody(Versioned):
    answer: str = Field(min_length=2, max_length=8000)
    revisit_wanted: bool = False


class ParkBody(Versioned):
    until: AwareDatetime
    reason: Reason


class MergeBody(Versioned):
    parent: str = Field(min_length=1, max_length=16)


class TransferBody(Versioned):
    line: EmergencyLine


class AssignmentView(BaseModel):
    unit: str
    role: str
    status: str
    dispatched_at: datetime
    sign_by: datetime
    signed_at: datetime | None
    on_site_by: datetime | None = None  # urgent tickets: 到场 due
    arrived_at: datetime | None = None  # 到场 recorded


class TicketSummary(TicketPublic):
    main_unit: str | None = None
    time_left_seconds: int | None = None  # until the earliest running deadline; < 0 late


class TicketDetail(TicketSummary):
    parent_number: str | None = None
    children: list[str] = Field(default_factory=list)
    assignments: list[AssignmentView] = Field(default_factory=list)
    allowed_actions: list[str] = Field(default_factory=list)  # for the user who asked
    replies: list[dict[str, Any]] = Field(default_factory=list)
    extensions: list[dict[str, Any]] = Field(default_factory=list)
    surveys: list[dict[str, Any]] = Field(default_factory=list)
    matter: str | None = None


class TicketList(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None
    words: list[str] = Field(default_factory=list)


class LightCounts(BaseModel):
    green: int = 0
    yellow: int = 0
    red: int = 0

    @classmethod
    def of(cls, counts: dict[str, int]) -> LightCounts:
        return cls(**{k: v for k, v in counts.items() if k != Light.NONE.value})
