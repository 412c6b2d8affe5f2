"""/export contracts end to end: CSV and XLSX of the contracts the member may see, by the
rule of deals, formula-safe, headers and statuses in the member's language."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Contract
from tests.e2e.helpers import shown
from tests.e2e.test_contract_lookup import LI_ID, SAM_ID, add_contract, hand_over, team
from tests.e2e.test_export import export, read_csv, read_xlsx
from tests.e2e.user import ScriptedUser

__all__ = ["team"]  # the fixture, shared with the lookup tests

COLUMNS = ("id", "contract_number", "customer", "title", "contract_status", "amount")


def retitle(database: Database, contract_id: int, title: str) -> None:
    def change(session: Session) -> None:
        session.get_one(Contract, contract_id).title = title

    database.run_sync(change)


async def test_a_salesperson_exports_their_own_contracts_as_csv_in_chinese(
    emu: BotApiEmulator,
    team: tuple[ScriptedUser, ScriptedUser],
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    mine = add_contract(database, LI_ID, "HT-2027-0001")
    retitle(database, mine, '=HYPERLINK("http://x")')
    add_contract(database, SAM_ID, "HT-2027-0002")
    name, content = await export(emu, li, "/export contracts")
    assert name.startswith("contracts-")
    assert name.endswith(".csv")
    rows = read_csv(content)
    assert rows[0][: len(COLUMNS)] == [
        shown(catalogs, "zh", f"export.column.{column}") for column in COLUMNS
    ]
    assert [row[:5] for row in rows[1:]] == [
        [str(mine), "HT-2027-0001", "张伟", '\'=HYPERLINK("http://x")', "生效中"]
    ]
    assert li.last_bot_message is not None
    assert li.last_bot_message.caption == shown(catalogs, "zh", "export.done.contracts", count=1)


async def test_the_xlsx_export_follows_a_reassignment_and_is_text_in_english(
    emu: BotApiEmulator,
    team: tuple[ScriptedUser, ScriptedUser],
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, sam = team
    contract_id = add_contract(database, LI_ID, "+86-HT-1")
    hand_over(database, contract_id, SAM_ID)
    _, content = await export(emu, sam, "/export contracts xlsx")
    rows = read_xlsx(content)
    assert rows[0][: len(COLUMNS)] == [
        shown(catalogs, "en", f"export.column.{column}") for column in COLUMNS
    ]
    assert [row[1:5] for row in rows[1:]] == [
        ["+86-HT-1", "张伟", "叉车维保 Forklift service", "Active"]
    ]
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    assert sheet["B2"].data_type == "s"  # text, never a formula
    _, theirs = await export(emu, li, "/export contracts")
    assert read_csv(theirs)[1:] == []
    _, everything = await export(emu, admin, "/export contracts")
    assert len(read_csv(everything)) == 2
