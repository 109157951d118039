"""The work-order life cycle (hotline.tickets.lifecycle + rules): scenarios, every
(status, action) pair, and properties of random walks over allowed actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hotline.errors import HotlineError
from hotline.tickets.calendar import Light, Limits, RequestType, Urgency, WorkCalendar
from hotline.tickets.errors import ActionNotAllowed
from hotline.tickets.lifecycle import (
    Action,
    AnswerNow,
    Archive,
    Arrive,
    AssignmentStatus,
    AttachChild,
    Clock,
    Close,
    DecideExtension,
    Dispatch,
    EmergencyLine,
    EmergencyTransfer,
    Event,
    Merge,
    Park,
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
    new_ticket,
)
from hotline.tickets.lights import marks, stored_marks
from hotline.tickets.rules import (
    CENTER_ACTIONS,
    UNIT_ACTIONS,
    allowed_actions,
    apply,
    merge,
    park_review_due,
    replay,
)

T0 = datetime(2026, 3, 2, 9, 0)  # a Monday
CALENDAR = WorkCalendar()
LIMITS = Limits()
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
SATISFIED, UNSATISFIED = Satisfaction.SATISFIED, Satisfaction.UNSATISFIED


@dataclass
class Ticket:
    """A ticket driven through ``apply`` with a moving clock, keeping its event log."""

    state: TicketState
    now: datetime = T0
    events: list[Event] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        request_type: RequestType = RequestType.HELP,
        *,
        urgency: Urgency = Urgency.NORMAL,
        difficult: bool = False,
    ) -> Ticket:
        state = new_ticket(
            "T1", request_type=request_type, accepted_at=T0, urgency=urgency, difficult=difficult
        )
        return cls(state)

    def status(self) -> Status:  # a call, so that mypy does not narrow it between actions
        return self.state.status

    def do(self, action: Action, *, after: timedelta = MINUTE, actor: str = "op-7") -> Transition:
        self.now += after
        step = apply(self.state, action, now=self.now, actor=actor, calendar=CALENDAR)
        self.state = step.new_state
        self.events.append(step.event)
        return step

    def allowed(self, actor_unit: str | None = None) -> tuple[str, ...]:
        return allowed_actions(self.state, now=self.now, actor_unit=actor_unit)


def dispatched(
    *assists: str,
    request_type: RequestType = RequestType.HELP,
    urgency: Urgency = Urgency.NORMAL,
    difficult: bool = False,
) -> Ticket:
    ticket = Ticket.new(request_type, urgency=urgency, difficult=difficult)
    ticket.do(Dispatch(main_unit="A", assist_units=assists))
    return ticket


def in_progress(*assists: str) -> Ticket:
    ticket = dispatched(*assists)
    ticket.do(Sign("A"))
    ticket.do(StartHandling("A"))
    return ticket


def replied() -> Ticket:
    ticket = in_progress()
    ticket.do(Reply("A", "the street lamp was repaired"))
    return ticket


def in_revisit() -> Ticket:
    ticket = replied()
    ticket.do(Review(approve=True))
    ticket.do(StartRevisit())
    return ticket


# --- scenarios -----------------------------------------------------------------------------


def test_given_a_help_request_when_it_goes_the_whole_way_then_archived_with_a_full_log():
    ticket = in_revisit()
    ticket.do(Revisit(SATISFIED))
    ticket.do(Archive())
    assert ticket.status() is Status.ARCHIVED
    assert [(e.name, e.before, e.after) for e in ticket.events] == [
        ("dispatch", Status.ACCEPTED, Status.DISPATCHED),
        ("sign", Status.DISPATCHED, Status.SIGNED),
        ("start_handling", Status.SIGNED, Status.IN_PROGRESS),
        ("reply", Status.IN_PROGRESS, Status.REPLIED),
        ("review", Status.REPLIED, Status.REVIEWED),
        ("start_revisit", Status.REVIEWED, Status.REVISIT),
        ("revisit", Status.REVISIT, Status.CLOSED),
        ("archive", Status.CLOSED, Status.ARCHIVED),
    ]
    assert ticket.events[0].actor == "op-7" and ticket.events[0].at == T0 + MINUTE


def test_given_a_new_ticket_then_it_must_be_dispatched_within_two_minutes():
    assert Ticket.new().state.dispatch_by == T0 + 2 * MINUTE


def test_given_a_dispatch_when_done_then_handling_deadline_is_three_working_days_later():
    ticket = dispatched()
    assert ticket.state.handling_deadline == datetime(2026, 3, 5, 9, 1)
    (main,) = ticket.state.assignments
    assert main.sign_by == T0 + MINUTE + HOUR and main.on_site_by is None


def test_given_an_urgent_ticket_when_dispatched_then_sign_in_3_minutes_and_on_site_in_30():
    ticket = dispatched(urgency=Urgency.URGENT)
    (main,) = ticket.state.assignments
    assert main.sign_by == T0 + 4 * MINUTE
    assert main.on_site_by == T0 + 31 * MINUTE


def test_given_a_difficult_consultation_when_dispatched_then_ten_working_days():
    ticket = dispatched(request_type=RequestType.CONSULTATION, difficult=True)
    assert ticket.state.handling_deadline == datetime(2026, 3, 16, 9, 1)


def test_given_a_caller_when_answered_now_then_closed_at_once():
    ticket = Ticket.new(RequestType.CONSULTATION)
    ticket.do(AnswerNow("opening hours are 9 to 17"))
    assert ticket.status() is Status.CLOSED


def test_given_a_caller_who_wants_a_revisit_when_answered_now_then_revisit_then_closed():
    ticket = Ticket.new(RequestType.CONSULTATION)
    ticket.do(AnswerNow("opening hours are 9 to 17", revisit_wanted=True))
    assert ticket.status() is Status.REVISIT
    ticket.do(Revisit(UNSATISFIED))  # no unit to redo: the result stands
    assert ticket.status() is Status.CLOSED


def test_given_an_emergency_when_transferred_then_terminal_with_the_line():
    ticket = Ticket.new()
    ticket.do(EmergencyTransfer(EmergencyLine.FIRE))
    assert ticket.status() is Status.TRANSFERRED
    assert ticket.state.transferred_to is EmergencyLine.FIRE
    assert ticket.allowed() == ()


def test_given_an_unsigned_ticket_when_unit_returns_and_center_redispatches_then_new_unit():
    ticket = dispatched()
    step = ticket.do(Return("A", "not our district"), actor="unit-a")
    assert step.event.reason == "not our district" and ticket.status() is Status.RETURNED
    assert ticket.allowed() == ("review_return", "attach_child")
    ticket.do(ReviewReturn(redispatch_to="B"), after=HOUR)
    assert ticket.status() is Status.DISPATCHED
    main = ticket.state.main_assignment()
    assert main is not None and main.unit == "B" and not main.must_handle
    assert ticket.state.handling_deadline == datetime(2026, 3, 5, 10, 2)  # a new limit


def test_given_a_signed_ticket_when_returned_within_3_hours_and_center_insists_then_must_handle():
    ticket = dispatched()
    ticket.do(Sign("A"))
    deadline = ticket.state.handling_deadline
    ticket.do(Return("A", "belongs to the water company"), after=3 * HOUR)
    ticket.do(ReviewReturn(insist=True, reason="street drains are the district's duty"))
    main = ticket.state.main_assignment()
    assert main is not None and main.unit == "A" and main.must_handle
    assert ticket.status() is Status.DISPATCHED
    assert ticket.state.handling_deadline == deadline  # insisting gives no new limit
    ticket.do(Sign("A"))
    assert "return" not in ticket.allowed(actor_unit="A")


def test_given_a_ticket_signed_more_than_3_hours_ago_when_unit_returns_then_refused():
    ticket = dispatched()
    ticket.do(Sign("A"))
    with pytest.raises(ActionNotAllowed) as refused:
        apply(ticket.state, Return("A", "late"), now=ticket.now + 3 * HOUR + MINUTE, actor="a")
    assert refused.value.action == "return" and refused.value.status == "signed"
    assert "start_handling" in refused.value.allowed


def test_given_a_redispatch_to_the_returning_unit_when_reviewed_then_refused():
    ticket = dispatched()
    ticket.do(Return("A", "not ours"))
    with pytest.raises(ActionNotAllowed, match="cannot re-dispatch"):
        ticket.do(ReviewReturn(redispatch_to="A"))


def test_given_a_review_return_with_both_choices_when_built_then_value_error():
    with pytest.raises(ValueError, match="exactly one"):
        ReviewReturn(redispatch_to="B", insist=True)
    with pytest.raises(ValueError, match="exactly one"):
        ReviewReturn()


def test_given_an_extension_request_when_approved_then_deadline_moves_by_working_days():
    ticket = in_progress()
    before = ticket.state.handling_deadline  # Thu 2026-03-05 09:01
    ticket.do(RequestExtension("A", 2, "waiting for spare parts"))
    assert ticket.allowed(actor_unit="A") == ("reply",)
    ticket.do(DecideExtension(approve=True))
    assert before == datetime(2026, 3, 5, 9, 1)
    assert ticket.state.handling_deadline == datetime(2026, 3, 9, 9, 1)
    assert ticket.state.extension_days_used == 2


def test_given_an_extension_request_when_refused_then_deadline_unchanged_and_can_ask_again():
    ticket = in_progress()
    before = ticket.state.handling_deadline
    ticket.do(RequestExtension("A", 2, "waiting for spare parts"))
    ticket.do(DecideExtension(approve=False, reason="two days are enough"))
    assert ticket.state.handling_deadline == before and ticket.state.pending_extension is None
    assert "request_extension" in ticket.allowed(actor_unit="A")


def test_given_a_complaint_when_extensions_would_pass_14_working_days_then_refused():
    ticket = Ticket.new(RequestType.COMPLAINT)
    ticket.do(Dispatch(main_unit="A"))
    ticket.do(Sign("A"))
    ticket.do(RequestExtension("A", 5, "site survey"))
    ticket.do(DecideExtension(approve=True))
    with pytest.raises(ActionNotAllowed, match="1 to 2 can be granted"):
        ticket.do(RequestExtension("A", 3, "another survey"))
    ticket.do(RequestExtension("A", 2, "another survey"))
    ticket.do(DecideExtension(approve=True))
    assert ticket.state.extension_days_used == 7
    assert "request_extension" not in ticket.allowed()


def test_given_a_passed_deadline_when_unit_asks_for_an_extension_then_not_allowed():
    ticket = in_progress()
    ticket.now = ticket.state.handling_deadline  # type: ignore[assignment]
    with pytest.raises(ActionNotAllowed) as refused:
        ticket.do(RequestExtension("A", 1, "too late"))
    assert "request_extension" not in refused.value.allowed


def test_given_a_reply_when_center_sends_it_back_then_in_progress_and_unit_replies_again():
    ticket = replied()
    ticket.do(Review(approve=False, reason="no photo of the repair"))
    assert ticket.status() is Status.IN_PROGRESS
    ticket.do(Reply("A", "photo attached"))
    assert ticket.status() is Status.REPLIED


def test_given_an_unsatisfied_caller_when_revisited_then_redone_once_with_a_new_limit():
    ticket = in_revisit()
    ticket.do(Revisit(UNSATISFIED), after=2 * DAY)
    assert ticket.status() is Status.IN_PROGRESS and ticket.state.redo_count == 1
    assert ticket.state.handling_started_at == ticket.now
    assert ticket.state.handling_deadline == CALENDAR.add_working_days(ticket.now, 3)
    ticket.do(Reply("A", "repaired again"))
    ticket.do(Review(approve=True))
    ticket.do(StartRevisit())
    ticket.do(Revisit(UNSATISFIED))  # the second result stands
    assert ticket.status() is Status.CLOSED


def test_given_dual_dispatch_when_main_replies_before_assists_then_refused():
    ticket = in_progress("B", "C")
    with pytest.raises(ActionNotAllowed, match="reply not allowed in status in_progress"):
        ticket.do(Reply("A", "done"))
    ticket.do(Sign("B"))
    ticket.do(Reply("B", "our part is done"))
    assert ticket.allowed(actor_unit="A") == ("request_extension",)
    ticket.do(Sign("C"))
    ticket.do(Reply("C", "our part is done too"))
    assert ticket.status() is Status.IN_PROGRESS
    ticket.do(Reply("A", "all done"))
    assert ticket.status() is Status.REPLIED
    roles = {(a.unit, a.role, a.status) for a in ticket.state.assignments}
    assert ("A", Role.MAIN, AssignmentStatus.REPLIED) in roles


def test_given_an_assist_that_returns_when_redispatched_then_main_work_goes_on():
    ticket = in_progress("B")
    ticket.do(Return("B", "not ours"))
    ticket.do(ReviewReturn(redispatch_to="C"))
    assert ticket.status() is Status.IN_PROGRESS
    assert [(a.unit, a.status) for a in ticket.state.assignments if a.role is Role.ASSIST] == [
        ("B", AssignmentStatus.RETURNED),
        ("C", AssignmentStatus.DISPATCHED),
    ]


def test_given_a_long_term_matter_when_parked_then_reminded_at_review_date_and_resumed():
    ticket = in_progress()
    review_date = ticket.now + 90 * DAY
    ticket.do(Park(review_date, "needs the 2027 road budget"))
    assert ticket.status() is Status.PARKED
    assert ticket.allowed() == ("resume", "attach_child")
    assert not park_review_due(ticket.state, now=review_date - MINUTE)
    assert park_review_due(ticket.state, now=review_date)
    ticket.do(Resume(), after=90 * DAY)
    assert ticket.status() is Status.IN_PROGRESS and ticket.state.parked_until is None
    assert ticket.state.handling_deadline == CALENDAR.add_working_days(ticket.now, 3)


def test_given_a_duplicate_when_merged_then_child_terminal_and_parent_revisits_both_callers():
    child = Ticket(new_ticket("T2", request_type=RequestType.HELP, accepted_at=T0))
    parent = in_revisit()
    child_step, parent_step = merge(child.state, parent.state, now=parent.now, actor="op-7")
    assert child_step.new_state.status is Status.MERGED
    assert child_step.new_state.merged_into == "T1"
    parent.state = parent_step.new_state
    parent.do(Revisit(SATISFIED))
    assert parent.status() is Status.REVISIT
    assert parent.state.callers_to_revisit() == ("T2",)
    parent.do(Revisit(SATISFIED, ticket_id="T2"))
    assert parent.status() is Status.CLOSED


def test_given_a_parent_with_children_when_reviewed_then_cannot_close_without_revisits():
    ticket = replied()
    ticket.do(AttachChild("T2"))
    ticket.do(Review(approve=True))
    assert "close" not in ticket.allowed()


def test_given_an_action_not_allowed_then_error_is_a_hotline_error_with_slug():
    with pytest.raises(HotlineError) as refused:
        Ticket.new().do(Archive())
    assert refused.value.error_id == "action-not-allowed"
    assert "archive not allowed in status accepted" in str(refused.value)


# --- every (status, action) pair -----------------------------------------------------------

UNITS = ("A", "B", "C", "D")


def candidates(state: TicketState, now: datetime) -> list[Action]:
    """Concrete actions of every kind, with arguments that fit ``state`` when some do."""
    children = len(state.children)
    return [
        Dispatch(main_unit="A"),
        Dispatch(main_unit="A", assist_units=("B", "C")),
        *(Sign(u) for u in UNITS),
        *(Arrive(u) for u in UNITS),
        *(Return(u, "not our duty") for u in UNITS),
        *(ReviewReturn(redispatch_to=u) for u in UNITS),
        ReviewReturn(insist=True, reason="it is your duty"),
        *(StartHandling(u) for u in UNITS),
        *(RequestExtension(u, days, "waiting for parts") for u in UNITS for days in (1, 4)),
        DecideExtension(approve=True),
        DecideExtension(approve=False, reason="enough time"),
        *(Reply(u, "handled") for u in UNITS),
        Review(approve=True),
        Review(approve=False, reason="incomplete"),
        StartRevisit(),
        *(Revisit(r, ticket_id=t) for r in Satisfaction for t in state.callers_to_revisit()),
        Revisit(SATISFIED),
        Close("caller unreachable after three calls"),
        Archive(),
        AnswerNow("from the knowledge base"),
        AnswerNow("from the knowledge base", revisit_wanted=True),
        Park(now + 30 * DAY, "long-term matter"),
        Resume(),
        Merge(parent="P1"),
        AttachChild(f"C{children + 1}"),
        *(EmergencyTransfer(line) for line in EmergencyLine),
    ]


def try_apply(state: TicketState, action: Action, now: datetime) -> Transition | None:
    try:
        return apply(state, action, now=now, actor="tester", calendar=CALENDAR)
    except ActionNotAllowed as refused:
        assert refused.allowed == allowed_actions(state, now=now)
        assert refused.status == state.status
        return None


def one_ticket_per_status() -> dict[Status, Ticket]:
    def ending(*actions: Action, start: Ticket | None = None) -> Ticket:
        ticket = start or Ticket.new()
        for action in actions:
            ticket.do(action)
        return ticket

    returned = dispatched()
    returned.do(Return("A", "not ours"))
    return {
        Status.ACCEPTED: Ticket.new(),
        Status.DISPATCHED: dispatched("B"),
        Status.SIGNED: ending(Sign("A"), start=dispatched("B")),
        Status.IN_PROGRESS: in_progress("B"),
        Status.REPLIED: replied(),
        Status.REVIEWED: ending(Review(approve=True), start=replied()),
        Status.REVISIT: in_revisit(),
        Status.CLOSED: ending(AnswerNow("answered")),
        Status.ARCHIVED: ending(AnswerNow("answered"), Archive()),
        Status.RETURNED: returned,
        Status.PARKED: ending(Park(T0 + 30 * DAY, "long term"), start=in_progress()),
        Status.MERGED: ending(Merge(parent="P1")),
        Status.TRANSFERRED: ending(EmergencyTransfer(EmergencyLine.POLICE)),
    }


TICKETS = one_ticket_per_status()


def test_given_one_ticket_per_status_then_every_status_is_covered():
    assert set(TICKETS) == set(Status)
    assert all(ticket.status() is status for status, ticket in TICKETS.items())


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("name", UNIT_ACTIONS + CENTER_ACTIONS)
def test_given_each_status_and_action_then_allowed_ones_succeed_and_others_list_allowed(
    status, name
):
    ticket = TICKETS[status]
    allowed = allowed_actions(ticket.state, now=ticket.now)
    results = [
        try_apply(ticket.state, action, ticket.now)
        for action in candidates(ticket.state, ticket.now)
        if action.name == name
    ]
    if name in allowed:
        assert any(result is not None for result in results)
    else:
        assert results and all(result is None for result in results)


def test_given_an_actor_unit_then_it_is_offered_only_its_own_unit_actions():
    ticket = TICKETS[Status.DISPATCHED]
    assert ticket.allowed(actor_unit="A") == ("sign", "return")
    assert ticket.allowed(actor_unit="Z") == ()


# --- properties of random walks over allowed actions ---------------------------------------

STEPS = st.sampled_from([timedelta(0), MINUTE, 30 * MINUTE, 2 * HOUR, 4 * HOUR, DAY, 5 * DAY])
NEW_LIMIT = {"dispatch", "review_return", "revisit", "resume"}


def check_invariants(before: TicketState, step: Transition) -> None:
    after = step.new_state
    units = [a.unit for a in after.assignments if a.is_open]
    assert len(units) == len(set(units)), "at most one open assignment per unit"
    base = LIMITS.handling_days_for(after.request_type, difficult=after.difficult)
    assert base + after.extension_days_used <= LIMITS.max_handling_days
    assert after.redo_count <= 1
    old, new = before.handling_deadline, after.handling_deadline
    if old is not None:
        assert new is not None and new >= old, "deadlines never move earlier"
    if new != old and step.event.name == "decide_extension":
        assert old is not None and before.pending_extension is not None
        assert new == CALENDAR.add_working_days(old, before.pending_extension.days)
    elif new != old:
        assert step.event.name in NEW_LIMIT
        fresh = CALENDAR.add_working_days(step.event.at, base)
        assert new == (fresh if old is None else max(fresh, old))
    if step.event.before is Status.PARKED and step.event.after is not Status.PARKED:
        assert step.event.name == "resume", "a parked ticket is never closed silently"
    if step.event.name == "reply" and after.status is Status.REPLIED:
        assistants = [a for a in after.assignments if a.is_open and a.role is Role.ASSIST]
        assert all(a.status is AssignmentStatus.REPLIED for a in assistants)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), urgency=st.sampled_from(Urgency), kind=st.sampled_from(RequestType))
def test_given_random_walks_of_allowed_actions_then_invariants_hold_and_log_replays(
    data, urgency, kind
):
    initial = new_ticket("T1", request_type=kind, accepted_at=T0, urgency=urgency)
    state, now, events = initial, T0, []
    for _ in range(data.draw(st.integers(min_value=1, max_value=40), label="length")):
        now += data.draw(STEPS, label="wait")
        allowed = allowed_actions(state, now=now)
        steps = {a: try_apply(state, a, now) for a in candidates(state, now)}
        possible = [(a, s) for a, s in steps.items() if s is not None]
        assert {a.name for a, _ in possible} == set(allowed), "allowed_actions is exact"
        if not possible:
            break
        _, step = data.draw(st.sampled_from(possible), label="action")
        check_invariants(state, step)
        event(f"{step.event.name}: {step.event.before} -> {step.event.after}")
        state = step.new_state
        events.append(step.event)
    assert replay(initial, events, calendar=CALENDAR) == state


@settings(max_examples=60)
@given(data=st.data(), urgency=st.sampled_from(Urgency))
def test_given_any_reachable_state_then_the_scanners_stored_marks_equal_the_states_marks(
    data, urgency
):
    """The scanner reads a ticket's light off its stored yellow_at and deadline, without
    decoding the state: that must agree with ``marks`` on the state, at any time after."""
    state, now = new_ticket("T1", request_type=RequestType.COMPLAINT, accepted_at=T0,
                            urgency=urgency), T0
    for _ in range(data.draw(st.integers(min_value=0, max_value=12), label="length")):
        now += data.draw(STEPS, label="wait")
        possible = [s for a in candidates(state, now) if (s := try_apply(state, a, now))]
        if not possible:
            break
        state = data.draw(st.sampled_from(possible), label="step").new_state
    published = data.draw(st.sampled_from([None, *Light]), label="published")
    written = marks(state, now=now, published=published, yellow_share=0.8, calendar=CALENDAR)
    later = now + data.draw(STEPS, label="later") * data.draw(st.integers(0, 30), label="times")
    expected = marks(state, now=later, published=published, yellow_share=0.8,
                     calendar=CALENDAR)
    if written.deadline is None:
        assert expected.deadline is None
        return
    assert written.yellow_at is not None
    assert stored_marks(yellow_at=written.yellow_at, deadline=written.deadline,
                        published=published, now=later) == expected


def test_given_an_anonymous_caller_when_reviewed_then_center_closes_without_revisit():
    ticket = replied()
    ticket.do(Review(approve=True))
    step = ticket.do(Close("anonymous caller, no number to call back"))
    assert step.event.after is Status.CLOSED
    assert step.event.reason == "anonymous caller, no number to call back"


def test_given_a_dual_dispatch_then_sign_clocks_and_the_handling_clock_are_running():
    ticket = dispatched("B")
    ticket.do(Sign("A"))
    start = T0 + MINUTE
    assert ticket.state.running_clocks() == (
        Clock("sign:B", start, start + HOUR),
        Clock("handling", start, datetime(2026, 3, 5, 9, 1), working_days=True),
    )


def test_given_a_new_ticket_then_only_the_dispatch_clock_runs_and_none_once_parked():
    assert Ticket.new().state.running_clocks() == (Clock("dispatch", T0, T0 + 2 * MINUTE),)
    assert TICKETS[Status.PARKED].state.running_clocks() == ()
    assert TICKETS[Status.REPLIED].state.running_clocks() == ()


# --- 到场: the on-site clock of urgent tickets ---------------------------------------------


def test_given_an_urgent_ticket_dispatched_then_the_on_site_clock_runs_from_dispatch():
    ticket = dispatched(urgency=Urgency.URGENT)
    start = T0 + MINUTE
    assert ticket.state.running_clocks() == (
        Clock("sign:A", start, start + 3 * MINUTE),
        Clock("on_site:A", start, start + 30 * MINUTE),
        Clock("handling", start, datetime(2026, 3, 5, 9, 1), working_days=True),
    )
    assert "arrive" not in ticket.allowed(actor_unit="A")  # it signs first


def test_given_a_signed_urgent_unit_when_it_arrives_then_logged_with_the_time_and_clock_stops():
    ticket = dispatched(urgency=Urgency.URGENT)
    ticket.do(Sign("A"))
    assert "arrive" in ticket.allowed(actor_unit="A")

    step = ticket.do(Arrive("A"), after=20 * MINUTE, actor="unit-a")

    assert (step.event.name, step.event.actor, step.event.at) == (
        "arrive", "unit-a", T0 + 22 * MINUTE)
    assert (step.event.before, step.event.after) == (Status.SIGNED, Status.SIGNED)
    (main,) = ticket.state.assignments
    assert main.arrived_at == T0 + 22 * MINUTE
    assert [c.name for c in ticket.state.running_clocks()] == ["handling"]
    with pytest.raises(ActionNotAllowed) as refused:  # once only
        ticket.do(Arrive("A"))
    assert "arrive" not in refused.value.allowed and "reply" in refused.value.allowed
    ticket.do(StartHandling("A"))
    assert ticket.state.assignments[0].arrived_at == T0 + 22 * MINUTE


def test_given_an_urgent_ticket_in_progress_then_the_unit_can_still_record_arrival():
    ticket = dispatched(urgency=Urgency.URGENT)
    ticket.do(Sign("A"))
    ticket.do(StartHandling("A"))
    ticket.do(Arrive("A"))
    assert ticket.status() is Status.IN_PROGRESS
    assert ticket.state.assignments[0].arrived_at == ticket.now


def test_given_a_normal_ticket_then_no_on_site_clock_and_no_arrival():
    ticket = dispatched()
    ticket.do(Sign("A"))
    assert "arrive" not in ticket.allowed(actor_unit="A")
    assert [c.name for c in ticket.state.running_clocks()] == ["handling"]
    with pytest.raises(ActionNotAllowed) as refused:
        ticket.do(Arrive("A"))
    assert refused.value.allowed == allowed_actions(ticket.state, now=ticket.now)


def test_given_an_urgent_unit_not_on_site_then_yellow_at_24_minutes_and_red_after_30():
    ticket = dispatched(urgency=Urgency.URGENT)
    ticket.do(Sign("A"))  # the sign clock stopped: only the on-site clock is that short
    start = T0 + MINUTE

    def light_at(minutes: float) -> Light | None:
        return marks(ticket.state, now=start + timedelta(minutes=minutes), published=None,
                     yellow_share=0.8, calendar=CALENDAR).current

    assert [light_at(m) for m in (23, 24, 30, 30.01)] == [
        Light.GREEN, Light.YELLOW, Light.YELLOW, Light.RED]
    ticket.do(Arrive("A"), after=25 * MINUTE)
    assert marks(ticket.state, now=ticket.now, published=None, yellow_share=0.8,
                 calendar=CALENDAR).current is Light.GREEN


def test_given_an_urgent_unit_that_replied_without_arriving_then_its_clock_stops():
    ticket = dispatched("B", urgency=Urgency.URGENT)
    ticket.do(Sign("B"))
    ticket.do(Reply("B", "assisted by phone"))
    assert [c.name for c in ticket.state.running_clocks()] == [
        "sign:A", "on_site:A", "handling"]
    assert "arrive" not in ticket.allowed(actor_unit="B")
