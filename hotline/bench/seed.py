"""Many realistic work orders, fast: the rows of ``ticket``, ``ticketevent``, ``assignment``,
``ticketcounter`` and ``oversight_fact`` (folded from the same walks, ``seed_facts``) for
``make bench-tickets`` and ``make seed-city``, written in bulk (``seed_database``: SQLite
``executemany``, PostgreSQL ``COPY``) instead of calling ``service.create_ticket`` a million
times.

Each ticket follows a *path* of the real life cycle (即办, 派单 with 0–2 assisting units to
办结 and 归档, 退回改派, 延期, 审核退回, 重办, 挂账, 不回访办结, 转警) at a *pace* (how fast
the unit signs and replies, up to long overdue). The pure machine (``rules.apply``) walks each
(path, pace, type, urgency, assisting units, weekday) once, and the real codec encodes its
states and events into a *template* with unit names, number and times left open. A ticket is
its template moved to its own creation time: whole weeks (the default calendar has no holidays,
so working days repeat weekly) plus its time of day. Times that do not move with it (a deadline
counted from a weekend dispatch stays at midnight) are told apart by walking the path from
three times of the day; a path whose dates change within the day (a step crossing midnight) is
templated per hour, and the rare ticket whose steps change their date within the hour is walked
for itself. Steps after ``now`` are not taken, so recent tickets are still open; every seeded
ticket replays to its stored state (``service.replay_ticket``).

The spread: two years to ``now``, fewer tickets at weekends, at night, in February and
October, more in summer (停水, 停电, noise at night), in winter (gas
heating) and before the Spring Festival (欠薪); request types in
the center's shares; matters, main and assisting units from the responsibility list by the real
``dispatch_suggestion``; descriptions from a few hundred fragments, whose search words are cut
once per fragment (``search_terms_for``); some callers call again. Open tickets carry the light
their last step left (green, as if no scheduler had run yet): its first pass finds every one
that is yellow or red by ``now``, about two thousand in a million.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from itertools import accumulate
from time import perf_counter
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from hotline.bench.seed_facts import FACT_COLUMNS, FactTemplate, NotMovable, template_facts
from hotline.tickets import lifecycle as lc
from hotline.tickets.calendar import RequestType, Urgency
from hotline.tickets.codec import decode_state, encode_action, encode_state
from hotline.tickets.lights import marks
from hotline.tickets.models import Matter, TicketType, Unit, UnitKind
from hotline.tickets.queries import search_terms_for
from hotline.tickets.rules import apply
from hotline.tickets.service import DEFAULT_RULES, light_columns
from hotline.tickets.suggestion import dispatch_suggestion

SEEDER_VERSION = 3  # kept databases are seeded again when the rows this module writes change
CST = timezone(timedelta(hours=8))
DEFAULT_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=CST)  # a Wednesday morning
TICKET_COLUMNS = (
    "id", "number", "parent_id", "created_at", "updated_at", "version", "status",
    "main_unit_id", "deadline", "handling_deadline", "yellow_at", "light", "next_light_at",
    "parked_until", "state", "search_terms", "channel", "caller_name", "caller_phone",
    "request_type", "matter_id", "urgency", "difficult", "location", "description",
    "call_uniqueid", "transcript",
)
EVENT_COLUMNS = ("id", "ticket_id", "seq", "action", "actor", "at", "reason", "before_status",
                 "after_status", "payload")
ASSIGNMENT_COLUMNS = ("id", "ticket_id", "unit_id", "role", "status", "dispatched_at",
                      "sign_by", "signed_at")
COUNTER_COLUMNS = ("day", "last")

# Names left open in a template, filled in per ticket (the draft goes in as JSON, unquoted).
MAIN, FIRST, ASSISTS, NUMBER, DRAFT = "@@M@@", "@@F@@", ("@@A0@@", "@@A1@@"), "@@N@@", "@@D@@"
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?\+08:00")
_SLOT = re.compile(r'"@@(\w+)@@"|' + _TIME.pattern)
_HOUR = timedelta(hours=1)


# --- paths of the life cycle ---------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    dispatch: timedelta
    sign: timedelta  # normal urgency; urgent tickets sign in a tenth of it
    reply_share: float  # of the handling days, in calendar time (7/5 per working day)


PACES = (
    Pace(timedelta(seconds=45), timedelta(minutes=8), 0.3),
    Pace(timedelta(seconds=60), timedelta(minutes=20), 0.6),
    Pace(timedelta(seconds=80), timedelta(minutes=45), 0.9),  # yellow before the reply
    Pace(timedelta(seconds=100), timedelta(minutes=70), 1.4),  # signs late, replies overdue
    Pace(timedelta(seconds=150), timedelta(minutes=30), 6.0),  # stuck: red for weeks
)
PACE_WEIGHTS = (30, 35, 22, 9, 4)
PATHS = {  # dispatched paths, by share
    "handled": 70, "no_revisit": 8, "extension": 6, "returned": 4, "redo": 4,
    "sent_back": 4, "parked": 0.5,
}
Step = tuple[timedelta, str, Callable[[datetime], lc.Action]]  # delay, who, action at a time


def _const(action: lc.Action) -> Callable[[datetime], lc.Action]:
    return lambda _at: action


def path_steps(
    path: str, pace: Pace, *, handling_days: int, assists: int, urgent: bool
) -> list[Step]:
    """The steps after creation; delays never depend on deadlines, so they move with a ticket."""
    day, op = timedelta(days=1), "op"
    if path == "answer_now":
        return [(pace.dispatch * 4, op, _const(lc.AnswerNow(answer="已按知识库答复来电人"))),
                (day * 7, op, _const(lc.Archive()))]
    if path == "transfer":
        return [(pace.dispatch / 2, op, _const(lc.EmergencyTransfer(lc.EmergencyLine.POLICE)))]
    units = ASSISTS[:assists]
    work = day * 7 / 5 * handling_days * pace.reply_share
    sign = pace.sign / 10 if urgent else pace.sign
    first = FIRST if path == "returned" else MAIN
    steps: list[Step] = [(pace.dispatch, op, _const(lc.Dispatch(first, units)))]
    if path == "returned":
        steps += [(sign, FIRST, _const(lc.Sign(FIRST))),
                  (timedelta(minutes=40), FIRST, _const(lc.Return(FIRST, "不属于本单位职责"))),
                  (_HOUR, op, _const(lc.ReviewReturn(redispatch_to=MAIN, reason="改派主责单位")))]
    steps += [(sign, MAIN, _const(lc.Sign(MAIN)))]
    steps += [(timedelta(minutes=5), u, _const(lc.Sign(u))) for u in units]
    steps += [(timedelta(minutes=10), MAIN, _const(lc.StartHandling(MAIN)))]
    if path == "parked":
        steps += [(day * 2, op, lambda at: lc.Park(at + day * 60, "历史遗留问题，需统筹解决")),
                  (day * 60, op, _const(lc.Resume()))]
    if path == "extension":
        steps += [(day * 0.4 * handling_days, MAIN,
                   _const(lc.RequestExtension(MAIN, 3, "需协调多个部门"))),
                  (_HOUR * 2, op, _const(lc.DecideExtension(True, "同意延期")))]
        work = day * 3
    steps += _replies(units, work)
    if path == "sent_back":
        steps += [(_HOUR * 3, op, _const(lc.Review(False, "答复内容不完整，请补充"))),
                  (day, MAIN, _const(lc.Reply(MAIN, "已补充办理情况")))]
    steps += [(_HOUR * 4, op, _const(lc.Review(True)))]
    if path == "no_revisit":
        return [*steps, (_HOUR, op, _const(lc.Close("来电人表示无需回访"))),
                (day * 9, op, _const(lc.Archive()))]
    steps += _revisit(lc.Satisfaction.UNSATISFIED if path == "redo" else lc.Satisfaction.SATISFIED)
    if path == "redo":
        steps += [(work, MAIN, _const(lc.Reply(MAIN, "已重新办理")))]
        steps += [(_HOUR * 4, op, _const(lc.Review(True)))]
        steps += _revisit(lc.Satisfaction.BASICALLY_SATISFIED)
    return [*steps, (day * 8, op, _const(lc.Archive()))]


def _replies(units: tuple[str, ...], work: timedelta) -> list[Step]:
    steps: list[Step] = [(work * 0.8 if i == 0 else _HOUR, u, _const(lc.Reply(u, "已配合处理")))
                         for i, u in enumerate(units)]
    return [*steps, (work * 0.2 if units else work, MAIN, _const(lc.Reply(MAIN, "已办理完毕")))]


def _revisit(result: lc.Satisfaction) -> list[Step]:
    return [(_HOUR, "op", _const(lc.StartRevisit())),
            (timedelta(hours=20), "op", _const(lc.Revisit(result)))]


@dataclass(frozen=True)
class Walk:
    """The machine's walk of a path from ``created``: each step's time and transition."""

    initial: lc.TicketState
    times: list[datetime]
    steps: list[tuple[str, lc.Transition]]  # (who, transition)


def walk(key: TemplateKey, created: datetime) -> Walk:
    initial = lc.new_ticket(NUMBER, request_type=key.mtype, accepted_at=created,
                            urgency=key.urgency, difficult=key.difficult,
                            limits=DEFAULT_RULES.limits)
    days = DEFAULT_RULES.limits.handling_days_for(key.mtype, difficult=key.difficult)
    state, at, times, steps = initial, created, [], []
    for delay, who, make in path_steps(key.path, PACES[key.pace], handling_days=days,
                                       assists=key.assists, urgent=key.urgency is Urgency.URGENT):
        at += delay
        step = apply(state, make(at), now=at, actor=who, calendar=DEFAULT_RULES.calendar,
                     limits=DEFAULT_RULES.limits)
        state = step.new_state
        times.append(at)
        steps.append((who, step))
    return Walk(initial, times, steps)


# --- templates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateKey:
    path: str
    pace: int
    mtype: RequestType
    urgency: Urgency
    difficult: bool
    assists: int
    weekday: int


# name, who, at (a time's index), reason, before, after, payload (a format string)
EventRow = tuple[str, str, int, str, str | None, str, str]


@dataclass
class Template:
    """A ticket with ``cut`` steps taken, its times as ``bases`` (+ the shift where ``moves``)."""

    bases: list[datetime]
    moves: list[bool]
    state: str  # the encoded state as a format string: ``state.format(times, names)``
    status: str
    main: str | None
    clocks: bool  # open with a running clock: lights are computed per ticket
    handling_deadline: int | None
    parked_until: int | None
    events: list[EventRow]
    assignments: list[tuple[str, str, str, int, int, int | None]]
    facts: list[FactTemplate]  # the oversight facts (``seed_facts``)


class _Times:
    """The times of walks from the probes (start of the hour, half past, end), position by
    position: each kept once, as moving with the ticket's shift or as fixed."""

    def __init__(self, probes: tuple[timedelta, ...]) -> None:
        self.probes = probes
        self.bases: list[datetime] = []
        self.moves: list[bool] = []
        self.index: dict[tuple[datetime, bool], int] = {}

    def add(self, values: list[datetime]) -> int:
        offsets = {v - p for v, p in zip(values, self.probes, strict=True)}
        if len(offsets) == 1:
            moves = True
        elif len(set(values)) == 1:
            moves = False
        else:
            raise _NotMovable
        key = (values[0], moves)
        if key not in self.index:
            self.index[key] = len(self.bases)
            self.bases.append(values[0])
            self.moves.append(moves)
        return self.index[key]

    def maybe(self, values: list[datetime | None]) -> int | None:
        if values[0] is None:
            return None
        return self.add([v for v in values if v is not None])

    def text(self, docs: list[Any]) -> str:
        """The JSON of ``docs`` (one per walk) as a format string of ``(times, names)``:
        ``{0[3]}`` for the time at index 3, ``"{1[M]}"`` for a name (the draft unquoted)."""
        texts = [json.dumps(doc, ensure_ascii=False) for doc in docs]
        if len({_TIME.sub("", text) for text in texts}) != 1:
            raise _NotMovable
        found = [[datetime.fromisoformat(t) for t in _TIME.findall(text)] for text in texts]
        parts, end, times = [], 0, iter(range(len(found[0])))
        for match in _SLOT.finditer(texts[0]):
            parts.append(texts[0][end:match.start()].replace("{", "{{").replace("}", "}}"))
            end = match.end()
            if match[1] == "D":
                parts.append("{1[D]}")
            elif match[1] is not None:
                parts.append('"{1[' + match[1] + ']}"')
            else:
                i = next(times)
                parts.append(f"{{0[{self.add([f[i] for f in found])}]}}")
        parts.append(texts[0][end:].replace("{", "{{").replace("}", "}}"))
        return "".join(parts)


