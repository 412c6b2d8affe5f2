"""Message catalogs (gettext .po, read with Babel) and the per-update translator.

msgids are dotted keys (`start.welcome.admin`); every .po file in `locales/<lang>/` is merged,
so a feature can keep its texts in its own file. Replies use HTML parse mode, so every
parameter is HTML-escaped unless it is wrapped in `Html` (already-safe markup).

A text that shows a number of things ("1 open reminder", "3 open reminders") is a gettext
plural entry: `msgid_plural` (the same key) and one `msgstr[i]` per plural form of the
language (English two, Chinese one). Its `count` parameter picks the form by the language's
`Plural-Forms` rule, as `ngettext` does, so callers write `t(key, count=n)` like any text.
"""

from __future__ import annotations

import gettext
import html
import logging
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "zh")
FALLBACK_LANGUAGE = "en"


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


@dataclass(frozen=True)
class Catalog:
    """One language's texts. A plural entry's text in `texts` is its last form (the one for
    most numbers), so checks over every text see it; `plurals` holds all its forms."""

    texts: dict[str, str]
    plurals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    plural_index: Callable[[int], int] = lambda n: int(n != 1)

    def text(self, key: str, count: object) -> str | None:
        forms = self.plurals.get(key)
        if forms is None or not isinstance(count, int):
            return self.texts.get(key)
        return forms[min(self.plural_index(count), len(forms) - 1)]


def load_catalog(language: str, directory: Path = LOCALES_DIR) -> Catalog:
    catalog = Catalog({})
    for po_file in sorted((directory / language).glob("*.po")):
        plural_expr, texts, plurals = _read_po(po_file, po_file.stat().st_mtime_ns, language)
        # The rule comes from the language (Babel's defaults: English n != 1, Chinese 0).
        catalog = Catalog(catalog.texts, catalog.plurals, gettext.c2py(plural_expr))
        catalog.texts.update(texts)
        catalog.plurals.update(plurals)
    return catalog


@lru_cache(maxsize=512)
def _read_po(
    po_file: Path, _mtime_ns: int, language: str
) -> tuple[str, dict[str, str], dict[str, tuple[str, ...]]]:
    """One file's texts, parsed once per process and version (`_mtime_ns`) of the file:
    every application built in a process (each instance, each test's bot) parsed them all."""
    with po_file.open("rb") as handle:
        po = read_po(handle, locale=language)
    texts: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in po:
        if isinstance(message.id, str) and message.id and isinstance(message.string, str):
            texts[message.id] = message.string
        elif isinstance(message.id, tuple) and isinstance(message.string, tuple):
            forms = tuple(form for form in message.string if form)
            if forms:
                plurals[message.id[0]] = forms
                texts[message.id[0]] = forms[-1]
    return po.plural_expr, texts, plurals


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def supported_language(code: str | None) -> str | None:
    """'zh-hans' -> 'zh', 'en-GB' -> 'en', anything else -> None."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


class Translator:
    """Renders catalog keys in one language; falls back to English, then to the key itself."""

    def __init__(self, language: str, catalog: Catalog, fallback: Catalog):
        self.language = language
        self._catalog = catalog
        self._fallback = fallback

    def __call__(self, key: str, **params: object) -> str:
        count = params.get("count")
        text = self._catalog.text(key, count) or self._fallback.text(key, count)
        if text is None:
            logger.error("missing catalog key %r (%s)", key, self.language)
            return key
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in params.items()
        }
        return text.format_map(safe)

    def has(self, key: str) -> bool:
        return key in self._catalog.texts or key in self._fallback.texts

    def label(self, key: str, fallback: str) -> str:
        """The label of a stored code (a stage, a source) or the code itself when it has none:
        a team's own stages and channels are shown as they were written."""
        return self(key) if self.has(key) else fallback


class Catalogs:
    """All languages, loaded once when the application is built."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self.catalogs = {language: load_catalog(language, directory) for language in LANGUAGES}
        self.messages = {language: c.texts for language, c in self.catalogs.items()}
        fallback = self.catalogs[FALLBACK_LANGUAGE]
        self._translators = {
            language: Translator(language, catalog, fallback)
            for language, catalog in self.catalogs.items()
        }

    def translator(self, language: str | None) -> Translator:
        return self._translators[supported_language(language) or FALLBACK_LANGUAGE]

    def words(self, key: str) -> frozenset[str]:
        """A catalog's "a|b|c" list of words a member may type, in every language at once
        (casefolded): a Chinese-speaking member typing "cancel" means it too."""
        return frozenset(
            word.strip().casefold()
            for messages in self.messages.values()
            for word in messages.get(key, "").split("|")
            if word.strip()
        )


def resolve_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The member's own choice, else Telegram's language, else the team default."""
    return supported_language(chosen) or supported_language(telegram_code) or default
