"""Prompt audio made by the real espeak-ng and sox, cached by hash; recorded files win."""

from __future__ import annotations

import math
import wave
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hotline.errors import PromptError
from hotline.ivr.loader import load_flow
from hotline.ivr.ports import Prompt
from hotline.prompts.store import PromptStore, flow_prompts
from hotline.recording.files import rms_level

SHIPPED_FLOWS = Path(__file__).resolve().parents[2] / "ivr_flows"
WELCOME = Prompt(text="您好，这里是12345市民服务热线，请按1")


@pytest.fixture
def store(tmp_path: Path) -> PromptStore:
    return PromptStore(folder=tmp_path / "prompts", voice="cmn-latn-pinyin", speed=150,
                       asterisk_folder="/var/lib/hotline/prompts/")


def wav_format(path: Path) -> tuple[int, int, int, float]:
    with wave.open(str(path), "rb") as wav:
        return (wav.getframerate(), wav.getnchannels(), wav.getsampwidth(),
                wav.getnframes() / wav.getframerate())


def write_recorded_prompt(path: Path, *, seconds: float = 1.0, rate: int = 16000) -> Path:
    """A prompt recorded by the center: 16 kHz stereo, as a studio would deliver it."""
    frames = bytearray()
    for n in range(int(rate * seconds)):
        sample = int(0.4 * 32767 * math.sin(2 * math.pi * 440 * n / rate)).to_bytes(
            2, "little", signed=True)
        frames += sample + sample
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(frames))
    return path


def test_given_mandarin_text_when_ensured_then_8khz_mono_16bit_speech_is_rendered(
    store: PromptStore,
) -> None:
    path = store.ensure(WELCOME)

    rate, channels, width, seconds = wav_format(path)
    assert (rate, channels, width) == (8000, 1, 2)
    assert 0.5 < seconds < 20
    assert rms_level(path) > 0.01  # speech, not silence
    assert path.parent == store.folder
    assert [p.name for p in store.folder.iterdir()] == [path.name]  # no temporary left over


def test_given_prompt_rendered_when_ensured_again_then_nothing_is_rendered(
    store: PromptStore
) -> None:
    first = store.ensure(WELCOME)
    mtime = first.stat().st_mtime_ns

    second = store.ensure(WELCOME)

    assert second == first
    assert second.stat().st_mtime_ns == mtime


def test_given_different_text_when_ensured_then_different_file(store: PromptStore) -> None:
    one = store.ensure(WELCOME)
    two = store.ensure(Prompt(text="请留言"))

    assert one != two
    assert one.exists() and two.exists()


def test_given_other_voice_or_speed_when_keyed_then_cache_key_differs(store: PromptStore) -> None:
    slower = PromptStore(folder=store.folder, voice=store.voice, speed=120,
                         asterisk_folder=store.asterisk_folder)
    other_voice = PromptStore(folder=store.folder, voice="en", speed=150,
                              asterisk_folder=store.asterisk_folder)

    assert len({store.key(WELCOME), slower.key(WELCOME), other_voice.key(WELCOME)}) == 3


def test_given_prompt_when_naming_for_asterisk_then_folder_and_key_without_extension(
    store: PromptStore,
) -> None:
    assert store.asterisk_name(WELCOME) == f"/var/lib/hotline/prompts/{store.key(WELCOME)}"


def test_given_recorded_file_when_ensured_then_a_converted_copy_is_used(
    store: PromptStore, tmp_path: Path
) -> None:
    recorded = write_recorded_prompt(tmp_path / "welcome-studio.wav", seconds=1.0)
    prompt = Prompt(text=WELCOME.text, file=str(recorded))

    path = store.ensure(prompt)

    assert path != store.host_path(WELCOME)  # the recording wins over the text
    rate, channels, width, seconds = wav_format(path)
    assert (rate, channels, width) == (8000, 1, 2)
    assert seconds == pytest.approx(1.0, abs=0.01)
    assert wav_format(recorded)[:2] == (16000, 2)  # the original is left alone


def test_given_recorded_file_replaced_when_ensured_then_new_audio_is_used(
    store: PromptStore, tmp_path: Path
) -> None:
    recorded = write_recorded_prompt(tmp_path / "welcome-studio.wav", seconds=1.0)
    prompt = Prompt(text="", file=str(recorded))
    old = store.ensure(prompt)

    write_recorded_prompt(recorded, seconds=2.0)
    new = store.ensure(prompt)

    assert new != old
    assert wav_format(new)[3] == pytest.approx(2.0, abs=0.01)


def test_given_missing_recorded_file_when_ensured_then_prompt_error_names_it(
    store: PromptStore, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "welcome.wav"

    with pytest.raises(PromptError, match=str(missing)):
        store.ensure(Prompt(text="您好", file=str(missing)))


def test_given_recorded_file_that_is_not_audio_when_ensured_then_prompt_error_names_it(
    store: PromptStore, tmp_path: Path
) -> None:
    bogus = tmp_path / "welcome.wav"
    bogus.write_text("not audio")

    with pytest.raises(PromptError, match="welcome.wav"):
        store.ensure(Prompt(text="", file=str(bogus)))
    assert not store.host_path(Prompt(text="", file=str(bogus))).exists()


def test_given_prompt_without_text_or_file_when_ensured_then_prompt_error(
    store: PromptStore
) -> None:
    with pytest.raises(PromptError, match="neither text nor"):
        store.ensure(Prompt(text="  "))


def test_given_prompts_some_cached_when_building_then_only_missing_ones_render(
    store: PromptStore,
) -> None:
    store.ensure(WELCOME)

    rendered, cached = store.build([WELCOME, Prompt(text="再见"), Prompt(text="再见")])

    assert (rendered, cached) == (1, 1)
    assert store.host_path(Prompt(text="再见")).exists()


async def test_given_prompt_when_ensured_from_event_loop_then_rendered_in_a_thread(
    store: PromptStore,
) -> None:
    path = await store.ensure_async(Prompt(text="谢谢"))

    assert path.exists()
    assert await store.ensure_async(Prompt(text="谢谢")) == path


# ---- finding a flow's prompts ----------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    prompt: Prompt
    retries: int = 1


@dataclass
class Branch:
    name: str
    children: list[Leaf]
    by_key: dict[str, Prompt]
    pair: tuple[Prompt, str]
    nothing: Prompt | None = None
    parent: Branch | None = None
    extra: set[str] = field(default_factory=set)


def test_given_nested_dataclasses_when_walking_then_every_prompt_is_found_once() -> None:
    a, b, c, d = (Prompt(text=t) for t in "甲乙丙丁")
    root = Branch(name="根", children=[Leaf(a), Leaf(b, retries=2)], by_key={"1": c},
                  pair=(d, "x"))
    root.parent = root  # a cycle does not loop forever

    found = flow_prompts(root)

    assert sorted(p.text for p in found) == sorted("甲乙丙丁")


def test_given_shipped_flow_when_walking_then_its_prompts_and_apology_are_found() -> None:
    flow = load_flow(SHIPPED_FLOWS / "default.yaml")

    found = flow_prompts(flow)

    assert found
    assert all(isinstance(p, Prompt) for p in found)
    assert flow.apology in found
