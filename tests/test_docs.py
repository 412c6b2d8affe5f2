"""The design notes the code points at are in the repository: every `docs/<name>.md` named in
code or the README exists, and no comment sends a reader to a document outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
CODE_DIRS = ("bot", "handlers", "storage", "bench", "tests")
SUFFIXES = {".py", ".po", ".toml", ".mako", ".md"}
DOC_REFERENCE = re.compile(r"\bdocs/[\w./-]+?\.md\b")
# Spelled in two parts so that this file does not name it itself.
OUTSIDE_NOTES = "PIT" + "FALLS"


def sources() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / ".ci" / "run"]
    for folder in CODE_DIRS:
        files += [p for p in (ROOT / folder).rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return files


def references(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        for name in DOC_REFERENCE.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def test_code_points_at_the_design_notes() -> None:
    named = references(sources())
    for note in ("stack-facts", "flow-engine", "update-inbox", "access-rule"):
        assert f"docs/{note}.md" in named


def test_every_doc_named_exists() -> None:
    missing = {
        name: where for name, where in references(sources()).items() if not (ROOT / name).is_file()
    }
    assert missing == {}


def test_reference_pattern_finds_names_in_prose() -> None:
    text = "see docs/stack-facts.md: and (docs/flow-engine.md), not docs/ alone"
    assert DOC_REFERENCE.findall(text) == ["docs/stack-facts.md", "docs/flow-engine.md"]


def test_no_code_points_outside_the_repository() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources()
        if OUTSIDE_NOTES in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
