"""What the import's review message looks like at each step: pure text and keyboard builders.

The review is one message edited in place: the columns and where each one goes, the
targets to pick for one column, a date-order question per ambiguous date column, and the
preview with the duplicate counts and the duplicate mode. Every view is built from
`storage.imports.review`, so the same button gives the same view after a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import partial

from telegram import InlineKeyboardMarkup

from handlers.callback_data import ImportAction
from handlers.formatting import currency_name, format_birthday, format_number, format_phone
from handlers.i18n import Html, Translator
from handlers.keyboards import Row, inline_keyboard
from handlers.paging import nav_row, page_of
from storage.imports import DuplicateMode, ImportReview
from storage.imports.order_rows import ALL_TARGETS, ORDERS, targets_of
from storage.parsing import Birthday

T = Callable[..., str]
MODES = tuple(DuplicateMode)
SAMPLE_CHARS = 30
LABEL_CHARS = 28
COLUMNS_PER_PAGE = 20  # buttons: Telegram takes at most 100 on a message
_STORED_DATE = re.compile(r"(?:(\d{4})-)?(\d{2})-(\d{2})")
_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})\b")


def number(value: int, lang: str) -> str:
    """12,000 / 12,000: thousands separated the reader's way."""
    return format_number(value, lang=lang)


def short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def target_label(t: T, target: str | None) -> str:
    return t(f"import.target.{target}") if target else t("import.target_none")


CHOICE_TARGETS = ("gender", "source", "category")


def readable(target: str, value: str, region: str, t: Translator) -> str:
    """A stored value as the member reads it elsewhere: national phones, spelled-out dates,
    choices, statuses and currencies by their label ("来源：网站", not "website")."""
    lang = t.language
    if target in CHOICE_TARGETS:
        return t.label(f"customer.{target}.{value}", value)
    if target == "status":  # an order's
        return t.label(f"order.status.{value}", value)
    if target == "currency":  # as /order's currency buttons name it ("人民币", "CNY ¥")
        return t.label(f"order.currency.{value}", currency_name(value, lang=lang))
    if target == "phone" and value.startswith("+"):
        return ", ".join(format_phone(p, region=region) for p in value.split(", "))
    if target == "birthday" and (match := _STORED_DATE.fullmatch(value)):
        year = int(match[1]) if match[1] else None
        try:
            birthday = Birthday(month=int(match[2]), day=int(match[3]), year=year)
            return format_birthday(birthday, lang=lang)
        except ValueError:
            return value
    return value


def current_mode(review: ImportReview) -> DuplicateMode:
    return DuplicateMode(review.batch.settings.get("duplicate_mode", DuplicateMode.SKIP))


# --- columns ---------------------------------------------------------------------------------


