"""/export orders end to end: CSV and XLSX of the orders the member may see (one row per
order: contract, deal, status, dates, lines, amount), by the rule of deals, formula-safe,
headers and statuses in the member's language; and /export purchases beside it still one
row per line, now with translated headers."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.export import ORDER_COLUMNS
from storage.models import Contract, Order
from storage.orders import OrderCreate, OrderLineCreate, cancel_order, create_order
from tests.e2e.helpers import shown
from tests.e2e.test_contract_lookup import (  # noqa: F401 (team: a fixture)
    LI_ID,
    SAM_ID,
    add_contract,
    hand_over,
    member,
    team,
)
from tests.e2e.test_export import export, read_csv, read_xlsx
from tests.e2e.test_order_lookup import add_order
from tests.e2e.user import ScriptedUser
from tests.factories import pk

COLUMNS = ORDER_COLUMNS[: ORDER_COLUMNS.index("currency") + 1]  # then cancel reason, owner


def add_contract_order(database: Database, owner: int, number: str) -> int:
    """An order under a new contract of `owner`'s, with a line that reads like a formula."""
    contract_id = add_contract(database, owner, "HT-2027-0001")

    def add(session: Session) -> int:
        data = OrderCreate(
            customer_id=session.get_one(Contract, contract_id).customer_id,
            contract_id=contract_id,
            ordered_on=date(2026, 11, 2),
            lines=(
                OrderLineCreate("=SUM(A1)", Decimal(2), Decimal(100)),
                OrderLineCreate("cable", Decimal(10), Decimal(30)),
            ),
            currency="CNY",
            number=number,
            delivery_due_on=date(2027, 1, 15),
        )
        return pk(create_order(session, actor=member(session, owner), data=data))

    return database.run_sync(add)


async def test_a_salesperson_exports_their_own_orders_as_csv_in_chinese(
    emu: BotApiEmulator,
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    mine = add_contract_order(database, LI_ID, "=DD-1")
    add_order(database, SAM_ID, "DD-2")
    name, content = await export(emu, li, "/export orders")
    assert name.startswith("orders-")
    assert name.endswith(".csv")
    rows = read_csv(content)
    assert rows[0][: len(COLUMNS)] == [
        shown(catalogs, "zh", f"export.column.{column}") for column in COLUMNS
    ]
    assert [row[: len(COLUMNS)] for row in rows[1:]] == [
        [
            str(mine),
            "'=DD-1",
            "张伟",
            "HT-2027-0001",
            "",
            "已下单",
            "2026-11-02",
            "2027-01-15",
            "2 × =SUM(A1) @ 100.00 = 200.00; 10 × cable @ 30.00 = 300.00",
            "500",
            "CNY",
        ]
    ]
    assert li.last_bot_message is not None
    assert li.last_bot_message.caption == shown(catalogs, "zh", "export.done.orders", count=1)


async def test_the_xlsx_export_lists_cancelled_orders_and_follows_a_reassignment(
    emu: BotApiEmulator,
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, sam = team
    order_id = add_order(database, LI_ID, "+86-DD-1")
    database.run_sync(
        lambda s: cancel_order(s, actor=member(s, LI_ID), order_id=order_id, reason="价格")
    )
    hand_over(database, order_id, SAM_ID, Order)
    _, content = await export(emu, sam, "/export orders xlsx")
    rows = read_xlsx(content)
    assert rows[0][: len(COLUMNS)] == [
        shown(catalogs, "en", f"export.column.{column}") for column in COLUMNS
    ]
    assert [row[1:6] for row in rows[1:]] == [["+86-DD-1", "张伟", "", "", "Cancelled"]]
    assert rows[1][COLUMNS.index("lines")] == "50 × X2 @ 1200.00 = 60000.00"
    assert rows[1][len(COLUMNS)] == "价格"  # the cancel reason, after the currency
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    assert sheet["B2"].data_type == "s"  # text, never a formula
    _, theirs = await export(emu, li, "/export orders")
    assert read_csv(theirs)[1:] == []
    _, purchases = await export(emu, sam, "/export purchases")
    assert read_csv(purchases)[1:] == []  # a cancelled order bought nothing
    add_order(database, LI_ID, "DD-3")
    _, everything = await export(emu, admin, "/export orders")
    assert len(read_csv(everything)) == 3


async def test_the_purchases_export_has_a_row_per_line_with_translated_headers(
    emu: BotApiEmulator,
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    add_contract_order(database, LI_ID, "DD-1")
    _, content = await export(emu, li, "/export purchases")
    rows = read_csv(content)
    assert rows[0][1:3] == [
        shown(catalogs, "zh", "export.column.order_number"),
        shown(catalogs, "zh", "export.column.order_status"),
    ]
    assert [row[1:5] for row in rows[1:]] == [
        ["DD-1", "已下单", "张伟", "'=SUM(A1)"],
        ["DD-1", "已下单", "张伟", "cable"],
    ]
