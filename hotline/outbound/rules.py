"""Rules of outbound calls (回访 surveys, 督办 reminders). Pure: no I/O, no clock.

* **Retries** (``RetryPolicy``): an attempt that ends with no answer, busy, failed or hung up
  mid-survey is tried again ``interval`` later (default 3 attempts in all, 2 hours apart), at
  the first moment inside calling hours; after the last attempt the call gives up
  (``GiveUp``): a survey goes to the callback agents' queue.
* **Calling hours** (``CallingHours``): 08:00 to 20:00 on the center's clock by default, never
  on a public holiday of the ``WorkCalendar`` unless allowed (weekends are not holidays: a
  citizen may be called on a Saturday); a call due outside them is deferred, not attempted.
* **Choosing what to dial now** (``choose_calls``): numbers on the do-not-call list are never
  dialled, at most ``TrunkLimits`` calls at once per trunk, never two calls at once to the
  same number (neither one already ringing nor two chosen together), oldest due first.
* **Survey answers**: key 1 满意, 2 基本满意, 3 不满意 (``rating_for_key``).
* **Escalation** (``escalate_at``): a red ticket's reminder not acknowledged within one working
  day goes to the supervisors' list.

    >>> from datetime import datetime
    >>> hours = CallingHours()
    >>> hours.next_opening(datetime(2026, 11, 23, 21, 30))
    datetime.datetime(2026, 11, 24, 8, 0)
    >>> after_attempt(Outcome.NO_ANSWER, attempt=1, now=datetime(2026, 11, 23, 9, 0))
    RetryAt(at=datetime.datetime(2026, 11, 23, 11, 0))
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from hotline.tickets.calendar import WorkCalendar
from hotline.tickets.lifecycle import Satisfaction

_ONE_DAY = timedelta(days=1)


class Purpose(enum.StrEnum):
    SURVEY = "survey"  # 回访: the citizen rates how the ticket was handled
    REMINDER = "reminder"  # 督办: the unit's duty phone hears the ticket and its deadline
    AGENT = "agent"  # click-to-call: an agent's phone, then the citizen, bridged and recorded


class Outcome(enum.StrEnum):
    """How one attempt ended."""

    ANSWERED = "answered"  # answered and done: a survey rated, a reminder heard
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"  # congestion, unreachable, refused, lost
    HUNG_UP = "hung_up"  # answered, then hung up before the survey's rating


RETRIED = frozenset({Outcome.NO_ANSWER, Outcome.BUSY, Outcome.FAILED, Outcome.HUNG_UP})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    interval: timedelta = timedelta(hours=2)
    retry_on: frozenset[Outcome] = RETRIED

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.interval < timedelta(0):
            raise ValueError(f"the retry interval must not be negative, got {self.interval}")


@dataclass(frozen=True)
class CallingHours:
    """When citizens and units may be called: ``[start, end)`` on the center's clock.

    ``end`` may be ``time(0)`` for midnight (open until the end of the day). A day is closed
    when it is a public holiday of ``calendar`` and ``on_holidays`` is false; weekends are
    closed only when ``on_weekends`` is false (a make-up working day 调休 is never closed).
    With ``tz`` every time given is first read on that clock (the database gives UTC).
    """

    start: time = time(8, 0)
    end: time = time(20, 0)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    on_holidays: bool = False
    on_weekends: bool = True
    tz: tzinfo | None = None

    def __post_init__(self) -> None:
        if self.end != time(0) and self.end <= self.start:
            raise ValueError(f"calling hours end ({self.end}) must be after start ({self.start})")

    def day_open(self, day: date) -> bool:
        cal = self.calendar
        if day in cal.makeup_workdays:
            return True
        if day in cal.holidays and not self.on_holidays:
            return False
        return self.on_weekends or day.weekday() < 5

    def _window(self, day: date, like: datetime) -> tuple[datetime, datetime]:
        opens = datetime.combine(day, self.start, tzinfo=like.tzinfo)
        end_day = day + _ONE_DAY if self.end == time(0) else day
        return opens, datetime.combine(end_day, self.end, tzinfo=like.tzinfo)

    def _local(self, at: datetime) -> datetime:
        return at.astimezone(self.tz) if self.tz is not None else at

    def allows(self, at: datetime) -> bool:
        at = self._local(at)
        opens, closes = self._window(at.date(), at)
        return self.day_open(at.date()) and opens <= at < closes

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when calls are allowed then, else the next moment they are."""
        at = self._local(at)
        day = at.date()
        for _ in range(3 * 366):  # a calendar closing every day for years is a mistake
            if self.day_open(day):
                opens, closes = self._window(day, at)
                if at < closes:
                    return max(at, opens)
            day += _ONE_DAY
        raise ValueError("no calling hours within three years: check the calendar")


# --- after an attempt --------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    """Nothing more to do: the attempt reached the person."""


@dataclass(frozen=True)
class RetryAt:
    at: datetime


@dataclass(frozen=True)
class GiveUp:
    """The last attempt failed (or its outcome is not retried): hand over to people."""

    outcome: Outcome


Decision = Done | RetryAt | GiveUp


