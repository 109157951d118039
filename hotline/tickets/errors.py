"""Errors of work orders (工单), a branch of the tree in ``hotline.errors``.

HotlineError
└── TicketError                   a work-order rule refused something
    └── ActionNotAllowed          this action cannot be taken in this state (lists what can)
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