_NotMovable = NotMovable  # a time of the walk does not move with the ticket within the hour


def build_template(walks: list[Walk], cut: int, probes: tuple[timedelta, ...]) -> Template:
    times = _Times(probes)
    states = [w.initial if cut == 0 else w.steps[cut - 1][1].new_state for w in walks]
    state = states[0]
    created = times.add([w.initial.created_at for w in walks])
    creation = times.text([{"at": w.initial.created_at.isoformat(),
                            "initial": encode_state(w.initial), "draft": DRAFT} for w in walks])
    events: list[EventRow] = [
        ("create", "op", created, "", None, str(walks[0].initial.status), creation)
    ]
    for k in range(cut):
        who, step = walks[0].steps[k]
        event = step.event
        payload: list[dict[str, Any]] = [
            {"at": w.times[k].isoformat(), "action": encode_action(w.steps[k][1].event.action)}
            for w in walks
        ]
        if isinstance(event.action, lc.Dispatch):
            for doc in payload:
                doc["suggested"] = {"main": MAIN, "assist": list(event.action.assist_units)}
        events.append((event.name, who, times.add([w.times[k] for w in walks]), event.reason,
                       str(event.before), str(event.after), times.text(payload)))
    latest = {a.unit: i for i, a in enumerate(state.assignments)}
    assignments = []
    for unit, i in latest.items():
        a = [s.assignments[i] for s in states]
        assignments.append((unit, str(a[0].role), str(a[0].status),
                            times.add([x.dispatched_at for x in a]),
                            times.add([x.sign_by for x in a]),
                            times.maybe([x.signed_at for x in a])))
    main = state.main_assignment()
    facts = template_facts(walks, cut, times.add)
    return Template(
        bases=times.bases, moves=times.moves, state=times.text([encode_state(s) for s in states]),
        status=str(state.status), main=main.unit if main else None,
        clocks=bool(state.running_clocks()),
        handling_deadline=times.maybe([s.handling_deadline for s in states]),
        parked_until=times.maybe([s.parked_until for s in states]),
        events=events, assignments=assignments, facts=facts,
    )


