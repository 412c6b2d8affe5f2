"""Message catalogs (gettext .po, read with Babel) and the per-update translator.

msgids are dotted keys (`start.welcome.admin`); every .po file in `locales/<lang>/` is merged,
so a feature can keep its texts in its own file. Replies use HTML parse mode, so every
parameter is HTML-escaped unless it is wrapped in `Html` (already-safe markup).
"""

from __future__ import annotations

import html
import logging
import string
from collections.abc import Mapping
from pathlib import Path

from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "zh")
FALLBACK_LANGUAGE = "en"


class Html(str):
    """Text that is already valid Telegram HTML and must not be escaped again."""

    __slots__ = ()


def load_catalog(language: str, directory: Path = LOCALES_DIR) -> dict[str, str]:
    messages: dict[str, str] = {}
    for po_file in sorted((directory / language).glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and isinstance(message.id, str) and isinstance(message.string, str):
                messages[message.id] = message.string
    return messages


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

    def __init__(self, language: str, messages: Mapping[str, str], fallback: Mapping[str, str]):
        self.language = language
        self._messages = messages
        self._fallback = fallback

    def __call__(self, key: str, **params: object) -> str:
        text = self._messages.get(key) or self._fallback.get(key)
        if text is None:
            logger.error("missing catalog key %r (%s)", key, self.language)
            return key
        safe = {
            name: value if isinstance(value, Html) else html.escape(str(value), quote=False)
            for name, value in params.items()
        }
        return text.format_map(safe)

    def has(self, key: str) -> bool:
        return key in self._messages or key in self._fallback

    def label(self, key: str, fallback: str) -> str:
        """The label of a stored code (a stage, a source) or the code itself when it has none:
        a team's own stages and channels are shown as they were written."""
        return self(key) if self.has(key) else fallback


class Catalogs:
    """All languages, loaded once when the application is built."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self.messages = {language: load_catalog(language, directory) for language in LANGUAGES}
        fallback = self.messages[FALLBACK_LANGUAGE]
        self._translators = {
            language: Translator(language, messages, fallback)
            for language, messages in self.messages.items()
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
