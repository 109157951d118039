"""Transitions of the work-order life cycle, and the public API of ``hotline.tickets``.

Pure: no I/O, no clock (``now`` is always passed in). ``apply`` checks the action against
``allowed_actions`` and then against its arguments; either refusal raises ``ActionNotAllowed``
listing what can be done. Statuses, actions and the diagram are in ``lifecycle.py``; working
days, limits and lights in ``calendar.py``.

    >>> from datetime import datetime
    >>> from hotline.tickets.calendar import RequestType
    >>> from hotline.tickets.lifecycle import Dispatch, new_ticket
    >>> t0 = datetime(2026, 3, 2, 9, 0)  # a Monday
    >>> state = new_ticket("T1", request_type=RequestType.HELP, accepted_at=t0)
    >>> step = apply(state, Dispatch(main_unit="district-a"), now=t0, actor="op-7")
    >>> step.new_state.status, step.new_state.handling_deadline
    (<Status.DISPATCHED: 'dispatched'>, datetime.datetime(2026, 3, 5, 9, 0))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NoReturn

from hotline.tickets.calendar import Limits, Urgency, WorkCalendar
from hotline.tickets.errors import ActionNotAllowed, TicketError
from hotline.tickets.lifecycle import (
    DEFAULT_CALENDAR,
    DEFAULT_LIMITS,
    Action,
    AnswerNow,
    Archive,
    Arrive,
    Assignment,
    AssignmentStatus,
    AttachChild,
    Close,
    DecideExtension,
    Dispatch,
    EmergencyTransfer,
    Event,
    Merge,
    Park,
    PendingExtension,
    Reply,
    RequestExtension,
    Resume,
    Return,
    Review,
    ReviewReturn,
    Revisit,
    Role,
    Satisfaction,
    Sign,
    StartHandling,
    StartRevisit,
    Status,
    TicketState,
    Transition,
)

# --- guards: which actions the state allows ------------------------------------------------

_WORKING = frozenset({Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS})
_HANDLING = frozenset({Status.SIGNED, Status.IN_PROGRESS})
_ENDED = frozenset({Status.CLOSED, Status.ARCHIVED, Status.MERGED, Status.TRANSFERRED})
_CENTER_STATUSES: dict[str, frozenset[Status]] = {
    Dispatch.name: frozenset({Status.ACCEPTED}),
    AnswerNow.name: frozenset({Status.ACCEPTED}),
    Merge.name: frozenset({Status.ACCEPTED}),
    EmergencyTransfer.name: frozenset({Status.ACCEPTED}),
    ReviewReturn.name: frozenset({Status.RETURNED}),
    DecideExtension.name: _HANDLING,
    Review.name: frozenset({Status.REPLIED}),
    StartRevisit.name: frozenset({Status.REVIEWED}),
    Revisit.name: frozenset({Status.REVISIT}),
    Close.name: frozenset({Status.REVIEWED, Status.REVISIT}),
    Archive.name: frozenset({Status.CLOSED}),
    Park.name: frozenset({Status.SIGNED, Status.IN_PROGRESS, Status.REPLIED}),
    Resume.name: frozenset({Status.PARKED}),
    AttachChild.name: frozenset(Status) - _ENDED,
}
UNIT_ACTIONS = (Sign.name, Arrive.name, Return.name, StartHandling.name, RequestExtension.name,
                Reply.name)
CENTER_ACTIONS = tuple(_CENTER_STATUSES)


def _center_can(name: str, state: TicketState) -> bool:
    if state.status not in _CENTER_STATUSES[name]:
        return False
    if name == DecideExtension.name:
        return state.pending_extension is not None
    if name == Close.name and state.status is Status.REVIEWED:
        return not state.children  # every merged caller must be revisited
    return True


def _unit_can(
    name: str, state: TicketState, assignment: Assignment, *, now: datetime, limits: Limits
) -> bool:
    a, main = assignment, assignment.role is Role.MAIN
    if name == Sign.name:
        return state.status in _WORKING and a.status is AssignmentStatus.DISPATCHED
    if name == Return.name:
        statuses = frozenset({Status.DISPATCHED, Status.SIGNED}) if main else _WORKING
        in_window = a.signed_at is None or now - a.signed_at <= limits.return_window
        unsettled = a.status in (AssignmentStatus.DISPATCHED, AssignmentStatus.SIGNED)
        return state.status in statuses and unsettled and not a.must_handle and in_window
    if a.status is not AssignmentStatus.SIGNED:
        return False
    if name == Arrive.name:  # an urgent ticket's unit, once signed, until it replied
        return state.status in _WORKING and a.on_site_by is not None and a.arrived_at is None
    if name == StartHandling.name:
        return main and state.status is Status.SIGNED
    if name == RequestExtension.name:
        deadline = state.handling_deadline
        return (
            main
            and state.status in _HANDLING
            and state.pending_extension is None
            and deadline is not None
            and now <= deadline
            and extension_days_left(state, limits=limits) > 0
        )
    assists_done = all(
        x.status is AssignmentStatus.REPLIED
        for x in state.assignments
        if x.is_open and x.role is Role.ASSIST
    )
    return state.status in _WORKING and (not main or assists_done)  # reply


def extension_days_left(state: TicketState, *, limits: Limits = DEFAULT_LIMITS) -> int:
    base = limits.handling_days_for(state.request_type, difficult=state.difficult)
    return max(limits.max_handling_days - base - state.extension_days_used, 0)


def allowed_actions(
    state: TicketState,
    *,
    now: datetime,
    actor_unit: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[str, ...]:
    """Names of the actions that can be taken now: by ``actor_unit`` only, or by anyone."""
    if actor_unit is None:
        assignments = [a for a in state.assignments if a.is_open]
    else:
        assignments = [a for a in [state.open_assignment(actor_unit)] if a is not None]
    names = [
        name
        for name in UNIT_ACTIONS
        if any(_unit_can(name, state, a, now=now, limits=limits) for a in assignments)
    ]
    if actor_unit is None:
        names += [name for name in CENTER_ACTIONS if _center_can(name, state)]
    return tuple(names)


def park_review_due(state: TicketState, *, now: datetime) -> bool:
    """A parked ticket whose review date has come: remind the center (never close it)."""
    until = state.parked_until
    return state.status is Status.PARKED and until is not None and now >= until


# --- transitions ---------------------------------------------------------------------------


class _Refused(Exception):
    """An allowed action with arguments the state refuses; ``apply`` turns it into ours."""


def _refuse(reason: str) -> NoReturn:
    raise _Refused(reason)


@dataclass(frozen=True)
class _Context:
    now: datetime
    calendar: WorkCalendar
    limits: Limits


def apply(
    state: TicketState,
    action: Action,
    *,
    now: datetime,
    actor: str,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    limits: Limits = DEFAULT_LIMITS,
) -> Transition:
    """Take ``action`` at ``now``; the event records who, when, why, and the status change."""
    allowed = allowed_actions(state, now=now, limits=limits)
    if action.name not in allowed:
        raise ActionNotAllowed(action.name, state.status, allowed=allowed)
    try:
        new_state = _transition(state, action, _Context(now, calendar, limits))
    except _Refused as refused:
        raise ActionNotAllowed(
            action.name, state.status, allowed=allowed, reason=str(refused)
        ) from None
    reason: str = getattr(action, "reason", "")
    event = Event(
        ticket_id=state.ticket_id,
        action=action,
        actor=actor,
        at=now,
        before=state.status,
        after=new_state.status,
        reason=reason,
    )
    return Transition(new_state=new_state, event=event)


def replay(
    initial: TicketState,
    events: Iterable[Event],
    *,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    limits: Limits = DEFAULT_LIMITS,
) -> TicketState:
    """The state reached by applying every logged action again, from ``initial``."""
    state = initial
    for event in events:
        step = apply(
            state, event.action, now=event.at, actor=event.actor, calendar=calendar, limits=limits
        )
        state = step.new_state
    return state


def merge(
    child: TicketState,
    parent: TicketState,
    *,
    now: datetime,
    actor: str,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Transition, Transition]:
    """Merge a duplicate into its parent: ``(child's transition, parent's transition)``."""
    attach, into = AttachChild(child=child.ticket_id), Merge(parent=parent.ticket_id)
    parent_step = apply(parent, attach, now=now, actor=actor, calendar=calendar, limits=limits)
    child_step = apply(child, into, now=now, actor=actor, calendar=calendar, limits=limits)
    return child_step, parent_step


def _transition(s: TicketState, action: Action, c: _Context) -> TicketState:
    match action:
        case Dispatch():
            return _dispatch(s, action, c)
        case Sign():
            return _sign(s, action, c)
        case Arrive():
            assignment = _require_unit(s, action.name, action.unit, c)
            return _update(s, assignment, arrived_at=c.now)
        case Return():
            return _return(s, action, c)
        case ReviewReturn():
            return _review_return(s, action, c)
        case StartHandling():
            _require_unit(s, action.name, action.unit, c)
            return replace(s, status=Status.IN_PROGRESS)
        case RequestExtension():
            return _request_extension(s, action, c)
        case DecideExtension():
            return _decide_extension(s, action, c)
        case Reply():
            return _reply(s, action, c)
        case Review():
            return _review(s, action, c)
        case StartRevisit():
            return replace(s, status=Status.REVISIT)
        case Revisit():
            return _revisit(s, action, c)
        case Close():
            _require_text(action.reason, "a close without revisit needs a reason")
            return replace(s, status=Status.CLOSED)
        case Archive():
            return replace(s, status=Status.ARCHIVED)
        case AnswerNow():
            _require_text(action.answer, "an immediate answer needs its text")
            return replace(s, status=Status.REVISIT if action.revisit_wanted else Status.CLOSED)
        case Park():
            return _park(s, action, c)
        case Resume():
            return _resume(s, c)
        case Merge():
            if action.parent == s.ticket_id:
                _refuse("a ticket cannot be merged into itself")
            return replace(s, status=Status.MERGED, merged_into=action.parent)
        case AttachChild():
            if action.child == s.ticket_id or action.child in s.children:
                _refuse(f"{action.child!r} cannot be attached to {s.ticket_id!r}")
            return replace(s, children=(*s.children, action.child))
        case EmergencyTransfer():
            return replace(s, status=Status.TRANSFERRED, transferred_to=action.line)
    raise TicketError(f"unknown action {action!r}")


def _require_text(text: str, reason: str) -> None:
    if not text.strip():
        _refuse(reason)


def _require_unit(s: TicketState, name: str, unit: str, c: _Context) -> Assignment:
    assignment = s.open_assignment(unit)
    if assignment is None or not _unit_can(name, s, assignment, now=c.now, limits=c.limits):
        _refuse(f"unit {unit!r} cannot {name} now")
    return assignment


def _update(s: TicketState, assignment: Assignment, **changes: Any) -> TicketState:
    updated = replace(assignment, **changes)
    return replace(s, assignments=tuple(updated if a is assignment else a for a in s.assignments))


def _assign(
    s: TicketState, unit: str, *, role: Role, c: _Context, must_handle: bool = False
) -> Assignment:
    urgent = s.urgency is Urgency.URGENT
    return Assignment(
        unit=unit,
        role=role,
        status=AssignmentStatus.DISPATCHED,
        dispatched_at=c.now,
        sign_by=c.now + c.limits.sign_within(s.urgency),
        on_site_by=c.now + c.limits.on_site_urgent if urgent else None,
        must_handle=must_handle,
    )


def _new_limit(s: TicketState, c: _Context) -> TicketState:
    """Start a new handling limit from now; the deadline never becomes earlier."""
    days = c.limits.handling_days_for(s.request_type, difficult=s.difficult)
    fresh = c.calendar.add_working_days(c.now, days)
    old = s.handling_deadline
    return replace(s, handling_started_at=c.now, handling_deadline=max(fresh, old or fresh))


def _dispatch(s: TicketState, action: Dispatch, c: _Context) -> TicketState:
    units = (action.main_unit, *action.assist_units)
    if not all(u.strip() for u in units) or len(set(units)) != len(units):
        _refuse(f"units must be named and distinct, got {units}")
    main = _assign(s, action.main_unit, role=Role.MAIN, c=c)
    assists = tuple(_assign(s, u, role=Role.ASSIST, c=c) for u in action.assist_units)
    return _new_limit(replace(s, status=Status.DISPATCHED, assignments=(main, *assists)), c)


def _sign(s: TicketState, action: Sign, c: _Context) -> TicketState:
    assignment = _require_unit(s, action.name, action.unit, c)
    s = _update(s, assignment, status=AssignmentStatus.SIGNED, signed_at=c.now)
    return replace(s, status=Status.SIGNED) if assignment.role is Role.MAIN else s


def _return(s: TicketState, action: Return, c: _Context) -> TicketState:
    assignment = _require_unit(s, action.name, action.unit, c)
    _require_text(action.reason, "a return needs a reason")
    pending = None if assignment.role is Role.MAIN else s.pending_extension
    return replace(
        _update(s, assignment, status=AssignmentStatus.RETURNED),
        status=Status.RETURNED,
        returned_by=action.unit,
        resume_status=s.status,
        pending_extension=pending,
    )


def _review_return(s: TicketState, action: ReviewReturn, c: _Context) -> TicketState:
    returned = next(a for a in reversed(s.assignments) if a.unit == s.returned_by)
    unit = action.redispatch_to or returned.unit
    if action.redispatch_to is not None and (
        unit == returned.unit or s.open_assignment(unit) is not None
    ):
        _refuse(f"cannot re-dispatch to {unit!r}: it returned or already holds the ticket")
    new = _assign(s, unit, role=returned.role, c=c, must_handle=action.insist)
    back = s.resume_status if returned.role is Role.ASSIST else Status.DISPATCHED
    assert back is not None
    s = replace(
        s, status=back, assignments=(*s.assignments, new), returned_by=None, resume_status=None
    )
    redispatched_main = returned.role is Role.MAIN and not action.insist
    return _new_limit(s, c) if redispatched_main else s


def _request_extension(s: TicketState, action: RequestExtension, c: _Context) -> TicketState:
    _require_unit(s, action.name, action.unit, c)
    _require_text(action.reason, "an extension request needs a reason")
    left = extension_days_left(s, limits=c.limits)
    if not 1 <= action.days <= left:
        _refuse(f"{action.days} working days asked, 1 to {left} can be granted")
    request = PendingExtension(action.unit, action.days, action.reason, requested_at=c.now)
    return replace(s, pending_extension=request)


def _decide_extension(s: TicketState, action: DecideExtension, c: _Context) -> TicketState:
    request, deadline = s.pending_extension, s.handling_deadline
    assert request is not None and deadline is not None
    if not action.approve:
        return replace(s, pending_extension=None)
    return replace(
        s,
        pending_extension=None,
        handling_deadline=c.calendar.add_working_days(deadline, request.days),
        extension_days_used=s.extension_days_used + request.days,
    )


def _reply(s: TicketState, action: Reply, c: _Context) -> TicketState:
    assignment = _require_unit(s, action.name, action.unit, c)
    _require_text(action.text, "a reply needs its text")
    s = _update(s, assignment, status=AssignmentStatus.REPLIED)
    if assignment.role is Role.ASSIST:
        return s
    return replace(s, status=Status.REPLIED, pending_extension=None)


def _back_to_main(s: TicketState) -> TicketState:
    main = s.main_assignment()
    assert main is not None
    return replace(_update(s, main, status=AssignmentStatus.SIGNED), status=Status.IN_PROGRESS)


def _review(s: TicketState, action: Review, c: _Context) -> TicketState:
    if action.approve:
        return replace(s, status=Status.REVIEWED)
    _require_text(action.reason, "sending a reply back needs a reason")
    return _back_to_main(s)


def _revisit(s: TicketState, action: Revisit, c: _Context) -> TicketState:
    caller = action.ticket_id or s.ticket_id
    waiting = s.callers_to_revisit()
    if caller not in waiting:
        _refuse(f"the caller of {caller!r} is not waiting for a revisit")
    s = replace(s, revisit_results=(*s.revisit_results, (caller, action.result)))
    if len(waiting) > 1:
        return s
    unsatisfied = any(r is Satisfaction.UNSATISFIED for _, r in s.revisit_results)
    if unsatisfied and s.redo_count == 0 and s.main_assignment() is not None:
        s = replace(_back_to_main(s), redo_count=1, revisit_results=())
        return _new_limit(s, c)
    return replace(s, status=Status.CLOSED)


def _park(s: TicketState, action: Park, c: _Context) -> TicketState:
    if action.until <= c.now:
        _refuse("the review date of a parked ticket must be in the future")
    _require_text(action.reason, "parking needs a reason")
    return replace(s, status=Status.PARKED, resume_status=s.status, parked_until=action.until)


def _resume(s: TicketState, c: _Context) -> TicketState:
    back = s.resume_status
    assert back is not None
    s = replace(s, status=back, resume_status=None, parked_until=None)
    return _new_limit(s, c) if back in _HANDLING else s
