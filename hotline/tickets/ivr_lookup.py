"""The IVR's self-service ticket lookup (``lookup`` node): a sentence about the ticket's status.

Only the status, the unit handling it and the due date are spoken: nothing about the caller or
the content, since anyone who knows a number can key it.
"""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from hotline.tickets.errors import NoSuchTicket
from hotline.tickets.models import Ticket, Unit
from hotline.tickets.service import get_by_number

STATUS_SENTENCES = {
    "accepted": "已受理，正在派发给承办单位",
    "dispatched": "已派发给{unit}，等待签收",
    "signed": "{unit}已签收，正在办理",
    "in_progress": "{unit}正在办理",
    "replied": "{unit}已答复，热线中心正在审核",
    "reviewed": "已办理完毕，近期将对您进行回访",
    "revisit": "已办理完毕，正在回访",
    "closed": "已办结",
    "archived": "已办结",
    "returned": "正在重新确定承办单位",
    "parked": "需要较长时间解决，已列入跟踪督办",
    "merged": "已与相同诉求的工单合并办理",
    "transferred": "已转交紧急服务部门处理",
}
OPEN = frozenset({"dispatched", "signed", "in_progress", "returned"})


def status_sentence(ticket: Ticket, *, unit: str | None, tz: ZoneInfo) -> str:
    status = STATUS_SENTENCES.get(ticket.status, "正在处理").format(unit=unit or "承办单位")
    sentence = f"您查询的工单{status}。"
    if ticket.status in OPEN and ticket.handling_deadline is not None:
        due = ticket.handling_deadline.astimezone(tz)
        sentence += f"办理期限为{due.month}月{due.day}日。"
    return sentence


class StoreTicketLookup:
    """``TicketLookup`` (``hotline.ivr.ports``) on the tickets in the database."""

    def __init__(self, engine: Engine, *, tz: ZoneInfo) -> None:
        self.engine, self.tz = engine, tz

    async def status_sentence(self, *, number: str, caller: str) -> str | None:
        return await asyncio.to_thread(self._sentence, number)

    def _sentence(self, number: str) -> str | None:
        with Session(self.engine) as session:
            try:
                ticket = get_by_number(session=session, number=number)
            except NoSuchTicket:
                return None
            unit = session.get(Unit, ticket.main_unit_id) if ticket.main_unit_id else None
            return status_sentence(ticket, unit=unit.name if unit else None, tz=self.tz)
