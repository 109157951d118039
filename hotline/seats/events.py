"""The AMI event handler of the console: the call records' handler first, then the pop board
and the seats' state (QueueMemberPause from anywhere is followed).

    handler = SeatEvents(inner=call_events, board=board, engine=engine, clock=clock)
    AmiController(settings=..., secret=..., handler=handler)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from hotline.seats.pop import PopBoard
from hotline.seats.service import on_member_paused
from hotline.telephony.ami import AmiController, AmiEventHandler


class SeatEvents:
    def __init__(self, *, inner: AmiEventHandler, board: PopBoard, engine: Engine,
                 clock: Callable[[], datetime]) -> None:
        self.inner = inner
        self.board = board
        self.engine = engine
        self.clock = clock

    async def on_connected(self, controller: AmiController) -> None:
        await self.inner.on_connected(controller)

    async def on_event(self, event: dict[str, Any]) -> None:
        await self.inner.on_event(event)
        await self.board.on_event(event)
        if event.get("Event") == "QueueMemberPause":
            changed = await asyncio.to_thread(
                on_member_paused, engine=self.engine, interface=event.get("Interface", ""),
                paused=event.get("Paused") == "1", reason=event.get("PausedReason") or
                event.get("Reason", ""), now=self.clock())
            if changed:
                self.board.changed.notify()
