"""The work-order rules are pure: no I/O library, no clock, no file, followed through the
``hotline`` modules they import (ast-based, like httpx's test of its exported members)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hotline

PURE_MODULES = (
    "hotline.tickets.rules",
    "hotline.tickets.lifecycle",
    "hotline.tickets.calendar",
    "hotline.tickets.errors",
)
FORBIDDEN = {
    "asyncio",
    "panoramisk",
    "vosk",
    "sqlmodel",
    "sqlalchemy",
    "fastapi",
    "socket",
    "subprocess",
    "threading",
    "time",
}
CLOCK_READS = {"now", "utcnow", "today"}
ROOT = Path(hotline.__file__).parent.parent


def module_path(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_reached(start: str) -> dict[str, ast.AST]:
    """``start`` and every ``hotline`` module it imports, directly or not, parsed."""
    reached: dict[str, ast.AST] = {}
    todo = [start]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached[module] = ast.parse(module_path(module).read_text(), filename=module)
        todo += [m for m in imported_modules(reached[module]) if m.split(".")[0] == "hotline"]
    return reached


@pytest.mark.parametrize("start", PURE_MODULES)
def test_given_a_pure_module_then_neither_it_nor_its_imports_use_io_libraries(start):
    for module, tree in modules_reached(start).items():
        used = {name.split(".")[0] for name in imported_modules(tree)}
        assert not used & FORBIDDEN, f"{module} imports {sorted(used & FORBIDDEN)}"


@pytest.mark.parametrize("start", PURE_MODULES)
def test_given_a_pure_module_then_it_reads_no_clock_and_opens_no_file(start):
    tree = modules_reached(start)[start]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_READS, f"{start}:{node.lineno} reads the clock"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"open", "input", "print"}, f"{start}:{node.lineno} does I/O"


def test_given_the_import_walker_when_a_module_imports_asyncio_then_it_is_seen():
    tree = ast.parse("import asyncio.tasks\nfrom sqlmodel import Session\n")
    assert imported_modules(tree) == {"asyncio.tasks", "sqlmodel"}
