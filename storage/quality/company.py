"""Company names compared normalised, shown as typed.

"阿里巴巴（中国）有限公司", "阿里巴巴集团" and "ACME Co., Ltd." vs "Acme Inc" name the same
company to a person but not to `==`. Duplicate finding groups customers by this key, so it
must be cheap (it runs on every customer of a base) and must never raise on what was typed.
"""

from __future__ import annotations

import unicodedata

# Legal-form suffixes, longest first so 股份有限公司 goes before 有限公司 can half-match it.
_CJK_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团")
# Latin legal forms, matched as whole trailing words ("co" only as a word, never "taco").
_LATIN_SUFFIXES = frozenset(
    {"co", "ltd", "inc", "llc", "gmbh", "limited", "corp", "corporation", "incorporated"}
)


def _words(name: str) -> list[str]:
    """Full-width forms folded (ＡＣＭＥ，Ｌｔｄ → acme, ltd), case folded, punctuation and
    symbols turned into spaces, split into words."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    spaced = "".join(" " if unicodedata.category(ch)[0] in "PSZC" else ch for ch in folded)
    return spaced.split()


def normalise_company(name: str) -> str:
    """The key two spellings of one company share: no legal-form suffix, punctuation,
    spaces, case or full-width forms. A name that is nothing but a suffix ("集团", "Ltd.")
    keeps it, so it does not become the empty key every blank company shares."""
    words = _words(name)
    while len(words) > 1 and words[-1] in _LATIN_SUFFIXES:
        words.pop()
    # Composed again: dropping a symbol can leave a letter beside a combining mark.
    stripped = unicodedata.normalize("NFKC", "".join(words))
    changed = True
    while changed:
        changed = False
        for suffix in _CJK_SUFFIXES:
            if stripped.endswith(suffix) and len(stripped) > len(suffix):
                stripped = stripped[: -len(suffix)]
                changed = True
    return stripped
