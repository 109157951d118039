"""Tables of work orders (工单), units (承办单位) and the responsibility list (职责清单).

The life cycle itself is pure (``rules.py``); a ticket row keeps the machine's ``TicketState``
serialised in ``state`` so that it can be rebuilt exactly, and copies what queries need into
indexed columns (status, main unit, next deadline, light). ``TicketEvent`` is the append-only
log of every transition; replaying it through ``rules.apply`` gives ``state`` again.

All datetimes are aware (SQLModel stores them in UTC); pass the center's local time (UTC+8)
to the service so that working days and ticket numbers follow the local calendar.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.tickets.calendar import RequestType, Urgency


class Channel(enum.StrEnum):
    PHONE = "phone"
    WEB = "web"
    API = "api"
    PLATFORM = "platform"  # another platform forwarded it (政务平台, 留言板 …)


class TicketType(enum.StrEnum):
    """What the caller asks for. The machine knows five; praise and other borrow a limit."""

    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬
    OTHER = "other"  # 其他

    @property
    def label(self) -> str:
        return _TYPE_LABELS[self]

    @classmethod
    def from_label(cls, label: str) -> TicketType:
        """``咨询`` or ``consultation`` → ``TicketType.CONSULTATION``."""
        for member, text in _TYPE_LABELS.items():
            if label in (text, member.value):
                return member
        raise ValueError(f"unknown request type {label!r}")

    def for_machine(self) -> RequestType:
        """The handling limit: praise is passed on within a day, other matters as a help."""
        if self is TicketType.PRAISE:
            return RequestType.CONSULTATION
        if self is TicketType.OTHER:
            return RequestType.HELP
        return RequestType(self.value)


_TYPE_LABELS = {
    TicketType.CONSULTATION: "咨询",
    TicketType.HELP: "求助",
    TicketType.COMPLAINT: "投诉",
    TicketType.REPORT: "举报",
    TicketType.SUGGESTION: "建议",
    TicketType.PRAISE: "表扬",
    TicketType.OTHER: "其他",
}


class UnitKind(enum.StrEnum):
    CENTER = "center"  # 12345中心
    DEPARTMENT = "department"  # 市直部门
    TOWN_STREET = "town_street"  # 乡镇 / 街道
    COMMUNITY = "community"  # 社区 / 村
    ENTERPRISE = "enterprise"  # 公共服务企业: 供水, 供电, 燃气, 通信


class Locality(enum.StrEnum):
    """属地管理: what the town or street named by the location does for a matter."""

    NONE = "none"  # the department alone
    MAIN = "main"  # the town/street is the main unit
    ASSIST = "assist"  # the town/street assists the main unit


class Light(enum.StrEnum):
    """The ticket's light; ``NONE`` while no clock runs (closed, parked, merged …)."""

    NONE = "none"
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


# --- units and the responsibility list -----------------------------------------------------


class UnitBase(SQLModel):
    name: str = Field(min_length=1, max_length=64, unique=True, index=True)
    kind: UnitKind = Field(sa_type=String(16))
    duty_phone: str = Field(default="", max_length=32)


class UnitCreate(UnitBase):
    parent: str | None = None  # the parent's name


