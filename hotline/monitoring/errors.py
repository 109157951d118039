"""Errors of call monitoring.

    MonitoringError
    ├── ModeNotAllowed       403: the user lacks the mode's permission (monitor_whisper …)
    ├── NoMonitorPhone       409: no phone configured for the user (monitoring.phones)
    ├── CallNotLive          409: no such call in progress
    └── NoSuchMonitorSession 404: no session of this user with that id
"""

from __future__ import annotations

from hotline.errors import HotlineError


class MonitoringError(HotlineError):
    error_id = "monitoring-error"


class ModeNotAllowed(MonitoringError):
    status_code = 403
    error_id = "monitor-mode-not-allowed"

    def __init__(self, user: str, mode: str) -> None:
        super().__init__(f"{user} may not {mode} (needs permission monitor_{mode})",
                         user=user, mode=mode)


class NoMonitorPhone(MonitoringError):
    status_code = 409
    error_id = "no-monitor-phone"

    def __init__(self, user: str) -> None:
        super().__init__(f"no phone configured for {user} (monitoring.phones)", user=user)


class CallNotLive(MonitoringError):
    status_code = 409
    error_id = "call-not-live"

    def __init__(self, uniqueid: str) -> None:
        super().__init__(f"call {uniqueid} is not in progress", call=uniqueid)


class NoSuchMonitorSession(MonitoringError):
    status_code = 404
    error_id = "no-such-monitor-session"

    def __init__(self, entry_id: int) -> None:
        super().__init__(f"no monitoring session {entry_id}", session=entry_id)
