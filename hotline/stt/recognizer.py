"""Vosk, run inside worker processes: free transcription and choices among a few phrases.

Each process loads a model once (``load``, or ``preload_quietly`` as the pool's initializer) and
keeps it: loading the small Korean model takes about 2.5 s and 600 MB. Functions here are
plain and picklable so that a ``ProcessPoolExecutor`` can run them.

Example (in one process)::

    model = check_model(Path("var/models/vosk-model-small-cn-0.22"))
    result = transcribe_file("recordings/2026/11/26/1764.12-caller.wav", model)
    choice = recognize_choice(Path("answer.wav"), ["네", "아니요"], model)
    choice.phrase  # "네", "아니요" or None

Grammars are JSON lists of phrases written with ``ensure_ascii=False``: Vosk reads the JSON
text itself and would take ``"\\ub124"`` literally, a word that no model has.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hotline.stt.audio import duration, is_silent, pcm_chunks, read_pcm, read_wav_info
from hotline.stt.errors import AudioError, SttError, UnknownWords
from hotline.stt.models_dir import ModelInfo

_MODELS: dict[str, Any] = {}  # model folder -> vosk.Model, one load per process
UNKNOWN = "[unk]"
SILENCE_LEVEL = 16  # a peak below this (-66 dBFS) is digital silence, not a quiet voice
GAP_FED_SECONDS = 1.0  # of a silence, this much reaches the recogniser; the rest is skipped


def load(model: ModelInfo) -> Any:
    """The Vosk model of this folder, loaded on first use in this process."""
    key = str(model.path)
    if key not in _MODELS:
        import vosk

        vosk.SetLogLevel(-1)  # warnings and errors only
        try:
            _MODELS[key] = vosk.Model(key)
        except Exception as exc:  # vosk raises a bare Exception
            raise SttError(f"{key}: Vosk could not load the model ({exc})") from exc
    return _MODELS[key]


def preload_quietly(models: Sequence[ModelInfo]) -> None:
    """Pool initializer: load the models before the first job arrives. A model that fails
    here fails again, with its reason, on the job that needs it (an initializer that raised
    would break the whole pool)."""
    for model in models:
        try:
            load(model)
        except SttError as exc:
            logging.getLogger(__name__).warning("%s", exc)


def preload_niced(models: Sequence[ModelInfo], nice: int) -> None:
    """Process initializer: this process's priority lowered by ``nice`` (``os.nice``), then
    the models loaded (``preload_quietly``). The transcription service's lanes run at
    different priorities: callers waiting on an answer first, the batch backlog last."""
    with contextlib.suppress(OSError):
        os.nice(nice)
    preload_quietly(models)


def _recognizer(model: ModelInfo, grammar: list[str] | None = None) -> Any:
    import vosk

    args: list[Any] = [load(model), model.sample_rate]
    if grammar is not None:
        args.append(json.dumps(grammar, ensure_ascii=False))
    recognizer = vosk.KaldiRecognizer(*args)
    recognizer.SetWords(True)
    return recognizer


def _words(result_json: str, offset: float = 0.0) -> tuple[str, list[dict[str, Any]]]:
    result = json.loads(result_json)
    words = [{"word": w["word"], "start": round(float(w["start"]) + offset, 3),
              "end": round(float(w["end"]) + offset, 3), "conf": float(w["conf"])}
             for w in result.get("result", [])]
    return str(result.get("text", "")), words


def transcribe_file(audio_path: str, model: ModelInfo, max_seconds: float | None = None
                    ) -> dict[str, Any]:
    """Transcribe a WAV file: the fields of a transcript (text, words with times, …).

    ``text`` is Vosk's, words separated by spaces (Chinese too); ``processing_seconds``
    counts recognition, not the model's first load. The file is read in half-second chunks
    (a two-hour call never sits in memory). Digital silence is fed for its first
    ``GAP_FED_SECONDS`` only (the recogniser ends its utterance there) and then skipped until
    sound comes back: the recogniser would spend a CPU second on every 30 s of it (a call on
    hold, a muted line) and find nothing. Word times stay on the file's time line.
    A file longer than ``max_seconds`` is refused (:class:`AudioError`) before any work.
    """
    info = read_wav_info(Path(audio_path))
    if max_seconds is not None and info.seconds > max_seconds:
        raise AudioError(audio_path, f"{duration(info.seconds)} long, more than the "
                                     f"configured maximum of {duration(max_seconds)} "
                                     "(stt.max_audio_seconds)")
    run = Transcription(model)
    for chunk in pcm_chunks(info, rate=model.sample_rate, seconds=0.5):
        run.accept(chunk)
    return run.finish(audio_seconds=info.seconds)


class Transcription:
    """One recognition fed chunk by chunk (16-bit mono at the model's rate, half a second of
    input each): ``transcribe_file`` feeds a file's chunks, a live stream feeds the same
    chunks as they arrive, and both give the same result for the same audio.

    Digital silence is fed for its first ``GAP_FED_SECONDS`` only (see ``transcribe_file``).
    """

    def __init__(self, model: ModelInfo) -> None:
        self.model = model
        self.recognizer = _recognizer(model)
        self.heard = _Heard()
        self.silent_for = 0.0
        self.processing = 0.0  # seconds spent in the recogniser

    def accept(self, chunk: bytes) -> None:
        started = time.perf_counter()
        try:
            self._accept(chunk)
        finally:
            self.processing += time.perf_counter() - started

    def _accept(self, chunk: bytes) -> None:
        heard, recognizer = self.heard, self.recognizer
        if not is_silent(chunk, level=SILENCE_LEVEL):
            self.silent_for, heard.skipping = 0.0, False
        else:
            seconds = len(chunk) / (2 * self.model.sample_rate)
            self.silent_for += seconds
            if self.silent_for > GAP_FED_SECONDS:
                if not heard.skipping:
                    heard.add(recognizer.FinalResult())  # what came before the gap
                    heard.skipping = True
                heard.offset += seconds
                return
        if recognizer.AcceptWaveform(chunk):
            heard.add(recognizer.Result())

    def finish(self, *, audio_seconds: float) -> dict[str, Any]:
        """The fields of a transcript; the recogniser is done."""
        started = time.perf_counter()
        self.heard.add(self.recognizer.FinalResult())
        self.processing += time.perf_counter() - started
        return {"text": " ".join(self.heard.texts), "words": self.heard.words,
                "model_name": self.model.name, "audio_seconds": audio_seconds,
                "processing_seconds": self.processing}


@dataclass
class _Heard:
    texts: list[str] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    offset: float = 0.0  # seconds of silence skipped so far: added to the recogniser's times
    skipping: bool = False

    def add(self, result_json: str) -> None:
        text, found = _words(result_json, self.offset)
        if text:
            self.texts.append(text)
        self.words.extend(found)


@dataclass(frozen=True)
class Choice:
    phrase: str | None  # the phrase said, None when nothing or more than one was heard
    heard: str  # what the recogniser heard, within the grammar
    confidence: float  # mean confidence of the words heard, 0 when none


def missing_words(model: ModelInfo, phrases: Iterable[str]) -> list[str]:
    """Words of ``phrases`` that the model's vocabulary lacks (a grammar cannot use them)."""
    vosk_model = load(model)
    words = dict.fromkeys(w for phrase in phrases for w in phrase.split())
    return [w for w in words if vosk_model.vosk_model_find_word(w) < 0]


