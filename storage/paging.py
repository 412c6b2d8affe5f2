"""Keyset (cursor) paging for the lists shown a page at a time (/deals, /reminders, /today,
/week).

A page is found by the sort key of a row the member saw, not by its position: "the rows
after the last one shown", "the rows before the first one shown", "the rows from the first
one shown" (the same page, read again). A row added or closed on an earlier page therefore
moves nothing across the page break, so nothing is skipped or shown twice, as offset paging
did. The key is a short tuple of integers (a stage's rank, a time in microseconds, an id)
so it fits in a button's 64 bytes.

The rows are always the list's own access-ruled query, read again for whoever asks: the
cursor only says where to start, so a forged or stale cursor can land on another page of
what the member may see, never on anything else. A cursor past the end shows the last page;
one before the start, or of the wrong shape, shows the first.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")
Key = tuple[int, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Direction(StrEnum):
    AFTER = "a"  # the page after the row with this key (Next)
    BEFORE = "b"  # the page before it (Prev)
    FROM = "f"  # the page starting at it (the same page, read again)


@dataclass(frozen=True)
class Cursor:
    direction: Direction
    key: Key


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    """The rows of a page, where they sit in the whole list now, and the cursors around it."""

    items: list[T]
    keys: list[Key]
    start: int  # how many rows come before this page, now
    total: int

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (for "11–20 of 34")."""
        return self.start + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.start + len(self.items)

    @property
    def previous(self) -> Cursor | None:
        return Cursor(Direction.BEFORE, self.keys[0]) if self.start > 0 else None

    @property
    def next(self) -> Cursor | None:
        return Cursor(Direction.AFTER, self.keys[-1]) if self.last < self.total else None

    @property
    def again(self) -> Cursor | None:
        return Cursor(Direction.FROM, self.keys[0]) if self.items else None


def micros(at: datetime) -> int:
    """A UTC time as whole microseconds since 1970: exact, so equal times give equal keys."""
    return (at - _EPOCH) // timedelta(microseconds=1)


def day(at: date) -> int:
    return at.toordinal()


def keyset_page(
    rows: Sequence[T], *, key: Callable[[T], Key], cursor: Cursor | None, size: int
) -> KeysetPage[T]:
    """The page of `rows` (in `key` order) that `cursor` points to, at most `size` rows.

    Keys are unique (each ends in the row's id), so "after" and "before" are exact.
    """
    ordered = sorted(rows, key=key)
    keys = [key(row) for row in ordered]
    total = len(ordered)
    start = 0
    if cursor is not None and keys and len(cursor.key) == len(keys[0]):
        if cursor.direction == Direction.BEFORE:
            start = max(0, bisect_left(keys, cursor.key) - size)
        else:
            find = bisect_right if cursor.direction == Direction.AFTER else bisect_left
            start = find(keys, cursor.key)
            if start >= total:  # nothing left after it: the last page
                start = max(0, total - size)
    return KeysetPage(ordered[start : start + size], keys[start : start + size], start, total)
