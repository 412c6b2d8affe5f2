"""Handlers name storage calls; only storage/ opens sessions, writes queries or catches
database errors (STYLE.md: "handlers/ never imports sqlalchemy")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
FORBIDDEN = ("sqlalchemy", "sqlmodel")


def _imported_modules(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.append(node.module)
    return found


@pytest.mark.parametrize("path", sorted(HANDLERS.rglob("*.py")), ids=lambda p: p.name)
def test_handler_module_imports_no_database_library(path: Path) -> None:
    imported = [m for m in _imported_modules(path) if m.split(".")[0] in FORBIDDEN]
    assert imported == []