def recognize_choice(audio: Path | bytes, phrases: Sequence[str], model: ModelInfo) -> Choice:
    """Which of ``phrases`` was said in ``audio`` (a WAV file, or 16-bit mono PCM at the
    model's rate), recognised with a grammar restricted to them.

    :class:`UnknownWords` names the words the model cannot recognise.
    """
    if model.graph != "HCLr+Gr":
        raise SttError(f"{model.name}: a static graph (HCLG.fst) cannot take a grammar")
    unknown = missing_words(model, phrases)
    if unknown:
        raise UnknownWords(model.name, unknown)
    grammar = list(phrases)
    if load(model).vosk_model_find_word(UNKNOWN) >= 0:
        grammar.append(UNKNOWN)
    recognizer = _recognizer(model, grammar)
    pcm = audio if isinstance(audio, bytes) else read_pcm(audio, rate=model.sample_rate)
    step = model.sample_rate  # half a second of 16-bit samples
    for start in range(0, len(pcm), step):
        recognizer.AcceptWaveform(pcm[start : start + step])
    heard, words = _words(recognizer.FinalResult())
    said = {p for p in split_phrases(heard.split(), phrases) if p is not None}
    confidence = sum(w["conf"] for w in words) / len(words) if words else 0.0
    return Choice(phrase=said.pop() if len(said) == 1 else None, heard=heard,
                  confidence=confidence)


def split_phrases(tokens: Sequence[str], phrases: Sequence[str]) -> list[str | None]:
    """The phrases ``tokens`` spell, longest first; None for a token that starts none."""
    by_length = sorted(((p.split(), p) for p in phrases), key=lambda e: len(e[0]),
                       reverse=True)
    found: list[str | None] = []
    i = 0
    while i < len(tokens):
        for words, phrase in by_length:
            if words and list(tokens[i : i + len(words)]) == words:
                found.append(phrase)
                i += len(words)
                break
        else:
            found.append(None)
            i += 1
    return found
