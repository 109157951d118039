"""Frequent matters, hot topics, repeat requests and early warnings on a crafted fortnight,
every expectation counted by hand below; the same on SQLite and PostgreSQL (``desk``).

The period is the week of Monday 23 November 2026, compared with the week before (16-22).
Hot: at least 3 tickets and at least twice as many as before. Repeats: a 7-day window, 2 tickets.

    when        matter  place           phone  words       notes
    16 10:00    CG-001  和平街 3 号      u      路灯不亮    before
    17 10:00    CG-002  -               03     占道经营    before (03's pair lies before the week)
    18 10:00    CG-002  -               03     占道经营    before
    20 10:00    CG-002  -               02     占道经营    before; 02 again on the 24th
    24 09:00    CG-001  幸福路 12 号     u      路灯不亮    place cluster, 1
    24 10:00    -       -               01     噪音扰民    caller cluster, 1
    24 11:00    CG-002  -               02     占道经营    02: cluster of 2 (20th, 24th)
    25 09:00    CG-001  幸福路12号       u      路灯不亮    place cluster, 2 (spaces ignored)
    25 10:00    CG-001  和平街 3 号      u      路灯不亮    9 days after the 16th: no repeat
    25 11:00    CG-002  -               u      占道经营
    26 09:00    CG-001  幸福路 12号      u      路灯不亮    place cluster, 3
    26 10:00    -       -               01     噪音扰民    caller cluster, 2
    26 11:00    CG-002  -               u      占道经营
    27 20:00    -       -               01     噪音扰民    caller cluster, 3
    27 21:00    CG-002  -               u      占道经营

(u: a phone of its own.) The week: 11 tickets; CG-001 4 (before 1: hot, ×4), CG-002 4 (before
3: not hot). Hot terms: the words of 路灯不亮 (4 against 1), 噪音扰民 (3 against 0) and 幸福路
(3 against 0); 占道经营's are 4 against 3, 和平街's 1. The place cluster is dispatched to 城管.
"""

from __future__ import annotations

from datetime import datetime
from itertools import count

from sqlmodel import Session, col, select

from hotline.db import session_scope
from hotline.oversight.alerts import HOT_TOPIC, REPEAT, send_warnings
from hotline.oversight.analyses import Compare, RepeatBy, analyse, earlier
from hotline.oversight.definitions import PeriodKind, period
from hotline.oversight.trends import AnalysisRules, counted_terms
from hotline.tickets import service
from hotline.tickets.changes import changes_after
from hotline.tickets.models import Matter, TicketChange, TicketCreate, TicketType
from hotline.tickets.queries import search_terms_for
from hotline.tickets.units import unit_ids
from tests.api import CENTER, ApiWorld
from tests.oversight_world import CG, ZJ, Desk, at, desk

__all__ = ["desk"]

WEEK = period(PeriodKind.WEEK, datetime(2026, 11, 25).date(), zone=CENTER)
RULES = AnalysisRules(hot_minimum=3, hot_ratio=2.0, repeat_minimum=2, alert_hot=4,
                      alert_repeat=3)
LAMP, STALL, NOISE = "路灯不亮", "占道经营", "噪音扰民"
ROWS = [  # day, hour, matter, place, phone, words, dispatched to 城管
    (16, 10, "CG-001", "和平街 3 号", None, LAMP, False),
    (17, 10, "CG-002", "", "13900000003", STALL, False),
    (18, 10, "CG-002", "", "13900000003", STALL, False),
    (20, 10, "CG-002", "", "13900000002", STALL, False),
    (24, 9, "CG-001", "幸福路 12 号", None, LAMP, True),
    (24, 10, None, "", "13900000001", NOISE, False),
    (24, 11, "CG-002", "", "13900000002", STALL, False),
    (25, 9, "CG-001", "幸福路12号", None, LAMP, True),
    (25, 10, "CG-001", "和平街 3 号", None, LAMP, False),
    (25, 11, "CG-002", "", None, STALL, False),
    (26, 9, "CG-001", "幸福路 12号", None, LAMP, True),
    (26, 10, None, "", "13900000001", NOISE, False),
    (26, 11, "CG-002", "", None, STALL, False),
    (27, 20, None, "", "13900000001", NOISE, False),
    (27, 21, "CG-002", "", None, STALL, False),
]


def build(desk: Desk) -> list[str]:
    """The tickets of ``ROWS``; returns their numbers in order."""
    phones = (f"1370000{n:04d}" for n in count())
    numbers = []
    with session_scope(desk.engine) as session:
        for day, hour, code, place, phone, words, dispatched in ROWS:
            matter = session.exec(select(Matter).where(Matter.code == code)).one() \
                if code else None
            ticket = service.create_ticket(session=session, draft=TicketCreate(
                request_type=TicketType.COMPLAINT, matter_id=matter.id if matter else None,
                caller_phone=phone or next(phones), location=place, description=words),
                now=at(day, hour), actor="op")
            assert ticket.id is not None
            if dispatched:
                service.dispatch(session=session, ticket_id=ticket.id, main_unit=CG,
                                 actor="op", now=at(day, hour, 5))
            numbers.append(ticket.number)
    return numbers


def terms(*texts: str) -> set[str]:
    return set().union(*(counted_terms(search_terms_for(t)) for t in texts))


