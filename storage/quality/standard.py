"""Standard values: a region or an industry typed any way ("沪", "上海市", "Shanghai",
"shanghai") read as one entry of a list ("上海"), so reports and duplicates compare like with
like. A value not on the list is kept as typed and flagged, never refused: a team's list is
never complete.

The lists are data (JSON in `storage/quality/data/`, or a team's own file in the same
format, named in `[quality]`): each entry is the stored value (`zh`), its English name (`en`)
and `aliases`. Pinyin and the usual suffixes (省, 市, 自治区, Province, City...) match without
being listed. Matching is pure and never raises (hypothesis tests in
tests/storage/test_quality_standard.py).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process

DATA = Path(__file__).parent / "data"
MAX_TYPED = 200  # the region / industry column's length
FUZZY_CUTOFF = 85  # "Shangahi" -> Shanghai; "Shanxi" is exact, so never fuzzed to Shaanxi
_SUFFIXES = re.compile(
    r"(特别行政区|壮族自治区|回族自治区|维吾尔自治区|自治区|省|市|"
    r"\s+(province|city|municipality|sar|special administrative region|autonomous region"
    r"|shi|sheng))$"
)
_NOT_WORD = re.compile(r"[\s'’\-_.,，。·()（）]+")


@dataclass(frozen=True)
class Entry:
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def label(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True)
class Match:
    """`value` is what is stored: the entry's `zh`, or the text as typed when `known` is False."""

    value: str
    known: bool


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().strip()
    text = _SUFFIXES.sub("", text).strip() or text
    return _NOT_WORD.sub("", text)


def _pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.NORMAL, errors="ignore")).casefold()


class StandardList:
    """One list and its index: every way of writing an entry, folded, to the entry."""

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        self.entries = entries
        self._index: dict[str, Entry] = {}
        # Names and aliases first; pinyin only where it names nothing yet ("shanxi" is 山西's
        # English name, so 陕西's pinyin does not take it).
        for entry in entries:
            for written in (entry.zh, entry.en, *entry.aliases):
                self._index.setdefault(_fold(written), entry)
        for entry in entries:
            self._index.setdefault(_pinyin(entry.zh), entry)
        self._index.pop("", None)
        self._latin = [key for key in self._index if key.isascii() and len(key) >= 4]

    def entry(self, value: str | None) -> Entry | None:
        """The entry a stored or typed value names, if any."""
        if not value:
            return None
        key = _fold(value[:MAX_TYPED])
        found = self._index.get(key)
        if found is not None or not key:
            return found
        if key.isascii() and len(key) >= 4:  # a typo in a romanised name
            best = process.extractOne(
                key, self._latin, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
            )
            if best is not None:
                return self._index[best[0]]
        return None

    def match(self, typed: str) -> Match:
        """The standard value for `typed`, or `typed` (spaces tidied) kept as unknown."""
        tidy = " ".join(typed.split())[:MAX_TYPED]
        found = self.entry(tidy)
        return Match(found.zh, True) if found else Match(tidy, False)

    def label(self, value: str, language: str) -> str:
        """A stored value in the member's language; an unknown one as it was typed."""
        found = self._index.get(_fold(value))
        return found.label(language) if found else value

    def is_known(self, value: str | None) -> bool:
        return bool(value) and _fold(value or "") in self._index


def read_list(path: Path) -> StandardList:
    """A list file: {"values": [{"zh": ..., "en": ..., "aliases": [...]}, ...]}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return StandardList(
        tuple(
            Entry(
                str(item["zh"]), str(item.get("en") or item["zh"]), tuple(item.get("aliases", ()))
            )
            for item in data["values"]
        )
    )


@lru_cache(maxsize=8)
def load_list(kind: str, path: str = "") -> StandardList:
    """The team's list file when configured, else the default `kind` ("regions",
    "industries"); read once per process."""
    return read_list(Path(path) if path else DATA / f"{kind}.json")
