"""The console's Chinese words for the codes the ticket model stores: one mapping, used by the
templates through Jinja filters (installed by ``common.install_pages``)::

    {{ t.status | status_zh }}        signed → 已签收
    {{ t.request_type | type_zh }}    help → 求助
    {{ e.action | action_zh }}        request_extension → 申请延期
    {{ r.channel | channel_zh }}      web → 网上
    {{ t.light | light_zh }}          yellow → 黄灯
    {{ e.decision | decision_zh }}    pending → 待审批 (an extension request)
    {{ c.queue.outcome | queue_zh }}  abandoned → 排队中挂断 (a call's queue outcome)
    {{ c.end_reason | end_zh }}       hangup_by_caller → 来电人挂断 (how a call ended)
    {{ r.kind | recording_zh }}       caller → 来电人录音 (a call's recording)
    {{ c.hangup_cause | cause_zh }}   16 → 正常挂断 (Asterisk's hangup cause)
    {% for id, label in c.path | ivr_path(c.flow) %}   welcome → (welcome, 欢迎语): the IVR
                                      path's node labels from the flow files (``label:``)

An unknown code is shown as it is (a new status never hides a row); the citizen-facing
wording of the public pages is theirs (``public.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import Enum

from jinja2 import pass_context
from jinja2.runtime import Context

from hotline.ivr.flow import Flow
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
    "create": "受理", "dispatch": "派单", "sign": "签收", "arrive": "到场", "return": "退回",
    "review_return": "退回审核", "start_handling": "开始办理", "request_extension": "申请延期",
    "decide_extension": "延期审批", "reply": "答复", "review": "审核", "start_revisit": "开始回访",
    "revisit": "回访", "close": "办结", "archive": "归档", "answer_now": "即办",
    "park": "挂账", "resume": "恢复办理", "merge": "合并", "attach_child": "并入工单",
    "emergency_transfer": "转警", "emergency": "紧急警情", "park_review": "挂账到期复查",
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

QUEUE_LABELS: Mapping[str, str] = {
    "answered": "已接听", "abandoned": "排队中挂断", "timeout": "排队超时",
    "no_seat": "无坐席", "full": "队列已满", "self_service": "按键离开排队",
}
END_LABELS: Mapping[str, str] = {
    "completed": "流程结束", "transferred": "已转接", "hangup_by_caller": "来电人挂断",
    "error": "系统出错", "seat_transferred": "坐席转警", "message": "留言",
    "agent": "坐席接听", "abandoned": "排队中挂断",
}
# Asterisk's hangup causes (Q.850 codes) of the calls that ended without an end_reason.
CAUSE_LABELS: Mapping[str, str] = {
    "0": "结束", "1": "号码不存在", "16": "正常挂断", "17": "用户忙", "18": "无响应",
    "19": "无应答", "21": "拒接", "27": "线路故障", "34": "线路忙", "38": "网络故障",
    "127": "异常结束",
}
RECORDING_LABELS: Mapping[str, str] = {
    "full": "全程录音", "caller": "来电人录音", "message": "留言录音", "agent": "坐席录音",
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
queue_zh = _lookup(QUEUE_LABELS)
end_zh = _lookup(END_LABELS)
recording_zh = _lookup(RECORDING_LABELS)
cause_zh = _lookup(CAUSE_LABELS)

FILTERS: Mapping[str, Callable[[object], str]] = {
    "status_zh": status_zh, "type_zh": type_zh, "action_zh": action_zh,
    "channel_zh": channel_zh, "light_zh": light_zh, "decision_zh": decision_zh,
    "queue_zh": queue_zh, "end_zh": end_zh, "recording_zh": recording_zh,
    "cause_zh": cause_zh,
}


@pass_context
def ivr_path(context: Context, path: Iterable[str] | None,
             flow: str | None) -> list[tuple[str, str]]:
    """The (node id, label) of each step of a call's IVR path, the labels from the flow the
    call ran (``app.state.ivr_flows``); a node without a label, or of a flow no longer loaded,
    shows its id."""
    request = context.get("request")
    flows: Mapping[str, Flow] = getattr(request.app.state, "ivr_flows", {}) if request else {}
    known = flows.get(flow or "")
    return [(node, known.label_of(node) if known else node) for node in path or ()]
