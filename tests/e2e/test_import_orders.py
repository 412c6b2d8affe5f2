"""Importing orders through the chat: an XLSX of orders reviewed (its columns, the preview
with the new, existing and rejected counts and the column it does not import), started, the
orders on the customer card, the unknown customer's row in the error file, the same file again
adding nothing, and the undo.
The row reading, idempotency and scope variants are in tests/storage/test_import_orders.py.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import Workbook

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.models import Order, OrderLine
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_flow import add_customer, today
from tests.e2e.test_import import finish, press, to_preview, upload
from tests.e2e.test_order_card import add_order
from tests.e2e.user import ScriptedUser

HEADERS = ["Order number", "Customer", "Order date", "Promised delivery date", "Status",
           "Product", "Qty", "Unit price", "Total", "Comment", "Order owner"]  # fmt: skip


def orders_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS)
    ordered, due = today() - timedelta(days=2), today() + timedelta(days=30)
    sheet.append(
        ["DD-100", "Zhang Wei", ordered, due, "confirmed", "X2", 50, "¥1,200", None, "rush", "Li"]
    )
    sheet.append(["DD-100", "Zhang Wei", None, None, None, "Cable", 10, 30, None, None])
    sheet.append(["DD-101", 13800138000, ordered, None, "已回款", None, None, None, "5万", None])
    sheet.append(["DD-102", "Nobody", ordered, None, None, "Desk", 1, 800, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def live_orders(db_url: str) -> dict[str, tuple[str, str | None, list[str]]]:
    lines = rows(db_url, OrderLine)
    return {
        o.number: (
            o.status,
            f"{o.total:.2f}" if o.total is not None else None,
            [
                line.product
                for line in sorted(lines, key=lambda x: x.position)
                if line.order_id == o.id
            ],
        )
        for o in rows(db_url, Order)
        if o.deleted_at is None
    }


async def test_an_xlsx_of_orders_is_reviewed_imported_once_and_undone(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    review = await upload(admin, "orders.xlsx", orders_xlsx())
    assert "1. Order number → Order number (DD-100)" in review.text
    assert "2. Customer → Customer (name, phone or company) (Zhang Wei)" in review.text
    preview = await to_preview(admin, review)
    assert "Row 2: Order number: DD-100 · Customer (name, phone or company): Zhang Wei" in (
        preview.text
    )
    assert (
        shown(
            catalogs,
            "en",
            "import.preview.order_counts",
            total=4,
            orders=2,
            existing=0,
            rejected=1,
        )
        in preview.text
    )
    unknown = shown(catalogs, "en", "import.reason.unknown_customer")
    assert shown(catalogs, "en", "import.preview.problem", reason=unknown) in preview.text
    assert "✓ Skip them" not in preview.button_labels  # numbers decide, not a duplicate mode
    # another CRM's column an order has no field for: named, not put in a note
    ignored = shown(catalogs, "en", "import.preview.order_ignored", columns="Order owner")
    assert ignored in preview.text
    result = await finish(admin, preview)
    assert result.text.splitlines()[:4] == [
        "✅ orders.xlsx imported.",
        "Orders created: 2",
        "Rows skipped (orders already there): 0",
        "Rows rejected: 1",
    ]
    document = await admin.reply()
    assert document.document is not None
    table = list(
        csv.reader(
            io.StringIO(emu.state.files[document.document.file_id].content.decode("utf-8-sig"))
        )
    )
    assert [(r[0], r[-1]) for r in table[1:]] == [("DD-102", unknown)]
    assert live_orders(db_url) == {
        "DD-100": ("confirmed", "60300.00", ["X2", "Cable"]),
        "DD-101": ("paid", "50000.00", []),
    }
    await admin.send(f"/customer {customer}")
    card = await admin.reply()
    assert {"📦 DD-100", "📦 DD-101"} <= set(card.button_labels)

    again = await to_preview(admin, await upload(admin, "orders.xlsx", orders_xlsx()))
    assert (
        shown(
            catalogs,
            "en",
            "import.preview.order_counts",
            total=4,
            orders=0,
            existing=3,
            rejected=1,
        )
        in again.text
    )
    second = await finish(admin, again)
    assert "Orders created: 0" in second.text
    await admin.reply()  # the unknown customer's row again
    assert len(live_orders(db_url)) == 2

    await admin.press("↩ Undo this import", message=result)
    ask = await admin.reply()
    assert ask.text == shown(
        catalogs, "en", "import.undo.ask_orders", file="orders.xlsx", created=2
    )
    done = await press(admin, ask, "Yes, undo it")
    assert done.text == shown(
        catalogs, "en", "import.undo.done_orders", file="orders.xlsx", removed=2
    )
    assert live_orders(db_url) == {}


async def test_another_salespersons_customer_and_order_number_are_refused_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    li = await join(emu, admin, 2003, "李娜", language_code="zh-hans")
    add_order(db_url, sam, add_customer(db_url, sam, "王芳", "+8613700137000"), "DD-7")
    add_customer(db_url, li, "张伟", "+8613800138000")
    content = "订单号,客户,状态,产品,数量,单价\nDD-8,张伟,已发货,叉车,2,5万\nDD-7,张伟,,叉车,1,1\n"
    content += "DD-9,王芳,,叉车,1,1\n"
    preview = await to_preview(li, await upload(li, "订单.csv", content.encode("gbk")), "zh")
    assert "订单状态：已发货" in preview.text
    assert (
        shown(
            catalogs,
            "zh",
            "import.preview.order_counts",
            total=3,
            orders=1,
            existing=0,
            rejected=2,
        )
        in preview.text
    )
    for reason in ("number_taken", "unknown_customer"):  # Sam's: nothing of it is shown
        said = shown(catalogs, "zh", f"import.reason.{reason}")
        assert shown(catalogs, "zh", "import.preview.problem", reason=said) in preview.text
    result = await finish(li, preview, "zh")
    assert result.text.splitlines()[1] == "新建订单：1"
    assert set(live_orders(db_url)) == {"DD-7", "DD-8"}
