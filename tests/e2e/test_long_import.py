"""A spreadsheet as wide as an import takes: its review pages the columns (20 a page) so each
page stays within Telegram's limits (100 buttons, 4,096 characters), every column can be
reached and changed, a change comes back to its page, and a forged page shows the last one."""

from __future__ import annotations

import pytest

from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import ImportAction, pack
from handlers.i18n import Catalogs
from storage.imports.files import MAX_COLUMNS
from tests.e2e.helpers import join, shown
from tests.e2e.test_import import answered_text, batch_ids, press, upload
from tests.e2e.user import ScriptedUser

pytestmark = pytest.mark.usefixtures("nothing_cut")

PAGES = MAX_COLUMNS // 20


def header(i: int) -> str:
    """Column i's header, long enough to be shortened on its button, that says which it is."""
    return "Name" if i == 0 else f"extra {i:03d} " + "x" * 40


WIDE = (
    ",".join(header(i) for i in range(MAX_COLUMNS))
    + "\n"
    + ",".join("Zhang Wei" if i == 0 else f"value {i} " + "v" * 60 for i in range(MAX_COLUMNS))
    + "\n"
).encode()


def column_buttons(review: BotMessage) -> list[str]:
    return [label for label in review.button_labels if label.split(". ")[0].isdigit()]


async def test_a_wide_sheet_is_reviewed_a_page_of_columns_at_a_time(
    admin: ScriptedUser, catalogs: Catalogs
) -> None:
    review = await upload(admin, "wide.csv", WIDE)
    seen: list[str] = []
    for number in range(1, PAGES + 1):
        assert sum(len(row) for row in review.buttons) <= 100
        assert shown(catalogs, "en", "paging.position", page=number, pages=PAGES) in (
            review.button_labels
        )
        seen += column_buttons(review)
        assert f"{20 * number}. extra {20 * number - 1:03d}" in review.text
        if number < PAGES:
            review = await press(admin, review, shown(catalogs, "en", "paging.next"))
    assert [int(label.split(". ")[0]) for label in seen] == list(range(1, MAX_COLUMNS + 1))


async def test_a_column_changed_on_a_later_page_comes_back_to_that_page(
    admin: ScriptedUser, catalogs: Catalogs
) -> None:
    review = await upload(admin, "wide.csv", WIDE)
    for _ in range(2):
        review = await press(admin, review, shown(catalogs, "en", "paging.next"))
    column = await press(admin, review, "45. extra 044")
    back = await press(admin, column, shown(catalogs, "en", "import.button.ignore"))
    assert shown(catalogs, "en", "paging.position", page=3, pages=PAGES) in back.button_labels
    column = await press(admin, back, "46. extra 045")
    back = await press(admin, column, shown(catalogs, "en", "import.button.back"))
    assert shown(catalogs, "en", "paging.position", page=3, pages=PAGES) in back.button_labels


async def test_a_forged_review_page_shows_the_last_page(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    review = await upload(admin, "wide.csv", WIDE)
    (batch_id,) = batch_ids(db_url)
    await admin.press_data(pack(ImportAction("review", batch_id, 999)), review)
    last = await admin.edited(review)
    assert shown(catalogs, "en", "paging.position", page=PAGES, pages=PAGES) in last.button_labels
    assert column_buttons(last)[-1].startswith(f"{MAX_COLUMNS}. extra")


async def test_a_page_button_of_someone_elses_import_is_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await upload(admin, "wide.csv", WIDE)
    (batch_id,) = batch_ids(db_url)
    sales = await join(emu, admin, 2002, "Li Na")
    await sales.send("/help")
    mine = await sales.reply()
    forged = pack(ImportAction("review", batch_id, 1))
    assert await answered_text(emu, sales, forged, mine) == shown(
        catalogs, "en", "common.not_found"
    )
