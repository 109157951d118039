"""Errors of work orders (工单), a branch of the tree in ``hotline.errors``.

HotlineError
└── TicketError                   a work-order rule refused something
    ├── ActionNotAllowed          this action cannot be taken in this state (lists what can)
    ├── ConcurrentUpdate          someone else changed the ticket first (optimistic lock)
    ├── NoSuchTicket              no ticket with this id or number
    ├── NoSuchUnit                no unit (承办单位) with this name or id
    ├── NoSuchMatter              no responsibility-list item with this id or code
    └── ResponsibilityFileError   a responsibility list file is broken (path, line, field)
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.errors import HotlineError


class TicketError(HotlineError):
    error_id = "ticket-error"


class ActionNotAllowed(TicketError):
    """``action`` cannot be taken while the ticket is in ``status``.

    ``allowed`` lists the action names that can be taken now (for the console and the API);
    ``reason`` says why when the action itself is allowed but its arguments are not (a unit with
    nothing to sign, an extension longer than what is left).
    """

    error_id = "action-not-allowed"

    def __init__(
        self, action: str, status: str, *, allowed: Iterable[str], reason: str | None = None
    ) -> None:
        allowed = tuple(allowed)
        why = f": {reason}" if reason else ""
        listed = ", ".join(allowed) if allowed else "nothing"
        super().__init__(
            f"{action} not allowed in status {status}{why} (allowed: {listed})",
            action=action,
            status=status,
            allowed=allowed,
            reason=reason,
        )
        self.action = action
        self.status = status
        self.allowed = allowed
        self.reason = reason


class ConcurrentUpdate(TicketError):
    """The ticket is no longer at ``expected`` version: another transition won; reload it."""

    error_id = "ticket-changed-concurrently"

    def __init__(self, ticket: str, *, expected: int, actual: int | None = None) -> None:
        now = f", it is at {actual}" if actual is not None else ""
        super().__init__(
            f"ticket {ticket} was changed by someone else (expected version {expected}{now})",
            ticket=ticket,
            expected=expected,
            actual=actual,
        )
        self.ticket = ticket
        self.expected = expected
        self.actual = actual


class NoSuchTicket(TicketError):
    error_id = "no-such-ticket"

    def __init__(self, ticket: int | str) -> None:
        super().__init__(f"no ticket {ticket!r}", ticket=ticket)
        self.ticket = ticket


class NoSuchUnit(TicketError):
    error_id = "no-such-unit"

    def __init__(self, unit: int | str) -> None:
        super().__init__(f"no unit {unit!r}", unit=unit)
        self.unit = unit


class NoSuchMatter(TicketError):
    error_id = "no-such-matter"

    def __init__(self, matter: int | str) -> None:
        super().__init__(f"no responsibility-list item {matter!r}", matter=matter)
        self.matter = matter


class ResponsibilityFileError(TicketError):
    """A responsibility list file is broken. ``str()`` reads ``path:line: field: reason``."""

    error_id = "responsibility-file-invalid"

    def __init__(
        self, *, path: str, reason: str, line: int | None = None, field: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line is not None else path
        what = f"{field}: {reason}" if field else reason
        super().__init__(f"{where}: {what}", path=path, line=line, field=field, reason=reason)
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason
