"""The synthetic city (``hotline.bench.city``): the oversight facts the seeder writes in bulk
are those the service's store folds from the tickets' logs (``store.rebuild_all``), so every
rate read from them is the rate after a rebuild; the call records hold the plan's calls with
their seasons. A small city on SQLite and PostgreSQL; how fast anything runs is the
benchmark's business (``make bench-reports``), never asserted here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, col, select

from hotline.bench.city import CityPlan, CityReport, prepare
from hotline.bench.city_calls import CALL_COLUMNS
from hotline.bench.seed import CST, DEFAULT_NOW
from hotline.bench.seed_facts import FACT_COLUMNS
from hotline.calls.models import Call
from hotline.calls.store import aware
from hotline.db import session_scope
from hotline.oversight import store
from hotline.oversight.calls import call_rates
from hotline.oversight.definitions import PeriodKind, UnitRates, period, ranking, score
from hotline.oversight.models import OversightFact
from hotline.oversight.queries import unit_rates
from hotline.tickets.models import Matter, Ticket
from tests.fresh_db import fresh_database
from tests.pg import postgres_server, sqlite_template  # noqa: F401

PLAN = CityPlan(tickets=4000, calls=10_000, years=1, seed=5)
SUMMER = {"停水", "停电", "社会生活噪音扰民", "水质问题", "城市排水疏通"}


@dataclass
class City:
    engine: Engine
    report: CityReport


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[City]:
    with fresh_database(request, tmp_path_factory, "bench_city",
                        postgres=request.param == "postgres") as engine:
        report = prepare(engine, PLAN)
        assert report is not None
        yield City(engine, report)


def fact_rows(engine: Engine) -> list[tuple[object, ...]]:
    names = [n for n in FACT_COLUMNS if n != "id"]
    with Session(engine) as session:
        facts = session.exec(select(OversightFact)).all()
        return sorted(tuple(getattr(f, n) for n in names) for f in facts)


def all_rates(engine: Engine) -> dict[str, list[UnitRates]]:
    today = DEFAULT_NOW.date()
    periods = {
        "today": period(PeriodKind.DAY, today, zone=CST),
        "this month": period(PeriodKind.MONTH, today, zone=CST),
        "last month": period(PeriodKind.MONTH, today.replace(day=1) - timedelta(days=1),
                             zone=CST),
        "year": period(PeriodKind.CUSTOM, today - timedelta(days=364), zone=CST, until=today),
    }
    with Session(engine) as session:
        return {name: unit_rates(session=session, period=p, as_of=DEFAULT_NOW)
                for name, p in periods.items()}


def test_the_city_writes_every_column_of_facts_and_calls() -> None:
    assert set(FACT_COLUMNS) == set(OversightFact.__table__.columns.keys())  # type: ignore[attr-defined]
    assert set(CALL_COLUMNS) == set(Call.__table__.columns.keys())  # type: ignore[attr-defined]


def test_given_the_migrations_then_the_fact_indexes_are_the_models(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:  # the indexes of 0070 and 0071
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert [d for d in diff if "oversight_fact" in repr(d) or "ix_ticket_" in repr(d)] == []


def test_given_a_seeded_city_when_the_facts_are_rebuilt_then_facts_and_rates_are_the_same(
    city: City,
) -> None:
    seeded, rates = fact_rows(city.engine), all_rates(city.engine)
    assert len(seeded) == city.report.tickets.facts > PLAN.tickets // 2
    year = rates["year"]
    assert len(year) > 10
    assert sum(r.response.denominator for r in year) > PLAN.tickets // 2
    assert sum(r.satisfaction.denominator for r in year) > 0
    assert any(r.response.numerator < r.response.denominator for r in year)  # some late
    with session_scope(city.engine) as session:
        assert store.rebuild_all(session=session) == PLAN.tickets
    assert fact_rows(city.engine) == seeded
    assert all_rates(city.engine) == rates
    scores = ranking(score(r) for r in rates["year"])
    assert scores[0].rank == 1


def test_given_a_seeded_city_then_the_calls_have_their_seasons_and_queue(city: City) -> None:
    with Session(city.engine) as session:
        started = list(session.exec(select(Call.started_at).order_by(col(Call.id))).all())
        rates = call_rates(session=session, period=period(
            PeriodKind.CUSTOM, DEFAULT_NOW.date() - timedelta(days=364), zone=CST,
            until=DEFAULT_NOW.date()))
    assert len(started) == city.report.calls.calls == PLAN.calls
    assert all(a <= b for a, b in zip(started, started[1:], strict=False))
    assert max(started) < DEFAULT_NOW
    months = Counter(s.astimezone(CST).month for s in started)
    summer = (months[7] + months[8]) / 62
    spring = (months[4] + months[5]) / 61
    assert summer > spring
    hours = Counter(s.astimezone(CST).hour for s in started)
    assert hours[10] > 5 * hours[3]
    assert rates.offered == city.report.calls.offered
    assert rates.answered.value is not None and 0.6 < rates.answered.value < 1
    assert rates.abandoned.numerator == city.report.calls.abandoned > 0
    assert rates.average_wait_seconds is not None and rates.average_talk_seconds is not None


def test_given_a_seeded_city_then_the_tickets_have_their_seasons(city: City) -> None:
    with Session(city.engine) as session:
        rows = session.exec(select(Ticket.created_at, Matter.name)
                            .join(Matter, col(Matter.id) == Ticket.matter_id)).all()
    assert len(rows) == PLAN.tickets
    local = [(aware(c).astimezone(CST), name) for c, name in rows]  # type: ignore[union-attr]
    months = Counter(at.month for at, _ in local)
    assert (months[7] + months[8]) / 62 > (months[4] + months[5]) / 61  # summer
    assert months[2] / 28 < months[1] / 31  # the Spring Festival
    hours, weekdays = Counter(at.hour for at, _ in local), Counter(at.weekday() for at, _ in local)
    assert hours[10] > 5 * hours[3] and weekdays[0] > weekdays[6]
    summer = Counter(at.month for at, name in local if name in SUMMER)
    assert (summer[7] + summer[8]) / 62 > 1.5 * (summer[4] + summer[5]) / 61
    heating = Counter(at.month in (11, 12, 1, 2) for at, name in local
                      if name == "燃气供应与收费")  # heating by gas: November to February
    winter_share = sum(1 for at, _ in local if at.month in (11, 12, 1, 2)) / len(local)
    assert heating[True] / winter_share > 1.5 * heating[False] / (1 - winter_share)


def test_given_a_seeded_city_when_prepared_again_then_it_is_reused(city: City) -> None:
    assert prepare(city.engine, PLAN) is None
    assert DEFAULT_NOW.date() > date(2026, 1, 1)
