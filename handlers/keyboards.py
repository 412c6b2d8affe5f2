"""Inline keyboard builders: labels come from the catalog, data from `callback_data.pack`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.callback_data import CallbackData, pack

Row = Sequence[tuple[str, CallbackData]]


def inline_keyboard(rows: Iterable[Row]) -> InlineKeyboardMarkup | None:
    """The keyboard, or None when there is no button at all (send the text alone)."""
    buttons = [
        [InlineKeyboardButton(label, callback_data=pack(data)) for label, data in row]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(buttons) if buttons else None
