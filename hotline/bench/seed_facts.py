"""The oversight facts (``oversight_fact``) of seeded tickets, from the same templates.

The service keeps one fact per ticket and unit in the transaction of every transition
(``hotline.oversight.store.on_transition``). The seeder bypasses the service, so it folds the
facts itself: ``template_facts`` runs ``definitions.facts_from_log`` over the machine's walk of
a template (the same ``(before, event, after)`` steps a replay of the stored log gives) and
keeps each fact's times as positions in the template's times, so that a ticket's facts are its
template's moved to its own creation time, like its events. A fact whose parts differ between
the walks of a template (a late reply at one time of the day, not at another) makes the
template unusable (``NotMovable``): the seeder then walks a narrower bucket or the ticket alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hotline.oversight.definitions import UnitFacts, facts_from_log
from hotline.tickets import lifecycle as lc

FACT_COLUMNS = (
    "id", "ticket_id", "unit_id", "matter_id", "role", "dispatched_at", "sign_by",
    "responded_at", "due_at", "replied_at", "finished_at", "late_replies", "redo_at",
    "refused_at", "revisited_at", "satisfaction", "unsatisfied_twice",
)
TIMES = ("dispatched_at", "sign_by", "responded_at", "due_at", "replied_at", "finished_at",
         "redo_at", "refused_at", "revisited_at")


class NotMovable(Exception):
    """A time (or a part) of the walks does not move with the ticket within the bucket."""


class WalkLike(Protocol):
    @property
    def initial(self) -> lc.TicketState: ...

    @property
    def steps(self) -> list[tuple[str, lc.Transition]]: ...


@dataclass(frozen=True)
class FactTemplate:
    """One unit's fact with its unit left open (``who``) and its times as positions."""

    who: str
    role: str
    times: tuple[int | None, ...]  # by ``TIMES``
    late_replies: int
    satisfaction: str | None
    unsatisfied_twice: bool

    def row(self, *, fact_id: int, ticket_id: int, unit_id: int, matter_id: int | None,
            cols: Sequence[Any]) -> tuple[Any, ...]:
        times = [None if i is None else cols[i] for i in self.times]
        return (fact_id, ticket_id, unit_id, matter_id, self.role, *times[:6],
                self.late_replies, *times[6:], self.satisfaction, self.unsatisfied_twice)


def steps_of(walk: WalkLike, cut: int) -> Iterator[tuple[lc.TicketState, lc.Event,
                                                         lc.TicketState]]:
    """The first ``cut`` transitions of a walk as ``(before, event, after)``."""
    state = walk.initial
    for _who, transition in walk.steps[:cut]:
        yield state, transition.event, transition.new_state
        state = transition.new_state


def template_facts(walks: Sequence[WalkLike], cut: int,
                   add: Callable[[list[datetime]], int]) -> list[FactTemplate]:
    """The facts after ``cut`` steps, the same in every walk but for times ``add`` places."""
    per_walk = [facts_from_log(steps_of(w, cut)) for w in walks]
    units = list(per_walk[0])
    if any(list(facts) != units for facts in per_walk):
        raise NotMovable
    return [_fact([facts[unit] for facts in per_walk], add) for unit in units]


def _fact(facts: list[UnitFacts], add: Callable[[list[datetime]], int]) -> FactTemplate:
    first = facts[0]
    if len({(f.role, f.late_replies, f.satisfaction, f.unsatisfied_twice) for f in facts}) != 1:
        raise NotMovable
    times: list[int | None] = []
    for name in TIMES:
        values: list[datetime | None] = [getattr(f, name) for f in facts]
        if all(v is None for v in values):
            times.append(None)
        elif any(v is None for v in values):
            raise NotMovable
        else:
            times.append(add([v for v in values if v is not None]))
    return FactTemplate(
        who=first.unit, role=first.role.value, times=tuple(times),
        late_replies=first.late_replies,
        satisfaction=first.satisfaction.value if first.satisfaction else None,
        unsatisfied_twice=first.unsatisfied_twice,
    )
