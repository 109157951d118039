"""The console's Chinese words for the codes the ticket model stores: one mapping, used by the
templates through Jinja filters (installed by ``common.install_pages``)::

    {{ t.status | status_zh }}        signed → 已签收
    {{ t.request_type | type_zh }}    help → 求助
    {{ e.action | action_zh }}        request_extension → 申请延期
    {{ r.channel | channel_zh }}      web → 网上
    {{ t.light | light_zh }}          yellow → 黄灯
    {{ e.decision | decision_zh }}    pending → 待审批 (an extension request)

An unknown code is shown as it is (a new status never hides a row); the citizen-facing
wording of the public pages is theirs (``public.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum

from hotline.tickets import lifecycle as lc
from hotline.tickets.models import Channel, Light, TicketType

STATUS_LABELS: Mapping[str, str] = {
    lc.Status.ACCEPTED: "已受理", lc.Status.DISPATCHED: "已派单", lc.Status.SIGNED: "已签收",
    lc.Status.IN_PROGRESS: "办理中", lc.Status.REPLIED: "已答复", lc.Status.REVIEWED: "已审核",
    lc.Status.REVISIT: "回访中", lc.Status.CLOSED: "已办结", lc.Status.ARCHIVED: "已归档",
    lc.Status.RETURNED: "已退回", lc.Status.PARKED: "挂账", lc.Status.MERGED: "已合并",
    lc.Status.TRANSFERRED: "已转警",
}
ACTION_LABELS: Mapping[str, str] = {
    "create": "受理", "dispatch": "派单", "sign": "签收", "return": "退回",
    "review_return": "退回审核", "start_handling": "开始办理", "request_extension": "申请延期",
    "decide_extension": "延期审批", "reply": "答复", "review": "审核", "start_revisit": "开始回访",
    "revisit": "回访", "close": "办结", "archive": "归档", "answer_now": "即办",
    "park": "挂账", "resume": "恢复办理", "merge": "合并", "attach_child": "并入工单",
    "emergency_transfer": "转警", "emergency": "紧急警情",
}
CHANNEL_LABELS: Mapping[str, str] = {
    Channel.PHONE: "电话", Channel.WEB: "网上", Channel.API: "接口", Channel.PLATFORM: "平台转办",
}
LIGHT_LABELS: Mapping[str, str] = {
    Light.GREEN: "绿灯", Light.YELLOW: "黄灯", Light.RED: "红灯", Light.NONE: "—",
}
TYPE_LABELS: Mapping[str, str] = {t.value: t.label for t in TicketType}
DECISION_LABELS: Mapping[str, str] = {
    "pending": "待审批", "approved": "已同意", "refused": "未同意", "dropped": "已撤销",
}


def _code(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _lookup(labels: Mapping[str, str]) -> Callable[[object], str]:
    def label(value: object) -> str:
        if value is None or value == "":
            return "—"
        code = _code(value)
        return labels.get(code, code)

    return label


status_zh = _lookup(STATUS_LABELS)
type_zh = _lookup(TYPE_LABELS)
action_zh = _lookup(ACTION_LABELS)
channel_zh = _lookup(CHANNEL_LABELS)
light_zh = _lookup(LIGHT_LABELS)
decision_zh = _lookup(DECISION_LABELS)

FILTERS: Mapping[str, Callable[[object], str]] = {
    "status_zh": status_zh, "type_zh": type_zh, "action_zh": action_zh,
    "channel_zh": channel_zh, "light_zh": light_zh, "decision_zh": decision_zh,
}
