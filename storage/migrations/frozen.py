"""Frozen copies of the live code that migrations 0002, 0004 and 0009 used, as it was then.

Never edit this module: a migration is history, and history must not change when
`storage.search_index` does. When the live expressions change, write a new migration with
its own copy (here, under a new name) that rebuilds the triggers and indexes;
tests/storage/test_migrations_self_contained.py says when the copies and the live code part.
Only the standard library, SQLAlchemy, Alembic and pypinyin (the backfill's data) are imported.
"""

from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def reversed_e164_sql(dialect: str) -> str:
    """The reversed phone number as SQL (0002 indexes exactly this expression); SQLite has no
    reverse(), so the at most 20 characters are rebuilt one by one, each empty past the end."""
    if dialect == "postgresql":
        return "reverse(e164)"
    return " || ".join(f"substr(e164, {i}, 1)" for i in range(20, 0, -1))


def sqlite_search_key_sql(row: str) -> str:
    """search_key from a customer row in SQL, as the SQLite triggers of 0002 and 0004 store it."""
    tags = f"(SELECT group_concat(value, ' ') FROM json_each({row}.tags))"
    return (
        f"lower({row}.name || ' ' || coalesce({row}.company, '') || ' '"
        f" || coalesce({row}.email, '') || ' ' || coalesce({tags}, ''))"
    )


def pinyin_keys(name: str) -> tuple[str | None, str | None]:
    """("zhangwei", "zw") for 张伟, as 0002's backfill stores them; (None, None) without CJK."""
    if not _CJK.search(name):
        return None, None
    syllables = [s for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.isalpha()]
    if not syllables:
        return None, None
    return "".join(syllables).casefold(), "".join(s[0] for s in syllables).casefold()


def latin_name_key(name: str) -> str | None:
    """ "zhangwei" for "Zhang Wei", as 0009's backfill stores it in `pinyin_key` of a name
    without Chinese characters; None when the letters are the name itself."""
    letters = "".join(ch for ch in name.casefold() if ch.isalpha())
    return letters if letters and letters != name.strip().casefold() else None


# --- 0019: the normalised company key, as `storage.quality.company` computed it then ---

_CJK_SUFFIXES_0019 = ("股份有限公司", "有限责任公司", "有限公司", "集团")
_LATIN_SUFFIXES_0019 = frozenset(
    {"co", "ltd", "inc", "llc", "gmbh", "limited", "corp", "corporation", "incorporated"}
)


def normalise_company_0019(name: str) -> str:
    """The company key of 0019's backfill: no legal-form suffix, punctuation, spaces, case
    or full-width forms; a name that is nothing but a suffix keeps it."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    words = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in folded).split()
    while len(words) > 1 and words[-1] in _LATIN_SUFFIXES_0019:
        words.pop()
    stripped = unicodedata.normalize("NFKC", "".join(words))
    changed = True
    while changed:
        changed = False
        for suffix in _CJK_SUFFIXES_0019:
            if stripped.endswith(suffix) and len(stripped) > len(suffix):
                stripped = stripped[: -len(suffix)]
                changed = True
    return stripped
