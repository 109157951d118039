"""Errors of the hotline, one tree for the whole program.

Each error names what failed and where (file and line, field, channel) and carries a stable
``error_id`` slug. Library errors (panoramisk dicts, OSError from sockets, SQLAlchemy) become
ours at one seam, with ``raise ... from exc``.

    HotlineError
    ├── SettingsError                 settings file or value unusable
    ├── FlowError
    │   └── FlowFileError             a flow file is broken (path, line, node, reason)
    ├── TelephonyError
    │   ├── AmiUnavailable            AMI not connected: an action cannot be sent now
    │   ├── AmiActionFailed           Asterisk answered an action with an error
    │   ├── AgiError                  an AGI command failed
    │   │   └── CallerHungUp          the caller hung up: stop issuing commands
    │   └── SandboxError              the Asterisk sandbox cannot be built, started or stopped
    ├── PromptError                   a prompt cannot be rendered to audio
    ├── TicketError                   a work-order rule refused something (hotline.tickets.errors)
    │   ├── ActionNotAllowed          not in this state; lists the allowed actions
    │   ├── ConcurrentUpdate          another transition changed the ticket first
    │   ├── NoSuchTicket / NoSuchUnit / NoSuchMatter
    │   └── ResponsibilityFileError   a responsibility list file is broken (path, line, field)
    └── PhoneError                    the demo/test SIP phone failed (registration, call setup)
"""

from __future__ import annotations


class HotlineError(Exception):
    error_id = "hotline-error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class SettingsError(HotlineError):
    error_id = "invalid-settings"


class FlowError(HotlineError):
    error_id = "flow-error"


class FlowFileError(FlowError):
    """A flow file is broken. ``str()`` reads ``path:line: node 'x': reason``."""

    error_id = "flow-file-invalid"

    def __init__(
        self, *, path: str, reason: str, line: int | None = None, node: str | None = None
    ) -> None:
        where = f"{path}:{line}" if line is not None else path
        what = f"node '{node}': {reason}" if node else reason
        super().__init__(f"{where}: {what}", path=path, line=line, node=node, reason=reason)
        self.path = path
        self.line = line
        self.node = node
        self.reason = reason


class TelephonyError(HotlineError):
    error_id = "telephony-error"


class AmiUnavailable(TelephonyError):
    error_id = "ami-unavailable"


class AmiActionFailed(TelephonyError):
    error_id = "ami-action-failed"


class AgiError(TelephonyError):
    error_id = "agi-error"


class CallerHungUp(AgiError):
    error_id = "caller-hung-up"


class SandboxError(TelephonyError):
    error_id = "sandbox-error"


class PromptError(HotlineError):
    error_id = "prompt-error"


class PhoneError(HotlineError):
    error_id = "phone-error"
