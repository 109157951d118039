"""Early warnings (未诉先办): a hot topic or a repeat cluster over its threshold
(``trends.AnalysisRules.alert_hot`` / ``alert_repeat``) is written to the ticket change outbox
(``TicketChange``, kind ``alert``), so the console's event stream tells the supervisors and the
units concerned at once. Each warning is told once per period: its ``payload["key"]`` names it
and a warning already in the outbox since the period began is not written again.

Actions and payloads:

``hot_topic``
    ``{"key": "matter:<code>" | "term:<word>", "topic": …, "now": n, "before": n,
    "ratio": r | null, "period": label}``; no ticket; ``unit_ids``: the matter's main unit, or
    the units assigned on the term's tickets.
``repeat``
    ``{"key": "caller:<phone>" | "place:<code @ place>", "size": n, "tickets": [numbers],
    "period": label}``; the cluster's latest ticket; ``unit_ids``: the units assigned on the
    cluster's tickets.

    sent = send_warnings(session=session, analysis=analyse(...), now=now)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from hotline.oversight.analyses import Analysis
from hotline.oversight.trends import DEFAULT_ANALYSIS, AnalysisRules
from hotline.tickets.models import Assignment, ChangeKind, Light, Ticket, TicketChange

HOT_TOPIC, REPEAT = "hot_topic", "repeat"


@dataclass(frozen=True)
class EarlyWarning:
    action: str
    key: str
    payload: dict[str, Any]
    unit_ids: list[int]
    number: str = ""  # the ticket it is told on, if any


def warnings_of(
    *, session: Session, analysis: Analysis, rules: AnalysisRules = DEFAULT_ANALYSIS,
) -> list[EarlyWarning]:
    """The warnings the analysis calls for (told or not)."""
    label = analysis.period.label
    out: list[EarlyWarning] = []
    for hot in analysis.hot_matters:
        if hot.now >= rules.alert_hot:
            m = analysis.matters[hot.key]
            out.append(EarlyWarning(HOT_TOPIC, f"matter:{m.code}", {
                "topic": f"{m.code} {m.name}", "now": hot.now, "before": hot.before,
                "ratio": hot.ratio, "period": label}, [m.main_unit_id]))
    for hot in analysis.hot_terms:
        if hot.now >= rules.alert_hot:
            units = _units(session, ticket_ids=analysis.term_tickets[hot.key])
            out.append(EarlyWarning(HOT_TOPIC, f"term:{hot.key}", {
                "topic": hot.key, "now": hot.now, "before": hot.before, "ratio": hot.ratio,
                "period": label}, units))
    for r in analysis.repeats:
        if r.cluster.size >= rules.alert_repeat:
            numbers = [d.number for d in r.cluster.tickets]
            out.append(EarlyWarning(REPEAT, f"{r.by.value}:{r.key}", {
                "size": r.cluster.size, "tickets": numbers, "period": label},
                _units(session, numbers=numbers), numbers[-1]))
    return out


def _units(
    session: Session, *, ticket_ids: Iterable[int] = (), numbers: Iterable[str] = (),
) -> list[int]:
    query = select(Assignment.unit_id).distinct()
    ids, nums = sorted(ticket_ids), sorted(numbers)
    if nums:
        query = query.join(Ticket, col(Ticket.id) == col(Assignment.ticket_id)).where(
            col(Ticket.number).in_(nums))
    else:
        query = query.where(col(Assignment.ticket_id).in_(ids))
    return sorted(int(u) for u in session.exec(query).all())


def send_warnings(
    *, session: Session, analysis: Analysis, now: datetime,
    rules: AnalysisRules = DEFAULT_ANALYSIS,
) -> list[EarlyWarning]:
    """Write the warnings not yet told in this period to the outbox; returns those written
    (the caller commits, then wakes the streams)."""
    told = {
        (c.action, str(c.payload.get("key")), str(c.payload.get("period")))
        for c in session.exec(select(TicketChange).where(
            col(TicketChange.kind) == ChangeKind.ALERT.value,
            col(TicketChange.action).in_([HOT_TOPIC, REPEAT]),
            col(TicketChange.at) >= analysis.period.start,
        )).all()
    }
    label = analysis.period.label
    sent = [w for w in warnings_of(session=session, analysis=analysis, rules=rules)
            if (w.action, w.key, label) not in told]
    for w in sent:
        ticket = session.exec(select(Ticket).where(Ticket.number == w.number)).first() \
            if w.number else None
        session.add(TicketChange(
            ticket_id=ticket.id if ticket else None, number=w.number, kind=ChangeKind.ALERT,
            action=w.action, status="open",
            light=Light(ticket.light) if ticket else Light.NONE, unit_ids=w.unit_ids, at=now,
            payload={"key": w.key, **w.payload},
        ))
    session.flush()
    return sent
