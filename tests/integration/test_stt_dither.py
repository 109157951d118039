"""The model as ``hotline models install`` leaves it (``--dither=0``) gives the same tokens
for the same audio, whatever the worker recognised before: a retried job, the streamed draft
and the batch reference, and the tests can rely on it."""

from __future__ import annotations

from pathlib import Path

from hotline.stt.install import install_model
from hotline.stt.recognizer import transcribe_file

from .test_stt_vosk import KOREAN_MODEL, SENTENCE, speak


def test_given_the_installed_korean_model_when_audio_is_heard_again_later_then_the_same_words(
    tmp_path: Path,
) -> None:
    model = install_model(str(KOREAN_MODEL), models_dir=tmp_path / "models")
    message = speak(SENTENCE, tmp_path / "message.wav")
    other = speak("여기는 민원 센터입니다. 무엇을 도와 드릴까요?", tmp_path / "other.wav")

    first = transcribe_file(str(message), model)
    transcribe_file(str(other), model)
    again = transcribe_file(str(message), model)

    assert first["words"], "speech gave no words at all"
    assert again["words"] == first["words"]
