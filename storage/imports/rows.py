"""One spreadsheet row -> the customer it describes, with manual entry's rules, or why not.

Pure and database-free, so the review (preview and counts) and the run share it exactly. Each
cell goes through `storage.parsing` like a typed answer: phones to E.164 in the team's region
(several per cell allowed), emails normalised, text length limits, birthdays with or without
the year. Choice fields accept the chat's codes, their labels in both languages (what an
export writes: "Female", "潜在客户"; a test walks the catalogs) and common English/Chinese
words for them ("男", "转介绍"); an unknown gender is rejected, while an unknown source or
category is kept as written (spreadsheets have their own channels, e.g. "微信"), within 32
characters.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from storage.export import undefuse
from storage.imports.created import parse_created
from storage.imports.mapping import CUSTOMERS, fold, kind_of
from storage.parsing import (
    MAX_LENGTHS,
    ParseError,
    clean_text,
    parse_birthday,
    parse_email,
    parse_phones,
)
from storage.quality.rules import QualityRules

MAX_CHOICE_LENGTH = 32  # customer.source / customer.category columns
MAX_TAGS = 20
_TAG_SPLIT = re.compile(r"[,，;；、#\s]+")  # as handlers/field_parsers.tags
_SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_WITH_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}(?::\d{2})?")
_TEXT_FIELDS = ("company", "position", "industry", "region", "needs")
_NAME_PARTS = ("first_name", "last_name")
_HISTORY = ("owner", "created")  # about the record, not the customer: not in `fields`
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_STANDARD_FIELDS = ("industry", "region")  # read to the team's lists, as typed answers are

_CHOICES: dict[str, dict[str, str]] = {
    "gender": {
        "male": "male", "m": "male", "man": "male", "男": "male", "男性": "male", "先生": "male",
        "female": "female", "f": "female", "woman": "female", "女": "female", "女性": "female",
        "女士": "female",
    },
    "source": {
        "referral": "referral", "推荐": "referral", "转介绍": "referral", "介绍": "referral",
        "website": "website", "web": "website", "官网": "website", "网站": "website",
        "advertising": "advertising", "ad": "advertising", "ads": "advertising",
        "广告": "advertising", "event": "event", "活动": "event", "展会": "event",
        "coldcall": "cold_call", "陌拜": "cold_call", "陌生拜访": "cold_call",
        "电话营销": "cold_call", "other": "other", "其他": "other",
    },
    "category": {
        "potential": "potential", "潜在": "potential", "潜在客户": "potential",
        "意向客户": "potential", "existing": "existing", "现有": "existing",
        "现有客户": "existing", "老客户": "existing", "已成交": "existing", "loyal": "loyal",
        "忠实": "loyal", "忠实客户": "loyal", "vip": "loyal", "重要客户": "loyal",
    },
}  # fmt: skip


@dataclass(frozen=True)
class RowValues:
    """A valid row: customer columns, its phones, display text per target, and fingerprint."""

    fields: dict[str, Any]
    phones: list[str]
    display: dict[str, str]
    fingerprint: str
    pinyin: tuple[str | None, str | None] | None = None  # the name's, when worked out ahead
    owner: str = ""  # the owner column's member name, as written
    created: datetime | None = None  # UTC, from the created column when readable and past
    created_unread: bool = False  # the created column had a value that was not
    extras: tuple[tuple[str, str], ...] = ()  # (header, value) of the columns for the notes

    @property
    def keys(self) -> list[str]:
        """What duplicates are matched by: the phones and the lowercased email."""
        email = self.fields.get("email")
        return [*self.phones, *([email.lower()] if email else [])]


@dataclass(frozen=True)
class RowRules:
    targets: Sequence[str | None]
    region: str
    day_first: Mapping[int, bool]  # per date column; missing = undecided
    today: date
    quality: QualityRules = field(default_factory=QualityRules)
    headers: Sequence[str] = ()
    noted: frozenset[int] = frozenset()  # columns whose values go to the customer's note
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))  # of times without a zone


def quality_settings(rules: QualityRules) -> dict[str, Any]:
    """What of the team's rules a batch keeps (JSON), so its review and run read rows alike."""
    return {
        "required": list(rules.required_for("customer")),
        "regions_file": rules.regions_file,
        "industries_file": rules.industries_file,
    }


def noted_columns(settings: Mapping[str, Any]) -> list[int]:
    """Columns mapped to no field and not left out by the member: their values go to a note
    on the customer rather than nowhere (a batch from before notes has no "dropped" and
    keeps its old behaviour: nothing to the notes, nor does an orders file: an order has no
    note for them)."""
    if "dropped" not in settings or kind_of(settings) != CUSTOMERS:
        return []
    dropped = set(settings["dropped"])
    return [
        i
        for i, (header, target) in enumerate(
            zip(settings["headers"], settings["targets"], strict=True)
        )
        if target is None and i not in dropped and header.strip()
    ]


def row_rules(settings: Mapping[str, Any], day_first: Mapping[int, bool], today: date) -> RowRules:
    """The rules of a batch's rows from its settings (a batch from before `[quality]` requires
    only the name and uses the default lists)."""
    quality = settings.get("quality") or {}
    return RowRules(
        targets=settings["targets"],
        region=settings["region"],
        day_first=day_first,
        today=today,
        quality=QualityRules(
            required={"customer": tuple(quality.get("required", ()))},
            regions_file=quality.get("regions_file", ""),
            industries_file=quality.get("industries_file", ""),
        ),
        headers=settings["headers"],
        noted=frozenset(noted_columns(settings)),
        tz=ZoneInfo(settings.get("timezone") or "UTC"),
    )


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(value: str, field: str) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > MAX_LENGTHS[field]:
        raise Rejected("too_long")
    return cleaned


