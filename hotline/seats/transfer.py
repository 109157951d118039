"""The seat operator's emergency transfer (转 110 / 119 / 120 / 122): the caller's live channel
is moved (AMI Redirect) to the line's extension in the dialplan context ``hotline-emergency``,
which dials the line's target from ``sip.emergency`` (the same map the IVR transfers to).

The call is the one the pop board shows on the operator's seat: its caller channel comes from
the queue's AgentCalled / AgentConnect event. Anything that stops the move (no live call on
the seat, AMI away, Asterisk refusing the Redirect) raises ``TransferFailed`` with a Chinese
message the operator reads: the caller is still on their line and must be told to dial the
number themselves.

    channel = await transfer_to_emergency(mover=AmiCallMover(ami), board=board,
                                          interface="PJSIP/seat1", uniqueid=uid, line="120")
"""

from __future__ import annotations

from typing import Protocol

from hotline.errors import AmiActionFailed, AmiUnavailable, HotlineError
from hotline.seats.pop import PopBoard

EMERGENCY_CONTEXT = "hotline-emergency"
LIVE_STATES = ("ringing", "answered")


class CallMover(Protocol):
    """Moves a live channel elsewhere in the dialplan (``hotline.seats.ami.AmiCallMover``)."""

    async def redirect(self, *, channel: str, context: str, exten: str) -> None: ...


class TransferFailed(HotlineError):
    error_id = "emergency-transfer-failed"
    status_code = 502


async def transfer_to_emergency(*, mover: CallMover, board: PopBoard, interface: str,
                                uniqueid: str, line: str) -> str:
    """Move the caller of the call on ``interface`` (``uniqueid`` if given) to ``line``;
    the caller's channel that was moved."""
    ring = board.current(interface)
    if (ring is None or ring.state not in LIVE_STATES or not ring.channel
            or (uniqueid and ring.uniqueid != uniqueid)):
        raise TransferFailed(f"本席没有正在进行的来电，未能转接 {line}",
                             interface=interface, uniqueid=uniqueid, line=line)
    try:
        await mover.redirect(channel=ring.channel, context=EMERGENCY_CONTEXT, exten=line)
    except (AmiUnavailable, AmiActionFailed) as exc:
        raise TransferFailed(f"电话系统未能转接 {line}（{exc}）", interface=interface,
                             channel=ring.channel, line=line) from exc
    return ring.channel
