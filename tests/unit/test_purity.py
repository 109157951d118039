"""Pure modules import no I/O library (house style: boundaries, rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hotline

PACKAGE = Path(hotline.__file__).resolve().parent
FORBIDDEN = {"asyncio", "panoramisk", "vosk", "sqlmodel", "fastapi"}
PURE_MODULES = ["ivr/flow.py", "ivr/engine.py", "ivr/ports.py"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", PURE_MODULES)
def test_given_pure_module_when_imports_read_then_no_io_library(module):
    top_level = {name.split(".")[0] for name in imported_modules(PACKAGE / module)}

    assert top_level & FORBIDDEN == set()


def test_given_a_forbidden_import_when_checked_then_it_is_found(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import asyncio.tasks\nfrom sqlmodel import Session\n", encoding="utf-8")

    assert {name.split(".")[0] for name in imported_modules(sample)} >= {"asyncio", "sqlmodel"}
