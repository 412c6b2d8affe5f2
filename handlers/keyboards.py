"""Inline keyboard builders: labels come from the catalog, data from `callback_data.pack`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callback_data import CallbackData, pack

Row = Sequence[tuple[str, CallbackData]]


def inline_keyboard(rows: Iterable[Row]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=pack(data)) for label, data in row]
            for row in rows
            if row
        ]
    )


def one_per_row(buttons: Iterable[tuple[str, CallbackData]]) -> InlineKeyboardMarkup:
    return inline_keyboard([button] for button in buttons)
