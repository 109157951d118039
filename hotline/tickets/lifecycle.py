"""The life cycle of a work order (工单): statuses, actions, state and events. Pure, no I/O.

This module is the vocabulary; ``rules.py`` says which actions are allowed when and what each
one does (``allowed_actions``, ``apply``, ``replay``, ``merge``).

Main path::

    accepted 受理 ─dispatch─▶ dispatched 派单 ─sign(main)─▶ signed 签收 ─start_handling─▶
    in_progress 办理中 ─reply(main)─▶ replied 已答复 ─review(approve)─▶ reviewed 审核
    ─start_revisit─▶ revisit 回访 ─revisit(result) for every caller─▶ closed 办结 ─archive─▶
    archived 归档

Side paths:

* 即办 ``answer_now``: accepted → closed, or → revisit when the caller wants a revisit.
* 转警 ``emergency_transfer``: accepted → transferred (terminal, to 110/119/120/122).
* 合并 ``merge``: accepted → merged (terminal); the parent ``attach_child`` so that the caller
  of every child is revisited before the parent closes.
* 退回 ``return``: a unit returns a ticket before signing or within ``return_window`` of signing
  (not once the main unit started handling, nor after the center insisted) → returned; the
  center's objection review ``review_return`` re-dispatches (改派) to another unit, or insists
  and gives it back to the same unit, which can no longer return it.
* 延期 ``request_extension`` by the main unit before its deadline, then ``decide_extension``;
  limit plus approved extensions never exceed ``Limits.max_handling_days``. A main reply drops
  an undecided request.
* 审核 ``review(approve=False)``: replied → in_progress, the main unit replies again.
* 重办: the first unsatisfied revisit sends the ticket back to the main unit (in_progress) with
  a new handling limit; the results of the second revisit stand and close the ticket.
* 双派: assisting units sign and reply on their own; the main unit can reply only once every
  open assisting assignment has replied.
* 到场 ``arrive`` by a unit of an urgent ticket that signed: records when it got on site and
  stops its on-site clock (``on_site_by``, 30 minutes from its dispatch by default).
* 挂账 ``park(until)`` from signed/in_progress/replied → parked; ``resume`` returns to where it
  was. A parked ticket is never closed by the machine; ``park_review_due`` tells the scheduler
  when to remind.

Handling deadline: set at dispatch to ``limit`` working days later. A new limit starts at a
re-dispatch of the main unit, a redo and a resume; it never makes the deadline earlier (the
later of the old deadline and the new limit wins). An approved extension moves it later.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from hotline.tickets.calendar import Limits, RequestType, Urgency, WorkCalendar

DEFAULT_CALENDAR = WorkCalendar()
DEFAULT_LIMITS = Limits()


class Status(enum.StrEnum):
    ACCEPTED = "accepted"  # 受理
    DISPATCHED = "dispatched"  # 派单
    SIGNED = "signed"  # 签收
    IN_PROGRESS = "in_progress"  # 办理中
    REPLIED = "replied"  # 已答复
    REVIEWED = "reviewed"  # 审核
    REVISIT = "revisit"  # 回访
    CLOSED = "closed"  # 办结
    ARCHIVED = "archived"  # 归档
    RETURNED = "returned"  # 退回, the center reviews the objection (派单异议审核)
    PARKED = "parked"  # 挂账
    MERGED = "merged"  # 合并 into a parent ticket
    TRANSFERRED = "transferred"  # handed to 110/119/120/122


class Role(enum.StrEnum):
    MAIN = "main"  # 主办
    ASSIST = "assist"  # 协办


class AssignmentStatus(enum.StrEnum):
    DISPATCHED = "dispatched"
    SIGNED = "signed"
    REPLIED = "replied"
    RETURNED = "returned"


class Satisfaction(enum.StrEnum):
    SATISFIED = "满意"
    BASICALLY_SATISFIED = "基本满意"
    UNSATISFIED = "不满意"


class EmergencyLine(enum.StrEnum):
    POLICE = "110"
    FIRE = "119"
    AMBULANCE = "120"
    TRAFFIC_POLICE = "122"


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: ClassVar[str]


@dataclass(frozen=True)
class Dispatch(Action):
    name: ClassVar[str] = "dispatch"
    main_unit: str
    assist_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sign(Action):
    name: ClassVar[str] = "sign"
    unit: str


@dataclass(frozen=True)
class Arrive(Action):
    """到场: the unit is on site (urgent tickets); the event's time is the arrival."""

    name: ClassVar[str] = "arrive"
    unit: str


@dataclass(frozen=True)
class Return(Action):
    name: ClassVar[str] = "return"
    unit: str
    reason: str


@dataclass(frozen=True)
class ReviewReturn(Action):
    """The objection review: ``redispatch_to`` another unit (改派) or ``insist`` (维持)."""

    name: ClassVar[str] = "review_return"
    redispatch_to: str | None = None
    insist: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.redispatch_to is None) == (not self.insist):
            raise ValueError("review_return takes exactly one of redispatch_to or insist=True")


@dataclass(frozen=True)
class StartHandling(Action):
    name: ClassVar[str] = "start_handling"
    unit: str


@dataclass(frozen=True)
class RequestExtension(Action):
    name: ClassVar[str] = "request_extension"
    unit: str
    days: int
    reason: str


@dataclass(frozen=True)
class DecideExtension(Action):
    name: ClassVar[str] = "decide_extension"
    approve: bool
    reason: str = ""


@dataclass(frozen=True)
class Reply(Action):
    name: ClassVar[str] = "reply"
    unit: str
    text: str


@dataclass(frozen=True)
class Review(Action):
    name: ClassVar[str] = "review"
    approve: bool
    reason: str = ""


