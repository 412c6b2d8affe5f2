"""Catalogs: complete in both languages, every key the code uses exists, parameters escaped."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.callback_data import LangChoice
from handlers.i18n import LANGUAGES, Catalogs, Html, placeholders, resolve_language
from storage.invites import InviteProblem
from storage.models import Role

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("handlers", "bot")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Texts that are the same in every language because they are names, not sentences.
PROPER_NAMES = {"lang.name.en"}


def source_files(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py"))


def string_values(node: ast.AST | None) -> list[str]:
    """The literal strings an expression can evaluate to (through `a if c else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return string_values(node.body) + string_values(node.orelse)
    return []


def assigned_strings(function: ast.AST, name: str) -> list[str]:
    values = []
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            values += string_values(node.value)
    return values


def key_patterns(node: ast.expr, function: ast.AST) -> list[tuple[str, bool]]:
    """(regex, is it one exact key) for the keys a t() call's first argument can name."""
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else r"[a-z0-9_]+"
            for part in node.values
        ]
        return [("".join(parts), False)]
    if isinstance(node, ast.Name):
        return [(re.escape(value), True) for value in assigned_strings(function, node.id)]
    return [(re.escape(value), True) for value in string_values(node)]


def translation_calls() -> Iterator[tuple[str, str, bool, set[str] | None]]:
    """(where, key regex, exact, keyword names or None for **params) per t() call."""
    for path in source_files(*SOURCE_DIRS):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if not (isinstance(call, ast.Call) and call.args):
                    continue
                func = call.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name != "t":
                    continue
                keywords = {k.arg for k in call.keywords}
                params = None if None in keywords else {k for k in keywords if k}
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                for pattern, exact in key_patterns(call.args[0], function):
                    yield where, pattern, exact, params


TRANSLATION_CALLS = list(translation_calls())


@pytest.fixture(scope="module")
def english(catalogs: Catalogs) -> dict[str, str]:
    return catalogs.messages["en"]


def test_catalogs_have_the_same_keys(catalogs: Catalogs) -> None:
    english, chinese = set(catalogs.messages["en"]), set(catalogs.messages["zh"])
    assert sorted(english - chinese) == []
    assert sorted(chinese - english) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_texts_are_non_empty(catalogs: Catalogs, language: str) -> None:
    messages = catalogs.messages[language]
    assert len(messages) > 20
    assert sorted(key for key, text in messages.items() if not text.strip()) == []


def test_chinese_texts_keep_english_placeholders(catalogs: Catalogs) -> None:
    english, chinese = catalogs.messages["en"], catalogs.messages["zh"]
    mismatched = {
        key: (placeholders(text), placeholders(chinese.get(key, "")))
        for key, text in english.items()
        if placeholders(text) != placeholders(chinese.get(key, ""))
    }
    assert mismatched == {}


def test_chinese_texts_are_translated(catalogs: Catalogs) -> None:
    """A Chinese text with words in it has Chinese words: English there is untranslated."""
    untranslated = []
    for key, text in catalogs.messages["zh"].items():
        words = re.sub(r"\{[^}]*\}|<[^>]*>|&\w+;", "", text)
        if key not in PROPER_NAMES and re.search("[A-Za-z]", words) and not CJK.search(words):
            untranslated.append(key)
    assert untranslated == []


def test_chinese_texts_address_the_member_politely(catalogs: Catalogs) -> None:
    """Always 您, never the familiar 你: the bot speaks to customers' salespeople at work,
    and a catalog that mixes both reads as careless."""
    familiar = [key for key, text in catalogs.messages["zh"].items() if "你" in text]
    assert familiar == []


# One word per concept: 商机 for a deal, 跟进记录 for a note and 记录跟进 for logging one.
BANNED_VARIANTS = {
    "交易": "商机",
    "机会": "商机",
    "记一笔": "记录跟进",
    "记录备注": "记录跟进",
    "添加备注": "记录跟进",
    "条备注": "条跟进记录",
    "的备注": "的跟进记录",
    "转入的备注": "转入的跟进记录",
}
# A date typed in English, offered as an example to a Chinese-speaking member.
ENGLISH_DATE = re.compile(
    r"\b(?:yesterday|today|tomorrow|next|\d+\s?(?:am|pm)|January|February|March|April|May|"
    r"June|July|August|September|October|November|December)\b",
    re.IGNORECASE,
)
# A region, time zone or currency code where the reader expects its Chinese name.
ENGLISH_CODE = re.compile(r"\b(?:CN|US|GB|HK|CNY|USD|EUR)\b|\b[A-Z][a-z]+/[A-Z][A-Za-z_]+\b")
# Asking for a time zone by its IANA name is asking for the code itself.
CODES_ASKED_FOR = {"settings_tz.ask.tz", "settings.invalid_tz"}


@pytest.mark.parametrize(("variant", "word"), sorted(BANNED_VARIANTS.items()))
def test_chinese_texts_use_one_word_per_concept(
    catalogs: Catalogs, variant: str, word: str
) -> None:
    used = [key for key, text in catalogs.messages["zh"].items() if variant in text]
    assert used == [], f"{variant} where the catalogs say {word}"


def test_chinese_texts_have_no_english_dates_or_codes(catalogs: Catalogs) -> None:
    """Examples are dates a Chinese speaker types; a region, zone or currency has its Chinese
    name (the code reaches a text only through a placeholder the handler names)."""
    found = {
        key: found
        for key, text in catalogs.messages["zh"].items()
        if key not in CODES_ASKED_FOR
        and (found := ENGLISH_DATE.findall(text) + ENGLISH_CODE.findall(text))
    }
    assert found == {}


@pytest.mark.parametrize("key", ["lookup.button.note", "reminders.button.note",
                                 "nudges.button.note", "customer.button.note"])  # fmt: skip
def test_every_log_a_note_button_has_one_label(catalogs: Catalogs, key: str) -> None:
    assert catalogs.translator("zh")(key) == "📝 记录跟进"


def test_source_scan_finds_translation_calls() -> None:
    """Guards the scan itself: it sees literal, f-string and variable keys."""
    patterns = {pattern for _, pattern, _, _ in TRANSLATION_CALLS}
    assert re.escape("help.title") in patterns
    assert "role\\.[a-z0-9_]+" in patterns
    assert re.escape("error.temporary") in patterns


@pytest.mark.parametrize(
    ("where", "pattern", "exact", "params"),
    TRANSLATION_CALLS,
    ids=[f"{where.partition(':')[0]}:{pattern}" for where, pattern, _, _ in TRANSLATION_CALLS],
)
def test_translation_call_names_english_key_with_its_placeholders(
    english: dict[str, str], where: str, pattern: str, exact: bool, params: set[str] | None
) -> None:
    keys = [key for key in english if re.fullmatch(pattern, key)]
    assert keys, f"{where}: no catalog key matches {pattern!r}"
    # An f-string key may match unrelated keys too (`{flow}.title`): only exact keys are
    # checked for their placeholders; a missing one would raise KeyError when rendered.
    if exact and params is not None:
        [key] = keys
        assert placeholders(english[key]) <= params, where


def test_parse_error_keys_exist_in_english(english: dict[str, str]) -> None:
    used = set()
    for path in source_files("storage"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if isinstance(value, str) and re.fullmatch(r"parse\.[a-z0-9_.]+", value):
                used.add(value)
    assert len(used) > 5
    assert sorted(used - set(english)) == []


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_name_and_welcome(english: dict[str, str], role: Role) -> None:
    assert {f"role.{role.value}", f"start.welcome.{role.value}"} <= set(english)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_choice_has_name(english: dict[str, str], language: str) -> None:
    assert f"lang.name.{LangChoice(language).language}" in english


@pytest.mark.parametrize("problem", list(InviteProblem))
def test_every_invite_problem_has_message(catalogs: Catalogs, problem: InviteProblem) -> None:
    for language in LANGUAGES:
        assert f"invite.problem.{problem.value}" in catalogs.messages[language]


# The translator, on catalogs of its own so the test does not depend on today's texts.

PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"

msgid "greet"
msgstr "{greeting}, {name}!"

msgid "only.english"
msgstr "English only {n}"

msgid "open"
msgid_plural "open"
msgstr[0] "{count} open reminder"
msgstr[1] "{count} open reminders"
"""


@pytest.fixture
def test_catalogs(tmp_path: Path) -> Catalogs:
    for language in LANGUAGES:
        (tmp_path / language).mkdir()
    (tmp_path / "en" / "t.po").write_text(PO, encoding="utf-8")
    zh = PO.replace('"{greeting}, {name}!"', '"{greeting}，{name}！"').replace(
        'msgid "only.english"\nmsgstr "English only {n}"\n', ""
    )
    zh = zh.replace(
        'msgstr[0] "{count} open reminder"\nmsgstr[1] "{count} open reminders"',
        'msgstr[0] "{count} 条未完成的提醒"',
    )
    (tmp_path / "zh" / "t.po").write_text(zh, encoding="utf-8")
    return Catalogs(tmp_path)


@pytest.mark.parametrize(
    ("language", "count", "text"),
    [
        ("en", 1, "1 open reminder"),
        ("en", 0, "0 open reminders"),
        ("en", 2, "2 open reminders"),
        ("zh", 1, "1 条未完成的提醒"),
        ("zh", 5, "5 条未完成的提醒"),
    ],
)
def test_translator_picks_the_plural_form_by_count(
    test_catalogs: Catalogs, language: str, count: int, text: str
) -> None:
    assert test_catalogs.translator(language)("open", count=count) == text


def test_plural_text_without_a_count_is_the_form_for_most_numbers(
    test_catalogs: Catalogs,
) -> None:
    assert test_catalogs.messages["en"]["open"] == "{count} open reminders"
    assert test_catalogs.translator("en")("open", count="many") == "many open reminders"


def test_plural_entries_have_every_form_of_their_language(catalogs: Catalogs) -> None:
    """English one and other, Chinese one form, each with the same parameters."""
    english, chinese = catalogs.catalogs["en"].plurals, catalogs.catalogs["zh"].plurals
    assert len(english) >= 8
    assert sorted(english) == sorted(chinese)
    assert {key: len(forms) for key, forms in english.items() if len(forms) != 2} == {}
    assert {key: len(forms) for key, forms in chinese.items() if len(forms) != 1} == {}
    for key, forms in [*english.items(), *chinese.items()]:
        assert placeholders(forms[0]) == placeholders(forms[-1]), key


def test_plural_texts_are_given_their_count() -> None:
    """`count` picks the form; a text may show it formatted under another name ({rows})."""
    plural_keys = set(Catalogs().catalogs["en"].plurals)
    missing = [
        where
        for where, pattern, exact, params in TRANSLATION_CALLS
        if exact and params is not None and "count" not in params
        for key in plural_keys
        if re.fullmatch(pattern, key)
    ]
    assert missing == []


def test_counted_english_texts_use_plural_forms(catalogs: Catalogs) -> None:
    """A count before a plural noun ("{count} rows") is a plural entry, or "1 rows" shows."""
    counted = re.compile(r"\{(count|days|hours|rows)\} [a-z ]*?(s|days|hours|rows)\b")
    english = catalogs.catalogs["en"]
    single = [
        key
        for key, text in english.texts.items()
        if key not in english.plurals and counted.search(text)
    ]
    assert single == []


def test_translator_escapes_parameters_as_html(test_catalogs: Catalogs) -> None:
    t = test_catalogs.translator("en")
    assert t("greet", greeting="Hi", name="<b>Tom & Jerry</b>") == (
        "Hi, &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;!"
    )


def test_translator_keeps_html_parameters(test_catalogs: Catalogs) -> None:
    t = test_catalogs.translator("en")
    assert t("greet", greeting=Html("<i>Hi</i>"), name="<Bob>") == "<i>Hi</i>, &lt;Bob&gt;!"


def test_translator_renders_chinese_text(test_catalogs: Catalogs) -> None:
    assert test_catalogs.translator("zh")("greet", greeting="你好", name="王伟") == "你好，王伟！"


def test_translator_falls_back_to_english_for_missing_key(test_catalogs: Catalogs) -> None:
    assert test_catalogs.translator("zh")("only.english", n=3) == "English only 3"


def test_translator_returns_key_when_missing_everywhere(test_catalogs: Catalogs) -> None:
    assert test_catalogs.translator("zh")("no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("code", "language"),
    [("zh-hans", "zh"), ("zh_TW", "zh"), ("en-GB", "en"), ("fr", "en"), (None, "en")],
)
def test_translator_for_telegram_code_picks_language(
    test_catalogs: Catalogs, code: str | None, language: str
) -> None:
    assert test_catalogs.translator(code).language == language


@pytest.mark.parametrize(
    ("chosen", "telegram_code", "default", "expected"),
    [
        ("zh", "en-GB", "en", "zh"),
        ("en", "zh-hans", "zh", "en"),
        (None, "zh-hans", "en", "zh"),
        (None, "en-GB", "zh", "en"),
        ("fr", "zh-hant", "en", "zh"),
        (None, "fr", "zh", "zh"),
        (None, None, "zh", "zh"),
        ("", "", "en", "en"),
    ],
)
def test_resolve_language_prefers_choice_then_telegram_then_default(
    chosen: str | None, telegram_code: str | None, default: str, expected: str
) -> None:
    assert resolve_language(chosen, telegram_code, default) == expected
