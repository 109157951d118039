"""The escalation list on the supervisor's workspace, over HTTP on SQLite and PostgreSQL: the
workspace loads the panel, which lists the unresolved escalations oldest first; resolving one
with a note stores who and the note (the API sees it resolved), a second resolve is refused
(409, shown in the panel), an empty note is refused and other roles are turned away."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from hotline.db import session_scope
from hotline.outbound.models import Escalation
from hotline.tickets import service
from hotline.tickets.models import TicketCreate, TicketType
from tests.api import (  # noqa: F401 - fixtures
    ApiWorld,
    pg_engine,
    postgres_server,
    sqlite_engine,
    sqlite_template,
)
from tests.unit import test_supervisor_pages as pages

world = pages.world  # the supervisor pages' app on SQLite and PostgreSQL


def escalated(world: ApiWorld, *reasons: str) -> list[tuple[int, str]]:
    """One ticket per reason, each escalated a minute after the one before: (id, number)."""
    made = []
    now = world.clock()
    with session_scope(world.engine) as session:
        for i, reason in enumerate(reasons):
            ticket = service.create_ticket(session=session, now=now, actor="op",
                                           draft=TicketCreate(request_type=TicketType.HELP,
                                                              description=f"路灯坏了 {i}"))
            assert ticket.id is not None
            row = Escalation(ticket_id=ticket.id, number=ticket.number, unit="市城管局",
                             deadline=now, reason=reason, at=now + timedelta(minutes=i))
            session.add(row)
            session.flush()
            assert row.id is not None
            made.append((row.id, ticket.number))
    return made


def test_given_escalations_then_the_workspace_lists_them_and_a_note_resolves_one(
    world: ApiWorld,
) -> None:
    (first, number1), (second, number2) = escalated(world, "not_acknowledged", "no_duty_phone")
    sup = world.client("supervisor")
    assert 'hx-get="/supervisor/escalations"' in sup.get("/supervisor").text
    panel = sup.get("/supervisor/escalations").text
    assert panel.index(f'data-id="{first}"') < panel.index(f'data-id="{second}"')
    assert "督办电话未确认" in panel and "单位无值班电话" in panel and number1 in panel

    done = sup.post(f"/supervisor/escalations/{first}/resolve",
                    data={"note": "已电话联系单位负责人"})
    assert done.status_code == 200 and f'data-done="{first}"' in done.text
    assert f'data-id="{first}"' not in done.text and f'data-id="{second}"' in done.text
    with Session(world.engine) as session:
        row = session.get(Escalation, first)
        assert row is not None
        assert (row.resolved_by, row.note) == ("supervisor", "已电话联系单位负责人")
        assert row.resolved_at is not None
    listed = sup.get("/api/outbound/escalations").json()
    assert [e["ticket"] for e in listed] == [number2]

    again = sup.post(f"/supervisor/escalations/{first}/resolve", data={"note": "再次"})
    assert again.status_code == 409 and 'data-error-id="escalation-resolved"' in again.text
    assert f'data-id="{second}"' in again.text


def test_given_an_empty_note_or_another_role_then_refused(world: ApiWorld) -> None:
    [(first, _)] = escalated(world, "not_acknowledged")
    sup = world.client("supervisor")
    assert sup.post(f"/supervisor/escalations/{first}/resolve",
                    data={"note": ""}).status_code == 422
    callback = world.client("callback")
    assert callback.get("/supervisor/escalations").status_code == 403
    assert callback.post(f"/supervisor/escalations/{first}/resolve",
                         data={"note": "x"}).status_code == 403
    with Session(world.engine) as session:
        row = session.get(Escalation, first)
        assert row is not None and row.resolved_at is None
