"""到场 on the unit handler's page: an urgent ticket's unit, once signed, records its arrival
with one button (the on-site clock stops); a normal ticket offers no such button."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from hotline.attachments.store import AttachmentStore
from hotline.tickets.calendar import Urgency
from hotline.tickets.models import TicketCreate, TicketType
from hotline.tickets.service import create_ticket, dispatch, events_of, get_by_number
from hotline.web.pages import UnitConsole, include_pages
from tests.api import ApiWorld, make_world
from tests.unit.test_callback_dial import logged_in

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> Iterator[ApiWorld]:
    world = make_world(sqlite_engine, tmp_path)
    include_pages(world.app, web_dir=REPO / "web", units=UnitConsole(
        attachments=AttachmentStore(tmp_path / "files", max_bytes=1 << 20)))
    yield world
    world.close()


def dispatched(world: ApiWorld, urgency: Urgency) -> str:
    with Session(world.engine) as session:
        ticket = create_ticket(session=session, draft=TicketCreate(
            request_type=TicketType.HELP, urgency=urgency, caller_phone="13800000001",
            location="幸福路", description="井盖丢失，有人掉进去了"), now=world.clock(),
            actor="operator")
        assert ticket.id is not None
        dispatch(session=session, ticket_id=ticket.id, main_unit="市城管局", actor="operator",
                 now=world.clock())
        session.commit()
        return ticket.number


def test_given_a_signed_urgent_ticket_when_the_unit_presses_arrived_then_the_arrival_is_logged(
    world: ApiWorld,
) -> None:
    number = dispatched(world, Urgency.URGENT)
    handler: TestClient = logged_in(world, "cg")
    try:
        world.clock.advance(minutes=2)
        assert handler.post(f"/unit/tickets/{number}/sign").status_code == 200
        panel = handler.get(f"/unit/tickets/{number}")
        assert 'id="arrive-form"' in panel.text and "已到场" in panel.text
        arrived_at = world.clock.advance(minutes=20)
        after = handler.post(f"/unit/tickets/{number}/arrive")
        assert after.status_code == 200
        assert 'id="arrive-form"' not in after.text  # once only
        with Session(world.engine) as session:
            ticket = get_by_number(session=session, number=number)
            assert ticket.id is not None
            (event,) = [e for e in events_of(session=session, ticket_id=ticket.id)
                        if e.action == "arrive"]
        assert event.actor == "cg" and event.after_status == "signed"
        assert event.at.replace(tzinfo=None) == arrived_at.astimezone(UTC).replace(tzinfo=None)
        refused = handler.post(f"/unit/tickets/{number}/arrive")  # a second arrival
        assert "操作未完成" in refused.text and "arrive not allowed" in refused.text
        with Session(world.engine) as session:
            assert [e.action for e in events_of(session=session, ticket_id=ticket.id)
                    ].count("arrive") == 1
    finally:
        handler.__exit__(None, None, None)


def test_given_a_normal_ticket_when_signed_then_no_arrival_button(world: ApiWorld) -> None:
    number = dispatched(world, Urgency.NORMAL)
    handler: TestClient = logged_in(world, "cg")
    try:
        assert handler.post(f"/unit/tickets/{number}/sign").status_code == 200
        assert 'id="arrive-form"' not in handler.get(f"/unit/tickets/{number}").text
    finally:
        handler.__exit__(None, None, None)
