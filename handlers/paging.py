"""Long lists a page at a time, with ‹ Prev · 11–20 of 34 · Next › under them.

A list command (/deals, /reminders, /today, /week) shows its first page; the page buttons
carry the list's name and a cursor: the sort key of the first or last row shown
(`ListPage`, `storage.paging`). Pressing one reads the list again for the presser through
the same access-ruled storage query and edits the message in place, so a page never shows
what they may no longer see, and a row added or closed on another page skips or repeats
nothing. The range in the middle is counted on that reading, so it is true when shown; the
middle button reads the same page again. A cursor past the end (the list shrank since, or
the data was forged) shows the last page.

    /deals | /reminders | /today | /week --> first page + nav row
    nav row --‹ Prev | 11–20 of 34 | Next ›--> the rows before / from / after, read again

A fixed list (an import's columns) pages by number instead: `page_of` and `nav_row`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import CallbackData, ListPage
from handlers.context import CrmContext
from handlers.feature import Route
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.paging import Cursor, KeysetPage

logger = logging.getLogger(__name__)

T = TypeVar("T")
View = tuple[str, InlineKeyboardMarkup | None]
# Shows the page a cursor points to (the first page for None): edits the pressed message,
# or sends it for a command.
ShowPage = Callable[[Update, CrmContext, Cursor | None], Awaitable[None]]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # from 0, within range
    pages: int
    total: int


def page_number(page: int, total: int, size: int) -> tuple[int, int]:
    """The page to show (asked for, or the last one) and how many pages `total` items make."""
    pages = max(1, -(-total // size))
    return min(max(page, 0), pages - 1), pages


def page_of(items: Sequence[T], page: int, size: int) -> Page[T]:
    number, pages = page_number(page, len(items), size)
    start = number * size
    return Page(list(items[start : start + size]), number, pages, len(items))


def nav_row(
    t: Callable[..., str], page: Page[T], to: Callable[[int], CallbackData]
) -> list[tuple[str, CallbackData]]:
    """‹ Prev · n/N · Next ›, or nothing for a list of one page; `to(n)` is page n's button
    data (n/N reads the page again)."""
    if page.pages <= 1:
        return []
    row: list[tuple[str, CallbackData]] = []
    if page.number > 0:
        row.append((t("paging.prev"), to(page.number - 1)))
    row.append((t("paging.position", page=page.number + 1, pages=page.pages), to(page.number)))
    if page.number < page.pages - 1:
        row.append((t("paging.next"), to(page.number + 1)))
    return row


def keyset_nav_row(
    t: Callable[..., str], page: KeysetPage[T], to: Callable[[Cursor], CallbackData]
) -> list[tuple[str, CallbackData]]:
    """‹ Prev · 11–20 of 34 · Next ›, or nothing when every row fits; `to(cursor)` is the
    button data of the page `cursor` points to."""
    if page.previous is None and page.next is None:
        return []
    row: list[tuple[str, CallbackData]] = []
    if page.previous is not None:
        row.append((t("paging.prev"), to(page.previous)))
    if page.again is not None:
        label = t("paging.range", first=page.first, last=page.last, total=page.total)
        row.append((label, to(page.again)))
    if page.next is not None:
        row.append((t("paging.next"), to(page.next)))
    return row


async def show(update: Update, context: CrmContext, view: View) -> None:
    """A page as the answer: the pressed message edited, or a new message for a command."""
    query = update.callback_query
    if query is not None:
        await edit_message(query, *view)
        return
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, view[0], reply_markup=view[1])


def page_route(lists: Mapping[str, ShowPage]) -> Route:
    """The page buttons of every paged list; `lists` names each list's page function."""

    async def on_page(update: Update, context: CrmContext) -> None:
        data = await button_data(update, context, ListPage)
        if data is None:
            return
        query = update.callback_query
        assert query is not None
        show_page = lists.get(data.list_name)
        if show_page is None:
            await answer_query(query, context.t("common.stale_button"))
            return
        await answer_query(query)
        await show_page(update, context, data.cursor)

    return Route(ListPage, on_page)
