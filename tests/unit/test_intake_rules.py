"""Request understanding rules on our own sentences: emergency line, urgency, request type,
location and callback number, with the negatives that must stay quiet."""

from __future__ import annotations

import pytest

from hotline.intake import rules
from hotline.intake.understand import Understander
from hotline.tickets.models import TicketType


@pytest.fixture(scope="module")
def understander() -> Understander:
    return Understander.default()


@pytest.mark.parametrize(("text", "line"), [
    ("隔壁仓库起火了火很大烟都飘到我们楼里了快来救火", "119"),
    ("我们楼下的车库冒出好多浓烟好像着火了", "119"),
    ("我爸在家里突然倒地不起嘴唇发紫快来救人", "120"),
    ("我妈吃了饭突然昏迷了怎么叫都不醒", "120"),
    ("有几个人正在我店门口打人还拿着棍子快报警", "110"),
    ("有个男的拿着刀在小区里追人现在还在", "110"),
    ("路口一辆电动车被货车撞了人躺在地上不动", "122"),
    ("环城路上两辆车追尾了有人受伤流了很多血", "122"),
])
def test_given_danger_now_when_understood_then_emergency_line(understander, text, line):
    found = understander.understand(text)
    assert found.emergency.value == line
    assert found.urgent.value is True
    assert found.request_type.value is TicketType.HELP


@pytest.mark.parametrize("text", [
    "上个月我们楼下着火的事到现在物业也没给个说法",  # a past fire: a complaint
    "想问一下叫一次120救护车出车要收多少钱",  # a question about 120
    "表扬一下公交司机上次帮晕倒的老人叫了救护车",  # praise for a past rescue
    "我们楼道里堆满了纸箱火灾隐患很大希望物业清理",  # a hazard, nobody in danger now
    "去年在那个路口出过车祸建议装个红绿灯",  # a suggestion about a past crash
    "投诉派出所出警太慢了那天有人打架等了一个小时",  # a complaint about the police
    "小区门口天天有人打牌赌钱吵得很",  # a habit, no danger
    "我想咨询一下家里灭火器过期了去哪里换",  # fire word, a question
])
def test_given_no_danger_now_when_understood_then_no_emergency(understander, text):
    assert understander.understand(text).emergency.value is None


@pytest.mark.parametrize(("text", "urgent"), [
    ("厨房里一股天然气的味道阀门关了还是有味道怎么办", True),
    ("路口的自来水管爆了水哗哗地往外冒路都淹了", True),
    ("单元楼的电梯突然停在两层中间我妈和孩子被关在里面出不来", True),
    ("路边变压器一直嗡嗡响还冒火花离小学很近", True),
    ("小区楼顶的广告牌被风吹得摇摇晃晃随时要掉下来", True),
    ("人行道上的井盖不见了晚上黑看不见很危险", True),
    ("我们小区的水压特别低五楼以上白天都用不上水", False),
    ("楼道里有人给电动车充电存在火灾隐患", False),
    ("公交司机开车打电话差点摔倒", False),
])
def test_urgency(text, urgent):
    assert rules.is_urgent(text)[0] is urgent


@pytest.mark.parametrize(("text", "label"), [
    ("请问退休了养老金每年什么时候调整", "咨询"),
    ("想了解一下孩子转学需要办哪些手续", "咨询"),
    ("我是残疾人一个人带着孩子实在困难想申请点救助", "求助"),
    ("公司让我们每天加班到十点也不给加班费", "投诉"),
    ("我要举报一家小作坊生产没有标签的辣条", "举报"),
    ("有人在河里偷偷电鱼一天电好几次", "举报"),
    ("建议在学校门口多安排几个协管员", "建议"),
    ("非常感谢派出所的民警帮我找回了钱包", "表扬"),
])
def test_request_type(understander, text, label):
    assert understander.understand(text).request_type.value.label == label


@pytest.mark.parametrize(("text", "location"), [
    ("人民路和解放路交叉口的红绿灯坏了", "人民路和解放路交叉口"),
    ("我住在幸福里社区三号楼楼道灯不亮", "幸福里社区"),
    ("建设路18号门口有个井盖没了", "建设路18号"),
    ("阳光花园小区的垃圾好几天没人收", "阳光花园小区"),
])
def test_location_phrase(understander, text, location):
    assert understander.understand(text).location == location


def test_no_location_when_none_spoken(understander):
    assert understander.understand("想问一下养老保险怎么交").location is None


@pytest.mark.parametrize(("text", "number"), [
    ("有消息麻烦回我电话幺三八零零一二三四五六", "13800123456"),
    ("我的手机号是13912345678你们处理完打给我", "13912345678"),
    ("联系电话一三九 八八七六 五四三二", "13988765432"),
    ("座机号码是八二六五四三二一", "82654321"),
])
def test_callback_number(understander, text, number):
    assert understander.understand(text).callback_number == number


@pytest.mark.parametrize("text", [
    "我打了12345好几次都没人接",
    "从早上八点停电到现在一百二十分钟了",
    "一个多星期了路灯还没修好",
])
def test_no_callback_number(understander, text):
    assert understander.understand(text).callback_number is None


def test_to_digits_reads_spoken_numerals():
    assert rules.to_digits("幺八六 零〇 两三") == "1860023"


def test_as_json_names_every_suggestion(understander):
    data = understander.understand("楼道里闻到很大的煤气味电话13800001111").as_json()
    assert data["request_type"]["label"] == "求助"
    assert data["unit"]["value"] == "燃气公司"
    assert data["urgent"] == {"value": True, "confidence": pytest.approx(0.85)}
    assert data["emergency"]["value"] is None
    assert data["callback_number"] == "13800001111"
    assert 0 <= data["unit"]["confidence"] <= 1
