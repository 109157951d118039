"""Pure rules over the text of a request: emergency line, urgency, request type cues, a
location phrase and a callback number. No I/O, no model.

Emergency (转警/转119/转120/转122) is suggested only when life or safety is in danger NOW: a
danger word (fire, someone unconscious, a knife, a crash) with nothing that puts it in the past
("上次", "昨天"), makes it a habit ("每天", "经常"), a hazard ("隐患") or a question, praise or
suggestion about the service ("想问一下120…", "表扬…叫了救护车").

    >>> emergency_line("我家着火了厨房烧起来了快来人")
    ('119', 0.95)
    >>> emergency_line("去年小区着火的事到现在也没人处理")
    (None, 0.9)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- emergency ----------------------------------------------------------------------------

_FIRE = re.compile(
    r"着火|起火|失火|火灾(?!隐患)|烧起来|烧着了|火很大|火烧|冒烟|浓烟|冒黑烟|大火|火苗|爆炸"
)
_MEDICAL = re.compile(
    r"晕倒|昏倒|昏迷|叫不醒|没有?呼吸|没气了|不省人事|心脏病(?:犯|发)|抽搐|口吐白沫|"
    r"大出血|流了?很多血|血流不止|喘不上气|噎住|割腕|服毒|喝了?农药|吞了?安眠药|"
    r"溺水|掉(?:进|到)?(?:河|水)里|倒地|休克|中毒了|触电了?|从楼上(?:摔|掉)|嘴唇发紫|"
    r"不动了|没反应了|没有?意识|昏过去|晕过去|呼吸困难|心脏骤停|快不行了|救人"
)
_CALL_AMBULANCE = re.compile(r"(?:叫|派|来).{0,2}救护车|打120|叫120")
_CRIME = re.compile(
    r"拿(?:着)?刀|持刀|砍人|杀人|捅人|捅了|拿枪|持枪|抢劫|抢包|抢钱|抢东西|绑架|劫持|"
    r"(?:正在|在)(?:打人|打架|偷|撬)|打人了|被打了|要打死|打起来了|撬门|撬锁|入室|"
    r"闯进|砸门|家暴|要杀|威胁要|跳楼|要自杀|小偷.{0,4}(?:正在|还在)|强奸|非礼|拐(?:走|卖)|"
    r"(?:有人|几个人|一群人|一帮人|好几个人).{0,12}(?:打人|砍|捅|抢|围殴|殴打)|"
    r"拿着?(?:刀|棍|棒|斧|枪|砖头|铁棍)|报警"
)
_CRASH = re.compile(
    r"车祸|撞车|撞在一起|撞上了|追尾|翻车|侧翻|撞人|被.{0,4}车撞|被.{0,4}撞(?:了|倒|飞)|"
    r"撞倒|轧(?:到|了)|碾(?:到|了)|交通事故|连环撞"
)
_NOW = re.compile(
    r"快|赶紧|赶快|马上|立刻|现在|正在|刚刚|刚才|突然|救命|来人|帮帮|怎么办|还在|"
    r"受伤|流血|出血|叫不醒|烧起来|着火了|起火了|冒烟|躺在地上|不动了|出不来"
)
_PAST = re.compile(
    r"上次|上回|那次|以前|之前|去年|前年|上个?月|上周|上星期|前几天|前段时间|昨天|前天|"
    r"当时|那时候|已经过去|后来|上半年|几年前|个月前|天前|年前"
)
_HABIT = re.compile(r"每天|天天|经常|老是|总是|常常|每次|每晚|一到晚上|好几次")
_NOT_EVENT = re.compile(
    r"隐患|安全隐患|演练|宣传|培训|知识|收费|费用|多少钱|怎么收|报销|电话是多少|号码是多少|"
    r"为什么|咨询|想问|请问|问一下|问问|表扬|感谢|谢谢|建议|投诉|举报|出警慢|来得太慢|"
    r"态度|不作为|没人管|没有人管|没人处理|没处理"
)

# Order matters: a crash with injured people goes to 122 (traffic police bring 120 along).
_LINES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("122", _CRASH),
    ("119", _FIRE),
    ("110", _CRIME),
    ("120", _MEDICAL),
)


def emergency_line(text: str) -> tuple[str | None, float]:
    """The emergency line to transfer to now, or ``None``, with a confidence."""
    found = [(line, p.search(text)) for line, p in _LINES]
    hits = [(line, m) for line, m in found if m is not None]
    ambulance = _CALL_AMBULANCE.search(text)
    if not hits and ambulance is None:
        return None, 0.97
    if _PAST.search(text) or _HABIT.search(text) or _NOT_EVENT.search(text):
        return None, 0.9
    if not _NOW.search(text) and ambulance is None:
        return None, 0.75
    if hits:
        return hits[0][0], 0.95 if len(hits) == 1 else 0.85
    return "120", 0.9


# --- urgency ------------------------------------------------------------------------------

_URGENT_NOW = re.compile(
    r"(?:煤气|燃气|天然气|液化气)的?(?:味|泄漏|漏)|漏气|"
    r"水管(?:爆|破|裂)|爆管|管道爆裂|水漫|淹了|被淹|进水了|"
    r"(?:电线|电缆|高压线).{0,8}(?:垂|掉|断|裸露|冒火|打火|漏电|落地|拖地)|漏电|触电|"
    r"电线杆.{0,4}(?:歪|倒|断)|(?:变压器|电箱|配电|电表|插座).{0,10}(?:冒烟|着火|爆|火花|打火)|"
    r"困在|困人|被困|关在(?:电梯)?里|卡在电梯|电梯.{0,8}(?:掉|坠|下滑|冲顶)|"
    r"坍塌|塌了|塌方|倒塌|要塌|快塌|塌陷|垮了|要倒|快倒|倒了.{0,6}(?:压|砸)|"
    r"砸(?:到|伤|中)|掉下来|坠落|滑坡|山体|泥石流|决堤|溃坝|漫堤|"
    r"咬伤|咬人|被咬|(?<!差点)(?<!差点儿)摔(?:了|伤|倒)|受伤|出不来|"
    r"走失|找不到孩子|孩子丢了|老人丢了|被锁在|反锁|"
    r"中毒|食物中毒|上吐下泻"
)
# A broken or missing thing that can hurt someone passing by, now.
_HAZARD_OBJECT = re.compile(
    r"井盖|窨井|护栏|栏杆|红绿灯|信号灯|电线|电线杆|高压线|路面|大坑|深坑|树|广告牌|招牌|"
    r"玻璃|外墙|墙皮|脚手架|塔吊|桥|堤|电梯"
)
_HAZARD_STATE = re.compile(
    r"没了|丢了|不见了|被偷|缺了|断了|坏了|倒了|歪了|松了|塌|裂|掉|悬着|晃|翘起"
)
_DANGER = re.compile(r"危险|出事|出人命|要命|吓人|摔|撞|掉进去|伤")
_URGENT_NOT = re.compile(r"隐患|堆满|堆放|杂物|充电|占用|占道|检查一下|排查")


def is_urgent(text: str) -> tuple[bool, float]:
    """Life, safety or property at risk now (the 30-minute on-site rule)."""
    if _URGENT_NOW.search(text) and not _PAST.search(text[:6]):
        return True, 0.85
    hazard = _HAZARD_OBJECT.search(text) and _HAZARD_STATE.search(text)
    if hazard and _DANGER.search(text) and not _URGENT_NOT.search(text):
        return True, 0.75
    return False, 0.8


# --- request type -------------------------------------------------------------------------

TYPE_LABELS = ("咨询", "求助", "投诉", "举报", "建议", "表扬")

# (pattern, weight) per type: spoken cues of each kind of request.
_TYPE_CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "表扬": (
        (r"表扬|感谢|谢谢|点赞|锦旗|好人好事|特别负责|非常负责|很负责|服务(?:很|特别|非常)好|"
         r"给.{0,6}点个赞|值得(?:学习|表扬)|热心|辛苦了", 3.0),
    ),
    "建议": (
        (r"建议|提个?(?:意见|建议)|我觉得(?:应该|可以|最好)|希望(?:能|可以|政府|相关|你们|把)|"
         r"能不能(?:多|增加|加|开|设|装|改|延长|调整)|最好(?:能|可以)|应该(?:多|增加|设|装|开)|"
         r"是不是可以|可不可以(?:多|增加|开)", 2.5),
        (r"增设|多装|多建|加装|开通一条|开一条|改造一下|延长|延后|提前", 1.0),
    ),
    "举报": (
        (r"举报|检举|揭发|实名反映", 3.5),
        (r"偷偷|偷排|私自|非法|违法|违规|无证|黑(?:作坊|诊所|车|心)|地沟油|假冒|造假|"
         r"聚众|赌博|吸毒|卖淫|传销|偷税|行贿|受贿|贪污|虚报|冒领|套取|"
         r"不要处方|没有(?:执业|资质|证)|盖房子|乱占|倾倒|私挖|盗采|捕捞|"
         r"有人在.{0,12}(?:排|倒|烧|挖|盖|卖|建)|逼着|强迫|"
         r"(?:有人|有个|有家|有一家|有一个).{0,16}(?:排|挖|赌|存放|生产|卖给|偷|私|让未成年)|"
         r"作坊|未成年人|赌钱|排污|往河里", 1.5),
    ),
    "咨询": (
        (r"咨询|想问|问一下|问问|请问|打听|了解一下|想知道|不知道(?:怎么|去哪|哪里|在哪)", 3.0),
        (r"怎么(?:申请|办|办理|缴费|交|弄|报名|查|补办|领)|如何|在哪(?:里|儿)?(?:办|申请|交)|"
         r"去哪(?:里|儿)?办|需要(?:什么|哪些|带)|要(?:带)?什么材料|什么时候(?:发|能|可以|开始)|"
         r"多久|多少钱|能不能(?:办|在|报|申请|享受|领)|可以(?:网上)?办吗|有没有(?:名单|政策|补贴)|"
         r"是什么(?:政策|标准)|标准是|条件|流程|手续|吗$|么$", 1.2),
    ),
    "求助": (
        (r"求助|求求|帮帮|帮忙|帮我|救命|快来|快来人|来人啊|麻烦你们|请你们|派人|"
         r"想请|希望.{0,6}(?:帮|协调|解决)|没办法(?:了)?|实在没|急死|怎么办啊?$|"
         r"实在困难|生活困难|申请点|给点|出不来|等着", 2.0),
        (r"修一下|来修|疏通|协调|解决一下|处理一下|停水|停电|没水|没电|困在|漏气|"
         r"很危险|太危险|危险|着火|晕倒|受伤|拖欠|不给钱|要不到|快过年|"
         r"坏了|堵了|断了|爆了|倒了|掉下来|漏水|淹了|救助", 0.8),
    ),
    "投诉": (
        (r"投诉|反映|不满|太差|很差|不耐烦|乱收|多收|不给(?:退|赔|办|修)|拖着|推诿|"
         r"不作为|没人管|不管|不处理|一直(?:没|不)|到现在(?:还|也)?(?:没|不)|老是|"
         r"天天|每天|吵得|扰民|不按时|不打表|态度|欺骗|坑人|骗|强制|不让", 1.2),
        (r"根本|好几个月|一个多月|几个月|睡不着|不认账|扣了|不听|说法|乱收|不标", 0.6),
    ),
}
_COMPILED_CUES = {
    label: tuple((re.compile(pattern), weight) for pattern, weight in cues)
    for label, cues in _TYPE_CUES.items()
}


def type_scores(text: str) -> dict[str, float]:
    """A score for each request type from the cue phrases found in ``text``."""
    scores = dict.fromkeys(TYPE_LABELS, 0.0)
    for label, cues in _COMPILED_CUES.items():
        for pattern, weight in cues:
            scores[label] += weight * min(len(pattern.findall(text)), 2)
    return scores


# --- location and callback number ----------------------------------------------------------

_PLACE_TAIL = (
    r"(?:路|街|大街|大道|巷|胡同|弄|小区|花园|家园|公寓|新村|社区|村|镇|乡|街道|广场|公园|"
    r"市场|菜市场|商场|超市|医院|学校|小学|中学|幼儿园|车站|火车站|高铁站|汽车站|码头|"
    r"工业园|开发区|景区|大厦|大楼|桥|河|高速|国道|省道|"
    r"交叉口|路口|十字路口|门口|附近|旁边|对面)"
)
_PLACE = re.compile(
    r"(?:[\u4e00-\u9fa5A-Za-z0-9]{1,8}?(?:路|街|大道)(?:和|与|跟)[\u4e00-\u9fa5]{1,6}?"
    r"(?:路|街|大道)(?:交叉口|路口|十字路口|口)?)"
    r"|(?:[\u4e00-\u9fa5A-Za-z0-9]{1,8}?(?:" + _PLACE_TAIL + ")+"
    + r"(?:[0-9一二三四五六七八九十零]+(?:号楼|号|栋|幢|单元|楼))*)"
)
_LEAD = re.compile(
    r"^(?:.*?(?:我们|我家|俺们|咱们|就在|住在|位于|地址是|地址在|在|到|去|那个|这个|那边的?|"
    r"这边的?|旁边的?|有个|有一个|说|的|了|把|从|举报|投诉|反映|建议|今年|上))+"
)
_BUS_ROUTE = re.compile(r"^[0-9一二三四五六七八九十百]+路$")
_VAGUE = re.compile(r"^(?:小区|村|路|街|门口|附近|旁边|对面|这|那|楼下|楼上|家门口|河)")


def find_location(text: str, places: list[str] | None = None) -> str | None:
    """A location phrase from the text: a known place name, else a road/estate/village phrase."""
    for name in places or ():
        if name in text:
            return name
    best: str | None = None
    for match in _PLACE.finditer(text):
        phrase = _LEAD.sub("", match.group())
        if len(phrase) < 2 or _VAGUE.match(phrase) and len(phrase) <= 4:
            continue
        if _BUS_ROUTE.match(phrase):
            continue
        if best is None or len(phrase) > len(best):
            best = phrase
    return best


_NUMERALS = {"幺": "1", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5",
             "六": "6", "七": "7", "八": "8", "九": "9", "零": "0", "〇": "0", "洞": "0"}
_DIGITS = "0-9０-９" + "".join(_NUMERALS)
_NUMBER_RUN = re.compile(rf"[{_DIGITS}](?:[{_DIGITS}]|[\s\-—,，、]){{5,24}}[{_DIGITS}]")
_NUMBER_CUE = re.compile(r"电话|手机|号码|联系|打给我|回电|回个电话|打我|联系方式|拨打|座机")
_NOT_CALLBACK = {"12345", "110", "119", "120", "122"}


@dataclass(frozen=True)
class SpokenNumber:
    digits: str
    confidence: float


def to_digits(spoken: str) -> str:
    """``幺三八 0000 一二三四`` → ``13800001234``: digits and spoken numerals, the rest dropped."""
    out = []
    for char in spoken:
        if char in _NUMERALS:
            out.append(_NUMERALS[char])
        elif char.isdigit():
            out.append(str(int(char)))
    return "".join(out)


def find_callback_number(text: str) -> SpokenNumber | None:
    """A phone number the caller spoke: a mobile number, or 7+ digits after a phone cue."""
    best: SpokenNumber | None = None
    for match in _NUMBER_RUN.finditer(text):
        digits = to_digits(match.group())
        if digits in _NOT_CALLBACK or len(digits) < 7 or len(digits) > 12:
            continue
        cue = _NUMBER_CUE.search(text[max(0, match.start() - 12) : match.start()])
        mobile = len(digits) == 11 and digits.startswith("1") and digits[1] in "3456789"
        if mobile:
            found = SpokenNumber(digits, 0.95 if cue else 0.85)
        elif cue and (len(digits) in (7, 8) or digits.startswith("0")):
            found = SpokenNumber(digits, 0.8)
        else:
            continue
        if best is None or found.confidence > best.confidence:
            best = found
    return best
