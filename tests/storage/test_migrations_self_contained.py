"""Migrations are history: they import no live code, and their frozen copies of it are
compared with the live code on purpose, so a change there is a decision, not an accident."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from storage.migrations import frozen
from storage.quality.company import normalise_company
from storage.search import index as search_index

MIGRATIONS = Path(__file__).parents[2] / "storage" / "migrations"
VERSIONS = sorted((MIGRATIONS / "versions").glob("*.py"))
FROZEN_HELPER = "storage.migrations.frozen"
LIBRARIES = {"alembic", "sqlalchemy"}
# The helper's one extra: 0002's backfill stores the pinyin that library computes.
HELPER_LIBRARIES = LIBRARIES | {"pypinyin"}

# Names the search code meets: Chinese, mixed, none, and characters pypinyin cannot read.
NAMES = (
    *("张伟", "王小明 Li", "Acme Ltd", "欧阳娜娜", "李", "", "  陈 静 ", "Zoë ☃", "〇"),
    *("Zhang Wei", "O'Brien-Smith", "acme", " Mark  Evans "),
)


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules.append("." * node.level + (node.module or ""))
    return modules


def foreign(modules: list[str], libraries: set[str], helper: str | None) -> list[str]:
    def allowed(module: str) -> bool:
        top = module.split(".")[0]
        return module == helper or top in libraries or top in sys.stdlib_module_names

    return [module for module in modules if not allowed(module)]


def test_versions_found() -> None:
    assert len(VERSIONS) >= 5


@pytest.mark.parametrize("path", VERSIONS, ids=lambda path: path.name)
def test_migration_imports_only_libraries_and_frozen_helper(path: Path) -> None:
    assert foreign(imported_modules(path), LIBRARIES, FROZEN_HELPER) == [], (
        f"{path.name} imports live code: copy what it needs into storage/migrations/frozen.py"
    )


def test_frozen_helper_imports_no_live_code() -> None:
    assert foreign(imported_modules(MIGRATIONS / "frozen.py"), HELPER_LIBRARIES, None) == []


def test_scan_catches_live_imports() -> None:
    modules = ["storage.models", "from_nowhere", "sqlalchemy.orm", "collections.abc"]
    assert foreign(modules, LIBRARIES, FROZEN_HELPER) == ["storage.models", "from_nowhere"]


def test_template_of_new_migrations_imports_no_live_code() -> None:
    template = (MIGRATIONS / "script.py.mako").read_text(encoding="utf-8")
    assert "import storage" not in template


# Drift: the schema today is what 0002/0004 built. When one of these fails, the live code no
# longer matches the database: write a migration that rebuilds the triggers or index with a
# new frozen copy, and compare the live code with that copy here.
@pytest.mark.parametrize("row", ["new", "c"])
def test_frozen_search_key_sql_matches_live(row: str) -> None:
    assert frozen.sqlite_search_key_sql(row) == search_index.sqlite_search_key_sql(row)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_frozen_reversed_phone_matches_live(dialect: str) -> None:
    assert frozen.reversed_e164_sql(dialect) == search_index.reversed_e164_sql(dialect)


@pytest.mark.parametrize("name", NAMES)
def test_frozen_pinyin_matches_live(name: str) -> None:
    """0002 keyed Chinese names; 0009 added the key of a name without Chinese characters."""
    live = search_index.pinyin_keys(name)
    if frozen.pinyin_keys(name) != (None, None):
        assert live == frozen.pinyin_keys(name)
    else:
        assert live == (frozen.latin_name_key(name), None)


@pytest.mark.parametrize(
    "name", ["上海华为有限公司", "ACME Co., Ltd.", "ＡＣＭＥ，Ｌｔｄ", "集团", "", "A.C. Inc"]
)
def test_frozen_company_key_matches_live(name: str) -> None:
    assert frozen.normalise_company_0019(name) == normalise_company(name)