@dataclass(frozen=True)
class StartRevisit(Action):
    name: ClassVar[str] = "start_revisit"


@dataclass(frozen=True)
class Revisit(Action):
    """The result of calling back one caller: this ticket's (default) or a merged child's."""

    name: ClassVar[str] = "revisit"
    result: Satisfaction
    ticket_id: str | None = None


@dataclass(frozen=True)
class Close(Action):
    """Close without (more) revisits: anonymous caller, caller declined or unreachable."""

    name: ClassVar[str] = "close"
    reason: str


@dataclass(frozen=True)
class Archive(Action):
    name: ClassVar[str] = "archive"


@dataclass(frozen=True)
class AnswerNow(Action):
    name: ClassVar[str] = "answer_now"
    answer: str
    revisit_wanted: bool = False


@dataclass(frozen=True)
class Park(Action):
    name: ClassVar[str] = "park"
    until: datetime
    reason: str


@dataclass(frozen=True)
class Resume(Action):
    name: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Merge(Action):
    name: ClassVar[str] = "merge"
    parent: str


@dataclass(frozen=True)
class AttachChild(Action):
    name: ClassVar[str] = "attach_child"
    child: str


@dataclass(frozen=True)
class EmergencyTransfer(Action):
    name: ClassVar[str] = "emergency_transfer"
    line: EmergencyLine


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """One unit's share of a ticket; ``must_handle`` after the center insisted on a return."""

    unit: str
    role: Role
    status: AssignmentStatus
    dispatched_at: datetime
    sign_by: datetime
    signed_at: datetime | None = None
    on_site_by: datetime | None = None  # urgent tickets only
    arrived_at: datetime | None = None  # 到场, urgent tickets only
    must_handle: bool = False

    @property
    def is_open(self) -> bool:
        return self.status is not AssignmentStatus.RETURNED


@dataclass(frozen=True)
class PendingExtension:
    unit: str
    days: int
    reason: str
    requested_at: datetime


@dataclass(frozen=True)
class Clock:
    """A running time limit: ``dispatch``, ``sign:<unit>``, ``on_site:<unit>`` (minutes) or
    ``handling``.

    Give ``working_days`` clocks a calendar when computing their light.
    """

    name: str
    start: datetime
    deadline: datetime
    working_days: bool = False


_CLOCKED = frozenset({Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS, Status.RETURNED})


@dataclass(frozen=True)
class TicketState:
    ticket_id: str
    request_type: RequestType
    created_at: datetime
    dispatch_by: datetime
    urgency: Urgency = Urgency.NORMAL
    difficult: bool = False  # 疑难
    status: Status = Status.ACCEPTED
    assignments: tuple[Assignment, ...] = ()  # returned ones stay, in dispatch order
    handling_started_at: datetime | None = None  # start of the current handling limit
    handling_deadline: datetime | None = None
    extension_days_used: int = 0
    pending_extension: PendingExtension | None = None
    returned_by: str | None = None
    resume_status: Status | None = None  # where a return review or a resume goes back to
    parked_until: datetime | None = None
    redo_count: int = 0
    revisit_results: tuple[tuple[str, Satisfaction], ...] = ()  # (ticket id, result)
    children: tuple[str, ...] = ()
    merged_into: str | None = None
    transferred_to: EmergencyLine | None = None

    def open_assignment(self, unit: str) -> Assignment | None:
        return next((a for a in self.assignments if a.unit == unit and a.is_open), None)

    def main_assignment(self) -> Assignment | None:
        return next((a for a in self.assignments if a.role is Role.MAIN and a.is_open), None)

    def callers_to_revisit(self) -> tuple[str, ...]:
        done = {ticket_id for ticket_id, _ in self.revisit_results}
        return tuple(t for t in (self.ticket_id, *self.children) if t not in done)

    def running_clocks(self) -> tuple[Clock, ...]:
        """The time limits running now, for the scheduler's lights (none while parked)."""
        clocks: list[Clock] = []
        if self.status is Status.ACCEPTED:
            clocks.append(Clock("dispatch", self.created_at, self.dispatch_by))
        if self.status in _CLOCKED:
            clocks += [
                Clock(f"sign:{a.unit}", a.dispatched_at, a.sign_by)
                for a in self.assignments
                if a.status is AssignmentStatus.DISPATCHED
            ]
            clocks += [
                Clock(f"on_site:{a.unit}", a.dispatched_at, a.on_site_by)
                for a in self.assignments
                if a.on_site_by is not None and a.arrived_at is None
                and a.status in (AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED)
            ]
        start, deadline = self.handling_started_at, self.handling_deadline
        if self.status in _CLOCKED and start is not None and deadline is not None:
            clocks.append(Clock("handling", start, deadline, working_days=True))
        return tuple(clocks)


def new_ticket(
    ticket_id: str,
    *,
    request_type: RequestType,
    accepted_at: datetime,
    urgency: Urgency = Urgency.NORMAL,
    difficult: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> TicketState:
    """A ticket just accepted (受理): it must be dispatched within ``limits.dispatch``."""
    return TicketState(
        ticket_id=ticket_id,
        request_type=request_type,
        created_at=accepted_at,
        dispatch_by=accepted_at + limits.dispatch,
        urgency=urgency,
        difficult=difficult,
    )


@dataclass(frozen=True)
class Event:
    """What happened, enough to replay it: ``apply(before_state, action, now=at, actor=actor)``."""

    ticket_id: str
    action: Action
    actor: str
    at: datetime
    before: Status
    after: Status
    reason: str = ""

    @property
    def name(self) -> str:
        return self.action.name


@dataclass(frozen=True)
class Transition:
    new_state: TicketState
    event: Event