def _birthday(value: str, day_first: bool | None, today: date) -> tuple[dict[str, Any], str]:
    if m := _SLASHED.fullmatch(value):
        if day_first is None:  # undecided: the run cannot start, the preview shows it as is
            return {}, value
        day, month = (m[1], m[2]) if day_first else (m[2], m[1])
        value = f"{m[3]}-{int(month):02d}-{int(day):02d}"
    elif m := _WITH_TIME.fullmatch(value):
        value = m[1]
    parsed = parse_birthday(value, today=today)
    if isinstance(parsed, ParseError):
        raise Rejected("bad_date")
    shown = f"{parsed.month:02d}-{parsed.day:02d}"
    # The year goes with the day even when missing: an update must not keep an old year.
    fields = {
        "birthday_month": parsed.month,
        "birthday_day": parsed.day,
        "birthday_year": parsed.year,
    }
    if parsed.year is not None:
        shown = f"{parsed.year}-{shown}"
    return fields, shown


def _choice(value: str, field: str) -> str:
    code = _CHOICES[field].get(fold(value))
    if code is not None:
        return code
    if field == "gender":
        raise Rejected("bad_gender")
    if len(value) > MAX_CHOICE_LENGTH:
        raise Rejected("too_long")
    return value


def _tags(value: str) -> list[str]:
    words = [w for w in _TAG_SPLIT.split(value) if w]
    if any(len(w) > MAX_LENGTHS["tag"] for w in words):
        raise Rejected("too_long")
    return list(dict.fromkeys(words))[:MAX_TAGS]


def _cell_values(
    target: str, value: str, column: int, rules: RowRules
) -> tuple[dict[str, Any], str]:
    if target == "name" or target in _TEXT_FIELDS:
        text = _text(value, target)
        if target in _STANDARD_FIELDS:
            text = rules.quality.standard(target).match(text).value
        return {target: text}, text
    if target == "email":
        email = parse_email(value)
        if isinstance(email, ParseError):
            raise Rejected("bad_email")
        return {"email": email}, email
    if target == "birthday":
        return _birthday(value, rules.day_first.get(column), rules.today)
    if target == "tags":
        tags = _tags(value)
        return {"tags": tags}, ", ".join(tags)
    code = _choice(value, target)
    return {target: code}, code


def _full_name(cells: Sequence[str], targets: Sequence[str | None]) -> str:
    """First and last name columns as one name, in the order its language writes it:
    "Wei" + "Zhang" -> "Wei Zhang", 名 "伟" + 姓 "张" -> "张伟" (surname first, no space)."""
    parts = {t: cells[i] for i, t in enumerate(targets) if t in _NAME_PARTS and cells[i]}
    first, last = parts.get("first_name", ""), parts.get("last_name", "")
    if _CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(p for p in (first, last) if p)


def _filled(name: str, fields: Mapping[str, Any], phones: Sequence[str]) -> bool:
    if name == "phone":
        return bool(phones)
    return bool(fields.get("birthday_month" if name == "birthday" else name))


def normalise_row(cells: Sequence[str], rules: RowRules) -> RowValues:
    """The row as it will be stored; raises Rejected with a reason code from REASONS.

    Cells are cleaned first (`clean_text`), as typed answers are: a name that is only control
    characters counts as missing. A CSV we exported guards "+86..." as "'+86..."; the
    apostrophe is dropped, so the file imports back as it was.
    """
    cells = [undefuse(clean_text(cell)) for cell in cells]
    combined = _full_name(cells, rules.targets)
    if not combined and not any(cells[i] for i, t in enumerate(rules.targets) if t == "name"):
        raise Rejected("missing_name")
    fields: dict[str, Any] = {}
    display: dict[str, str] = {}
    phones: list[str] = []
    history: dict[str, str] = {}
    for column, target in enumerate(rules.targets):
        value = cells[column] if target is not None else ""
        if not value or target is None or target in _NAME_PARTS:
            continue
        if target in _HISTORY:
            history[target] = value
            continue
        if target == "phone":
            parsed = parse_phones(value, region=rules.region)
            if isinstance(parsed, ParseError):
                raise Rejected("bad_phone")
            phones = parsed
            display["phone"] = ", ".join(parsed)
            continue
        values, shown = _cell_values(target, value, column, rules)
        fields.update(values)
        display[target] = shown
    if not fields.get("name") and combined:
        fields["name"] = display["name"] = _text(combined, "name")
    if not fields.get("name"):
        raise Rejected("missing_name")
    for name in rules.quality.required_for("customer"):
        if not _filled(name, fields, phones):
            raise Rejected(f"missing_{name}")
    digest = hashlib.sha256(
        "\x1f".join(f"{t}={display.get(t, '')}" for t in sorted(display)).encode()
    ).hexdigest()
    created = _created(history.get("created", ""), rules)
    if created is not None:
        display["created"] = created.astimezone(rules.tz).strftime("%Y-%m-%d %H:%M")
    owner = " ".join(history.get("owner", "").split())[: MAX_LENGTHS["name"]]
    if owner:
        display["owner"] = owner
    extras = tuple(
        (" ".join(rules.headers[i].split()), cells[i])
        for i in sorted(rules.noted)
        if i < len(cells) and cells[i]
    )
    return RowValues(
        fields,
        phones,
        display,
        digest,
        owner=owner,
        created=created,
        created_unread=bool(history.get("created")) and created is None,
        extras=extras,
    )


def _created(value: str, rules: RowRules) -> datetime | None:
    if not value:
        return None
    column = rules.targets.index("created")
    day_first = rules.day_first.get(column)
    return parse_created(value, day_first=day_first, tz=rules.tz, today=rules.today)
