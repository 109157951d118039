"""The facts kept by every transition (incremental) equal the facts folded from the event log
from scratch, after random walks of allowed actions through the real service; and so do the
rates counted over them."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from hotline.db import session_scope
from hotline.oversight.definitions import PeriodKind, period
from hotline.oversight.queries import unit_rates
from hotline.oversight.store import facts_of_ticket, rebuild_all, stored_facts
from hotline.tickets import lifecycle as lc
from hotline.tickets import service
from hotline.tickets.errors import ActionNotAllowed
from hotline.tickets.models import Ticket
from hotline.tickets.rules import allowed_actions
from tests.api import CENTER
from tests.oversight_world import CG, SJ, T0, ZJ, Desk, desk

__all__ = ["desk"]

UNITS = (CG, ZJ, SJ)
FIXTURE = [HealthCheck.function_scoped_fixture]  # every example adds its own tickets
S = lc.Satisfaction
WAITS = st.sampled_from([timedelta(0), timedelta(minutes=20), timedelta(hours=2),
                         timedelta(days=1), timedelta(days=4)])


def candidates(state: lc.TicketState, now: datetime) -> list[lc.Action]:
    return [
        lc.Dispatch(main_unit=CG), lc.Dispatch(main_unit=CG, assist_units=(ZJ,)),
        *(lc.Sign(u) for u in UNITS), *(lc.Return(u, "not ours") for u in UNITS),
        *(lc.ReviewReturn(redispatch_to=u) for u in UNITS),
        lc.ReviewReturn(insist=True, reason="yours"),
        *(lc.RequestExtension(u, 2, "parts") for u in UNITS),
        lc.DecideExtension(approve=True), lc.DecideExtension(approve=False, reason="no"),
        *(lc.Reply(u, "done") for u in UNITS),
        lc.Review(approve=True), lc.Review(approve=False, reason="incomplete"),
        lc.StartRevisit(),
        *(lc.Revisit(r, ticket_id=t) for r in S for t in state.callers_to_revisit()[1:]),
        *(lc.Revisit(r) for r in S), lc.Close("unreachable"), lc.Archive(),
        lc.AnswerNow("kb", revisit_wanted=True), lc.Park(now + timedelta(days=9), "long"),
        lc.Resume(),
    ]


def walk(desk: Desk, data: st.DataObject) -> list[int]:
    now = T0 + timedelta(days=data.draw(st.integers(0, 30), label="day"))
    ticket_id = desk.new(now=now)
    tickets = [ticket_id]
    for _ in range(data.draw(st.integers(1, 25), label="length")):
        now += data.draw(WAITS, label="wait")
        with session_scope(desk.engine) as session:
            state = service.state_of(service.get_ticket(session=session, ticket_id=ticket_id))
        if data.draw(st.booleans(), label="merge a caller") and state.status not in (
            lc.Status.CLOSED, lc.Status.ARCHIVED, lc.Status.MERGED, lc.Status.TRANSFERRED
        ):
            child = desk.new(now=now)
            desk.merge(child, ticket_id, now=now)
            tickets.append(child)
            continue
        allowed = set(allowed_actions(state, now=now))
        possible = [a for a in candidates(state, now) if a.name in allowed]
        if not possible:
            break
        action = data.draw(st.sampled_from(possible), label="action")
        try:
            desk.do(ticket_id, action, now)
        except ActionNotAllowed:
            pass  # arguments the state refuses (a unit without an assignment …)
    return tickets


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.data())
def test_given_random_transitions_then_stored_facts_equal_a_recomputation(desk: Desk, data):
    for ticket_id in walk(desk, data):
        with session_scope(desk.engine) as session:
            assert stored_facts(session=session, ticket_id=ticket_id) == facts_of_ticket(
                session=session, ticket_id=ticket_id)


@settings(max_examples=5, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.data())
def test_given_random_transitions_then_rates_equal_those_after_a_full_rebuild(desk: Desk, data):
    for _ in range(8):
        walk(desk, data)
    months = [period(PeriodKind.MONTH, day, zone=CENTER)
              for day in (T0.date(), (T0 + timedelta(days=31)).date())]
    as_of = T0 + timedelta(days=90)

    def rates() -> list[object]:
        with session_scope(desk.engine) as session:
            return [unit_rates(session=session, period=p, as_of=as_of) for p in months]

    kept = rates()
    with session_scope(desk.engine) as session:
        assert rebuild_all(session=session) == len(session.exec(select(Ticket.id)).all())
    assert rates() == kept


def test_given_the_migrations_then_one_head_and_the_oversight_table_is_as_the_model_says(
    desk: Desk,
):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    from hotline.db import alembic_config

    assert len(ScriptDirectory.from_config(alembic_config(desk.engine)).get_heads()) == 1
    with desk.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "oversight" in repr(d)] == []