def test_given_the_crafted_week_then_frequent_and_hot_are_the_hand_counted_ones(desk: Desk):
    build(desk)
    with session_scope(desk.engine) as session:
        found = analyse(session=session, period=WEEK, rules=RULES)
    assert found.total == 11
    assert [(m.code, m.count) for m in found.frequent] == [("CG-001", 4), ("CG-002", 4)]
    assert [(h.key, h.now, h.before, h.ratio) for h in found.hot_matters] == [
        ("CG-001", 4, 1, 4.0)]
    hot = {h.key: (h.now, h.before) for h in found.hot_terms}
    # The words are jieba's (路灯不亮: 路灯, 不亮; 幸福路 12 号: 幸福; 占道经营: 经营 …).
    assert hot == {**dict.fromkeys(terms(LAMP), (4, 1)),
                   **dict.fromkeys(terms(NOISE, "幸福路 12 号"), (3, 0))}
    assert terms(STALL) and not terms(STALL, "和平街 3 号") & set(hot)


def test_given_the_crafted_week_then_the_repeat_clusters_are_found(desk: Desk):
    n = build(desk)
    with session_scope(desk.engine) as session:
        found = analyse(session=session, period=WEEK, rules=RULES).repeats
    assert [(r.by, r.key, [d.number for d in r.cluster.tickets]) for r in found] == [
        (RepeatBy.CALLER, "13900000001", [n[5], n[11], n[13]]),
        (RepeatBy.PLACE, "CG-001 @ 幸福路12号", [n[4], n[7], n[10]]),
        (RepeatBy.CALLER, "13900000002", [n[3], n[6]]),
    ]
    assert [d.in_period for d in found[2].cluster.tickets] == [False, True]
    with session_scope(desk.engine) as session:
        wider = analyse(session=session, period=WEEK,
                        rules=AnalysisRules(repeat_minimum=2, repeat_window=at(26, 0)
                                            - at(16, 0))).repeats
    assert "CG-001 @ 和平街3号" in {r.key for r in wider}  # 9 days apart: within 10 days


def test_given_last_year_then_the_same_dates_a_year_before_are_compared():
    before = earlier(WEEK, Compare.LAST_YEAR)
    assert (before.start.date().isoformat(), before.end.date().isoformat()) == (
        "2025-11-23", "2025-11-30")
    assert earlier(WEEK, Compare.PREVIOUS).start == at(16, 0)


def _alerts(session: Session) -> list[TicketChange]:
    return list(session.exec(select(TicketChange).where(TicketChange.kind == "alert")
                             .order_by(col(TicketChange.id))).all())


def test_given_warnings_over_threshold_then_the_outbox_tells_them_once(desk: Desk):
    n = build(desk)
    now = at(28, 8)
    with session_scope(desk.engine) as session:
        sent = send_warnings(session=session, now=now, rules=RULES,
                             analysis=analyse(session=session, period=WEEK, rules=RULES))
    with session_scope(desk.engine) as session:
        cg = unit_ids(session, (CG,))[CG]
        zj = unit_ids(session, (ZJ,))[ZJ]
        rows = _alerts(session)
        lamp = {f"term:{t}" for t in terms(LAMP)}
        assert sorted((r.action, r.payload["key"]) for r in rows) == sorted([
            (HOT_TOPIC, "matter:CG-001"), *((HOT_TOPIC, k) for k in lamp),
            (REPEAT, "caller:13900000001"), (REPEAT, "place:CG-001 @ 幸福路12号")])
        by_key = {r.payload["key"]: r for r in rows}
        assert by_key["matter:CG-001"].unit_ids == [cg]
        assert by_key["matter:CG-001"].payload["ratio"] == 4.0
        place = by_key["place:CG-001 @ 幸福路12号"]
        assert (place.number, place.unit_ids, place.payload["tickets"]) == (
            n[10], [cg], [n[4], n[7], n[10]])
        assert by_key["caller:13900000001"].unit_ids == []
        assert all(by_key[k].unit_ids == [cg] for k in lamp)
        # 城管 is told of its own; 住建 of none of them.
        seen_cg = changes_after(session=session, cursor=0, now=now, unit_id=cg).changes
        assert {c.payload.get("key") for c in seen_cg if c.kind == "alert"} == {
            "matter:CG-001", "place:CG-001 @ 幸福路12号", *lamp}
        seen_zj = changes_after(session=session, cursor=0, now=now, unit_id=zj).changes
        assert not [c for c in seen_zj if c.kind == "alert"]
    assert len(sent) == len(rows)
    with session_scope(desk.engine) as session:
        again = send_warnings(session=session, now=now, rules=RULES,
                              analysis=analyse(session=session, period=WEEK, rules=RULES))
        assert again == [] and len(_alerts(session)) == len(rows)


def test_given_the_api_then_analyses_are_read_and_warnings_told_once(api_world: ApiWorld):
    n = build(Desk(api_world.engine))
    api_world.clock.now = at(28, 8)
    client = api_world.client("supervisor")
    params = {"period": "week", "day": "2026-11-25", "hot_minimum": 3, "alert_hot": 4,
              "alert_repeat": 3}
    r = client.get("/api/oversight/analyses", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["total"], body["hot_matters"]) == (
        11, [{"key": "CG-001", "now": 4, "before": 1, "ratio": 4.0}])
    assert [(x["key"], x["tickets"]) for x in body["repeats"]][:2] == [
        ("13900000001", [n[5], n[11], n[13]]), ("CG-001 @ 幸福路12号", [n[4], n[7], n[10]])]
    sent = client.post("/api/oversight/warnings", params=params).json()["sent"]
    assert {"matter:CG-001", "caller:13900000001"} <= {w["key"] for w in sent}
    assert client.post("/api/oversight/warnings", params=params).json()["sent"] == []
    assert api_world.client("cg").get("/api/oversight/analyses").status_code == 403