class Unit(UnitBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    parent_id: int | None = Field(default=None, foreign_key="unit.id", index=True)


class UnitPublic(UnitBase):
    id: int
    parent_id: int | None


class MatterBase(SQLModel):
    code: str = Field(min_length=1, max_length=32, unique=True, index=True)
    name: str = Field(min_length=1, max_length=64)
    locality: Locality = Field(default=Locality.NONE, sa_type=String(8))
    legal_basis: str = Field(default="", sa_column=Column(Text, nullable=False))


class MatterCreate(MatterBase):
    main_unit: str
    assist_units: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class Matter(MatterBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    main_unit_id: int = Field(foreign_key="unit.id", index=True)
    keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class MatterAssist(SQLModel, table=True):
    """An assisting unit (协办) of a matter, in the list's order."""

    matter_id: int = Field(foreign_key="matter.id", primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", primary_key=True)
    position: int = 0


# --- tickets -------------------------------------------------------------------------------


class TicketBase(SQLModel):
    channel: Channel = Field(default=Channel.PHONE, sa_type=String(16))
    caller_name: str = Field(default="", max_length=64)
    caller_phone: str = Field(default="", max_length=32, index=True)
    request_type: TicketType = Field(sa_type=String(16), index=True)
    matter_id: int | None = Field(default=None, foreign_key="matter.id", index=True)
    urgency: Urgency = Field(default=Urgency.NORMAL, sa_type=String(8))
    difficult: bool = False  # 疑难
    location: str = Field(default="", max_length=256)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    call_uniqueid: str | None = Field(default=None, max_length=64, index=True)
    transcript: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TicketCreate(TicketBase):
    """A draft from an operator, a web form, the API or a transcript (``stt.prefill``)."""


class Ticket(TicketBase, table=True):
    __table_args__ = (
        Index("ix_ticket_next_light_at", "next_light_at"),
        Index("ix_ticket_main_unit_status", "main_unit_id", "status"),
        # Lists are newest first; each filter the console uses walks one of these in order.
        Index("ix_ticket_created_id", "created_at", "id"),
        Index("ix_ticket_status_created", "status", "created_at", "id"),
        Index("ix_ticket_unit_created", "main_unit_id", "created_at", "id"),
        Index("ix_ticket_type_created", "request_type", "created_at", "id"),
        Index("ix_ticket_light_created", "light", "created_at", "id"),
        Index("ix_ticket_light_unit", "light", "main_unit_id"),  # the workspace (0071)
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=16, unique=True, index=True)  # YYYYMMDD-NNNNN
    parent_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    created_at: datetime = Field(index=True)
    updated_at: datetime
    version: int = 0  # the seq of the last event; checked by every UPDATE
    status: str = Field(max_length=16, index=True)
    main_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    deadline: datetime | None = Field(default=None, index=True)  # earliest running deadline
    handling_deadline: datetime | None = Field(default=None, index=True)
    yellow_at: datetime | None = None  # when the earliest running clock turns yellow
    light: Light = Field(default=Light.GREEN, sa_type=String(8), index=True)  # last published
    next_light_at: datetime | None = None  # when the light can next change: scan this
    parked_until: datetime | None = Field(default=None, index=True)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # Space-separated search words (jieba, search mode) of the description, location and
    # name: SQLite indexes it with FTS5 (ticket_fts), PostgreSQL with GIN on its words.
    search_terms: str = Field(default="", sa_column=Column(Text, nullable=False,
                                                          server_default=""))


class TicketPublic(TicketBase):
    id: int
    number: str
    parent_id: int | None
    created_at: datetime
    updated_at: datetime
    version: int
    status: str
    main_unit_id: int | None
    deadline: datetime | None
    handling_deadline: datetime | None
    light: Light


class TicketCounter(SQLModel, table=True):
    """The last sequence number given out on a day (``YYYYMMDD``)."""

    day: str = Field(primary_key=True, max_length=8)
    last: int = 0


class Assignment(SQLModel, table=True):
    """A unit's share of a ticket (one row per unit; its latest assignment in the state)."""

    __table_args__ = (UniqueConstraint("ticket_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: str = Field(max_length=8)  # main / assist
    status: str = Field(max_length=16, index=True)  # dispatched / signed / replied / returned
    dispatched_at: datetime
    sign_by: datetime
    signed_at: datetime | None = None


class Reply(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    event_seq: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime
    actor: str = Field(max_length=64)


class ExtensionRequest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    days: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    requested_at: datetime
    requested_by: str = Field(max_length=64)
    decision: str = Field(default="pending", max_length=16)  # pending/approved/refused/dropped
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decision_reason: str = Field(default="", max_length=512)


class SurveyResult(SQLModel, table=True):
    """The satisfaction revisit (回访) of one caller: the ticket's own or a merged child's."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    caller_ticket: str = Field(max_length=16)  # number of the ticket whose caller answered
    result: str = Field(max_length=8)  # 满意 / 基本满意 / 不满意
    round: int = 0  # 0 first revisit, 1 after a redo (重办)
    at: datetime
    actor: str = Field(max_length=64)


class DispatchChoice(SQLModel, table=True):
    """What the list suggested and what the operator chose, to learn from later."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    event_seq: int
    matter_id: int | None = Field(default=None, foreign_key="matter.id")
    suggested_main: str | None = Field(default=None, max_length=64)
    suggested_assist: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    chosen_main: str = Field(max_length=64)
    chosen_assist: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    followed: bool  # the operator took the suggestion unchanged
    at: datetime
    actor: str = Field(max_length=64)


class TicketEvent(SQLModel, table=True):
    """Append-only: seq 0 is the creation (its payload holds the initial state)."""

    __table_args__ = (UniqueConstraint("ticket_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    seq: int
    action: str = Field(max_length=32)
    actor: str = Field(max_length=64)
    at: datetime = Field(index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    before_status: str | None = Field(default=None, max_length=16)
    after_status: str = Field(max_length=16)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class TicketEventPublic(SQLModel):
    seq: int
    action: str
    actor: str
    at: datetime
    reason: str
    before_status: str | None
    after_status: str
    payload: dict[str, Any]


class ChangeKind(enum.StrEnum):
    EVENT = "event"  # a transition (or the creation) was written: ``seq`` is its event
    LIGHT = "light"  # the scanner found the light worse than the one last published
    DRAFT = "draft"  # a work-order draft (``hotline.intake.drafts``): ``draft_id`` says which
    # An emergency line suggested for a caller (action ``emergency``): the console interrupts
    # the operator at once. Written before the draft's own change (``draft_id`` says which).
    ALERT = "alert"
    # A parked ticket's (挂账) review date came (action ``park_review``, ``scanner.scan``): the
    # center and the unit are reminded; the ticket stays parked.
    REVIEW = "review"
    # A call a seat answered has no ticket yet and its 受理 clock turned yellow or red (action
    # the light; ``hotline.tickets.accept``): no ticket, the call's uniqueid in the payload.
    ACCEPT = "accept"


class TicketChange(SQLModel, table=True):
    """The outbox of ticket changes, in the order they were written (``id``).

    Read by the console's event stream (``stream.py``) and by whatever acts on light changes
    (the 督办 reminder calls). Written in the same transaction as the change itself, so a
    change is never published without being stored, nor stored without being published.
    ``unit_ids`` are the units holding an assignment then: a unit handler sees only theirs.
    A draft's change (``kind`` draft) has ``draft_id``, and ``ticket_id`` only once the draft
    became a ticket; its ``number`` is empty until then.
    """

    __tablename__ = "ticket_change"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    # No foreign key: ``ticket_draft`` belongs to ``hotline.intake`` (migration 0007).
    draft_id: int | None = Field(default=None, index=True)
    number: str = Field(max_length=16)
    kind: ChangeKind = Field(sa_type=String(8))
    action: str = Field(max_length=32)  # the event's action, or the new light
    seq: int | None = None
    status: str = Field(max_length=16)
    light: Light = Field(sa_type=String(8))
    unit_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
