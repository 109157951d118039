"""``QueueMembers`` and ``CallMover`` over AMI (``hotline.telephony.ami.AmiController``).

    queue = AmiQueueMembers(hotline.ami, queue="hotline")
    await queue.pause(interface="PJSIP/seat1", paused=True, reason="培训")
"""

from __future__ import annotations

from hotline.telephony.ami import AmiController


class AmiQueueMembers:
    def __init__(self, ami: AmiController, *, queue: str) -> None:
        self.ami = ami
        self.queue = queue

    async def add(self, *, interface: str, member_name: str, paused: bool, reason: str) -> None:
        await self.ami.send({"Action": "QueueAdd", "Queue": self.queue, "Interface": interface,
                             "MemberName": member_name, "Paused": _bool(paused),
                             "Reason": reason})

    async def pause(self, *, interface: str, paused: bool, reason: str) -> None:
        await self.ami.send({"Action": "QueuePause", "Queue": self.queue,
                             "Interface": interface, "Paused": _bool(paused),
                             "Reason": reason})

    async def remove(self, *, interface: str) -> None:
        await self.ami.send({"Action": "QueueRemove", "Queue": self.queue,
                             "Interface": interface})


class AmiCallMover:
    """Moves a live channel (AMI Redirect): the seat's emergency transfer."""

    def __init__(self, ami: AmiController) -> None:
        self.ami = ami

    async def redirect(self, *, channel: str, context: str, exten: str) -> None:
        await self.ami.send({"Action": "Redirect", "Channel": channel, "Context": context,
                             "Exten": exten, "Priority": "1"})


def _bool(value: bool) -> str:
    return "true" if value else "false"
