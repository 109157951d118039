"""Errors of outbound calls' desks (callback queue, escalation list, do-not-call list).

    OutboundError
    ├── NoSuchOutboundCall        404: no such call in the callback queue's table
    ├── NoSuchEscalation          404
    ├── NoSuchDoNotCall           404: the number is not on the do-not-call list
    ├── NotInCallbackQueue        409: the call is not waiting for an agent (done, cancelled …)
    ├── TakenByAnother            409: another agent took it first
    ├── EscalationResolved        409: resolved already
    ├── NoAgentPhone              409: click-to-call by a user with no phone to ring
    ├── NumberBusy                409: the number is in an outbound call already
    ├── DoNotCallNumber           409: the number is on the do-not-call list
    ├── TrunkFull                 409: the trunk carries its most concurrent calls already
    └── NoCallerPhone             422: click-to-call on a ticket with no caller's number
"""

from __future__ import annotations

from hotline.errors import HotlineError


class OutboundError(HotlineError):
    error_id = "outbound-error"


class NoSuchOutboundCall(OutboundError):
    error_id = "no-such-outbound-call"

    def __init__(self, call_id: int) -> None:
        super().__init__(f"no outbound call {call_id}", call_id=call_id)


class NoSuchEscalation(OutboundError):
    error_id = "no-such-escalation"

    def __init__(self, escalation_id: int) -> None:
        super().__init__(f"no escalation {escalation_id}", escalation_id=escalation_id)


class NoSuchDoNotCall(OutboundError):
    error_id = "not-on-do-not-call-list"

    def __init__(self, phone: str) -> None:
        super().__init__(f"{phone} is not on the do-not-call list", phone=phone)


class NotInCallbackQueue(OutboundError):
    status_code = 409
    error_id = "not-in-callback-queue"

    def __init__(self, call_id: int, status: str) -> None:
        super().__init__(f"outbound call {call_id} is {status}, not waiting in the callback queue",
                         call_id=call_id, status=status)


class TakenByAnother(OutboundError):
    status_code = 409
    error_id = "callback-taken-by-another"

    def __init__(self, call_id: int, taken_by: str) -> None:
        super().__init__(f"outbound call {call_id} was taken by {taken_by}",
                         call_id=call_id, taken_by=taken_by)


class EscalationResolved(OutboundError):
    status_code = 409
    error_id = "escalation-resolved"

    def __init__(self, escalation_id: int, resolved_by: str | None) -> None:
        super().__init__(f"escalation {escalation_id} was resolved by {resolved_by}",
                         escalation_id=escalation_id, resolved_by=resolved_by)


class NoAgentPhone(OutboundError):
    status_code = 409
    error_id = "agent-has-no-phone"

    def __init__(self, agent: str) -> None:
        super().__init__(f"{agent} has no phone to ring: sign in to a seat or list it in "
                         "outbound.agent_phones", agent=agent)


class NumberBusy(OutboundError):
    status_code = 409
    error_id = "number-in-a-call"

    def __init__(self, phone: str) -> None:
        super().__init__(f"{phone} is in an outbound call already", phone=phone)


class DoNotCallNumber(OutboundError):
    status_code = 409
    error_id = "number-on-do-not-call-list"

    def __init__(self, phone: str) -> None:
        super().__init__(f"{phone} asked not to be called (do-not-call list)", phone=phone)


class TrunkFull(OutboundError):
    status_code = 409
    error_id = "trunk-full"

    def __init__(self, trunk: str, limit: int) -> None:
        super().__init__(f"trunk {trunk} carries its {limit} concurrent outbound calls already:"
                         " try again in a moment", trunk=trunk, limit=limit)


class NoCallerPhone(OutboundError):
    status_code = 422
    error_id = "ticket-has-no-caller-phone"

    def __init__(self, number: str) -> None:
        super().__init__(f"ticket {number} has no caller's number: give one", ticket=number)