def after_attempt(
    outcome: Outcome, *, attempt: int, now: datetime, policy: RetryPolicy | None = None,
    hours: CallingHours | None = None,
) -> Decision:
    """What follows attempt number ``attempt`` (from 1) that ended at ``now`` with ``outcome``.

    ``hours`` None: no calling hours (the retry is exactly ``interval`` later).
    """
    policy = policy or RetryPolicy()
    if outcome is Outcome.ANSWERED:
        return Done()
    if outcome not in policy.retry_on or attempt >= policy.max_attempts:
        return GiveUp(outcome)
    at = now + policy.interval
    return RetryAt(hours.next_opening(at) if hours is not None else at)


# --- choosing the calls to place now -----------------------------------------------------

_NUMBER_JUNK = re.compile(r"[\s\-().]")


def normalize_number(number: str) -> str:
    """The number as dialled and compared: spaces, dashes, dots and brackets removed."""
    return _NUMBER_JUNK.sub("", number)


@dataclass(frozen=True)
class TrunkLimits:
    """At most ``limits[trunk]`` calls at once on a trunk, ``default`` on any other."""

    default: int = 4
    limits: Mapping[str, int] = field(default_factory=dict)

    def of(self, trunk: str) -> int:
        return self.limits.get(trunk, self.default)


@dataclass(frozen=True)
class Candidate:
    """A call due now: its id, the number, the trunk to place it on, when it became due."""

    call_id: int
    number: str
    trunk: str
    due_at: datetime


@dataclass(frozen=True)
class Live:
    """A call ringing or in progress now."""

    number: str
    trunk: str


@dataclass(frozen=True)
class Choice:
    place: tuple[Candidate, ...]  # dial these now, in this order
    blocked: tuple[Candidate, ...]  # on the do-not-call list: never dial
    waiting: tuple[Candidate, ...]  # trunk full or number busy with us: next time


def choose_calls(
    due: Iterable[Candidate], *, live: Sequence[Live], limits: TrunkLimits,
    do_not_call: frozenset[str] | set[str],
) -> Choice:
    """Which due calls to place now (see the module docstring), oldest due first."""
    blocked_numbers = {normalize_number(n) for n in do_not_call}
    busy = {normalize_number(c.number) for c in live}
    in_use: dict[str, int] = {}
    for c in live:
        in_use[c.trunk] = in_use.get(c.trunk, 0) + 1
    place: list[Candidate] = []
    blocked: list[Candidate] = []
    waiting: list[Candidate] = []
    for cand in sorted(due, key=lambda c: (c.due_at, c.call_id)):
        number = normalize_number(cand.number)
        if number in blocked_numbers:
            blocked.append(cand)
        elif number in busy or in_use.get(cand.trunk, 0) >= limits.of(cand.trunk):
            waiting.append(cand)
        else:
            place.append(cand)
            busy.add(number)
            in_use[cand.trunk] = in_use.get(cand.trunk, 0) + 1
    return Choice(place=tuple(place), blocked=tuple(blocked), waiting=tuple(waiting))


# --- surveys and reminders ---------------------------------------------------------------

SURVEY_KEYS: Mapping[str, Satisfaction] = {
    "1": Satisfaction.SATISFIED,
    "2": Satisfaction.BASICALLY_SATISFIED,
    "3": Satisfaction.UNSATISFIED,
}
ACKNOWLEDGE_KEY = "1"


def rating_for_key(key: str) -> Satisfaction | None:
    return SURVEY_KEYS.get(key)


def survey_outcome(*, answered: bool, rating: Satisfaction | None) -> Outcome:
    """A rated survey is done (even if the comment was cut short); answered without a rating
    is a hang-up mid-survey (retried); never answered is a no answer."""
    if rating is not None:
        return Outcome.ANSWERED
    return Outcome.HUNG_UP if answered else Outcome.NO_ANSWER


def escalate_at(reminded_at: datetime, *, calendar: WorkCalendar) -> datetime:
    """When a red ticket's reminder not yet acknowledged goes to the supervisors: one working
    day after the reminder was first due (``WorkCalendar.add_working_days``)."""
    return calendar.add_working_days(reminded_at, 1)


# --- call-backs from the queue (漏接回拨) ---------------------------------------------------


def callbacks_due(
    pending: Iterable[tuple[int, datetime]], *, waiting_since: Iterable[datetime],
    free_seats: int,
) -> list[int]:
    """Which queue call-backs (id, when the caller joined the queue) to place now.

    A call-back keeps its caller's place in line: it goes only once no caller still waiting
    joined the queue before it (never ahead of callers who waited longer), oldest first, and
    at most one per free seat.

        >>> t = datetime(2026, 11, 23, 9, 0)
        >>> callbacks_due([(1, t), (2, t + timedelta(minutes=5))],
        ...               waiting_since=[t + timedelta(minutes=2)], free_seats=2)
        [1]
    """
    first_waiting = min(waiting_since, default=None)
    turn = [(joined, cid) for cid, joined in pending
            if first_waiting is None or joined < first_waiting]
    return [cid for _, cid in sorted(turn)[:max(0, free_seats)]]
