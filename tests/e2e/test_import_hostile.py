"""Hostile and malformed spreadsheets sent to the chat: the member is told what is wrong and
the limit, a file whose XLSX `<dimension>` lies is read as it is, and another member is
answered while such a file is parsed (the parse holds no database lock)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.imports import files as import_files
from storage.imports.files import MAX_CELL_CHARS, MAX_COLUMNS, SheetTable
from storage.models import Customer
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, join, rows, shown
from tests.e2e.test_import import batch_ids, customers, finish, to_preview, upload
from tests.e2e.user import ScriptedUser
from tests.storage.hostile_files import (
    HUGE_DIMENSION,
    LONG_FIELD_CSV,
    SMALL_DIMENSION,
    WIDE_CSV,
    forged_xlsx,
)


async def test_a_tiny_xlsx_declaring_a_huge_range_is_reviewed_at_once(
    admin: ScriptedUser,
) -> None:
    await admin.upload_document("huge.xlsx", HUGE_DIMENSION)
    review = await admin.reply(timeout=5)  # padded to A1:XFD20000 it took ~24 s
    assert review.text.splitlines()[0] == "📄 huge.xlsx · rows: 1"
    assert "1. Name → Name (Zhang Wei)" in review.text


async def test_an_xlsx_declaring_less_than_it_holds_imports_every_row_and_column(
    admin: ScriptedUser, db_url: str
) -> None:
    review = await upload(admin, "small.xlsx", SMALL_DIMENSION)  # declares A1:B10
    assert review.text.splitlines()[0] == "📄 small.xlsx · rows: 30"
    assert "5. City → Region (City 1)" in review.text
    result = await finish(admin, await to_preview(admin, review))
    assert "Created: 30" in result.text
    stored = {c.name: (c.email, c.company, c.region) for c in customers(db_url)}
    assert len(stored) == 30
    assert stored["Customer 30"] == ("c30@example.com", "Co 30", "City 30")


async def test_a_csv_with_a_huge_cell_or_too_many_columns_is_refused_with_the_limit(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    answer = await upload(admin, "notes.csv", LONG_FIELD_CSV)
    assert answer.text == shown(
        catalogs, "en", "import.unreadable.cell_too_long", limit=f"{MAX_CELL_CHARS:,}"
    )
    assert "131,072 characters" in answer.text
    answer = await upload(admin, "wide.csv", WIDE_CSV)
    assert answer.text == shown(
        catalogs, "en", "import.unreadable.too_many_columns", limit=MAX_COLUMNS
    )
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    answer = await upload(wang, "备注.csv", LONG_FIELD_CSV)
    assert answer.text == shown(
        catalogs, "zh", "import.unreadable.cell_too_long", limit=f"{MAX_CELL_CHARS:,}"
    )
    answer = await upload(wang, "宽.csv", WIDE_CSV)
    assert answer.text == shown(
        catalogs, "zh", "import.unreadable.too_many_columns", limit=MAX_COLUMNS
    )
    assert batch_ids(db_url) == []


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("garbage.csv", bytes(range(256)) * 40, "not_a_table"),
        ("archive.xlsx", forged_xlsx({"A1": "Name"})[:-40], "not_a_table"),
        ("nothing.xlsx", forged_xlsx({}, sheets=False), "no_sheet"),
        ("blank.csv", b"", "empty"),
    ],
    ids=["binary-csv", "broken-zip", "no-sheet", "empty"],
)
async def test_a_malformed_file_gets_its_reason_not_the_generic_error(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, name: str, content: bytes, code: str
) -> None:
    answer = await upload(admin, name, content)
    assert answer.text == shown(catalogs, "en", f"import.unreadable.{code}")
    assert batch_ids(db_url) == []  # and `running_bot` checks the error handler was not reached


def _take_the_write_lock(session: Session) -> None:
    session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE on SQLite: waits for any other writer


async def test_another_member_is_answered_while_a_hostile_file_is_parsed(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    running_bot: RunningBot,
    catalogs: Catalogs,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The parse is held open until Lee's /help is answered; meanwhile a write elsewhere must
    get through (it waited for the whole parse when the parse ran in create_batch's write)."""
    assert running_bot.application is not None
    database = running_bot.application.bot_data["services"].db
    lee = await join(emu, admin, 2003, "Lee")
    parsing, answered = threading.Event(), threading.Event()
    writes_got_through: list[bool] = []
    read_xlsx = import_files._read_xlsx

    def held_open(content: bytes, *, max_rows: int) -> SheetTable:
        parsing.set()
        writer = threading.Thread(target=database.run_sync, args=(_take_the_write_lock,))
        writer.start()
        writer.join(timeout=5)
        writes_got_through.append(not writer.is_alive())
        answered.wait(timeout=15)
        return read_xlsx(content, max_rows=max_rows)

    monkeypatch.setattr(import_files, "_read_xlsx", held_open)
    await admin.upload_document("huge.xlsx", HUGE_DIMENSION)
    await eventually(parsing.is_set)
    await lee.send("/help")
    help_text = (await lee.reply()).text
    answered.set()
    review = await admin.reply()
    assert writes_got_through[0] is True  # the upload's parse (the review parses it again)
    assert all(writes_got_through)
    assert help_text.splitlines()[0] == shown(catalogs, "en", "help.title")
    assert review.text.splitlines()[0] == "📄 huge.xlsx · rows: 1"
    assert rows(db_url, Customer) == []