def columns_view(
    t: T, review: ImportReview, lang: str, *, notice: str = "", page: int = 0
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The columns of page `page` with where each goes and a sample, a button per column,
    then ‹ Prev · n/N · Next ›, Continue and Cancel: a wide sheet in pages Telegram accepts."""
    batch_id = _id(review)
    lines = [
        t(
            "import.review.title",
            file=review.batch.file_name,
            rows=number(review.total_rows, lang),
        ),
        "",
    ]
    shown = page_of(list(enumerate(review.headers)), page, COLUMNS_PER_PAGE)
    for index, header in shown.items:
        target = review.targets[index]
        if target is None and index in review.noted_columns:
            key = "import.review.column_noted"
        else:
            key = "import.review.column" if target else "import.review.column_ignored"
        lines.append(
            t(
                key,
                number=index + 1,
                header=short(header, LABEL_CHARS),
                target=target_label(t, target),
                sample=short(review.samples[index] or "—", SAMPLE_CHARS),
            )
        )
    lines += ["", t("import.review.hint")]
    if notice:
        lines += ["", notice]
    buttons = [
        (f"{i + 1}. {short(header, LABEL_CHARS)}", ImportAction("col", batch_id, i))
        for i, header in shown.items
    ]
    rows: list[Row] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(nav_row(t, shown, partial(ImportAction, "review", batch_id)))
    rows.append([(t("import.button.continue"), ImportAction("preview", batch_id))])
    rows.append([(t("import.button.cancel"), ImportAction("cancel", batch_id))])
    return "\n".join(lines), inline_keyboard(rows)


def columns_page(column: int) -> int:
    """The page of the review that shows `column`, to go back to after it is changed."""
    return column // COLUMNS_PER_PAGE


def column_view(
    t: T, review: ImportReview, column: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The fields one column can go to, the current one ticked, plus Don't import and Back."""
    batch_id = _id(review)
    current = review.targets[column]
    text = t(
        "import.column.ask",
        number=column + 1,
        header=short(review.headers[column], LABEL_CHARS),
        sample=short(review.samples[column] or "—", SAMPLE_CHARS),
    )
    buttons = [
        (
            ("✓ " if target == current else "") + target_label(t, target),
            ImportAction("map", batch_id, column, ALL_TARGETS.index(target)),
        )
        for target in targets_of(review.batch.settings)
    ]
    rows: list[Row] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    noted = column in review.noted_columns
    ignore = ("✓ " if current is None and not noted else "") + t("import.button.ignore")
    to_note = ("✓ " if noted else "") + t("import.button.to_note")
    choices = [(ignore, ImportAction("skip", batch_id, column))]
    if review.kind != ORDERS:  # an order has no note for the columns it leaves out
        choices.append((to_note, ImportAction("skip", batch_id, column, 1)))
    rows.append(choices)
    rows.append(
        [(t("import.button.back"), ImportAction("review", batch_id, columns_page(column)))]
    )
    return text, inline_keyboard(rows)


# --- dates -----------------------------------------------------------------------------------


def _date_readings(sample: str) -> tuple[date, date] | None:
    """(day first, month first) readings of a sample like 03/04/2025, when both are dates."""
    match = _NUMERIC_DATE.match(sample)
    if match is None:
        return None
    first, second, year = int(match[1]), int(match[2]), int(match[3])
    year += 2000 if year < 100 else 0
    try:
        return date(year, second, first), date(year, first, second)
    except ValueError:
        return None


def date_view(
    t: T, review: ImportReview, column: int, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Asked once per ambiguous date column, with the sample read both ways on the buttons."""
    batch_id = _id(review)
    sample = review.samples[column] or ""
    readings = _date_readings(sample)
    if readings is None:
        day_first, month_first = t("import.date.day_first"), t("import.date.month_first")
    else:
        day_first, month_first = (
            format_birthday(Birthday(month=d.month, day=d.day, year=d.year), lang=lang)
            for d in readings
        )
    text = t(
        "import.date.ask",
        header=short(review.headers[column], LABEL_CHARS),
        sample=short(sample, SAMPLE_CHARS),
    )
    rows: list[Row] = [
        [(day_first, ImportAction("date", batch_id, column, 1))],
        [(month_first, ImportAction("date", batch_id, column, 0))],
        [(t("import.button.back"), ImportAction("review", batch_id))],
    ]
    return text, inline_keyboard(rows)


# --- preview ---------------------------------------------------------------------------------


def preview_view(
    t: Translator, review: ImportReview, *, notice: str = ""
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The first rows as they will be stored, the counts and the choices left."""
    batch_id = _id(review)
    lines = [t("import.preview.title", file=review.batch.file_name), ""]
    region = review.batch.settings.get("region", "")
    for row in review.preview:
        values = " · ".join(
            t(
                "import.preview.value",
                field=target_label(t, target),
                value=short(readable(target, value, region, t), 40),
            )
            for target, value in row.values.items()
            if value
        )
        # Row numbers as the spreadsheet shows them: the headers are row 1.
        number_shown = row.row_number + 1
        lines.append(t("import.preview.row", number=number_shown, values=Html(values or "—")))
        if row.problem:
            lines.append(t("import.preview.problem", reason=t(f"import.reason.{row.problem}")))
    rows: list[Row] = []
    if review.kind == ORDERS:  # numbers, not phones, say what exists: no duplicate mode
        lines += ["", _order_counts(t, review), *_ignored_lines(t, review)]
    else:
        lines += ["", _customer_counts(t, review), *history_lines(t, review)]
        lines += ["", t("import.preview.mode_ask")]
        mode = current_mode(review)
        rows += [
            [
                (
                    ("✓ " if choice == mode else "") + t(f"import.mode.{choice.value}"),
                    ImportAction("mode", batch_id, index),
                )
            ]
            for index, choice in enumerate(MODES)
        ]
    if notice:
        lines += ["", notice]
    rows.append([(t("import.button.start"), ImportAction("start", batch_id))])
    rows.append(
        [
            (t("import.button.columns"), ImportAction("review", batch_id)),
            (t("import.button.cancel"), ImportAction("cancel", batch_id)),
        ]
    )
    return "\n".join(lines), inline_keyboard(rows)


def _customer_counts(t: Translator, review: ImportReview) -> str:
    lang = t.language
    counts = t(
        "import.preview.counts",
        total=number(review.total_rows, lang),
        in_db=number(review.duplicates_in_db, lang),
        in_file=number(review.duplicates_in_file, lang),
        rejected=number(review.rejected, lang),
    )
    if review.already_imported:
        already = t("import.preview.already", count=number(review.already_imported, lang))
        counts += "\n" + already
    return counts


def _order_counts(t: Translator, review: ImportReview) -> str:
    lang = t.language
    return t(
        "import.preview.order_counts",
        total=number(review.total_rows, lang),
        orders=number(review.orders, lang),
        existing=number(review.already_imported, lang),
        rejected=number(review.rejected, lang),
    )


def _ignored_lines(t: Translator, review: ImportReview) -> list[str]:
    """An orders file's columns that go nowhere, named: an order has no note to keep them."""
    ignored = [
        short(header, LABEL_CHARS)
        for header, target in zip(review.headers, review.targets, strict=True)
        if target is None and header.strip()
    ]
    return ["", t("import.preview.order_ignored", columns=", ".join(ignored))] if ignored else []


def history_lines(t: Translator, review: ImportReview) -> list[str]:
    """What the preview says of another CRM's extra columns: those going to each customer's
    note, rows whose owner is not found or not the importer's to assign (theirs instead),
    and created dates that cannot be kept."""
    lang = t.language
    lines: list[str] = []
    if review.noted_columns:
        headers = ", ".join(short(review.headers[i], LABEL_CHARS) for i in review.noted_columns)
        lines.append(t("import.preview.to_note", columns=headers))
    for (name, problem), count in sorted(review.owner_problems.items()):
        key = f"import.preview.owner_{problem}"
        lines.append(t(key, count=count, rows=number(count, lang), owner=short(name, 40)))
    if review.created_unread:
        count = review.created_unread
        lines.append(t("import.preview.created_unread", count=count, rows=number(count, lang)))
    return ["", *lines] if lines else []


def _id(review: ImportReview) -> int:
    assert review.batch.id is not None
    return review.batch.id
