"""What may be monitored, by whom, and how: pure functions over the settings and the call.

    modes_of(user="zhang", role="supervisor", settings=s)   # {Mode.LISTEN}
    spy_target(call)                                         # "PJSIP/seat1-" or the channel
"""

from __future__ import annotations

import enum

from hotline.calls.models import Call
from hotline.monitoring.settings import MonitoringSettings


class Mode(enum.StrEnum):
    LISTEN = "listen"  # 监听: hear both sides, say nothing
    WHISPER = "whisper"  # 耳语: the agent hears the supervisor, the caller does not
    BARGE = "barge"  # 强插: both sides hear the supervisor

    @property
    def permission(self) -> str:
        return f"monitor_{self.value}"

    @property
    def label(self) -> str:
        return {"listen": "监听", "whisper": "耳语", "barge": "强插"}[self.value]


def modes_of(*, user: str, role: str, settings: MonitoringSettings) -> set[Mode]:
    """The modes a user may use: their role's permissions plus their own."""
    granted = {*settings.roles.get(role, []), *settings.users.get(user, [])}
    return {mode for mode in Mode if mode.permission in granted}


def spy_target(call: Call) -> str:
    """What ChanSpy spies on: the agent's channel once an agent answered (whispering then
    reaches the agent), else the caller's own channel (a caller still in the menu or queue).

    The agent is known by the queue member's name or interface (``seat1``, ``PJSIP/seat1``);
    ChanSpy takes a channel name prefix, and ``PJSIP/seat1-`` matches that phone's channel
    (``PJSIP/seat1-0000002a``) without matching ``seat10``.
    """
    agent = (call.answered_by or "").strip()
    if agent:
        interface = agent if "/" in agent else f"PJSIP/{agent}"
        return f"{interface}-"
    return call.channel
