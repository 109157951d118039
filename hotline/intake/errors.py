"""Errors of request understanding (all ``HotlineError``s, printed by the command line).

    IntakeError
    ├── CatalogError        the responsibility list cannot be read (source, entry)
    ├── ModelFileError      the trained model file cannot be used (path, reason)
    └── EvalFileError       a labelled file is broken (path, line, field)
"""

from __future__ import annotations

from pathlib import Path

from hotline.errors import HotlineError


class IntakeError(HotlineError):
    error_id = "intake-error"


class CatalogError(IntakeError):
    error_id = "intake-catalog-invalid"

    def __init__(self, source: str, where: str, reason: str) -> None:
        super().__init__(f"{source}: {where}: {reason}", source=source, where=where, reason=reason)


class ModelFileError(IntakeError):
    error_id = "intake-model-unusable"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}", path=str(path), reason=reason)
        self.path = path


class EvalFileError(IntakeError):
    error_id = "intake-eval-file-invalid"

    def __init__(self, *, path: str, line: int, field: str, reason: str) -> None:
        super().__init__(f"{path}:{line}: {field}: {reason}", path=path, line=line, field=field,
                         reason=reason)
