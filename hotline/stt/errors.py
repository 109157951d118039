"""Errors of speech recognition, a branch of the tree in ``hotline.errors``.

HotlineError
└── SttError                    speech recognition cannot go on
    ├── ModelMissing            no usable model for a language (jobs wait: ``waiting_model``)
    ├── ModelLayoutError        a folder is not a Vosk model; names the missing part
    ├── ModelInstallError       an archive or URL cannot be installed (checksum, format, target)
    ├── AudioError              an audio file is unusable (not a WAV, truncated, odd format)
    ├── UnknownWords            grammar phrases hold words missing from the model's vocabulary
    └── NoSuchJob               no transcription job with this id

Errors raised in a worker process cross back to the service pickled: each class keeps the
arguments of its ``__init__`` in ``args`` so it is rebuilt the same on the other side.
"""

from __future__ import annotations

from collections.abc import Sequence

from hotline.errors import HotlineError


class SttError(HotlineError):
    error_id = "stt-error"


class ModelMissing(SttError):
    """No model is usable for ``language``; ``reason`` says what to do about it."""

    error_id = "stt-model-missing"

    def __init__(self, language: str, reason: str) -> None:
        super().__init__(f"no speech model for language {language!r}: {reason}",
                         language=language, reason=reason)
        self.args = (language, reason)
        self.language = language
        self.reason = reason


class ModelLayoutError(SttError):
    """``path`` is not a Vosk model: ``missing`` is the part that is not there."""

    error_id = "stt-model-layout"

    def __init__(self, path: str, missing: str) -> None:
        super().__init__(f"{path}: not a Vosk model: {missing}", path=path, missing=missing)
        self.args = (path, missing)
        self.path = path
        self.missing = missing


class ModelInstallError(SttError):
    error_id = "stt-model-install"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: cannot install: {reason}", source=source, reason=reason)
        self.args = (source, reason)
        self.source = source
        self.reason = reason


class AudioError(SttError):
    """The audio file ``path`` cannot be transcribed; retrying will not help."""

    error_id = "stt-audio-unusable"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}", path=path, reason=reason)
        self.args = (path, reason)
        self.path = path
        self.reason = reason


class UnknownWords(SttError):
    error_id = "stt-unknown-words"

    def __init__(self, model: str, words: Sequence[str]) -> None:
        listed = ", ".join(repr(w) for w in words)
        super().__init__(f"not in the vocabulary of the model {model}: {listed}",
                         model=model, words=list(words))
        self.args = (model, tuple(words))
        self.model = model
        self.words = tuple(words)


class NoSuchJob(SttError):
    error_id = "stt-no-such-job"

    def __init__(self, job_id: int) -> None:
        super().__init__(f"no transcription job {job_id}", job_id=job_id)
        self.args = (job_id,)
        self.job_id = job_id
