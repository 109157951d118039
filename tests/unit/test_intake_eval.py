"""``hotline eval classify`` on the labelled dev set (../shared/eval beside the project) with the
issue's thresholds, and on requests of our own written apart from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.cli import main

DEV_SET = Path(__file__).resolve().parents[2].parent / "shared" / "eval" / "requests-dev.jsonl"
# Our own requests, not from the dev set: (text, type, unit, urgent, emergency).
OWN = [
    ("菜场门口好多卖水果的把三轮车停在马路上摆摊行人都没法走", "投诉", "市城管局", False, None),
    ("物业公司把小区绿地改成了收费停车位业主都不同意", "投诉", "市住建局", False, None),
    ("理发店办了会员卡充了两千现在店关了人也找不到", "投诉", "市市场监管局", False, None),
    ("建议开通一条从开发区到老城区的夜班公交下班太晚没车", "建议", "市交通运输局", False, None),
    ("想咨询一下居住证到期了续签要带什么", "咨询", "市公安局", False, None),
    ("村头的造纸厂往河里排污水河水都变成红色了", "举报", "市生态环境局", False, None),
    ("请问退休了养老金每年什么时候调整", "咨询", "市人社局", False, None),
    ("想问一下孩子打疫苗在哪个社区医院可以预约", "咨询", "市卫健委", False, None),
    ("我们村的灌溉机井坏了半个月了麦子等着浇水", "求助", "市水利局", False, None),
    ("请问一下生孩子住院医保能报销多少", "咨询", "市医保局", False, None),
    ("家里手机信号特别差打电话老是断线", "投诉", "电信运营商", False, None),
    ("感谢医院急诊科的医生护士半夜抢救我父亲态度特别好", "表扬", "市卫健委", False, None),
    ("隔壁仓库起火了火很大烟都飘到我们楼里了快来救火", "求助", "市应急管理局", True, "119"),
    ("路口一辆电动车被货车撞了人躺在地上不动", "求助", "市交通运输局", True, "122"),
    ("想问一下叫一次120救护车出车要收多少钱", "咨询", "市卫健委", False, None),
    ("路口的自来水管爆了水哗哗地往外冒路都淹了", "求助", "供水公司", True, None),
]


def run_eval(path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    assert main(["eval", "classify", str(path), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_given_dev_set_when_classified_then_issue_thresholds_met(capsys):
    if not DEV_SET.exists():
        pytest.fail(f"the labelled dev set is missing: {DEV_SET} (../shared beside the project)")
    result = run_eval(DEV_SET, capsys)
    assert result["n"] == 60
    assert result["type_accuracy"] >= 0.85
    assert result["unit_accuracy"] >= 0.85
    assert result["emergency_recall"] == 1.0
    assert result["emergency_false"] == 0
    assert result["urgent_recall"] >= 0.9
    assert set(result) >= {"n", "type_accuracy", "unit_accuracy", "urgent_recall",
                           "urgent_precision", "emergency_recall", "emergency_false"}


def test_given_own_requests_when_classified_then_they_generalise(tmp_path, capsys):
    path = tmp_path / "own.jsonl"
    path.write_text("\n".join(json.dumps(
        {"text": t, "type": k, "unit": u, "urgent": g, "emergency": e}, ensure_ascii=False
    ) for t, k, u, g, e in OWN), encoding="utf-8")
    result = run_eval(path, capsys)
    assert result["type_accuracy"] >= 0.85
    assert result["unit_accuracy"] >= 0.85
    assert result["emergency_recall"] == 1.0
    assert result["emergency_false"] == 0
    assert result["urgent_recall"] >= 0.9


def test_table_output_has_confusion(capsys):
    assert main(["eval", "classify", str(DEV_SET)]) == 0
    out = capsys.readouterr().out
    assert "type accuracy" in out and "request type confusion" in out


def test_broken_line_is_named(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "x", "type": "咨询"}\n', encoding="utf-8")
    assert main(["eval", "classify", str(path)]) == 2
    assert "bad.jsonl:1: unit" in capsys.readouterr().err