@dataclass(frozen=True)
class Bucket:
    """Creation times ``start`` to ``start + span`` of a weekday that share templates."""

    start: timedelta
    span: timedelta

    @property
    def probes(self) -> tuple[timedelta, ...]:
        end = self.span - timedelta(microseconds=1)
        return timedelta(0), end / 2, end


# Most of the day first (a dispatch a few minutes before midnight would change its date), then
# the hour for a path whose later steps change their date within the day.
_DAY = Bucket(timedelta(0), timedelta(hours=23, minutes=55))


class Templates:
    """Walks and templates by key, built on first use and shared by the tickets created in
    the same bucket of the same weekday; a ticket whose times do not move within any bucket is
    walked for itself (``exact`` counts them)."""

    def __init__(self, reference: datetime) -> None:
        calendar = DEFAULT_RULES.calendar
        if calendar.holidays or calendar.makeup_workdays:
            raise ValueError("templates move tickets by whole weeks: only a calendar without "
                             "holidays repeats weekly")
        self.monday = datetime.combine(reference.date() - timedelta(days=reference.weekday()),
                                       time(0), tzinfo=CST)
        self.walks: dict[tuple[TemplateKey, Bucket], list[Walk]] = {}
        self.templates: dict[tuple[TemplateKey, Bucket, int], Template | None] = {}
        self.exact = 0

    def offsets(self, key: TemplateKey) -> list[timedelta]:
        """When each step is taken, after the creation (the same from any creation time)."""
        first = self._walks(key, _DAY)[0]
        return [t - first.initial.created_at for t in first.times]

    def for_ticket(
        self, key: TemplateKey, created: datetime, cut: int
    ) -> tuple[Template, list[datetime]]:
        """The template of ``key`` with ``cut`` steps taken, and its times for ``created``."""
        midnight = datetime.combine(created.date(), time(0), tzinfo=created.tzinfo)
        weeks = timedelta(days=7 * ((midnight - self.monday).days // 7))
        hour = timedelta(hours=created.hour)
        for bucket in (_DAY, Bucket(hour, timedelta(hours=1))):
            within = created - midnight - bucket.start
            if not timedelta(0) <= within < bucket.span:
                continue
            template = self._template(key, bucket, cut)
            if template is not None:
                return template, [b + weeks + within if m else b + weeks
                                  for b, m in zip(template.bases, template.moves, strict=True)]
        self.exact += 1
        return build_template([walk(key, created)], cut, (timedelta(0),)), []

    def _template(self, key: TemplateKey, bucket: Bucket, cut: int) -> Template | None:
        if (key, bucket, cut) not in self.templates:
            try:
                template = build_template(self._walks(key, bucket), cut, bucket.probes)
            except _NotMovable:
                template = None
            self.templates[(key, bucket, cut)] = template
        return self.templates[(key, bucket, cut)]

    def _walks(self, key: TemplateKey, bucket: Bucket) -> list[Walk]:
        if (key, bucket) not in self.walks:
            origin = self.monday + timedelta(days=key.weekday) + bucket.start
            self.walks[(key, bucket)] = [walk(key, origin + probe) for probe in bucket.probes]
        return self.walks[(key, bucket)]


# --- what tickets say: places, matters, callers --------------------------------------------

ROADS = (
    "人民路 解放路 建设路 中山路 文化路 和平路 胜利路 新华路 长江路 黄河路 健康路 光明路 "
    "幸福路 团结路 友谊路 青年路 迎宾大道 滨河路 东环路 西环路 南环路 北环路 工业路 学府路 "
    "商业街 体育路 公园路 车站路 园林路 兴业路 金融街 创业大道 世纪大道 府前街 钟楼街 鼓楼街 "
    "沿江路 环城路 梨园路 桃园路 杏林路 槐树街 纺织路 机场路 矿区路 电厂路 化工路 科技路 "
    "教育路 医院路 银河路 星光路 朝阳路 振兴路 育才路 民主路 永安街 太平街 北大街 南大街"
).split()
ESTATES = (
    "锦绣花园 阳光小区 幸福家园 翠苑小区 金色家园 和谐嘉园 世纪花城 凤凰城 书香门第 碧水湾 "
    "紫荆花园 东方名苑 御景华庭 康乐小区 职工家属院 棉纺厂家属院 铁路小区 教师公寓 丽景苑 "
    "山水华府 明珠花园 富康小区 安居苑 绿洲花园 水岸名都 文苑小区 盛世华庭 春晓小区 怡景园 "
    "祥和苑 银座公寓 馨园小区 龙湖小区 锦江苑 桂花园 农贸市场 老街 夜市 建材市场 汽车站"
).split()
PHRASES = {  # the common matters in a caller's words; the others use the list's keywords
    "路灯损坏": "路灯不亮 路灯坏了好几天 一排路灯晚上不亮 路灯忽明忽暗",
    "占道经营": "流动摊贩占道经营 门口摆摊堵路 商户出店经营 早市占用人行道",
    "社会生活噪音扰民": "噪音扰民 广场舞声音太大 烧烤店夜间噪音 高音喇叭扰民",
    "井盖缺失破损": "井盖缺失 井盖破损松动",
    "垃圾清运": "垃圾没人清运 垃圾桶满了溢出 垃圾堆积发臭",
    "违章建筑": "楼顶私搭乱建 一楼住户违建 违章加盖",
    "市政道路破损": "路面塌陷 人行道地砖破损 道路坑洼不平",
    "园林绿化养护": "行道树枯死 树枝遮挡窗户 绿化带无人修剪",
    "城市排水疏通": "下水道堵塞 雨后路面积水 污水外溢",
    "物业服务纠纷": "物业不作为 物业乱收费 物业服务差 物业不让进",
    "住宅电梯故障": "电梯故障 电梯经常停运 电梯困人",
    "停水": "停水 突然停水没有通知 连续停水两天",
    "停电": "停电 频繁停电 小区停电",
    "拖欠工资": "欠薪 工地拖欠工资 公司拖欠工资 拖欠农民工工资",
    "消费维权": "商家拒绝退款 预付卡消费纠纷 买到假货 健身房关门不退费",
    "食品安全": "饭店卫生差 买到过期食品",
    "燃气泄漏": "闻到燃气味 燃气管道漏气",
    "装修扰民": "装修噪音扰民 周末装修扰民",
    "邻里纠纷": "楼上邻居漏水 邻居占用楼道",
    "交通信号与秩序": "红绿灯故障 路口车辆乱停",
    "公交运营服务": "公交车不按时发车 公交司机态度差",
    "出租车网约车": "出租车拒载 网约车乱收费",
    "大气污染": "工厂排放黑烟 焚烧垃圾冒烟",
    "水污染": "河道污水排放 河水发黑发臭",
    "建筑工地施工": "工地夜间施工 工地扬尘严重",
    "社会保险": "社保怎么缴纳 养老保险转移 社保卡丢了补办",
    "医保报销": "医保报销比例 异地就医报销",
    "户籍证件办理": "身份证补办 户口迁移怎么办理",
    "入学招生": "小学入学划片 入学需要什么材料",
    "政务服务办事": "办事大厅几点下班 营业执照年报",
    "犬只管理": "小区遛狗不拴绳 流浪狗伤人",
    "通信网络": "手机信号差 宽带经常断网",
}
WEIGHTS = {  # matters callers raise most; 1 for the rest
    "社会生活噪音扰民": 8, "物业服务纠纷": 8, "消费维权": 6, "路灯损坏": 5, "占道经营": 5,
    "垃圾清运": 4, "停水": 4, "拖欠工资": 4, "停电": 3, "住宅电梯故障": 3, "装修扰民": 3,
    "邻里纠纷": 3, "市政道路破损": 3, "城市排水疏通": 3, "交通信号与秩序": 3, "建筑工地施工": 3,
}
CONSULTED = {  # what 咨询 is mostly about
    "社会保险": 8, "政务服务办事": 6, "医保报销": 5, "户籍证件办理": 5, "医保缴费": 4,
    "入学招生": 4, "不动产登记": 3, "营业执照办理": 3, "就业创业": 3, "出入境与车驾管": 3,
    "个人所得税": 2, "婚姻登记与殡葬": 2, "养老服务与高龄补贴": 2, "低保救助": 2,
}
SEASONS = {  # matter → (months, factor)
    "停水": ((6, 7, 8), 2.5), "停电": ((6, 7, 8), 2.5), "拖欠工资": ((12, 1), 3.0),
    "入学招生": ((6, 7, 8), 4.0), "城市排水疏通": ((7, 8), 3.0),
    "建筑工地施工": ((4, 5, 6, 7, 8, 9, 10), 1.5),
    "社会生活噪音扰民": ((6, 7, 8), 1.8), "水质问题": ((7, 8), 2.0),  # windows open, heat
    "燃气供应与收费": ((11, 12, 1, 2), 2.5),  # heating by gas in winter
}
DETAILS = (
    "已经持续一周了 晚上十点以后还是这样 老人孩子出行不便 多次打电话没人管 存在安全隐患 "
    "影响正常休息 下雨天更严重 周边居民意见很大 之前反映过没有解决 每天早上都这样 "
    "已经三天了 给生活带来很大困扰 小区业主都很着急 孩子上学必经之路 夜里经常被吵醒 "
    "找过社区没有结果 物业说不归他们管 附近还有一所小学 天黑以后看不清路 气味很难闻 "
    "车辆通行困难 楼里住着很多老人 已经拍了照片 去年也出现过 周末特别严重 "
    "有人差点摔倒 影响店铺经营 家里有病人需要休息 打了几次电话都占线 附近居民联名反映"
).split()
RARE = (
    "无人机低空盘旋 马蜂窝 流浪猫聚集 共享单车堆放 电动车飞线充电 直播带货扰民 "
    "鸽子扰民 化粪池冒顶 古树被砍 窨井冒烟 宠物医院夜间吠叫 野猪下山 萤火虫放生 "
    "光污染射灯 冷却塔噪声 防空警报测试 红火蚁 蛇出没 风筝挂电线 冰雹砸坏车辆"
).split()
ASKS = (
    "希望尽快处理 请相关部门核实 要求给个说法 希望派人查看 请尽快答复 希望彻底解决 "
    "请帮忙协调 希望加强管理 请依法处理 希望有人来看看"
).split()
SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 "
    "邓 曹 彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 "
    "汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 欧阳 司马 诸葛"
).split()
TITLES = ("先生", "女士", "阿姨", "师傅")
TYPE_SHARES = {
    TicketType.CONSULTATION: 35, TicketType.HELP: 25, TicketType.COMPLAINT: 25,
    TicketType.REPORT: 5, TicketType.SUGGESTION: 5, TicketType.PRAISE: 2, TicketType.OTHER: 3,
}
CHANNELS = {"phone": 80, "web": 10, "api": 5, "platform": 5}
WEEKDAY = (1.15, 1.1, 1.05, 1.0, 1.0, 0.6, 0.55)
MONTH = (1.1, 0.8, 1.0, 1.0, 1.0, 1.1, 1.25, 1.25, 1.0, 0.9, 1.05, 1.1)
HOURS: tuple[float, ...] = (0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.5, 4, 7, 8, 7, 4, 5, 7, 7.5,
                            7, 5, 3, 2.5, 2.5, 2, 1.2, 0.6)


@dataclass(frozen=True)
class Catalog:
    """The responsibility list as the seeder uses it: unit ids, matters, towns, suggestions."""

    unit_ids: dict[str, int]
    matters: list[Matter]
    towns: dict[str, list[str]]  # town or street → its communities
    departments: list[str]
    suggested: dict[tuple[int, str], tuple[str, tuple[str, ...]]]  # (matter, town) → units


def load_catalog(*, session: Session) -> Catalog:
    """Read the loaded list; the units of each (matter, town) come from the real suggestion."""
    units = list(session.exec(select(Unit)).all())
    by_id = {u.id: u for u in units}
    towns: dict[str, list[str]] = {}
    for unit in units:
        parent = by_id.get(unit.parent_id)
        if unit.kind == UnitKind.COMMUNITY and parent is not None:
            towns.setdefault(parent.name, []).append(unit.name)
    matters = list(session.exec(select(Matter).order_by(Matter.id)).all())  # type: ignore[arg-type]
    suggested = {}
    for matter in matters:
        assert matter.id is not None
        for town in towns:
            s = dispatch_suggestion(session=session, matter_id=matter.id, location=town)
            assert s.main_unit is not None
            suggested[(matter.id, town)] = (s.main_unit, s.assist_units)
    return Catalog(
        unit_ids={u.name: u.id for u in units if u.id is not None}, matters=matters,
        towns=towns, departments=[u.name for u in units if u.kind == UnitKind.DEPARTMENT],
        suggested=suggested,
    )


@cache
def _words(fragment: str) -> tuple[str, ...]:
    """The search words of one fragment, cut by jieba once (``search_terms_for``)."""
    return tuple(w for w in search_terms_for(fragment).split(" ") if w)


def _phrases(matter: Matter, *, consult: bool) -> list[str]:
    if matter.name in PHRASES and not consult:
        return PHRASES[matter.name].split()
    words = [k for k in matter.keywords if len(k) >= 2][:4] or [matter.name]
    if consult:
        return [f"咨询{w}相关政策" for w in words] + [f"{w}怎么办理" for w in words[:2]]
    return [f"{w}问题" for w in words] + [f"反映{w}的情况" for w in words[:2]]


def _phone(rng: random.Random) -> str:
    return rng.choice(("13", "15", "17", "18", "19")) + f"{rng.randrange(10**9):09d}"


# --- the spread over two years -------------------------------------------------------------


@dataclass
class Batch:
    tickets: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    assignments: list[tuple[Any, ...]] = field(default_factory=list)
    counters: list[tuple[str, int]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class SeedPlan:
    n: int
    now: datetime = DEFAULT_NOW
    seed: int = 1
    days: int = 730
    # The light scheduler last ran this long before now; None: it never ran on these tickets,
    # so its first pass finds every yellow and red one.
    outage: timedelta | None = None
    batch: int = 5_000


def day_counts(plan: SeedPlan, rng: random.Random) -> list[tuple[date, int]]:
    """Tickets per day: weekdays, months, a slow growth and some noise; ``n`` in all."""
    return spread(plan.n, now=plan.now, days=plan.days, hours=HOURS, weight=lambda i, d: (
        WEEKDAY[d.weekday()] * MONTH[d.month - 1] * (1 + 0.15 * i / plan.days)
        * rng.uniform(0.9, 1.1)))


def spread(n: int, *, now: datetime, days: int, hours: Sequence[float],
           weight: Callable[[int, date], float]) -> list[tuple[date, int]]:
    """``n`` over the ``days`` to ``now`` by ``weight(i, day)`` (called in day order), today
    only for its hours before ``now`` (by the day's profile ``hours``)."""
    today = now.date()
    dates = [today - timedelta(days=days - 1 - i) for i in range(days)]
    done_today = sum(hours[: now.hour]) / sum(hours)
    weights = [weight(i, d) * (done_today if d == today else 1.0) for i, d in enumerate(dates)]
    return list(zip(dates, apportion(n, weights), strict=True))


def apportion(n: int, weights: list[float]) -> list[int]:
    """``n`` split in proportion to ``weights`` (largest remainders get the rest)."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


def ticket_times(plan: SeedPlan, day: date, count: int, rng: random.Random) -> list[datetime]:
    """Creation times of one day's tickets in order: busy mornings and afternoons, quiet nights."""
    hours = HOURS
    if day == plan.now.date():
        hours = HOURS[: plan.now.hour] + (0,) * (24 - plan.now.hour)
    start = datetime.combine(day, time(0), tzinfo=CST)
    return sorted(start + timedelta(hours=h, seconds=rng.random() * 3600)
                  for h in rng.choices(range(24), weights=hours, k=count))


@dataclass
class SeedReport:
    tickets: int = 0
    events: int = 0
    assignments: int = 0
    facts: int = 0
    due: int = 0  # next_light_at at or before now: the scan publishes these
    statuses: dict[str, int] = field(default_factory=dict)
    templates: int = 0
    exact: int = 0  # tickets walked for themselves
    seconds: float = 0.0


class Seeder:
    """Yields batches of rows, day by day, in creation order (ids as the database would)."""

    def __init__(self, plan: SeedPlan, catalog: Catalog,
                 column_time: Callable[[datetime], Any]) -> None:
        self.plan, self.catalog, self.column_time = plan, catalog, column_time
        self.rng = random.Random(plan.seed)
        self.templates = Templates(plan.now)
        self.published_at = None if plan.outage is None else plan.now - plan.outage
        self.report = SeedReport()
        self.ids = {"ticket": 0, "event": 0, "assignment": 0, "fact": 0}
        self.types, self.type_weights = list(TYPE_SHARES), list(TYPE_SHARES.values())
        self.paths, self.path_weights = list(PATHS), list(PATHS.values())
        self.towns = sorted(catalog.towns)
        self.repeat_callers = [_phone(self.rng) for _ in range(max(plan.n // 40, 10))]
        self.caller_cum = list(accumulate(1 / (i + 1) ** 0.8
                                          for i in range(len(self.repeat_callers))))
        self.matter_weights = {
            (month, consult): [self._weight(m, month, consult) for m in catalog.matters]
            for month in range(1, 13) for consult in (False, True)
        }

    @staticmethod
    def _weight(matter: Matter, month: int, consult: bool) -> float:
        weight = float(WEIGHTS.get(matter.name, 1))
        if consult:
            weight = 10.0 * CONSULTED.get(matter.name, 0) or 0.5
        months, factor = SEASONS.get(matter.name, ((), 1.0))
        return weight * (factor if month in months else 1.0)

    def batches(self) -> Iterator[Batch]:
        batch = Batch()
        for day, count in day_counts(self.plan, self.rng):
            day_number = day.strftime("%Y%m%d")
            for seq, created in enumerate(ticket_times(self.plan, day, count, self.rng), 1):
                self.add_ticket(batch, f"{day_number}-{seq:05d}", created)
            if count:
                batch.counters.append((day_number, count))
            if len(batch.tickets) >= self.plan.batch:
                yield batch
                batch = Batch()
        if batch.tickets or batch.counters:
            yield batch
        self.report.templates = sum(t is not None for t in self.templates.templates.values())
        self.report.exact = self.templates.exact
        self.report.events, self.report.assignments = self.ids["event"], self.ids["assignment"]
        self.report.facts = self.ids["fact"]

    def _key(self, ttype: TicketType, assists: int, created: datetime) -> TemplateKey:
        rng = self.rng
        path = rng.choices(self.paths, self.path_weights)[0]
        if ttype is TicketType.CONSULTATION and rng.random() < 0.6:
            path = "answer_now"
        elif ttype is TicketType.PRAISE and rng.random() < 0.3:
            path = "answer_now"
        elif ttype in (TicketType.HELP, TicketType.REPORT) and rng.random() < 0.005:
            path = "transfer"
        serious = ttype in (TicketType.HELP, TicketType.COMPLAINT, TicketType.REPORT)
        return TemplateKey(
            path=path, pace=rng.choices(range(len(PACES)), PACE_WEIGHTS)[0],
            mtype=ttype.for_machine(),
            urgency=Urgency.URGENT if serious and rng.random() < 0.03 else Urgency.NORMAL,
            difficult=ttype in (TicketType.COMPLAINT, TicketType.REPORT) and rng.random() < 0.03,
            assists=0 if path in ("answer_now", "transfer") else min(assists, 2),
            weekday=created.weekday(),
        )

    def add_ticket(self, batch: Batch, number: str, created: datetime) -> None:
        rng, catalog = self.rng, self.catalog
        ttype = rng.choices(self.types, self.type_weights)[0]
        consult = ttype is TicketType.CONSULTATION
        matter = rng.choices(catalog.matters, self.matter_weights[(created.month, consult)])[0]
        town = rng.choice(self.towns)
        assert matter.id is not None
        main, assists = catalog.suggested[(matter.id, town)]
        key = self._key(ttype, len(assists), created)
        template, times = self._template(key, created)
        first = rng.choice([d for d in catalog.departments if d != main and d not in assists])
        units = {MAIN: main, FIRST: first, **dict(zip(ASSISTS, assists, strict=False))}
        draft, words = self._draft(ttype, matter, town, created, key)
        self.ids["ticket"] += 1
        ticket_id = self.ids["ticket"]
        iso = [t.isoformat() for t in times]
        cols = [self.column_time(t) for t in times]
        names = {"N": number, "D": json.dumps(draft, ensure_ascii=False),
                 **{who.strip("@"): name for who, name in units.items()}}
        state = template.state.format(iso, names)
        self._events(batch, template, ticket_id, units, iso, cols, names)
        for who, role, status, dispatched, sign_by, signed in template.assignments:
            self.ids["assignment"] += 1
            batch.assignments.append((
                self.ids["assignment"], ticket_id, catalog.unit_ids[units[who]], role, status,
                cols[dispatched], cols[sign_by], None if signed is None else cols[signed],
            ))
        for fact in template.facts:
            self.ids["fact"] += 1
            batch.facts.append(fact.row(fact_id=self.ids["fact"], ticket_id=ticket_id,
                                        unit_id=catalog.unit_ids[units[fact.who]],
                                        matter_id=matter.id, cols=cols))
        last = template.events[-1][2]
        deadline, yellow_at, light, next_light_at = self._lights(template, state, times[last])
        batch.tickets.append((
            ticket_id, number, None, cols[0], cols[last], len(template.events) - 1,
            template.status, catalog.unit_ids[units[template.main]] if template.main else None,
            deadline, _at(cols, template.handling_deadline), yellow_at, light, next_light_at,
            _at(cols, template.parked_until), state, " ".join(dict.fromkeys(words)),
            *(draft[name] for name in TICKET_COLUMNS[16:]),
        ))
        self.report.tickets += 1
        self.report.statuses[template.status] = self.report.statuses.get(template.status, 0) + 1

    def _template(self, key: TemplateKey, created: datetime) -> tuple[Template, list[datetime]]:
        """The template of ``key`` with the steps taken by now, and its times for ``created``."""
        cut = sum(created + offset <= self.plan.now for offset in self.templates.offsets(key))
        template, times = self.templates.for_ticket(key, created, cut)
        return template, times or list(template.bases)

    def _events(self, batch: Batch, template: Template, ticket_id: int, units: dict[str, str],
                iso: list[str], cols: list[Any], names: dict[str, str]) -> None:
        operator = f"op-{self.rng.randrange(1, 41):02d}"
        for seq, (name, who, at, reason, before, after, payload) in enumerate(template.events):
            self.ids["event"] += 1
            actor = operator if who == "op" else f"handler-{self.catalog.unit_ids[units[who]]}"
            batch.events.append((self.ids["event"], ticket_id, seq, name, actor, cols[at],
                                 reason, before, after, payload.format(iso, names)))

    def _lights(self, template: Template, state_text: str, last: datetime) -> tuple[Any, ...]:
        """(deadline, yellow_at, light, next_light_at) as last published before ``now``."""
        if not template.clocks:
            return None, None, "none", None
        state = decode_state(json.loads(state_text))
        rules = DEFAULT_RULES
        if self.published_at is not None and last <= self.published_at:  # it published then
            current = marks(state, now=self.published_at, published=None,
                            yellow_share=rules.limits.yellow_share,
                            calendar=rules.calendar).current
            columns = light_columns(state, now=self.published_at, rules=rules,
                                    published=current.value if current else None)
        else:  # changed while the scheduler was down: green as the transition left it
            columns = light_columns(state, now=last, rules=rules, published="green")
        due = columns["next_light_at"]
        self.report.due += due is not None and due <= self.plan.now
        return (*(None if columns[name] is None else self.column_time(columns[name])
                  for name in ("deadline", "yellow_at")),
                columns["light"].value, None if due is None else self.column_time(due))

    def _draft(self, ttype: TicketType, matter: Matter, town: str, created: datetime,
               key: TemplateKey) -> tuple[dict[str, Any], list[str]]:
        """What the caller said (``TicketCreate`` as JSON) and its search words."""
        rng = self.rng
        road, estate, ask = rng.choice(ROADS), rng.choice(ESTATES), rng.choice(ASKS)
        phrase = rng.choice(_phrases(matter, consult=ttype is TicketType.CONSULTATION))
        detail = rng.choice(RARE) if rng.random() < 0.004 else rng.choice(DETAILS)
        if rng.random() < 0.5:
            place = [town, road, f"{rng.randrange(1, 300)}号"]
        else:
            place = [town, rng.choice(self.catalog.towns[town]), estate,
                     f"{rng.randrange(1, 31)}号楼"]
        name = "" if rng.random() < 0.15 else rng.choice(SURNAMES) + rng.choice(TITLES)
        if rng.random() < 0.25:
            phone = rng.choices(self.repeat_callers, cum_weights=self.caller_cum)[0]
        else:
            phone = _phone(rng)
        channel = rng.choices(list(CHANNELS), list(CHANNELS.values()))[0]
        draft = {
            "channel": channel, "caller_name": name, "caller_phone": phone,
            "request_type": ttype.value, "matter_id": matter.id, "urgency": key.urgency.value,
            "difficult": key.difficult, "location": "".join(place),
            "description": f"{road}{estate}{phrase}，{detail}，{ask}。",
            "call_uniqueid": (f"{int(created.timestamp())}.{self.ids['ticket'] % 10_000}"
                              if channel == "phone" else None),
            "transcript": None,
        }
        words = [w for part in (road, estate, phrase, detail, ask, *place, name)
                 for w in _words(part)]
        return draft, words


def _at(cols: list[Any], index: int | None) -> Any:
    return None if index is None else cols[index]


# --- writing -------------------------------------------------------------------------------

TABLES = (("ticket", TICKET_COLUMNS, "tickets"), ("ticketevent", EVENT_COLUMNS, "events"),
          ("assignment", ASSIGNMENT_COLUMNS, "assignments"),
          ("ticketcounter", COUNTER_COLUMNS, "counters"),
          ("oversight_fact", FACT_COLUMNS, "facts"))


def _sqlite_time(value: datetime) -> str:
    """As SQLModel's ``UTCDateTime`` stores it on SQLite: naive UTC with microseconds."""
    offset = value.utcoffset() or timedelta(0)
    return (value.replace(tzinfo=None) - offset).isoformat(" ", "microseconds")


def _postgres_time(value: datetime) -> datetime:
    return value  # psycopg sends it with its offset into ``timestamptz``


def seed_database(
    engine: Engine, plan: SeedPlan, *, progress: Callable[[SeedReport], None] | None = None
) -> SeedReport:
    """Write ``plan.n`` tickets into a migrated database whose responsibility list is loaded.

    SQLite: ``executemany`` per batch (the FTS triggers index the words as they go);
    PostgreSQL: ``COPY`` per batch, then the id sequences are moved past the rows and the
    tables analysed, as autovacuum would after such a load.
    """
    started = perf_counter()
    with Session(engine) as session:
        catalog = load_catalog(session=session)
    postgres = engine.dialect.name == "postgresql"
    seeder = Seeder(plan, catalog, _postgres_time if postgres else _sqlite_time)
    raw = engine.raw_connection()
    try:
        conn: Any = raw.driver_connection
        for batch in seeder.batches():
            for table, columns, rows in TABLES:
                _write(conn, table, columns, getattr(batch, rows), postgres=postgres)
            conn.commit()
            if progress is not None:
                progress(seeder.report)
        if postgres:
            _after_copy(conn)
    finally:
        raw.close()
    seeder.report.seconds = perf_counter() - started
    return seeder.report


def _write(conn: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], *,
           postgres: bool) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if not postgres:
        marks_ = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks_})", rows)
        return
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _after_copy(conn: Any, tables: tuple[str, ...] = ("ticket", "ticketevent", "assignment",
                                                     "oversight_fact")) -> None:
    """Move the id sequences of ``tables`` past the copied rows and analyse the database."""
    with conn.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT coalesce(max(id), 1) FROM {table}))")
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        conn.autocommit = False
