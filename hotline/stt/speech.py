"""Speech menus on Vosk: the IVR's ``SpeechRecognizer`` and ``SpeechVocabulary`` ports.

``PoolSpeechRecognizer`` recognises a caller's answer with a grammar restricted to the node's
phrases, in the transcription service's worker processes (never on the event loop).
``ModelVocabulary`` checks, when the flows are loaded, that every word of those phrases is in
the model's vocabulary (``vosk_model_find_word``); it loads each model once in this process.

Neither stops a call for want of a model: with no usable model for a language the node takes
keys only, and one warning per language says why::

    vocabulary = ModelVocabulary(settings)
    flows, errors = load_flows(settings.flows_dir, vocabulary=vocabulary)
    runner = FlowRunner(..., speech=PoolSpeechRecognizer(service))
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from pathlib import Path

from hotline.config import Settings
from hotline.ivr.ports import SpeechChoice
from hotline.stt.errors import ModelMissing, SttError
from hotline.stt.models_dir import ModelInfo, find_model
from hotline.stt.recognizer import missing_words
from hotline.stt.service import TranscriptionService

log = logging.getLogger(__name__)


class _Warnings:
    """One warning per language and reason (not one per call)."""

    def __init__(self) -> None:
        self._said: dict[str, str] = {}

    def once(self, language: str, reason: str) -> None:
        if self._said.get(language) != reason:
            self._said[language] = reason
            log.warning("speech menus in %s take keys only: %s", language, reason)

    def clear(self, language: str) -> None:
        self._said.pop(language, None)


class ModelVocabulary:
    """``SpeechVocabulary`` over the configured Vosk models (loaded in this process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._warnings = _Warnings()

    def unknown_words(self, language: str | None, words: Collection[str]) -> list[str] | None:
        lang = language or self.settings.stt.language
        try:
            model = find_model(self.settings, lang)
            if model.graph != "HCLr+Gr":
                raise SttError(f"{model.name} has a static graph (HCLG.fst): it cannot take "
                               "a grammar")
            return missing_words(model, words)
        except SttError as exc:
            self._warnings.once(lang, exc.reason if isinstance(exc, ModelMissing) else str(exc))
            return None


class PoolSpeechRecognizer:
    """``SpeechRecognizer`` over the transcription service's worker processes."""

    def __init__(self, service: TranscriptionService) -> None:
        self.service = service
        self._warnings = _Warnings()

    def _language(self, language: str | None) -> str:
        return language or self.service.stt.language

    def model(self, language: str | None) -> ModelInfo | None:
        lang = self._language(language)
        model = self.service.models.get(lang)
        if model is None:
            reason = self.service.missing.get(lang, "no model found for it yet")
            self._warnings.once(lang, reason)
        elif model.graph != "HCLr+Gr":
            self._warnings.once(lang, f"{model.name} has a static graph (HCLG.fst)")
            return None
        return model

    def available(self, language: str | None) -> bool:
        return self.model(language) is not None

    async def choose(self, audio_path: str, phrases: Sequence[str], *,
                     language: str | None) -> SpeechChoice | None:
        lang = self._language(language)
        try:
            choice = await self.service.choose(Path(audio_path), phrases, language=lang)
        except Exception as exc:  # noqa: BLE001 - any failure: keys only, the call goes on
            self._warnings.once(lang, f"recognition failed: {type(exc).__name__}: {exc}")
            return None
        self._warnings.clear(lang)
        return SpeechChoice(phrase=choice.phrase, heard=choice.heard,
                            confidence=choice.confidence)
