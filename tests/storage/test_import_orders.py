"""Importing orders from a spreadsheet: reading rows (lines of one order, amounts, dates,
status words in both languages), the review's counts, idempotency by order number, the
access rule on customers, contracts and numbers, failure roll-back and undo."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

import storage.imports.order_apply
from storage.contracts import ContractCreate, create_contract
from storage.db import Database
from storage.imports import BatchStatus, create_batch, review, run_batch, undo_batch
from storage.imports.apply import LeaseLost
from storage.imports.files import read_sheet
from storage.imports.models import ImportBatch
from storage.imports.order_apply import order_data
from storage.imports.order_rows import (
    ORDERS,
    OrderRow,
    group_orders,
    guess_kind,
    read_date,
    read_lines,
    read_order_row,
    read_status,
)
from storage.imports.rows import Rejected, RowRules
from storage.models import (
    Interaction,
    Member,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reminder,
    Role,
    utcnow,
)
from storage.orders import OrderCreate, OrderLineCreate, advance_order, create_order
from tests.storage.import_helpers import add_member, existing_customer, row_outcomes, start, upload

HEADER = "订单号,客户,下单日期,交货日期,状态,产品,数量,单价,金额,币种,合同号,备注\n"
TARGETS = guess_kind(HEADER.strip().split(","))[1]
TODAY = date(2026, 11, 23)
RULES = RowRules(targets=TARGETS, region="CN", day_first={}, today=TODAY)


def row(text: str) -> OrderRow:
    return read_order_row(next(csv.reader([text])), RULES, "CNY")


def rejected(text: str) -> str:
    with pytest.raises(Rejected) as caught:
        row(text)
    return caught.value.reason


def test_order_headers_make_an_orders_file_in_both_languages() -> None:
    assert guess_kind(HEADER.strip().split(","))[0] == ORDERS
    english = ["Order No.", "Customer", "Order date", "Delivery date", "Status", "Product",
               "Qty", "Unit price", "Total", "Currency", "Contract number", "Comment"]  # fmt: skip
    kind, targets = guess_kind(english)
    assert kind == ORDERS
    assert targets == TARGETS
    assert guess_kind(["姓名", "手机", "公司"])[0] == "customers"


def test_a_row_reads_amounts_dates_and_status_words() -> None:
    line = row('DD-1,Zhang Wei,2026/11/20,2026年12月1日,已发货,X2,50,"¥1,200",,,,urgent')
    assert (line.number, line.customer, line.status) == ("DD-1", "Zhang Wei", "shipped")
    assert (line.ordered_on, line.delivery_due_on) == (date(2026, 11, 20), date(2026, 12, 1))
    assert (line.product, line.quantity, line.unit_price) == ("X2", Decimal(50), Decimal(1200))
    assert (line.currency, line.comment) == ("CNY", "urgent")
    assert row("DD-2,Li,2026-11-20,,paid,,,,50万,,,").total == Decimal(500000)
    assert row("DD-3,Li,,,,Cable,10,$30,,,,").currency == "USD"
    assert row("DD-4,Li,,,,Cable,10,30,,美元,,").currency == "USD"
    for word, status in (("Delivered", "delivered"), ("已回款", "paid"), ("已确认", "confirmed"),
                         ("", "ordered"), ("新订单", "ordered")):  # fmt: skip
        assert read_status(word) == status
    assert read_date("01/12/2026", day_first=True) == date(2026, 12, 1)
    assert read_date("01/12/2026", day_first=False) == date(2026, 1, 12)
    assert read_date("01/12/2026", day_first=None) is None  # undecided: asked before the run


def test_bad_rows_say_why() -> None:
    assert rejected(",Li,,,,X,1,1,,,,") == "missing_number"
    assert rejected("DD-1,,,,,X,1,1,,,,") == "missing_customer"
    assert rejected("DD-1,Li,,,,,,,,,,") == "missing_product"
    assert rejected("DD-1,Li,,,,X,1,one hundred,,,,") == "bad_amount"
    assert rejected("DD-1,Li,,,,X,lots,1,,,,") == "bad_quantity"
    assert rejected("DD-1,Li,,,,X,1,1,,XYZ,,") == "bad_currency"
    assert rejected("DD-1,Li,,,,X,1,$1,,CNY,,") == "bad_currency"
    assert rejected("DD-1,Li,,,lost,X,1,1,,,,") == "bad_status"
    for lines in ("0 × X2 @ 5", "X" * 201):  # an export's Lines cell: no zero, no novel
        with pytest.raises(Rejected, match="bad_lines"):
            read_lines(lines)
    assert rejected("DD-1,Li,,2026-11-01,shipped,X,1,1,,,,") == "delivery_past"
    gone = row("DD-1,Li,,2026-11-01,已取消,X,1,1,,,,")  # a past promise of a cancelled one
    assert (gone.status, gone.cancel_reason) == ("cancelled", None)  # no reason column
    assert rejected("DD-1,Li,2026-13-40,,,X,1,1,,,,") == "bad_date"
    assert row("DD-1,Li,,2026-11-01,paid,X,1,1,,,,").status == "paid"  # delivered already
    assert rejected("DD-1,Li,2026-11-25,2026-11-24,,X,1,1,,,,") == "bad_delivery_date"


def test_rows_with_one_number_are_the_lines_of_one_order() -> None:
    rows = [
        (1, row("DD-1,Zhang Wei,2026-11-20,,,X2,50,1200,,,,")),
        (2, row("DD-2,Li Na,2026-11-20,,,Desk,1,,800,,,")),
        (3, row("dd-1,zhang wei,,,,Cable,10,30,,,,")),
        (4, row("DD-1,Li Na,,,,Mouse,1,1,,,,")),  # another customer: not guessed
    ]
    groups, mismatched = group_orders(rows)
    assert [[n for n, _ in g.rows] for g in groups] == [[1, 3], [2]]
    assert mismatched == [4]
    data = order_data(groups[0], customer_id=7, contract_id=None, today=TODAY)
    assert [(line.product, line.line_amount) for line in data.lines] == [
        ("X2", Decimal("60000.00")),
        ("Cable", Decimal("300.00")),
    ]
    assert (data.order_total, data.currency, data.ordered_on) == (
        Decimal("60300.00"),
        "CNY",
        date(2026, 11, 20),
    )
    desk = order_data(groups[1], customer_id=7, contract_id=None, today=TODAY)
    assert desk.lines[0].line_amount == Decimal("800.00")  # the row's total is its amount


def orders_csv(*rows: str) -> bytes:
    return (HEADER + "".join(f"{r}\n" for r in rows)).encode("utf-8")


def orders_of(db: Database) -> dict[str, tuple[int, str, str | None, list[str]]]:
    """number -> customer, status, total, products of the live orders."""

    def read(session: Session) -> dict[str, tuple[int, str, str | None, list[str]]]:
        found = {}
        for order in session.exec(select(Order).where(col(Order.deleted_at).is_(None))):
            lines = session.exec(
                select(OrderLine.product)
                .where(OrderLine.order_id == order.id)
                .order_by(col(OrderLine.position))
            ).all()
            total = f"{order.total:.2f}" if order.total is not None else None
            found[order.number] = (order.customer_id, order.status, total, list(lines))
        return found

    return db.read_sync(read)


def run(db: Database, actor: Member, content: bytes) -> int:
    batch_id = upload(db, actor, content)
    start(db, actor, batch_id)
    run_batch(db, batch_id=batch_id, worker="test")
    return batch_id


def future(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


FILE = orders_csv(
    f'DD-1,Old Name,2026-11-20,{future(10)},已确认,X2,50,"¥1,200",,,,first',
    "DD-1,Old Name,,,,Cable,10,30,,,,",
    "DD-2,+86 138 0013 8000,2026-11-21,,paid,,,,50万,,,",
    "DD-3,Nobody,2026-11-21,,,Desk,1,800,,,,",
    "DD-4,OldCo,2026-11-21,,delivered,Chair,2,100,,,ht-9,",  # a contract number in any case
)


def test_orders_are_made_through_create_order_and_a_second_import_makes_none(
    db: Database,
) -> None:
    sales = add_member(db)
    customer = existing_customer(db, sales)

    def contract(session: Session) -> None:
        data = ContractCreate(customer_id=customer, number="HT-9", title="Chairs")
        create_contract(session, actor=session.get_one(Member, sales.id), data=data)

    db.run_sync(contract)
    batch_id = upload(db, sales, FILE)
    found = db.read_sync(review, actor=sales, batch_id=batch_id)
    assert (found.orders, found.already_imported, found.rejected) == (3, 0, 1)
    assert [p.problem for p in found.preview] == [None, None, None, "unknown_customer", None]
    start(db, sales, batch_id)
    done = run_batch(db, batch_id=batch_id, worker="test")
    assert (done.status, done.created_count, done.rejected_count) == (BatchStatus.DONE, 3, 1)
    assert orders_of(db) == {
        "DD-1": (customer, "confirmed", "60300.00", ["X2", "Cable"]),
        "DD-2": (customer, "paid", "500000.00", []),
        "DD-4": (customer, "delivered", "200.00", ["Chair"]),
    }
    assert row_outcomes(db, batch_id)[3] == (4, "rejected", "unknown_customer")

    def made(session: Session) -> tuple[list[str | None], int, int | None]:
        first = session.exec(select(Order).where(Order.number == "DD-1")).one()
        comments = session.exec(
            select(OrderStatusChange.comment).where(OrderStatusChange.order_id == first.id)
        ).all()
        reminders = session.exec(select(Reminder).where(Reminder.order_id == first.id)).all()
        return list(comments), len(reminders), first.import_batch_id

    assert db.read_sync(made) == (["first"], 1, batch_id)  # history, delivery reminder, batch
    again = upload(db, sales, FILE)
    second = db.read_sync(review, actor=sales, batch_id=again)
    assert (second.orders, second.already_imported, second.rejected) == (0, 4, 1)
    start(db, sales, again)
    done = run_batch(db, batch_id=again, worker="test")
    assert (done.created_count, done.skipped_count) == (0, 4)
    assert len(orders_of(db)) == 3


def test_another_salespersons_customer_and_order_number_are_refused_alike(
    db: Database,
) -> None:
    sam, ann = add_member(db), add_member(db)
    sams = existing_customer(db, sam)

    def sams_order(session: Session) -> None:
        line = OrderLineCreate("X", Decimal(1), Decimal(1))
        data = OrderCreate(
            customer_id=sams, ordered_on=TODAY, number="DD-7", lines=(line,), currency="CNY"
        )
        create_order(session, actor=session.get_one(Member, sam.id), data=data)

    db.run_sync(sams_order)
    batch_id = run(db, ann, orders_csv("DD-8,Old Name,,,,X,1,1,,,,", "dd-7,Ann's,,,,X,1,1,,,,"))
    assert [reason for *_, reason in row_outcomes(db, batch_id)] == [
        "unknown_customer",  # Sam's customer: not found, not named
        "number_taken",  # Sam's order number in any case: not "exists", nothing of it shown
    ]
    assert set(orders_of(db)) == {"DD-7"}
    manager = add_member(db, Role.ADMIN)
    batch_id = run(db, manager, orders_csv("dd-7,Old Name,,,,X,1,1,,,,"))
    assert row_outcomes(db, batch_id) == [(1, "skipped", "order_exists")]


def test_a_failed_run_leaves_no_order_and_undo_archives_the_untouched_ones(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales = add_member(db)
    existing_customer(db, sales)
    content = orders_csv("DD-1,Old Name,,,,X,1,1,,,,", "DD-2,Old Name,,,,Y,1,1,,,,")
    monkeypatch.setattr(storage.imports.order_apply, "CHUNK_ORDERS", 1)
    real = storage.imports.order_apply.order_data

    def second_fails(group, *args, **kw):  # type: ignore[no-untyped-def]
        if group.first.number == "DD-2":
            raise RuntimeError("disk full")
        return real(group, *args, **kw)

    monkeypatch.setattr(storage.imports.order_apply, "order_data", second_fails)
    failed = run(db, sales, content)
    assert db.read_sync(lambda s: s.get_one(ImportBatch, failed).status) == BatchStatus.FAILED
    assert orders_of(db) == {}
    monkeypatch.setattr(storage.imports.order_apply, "order_data", real)
    batch_id = run(db, sales, content)
    assert set(orders_of(db)) == {"DD-1", "DD-2"}

    def move_on(session: Session) -> None:
        order = session.exec(select(Order).where(Order.number == "DD-2")).one()
        member = session.get_one(Member, sales.id)
        advance_order(session, actor=member, order_id=order.id or 0, status=OrderStatus.CONFIRMED)

    db.run_sync(move_on)
    result = db.run_sync(
        undo_batch, actor=sales, batch_id=batch_id, now=utcnow(), undo_period=timedelta(hours=1)
    )
    assert (result.removed, result.changed) == (1, 1)
    assert set(orders_of(db)) == {"DD-2"}


def test_a_run_stopped_after_a_chunk_resumes_without_doubling(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales = add_member(db)
    existing_customer(db, sales)
    monkeypatch.setattr(storage.imports.order_apply, "CHUNK_ORDERS", 1)
    content = orders_csv("DD-1,Old Name,,,,X,1,1,,,,", "DD-2,Old Name,,,,Y,1,1,,,,", "DD-3,x,,,,")
    batch_id = upload(db, sales, content)
    start(db, sales, batch_id)

    def stop(_batch: ImportBatch) -> None:
        raise LeaseLost("stopping")

    stopped = run_batch(db, batch_id=batch_id, worker="a", progress=stop)
    assert (stopped.status, stopped.processed_rows) == (BatchStatus.RUNNING, 1)
    done = run_batch(db, batch_id=batch_id, worker="b")
    assert (done.status, done.created_count, done.rejected_count) == (BatchStatus.DONE, 2, 1)
    assert set(orders_of(db)) == {"DD-1", "DD-2"}
    assert [n for n, *_ in row_outcomes(db, batch_id)] == [1, 2, 3]


def test_another_crms_extra_columns_in_an_orders_file_go_nowhere_not_to_a_note(
    db: Database,
) -> None:
    """An orders file keeps today's behaviour beside the customers' notes: an owner, created
    or unknown column fills no order field and writes no note; the batch holds both kinds'
    settings."""
    sales = add_member(db)
    customer = existing_customer(db, sales)
    header = "Order No.,Customer,Product,Total,Order owner,Created,Region\n"
    content = (header + "DD-9,Old Name,Desk,800,Zhang Wei,2026-01-02,North\n").encode()
    batch_id = upload(db, sales, content)
    found = db.read_sync(review, actor=sales, batch_id=batch_id)
    assert found.kind == ORDERS
    assert found.targets == ["number", "customer", "product", "total", None, None, None]
    assert found.noted_columns == []
    assert {"kind", "currency", "timezone", "note_heading", "dropped"} <= set(found.batch.settings)
    start(db, sales, batch_id)
    done = run_batch(db, batch_id=batch_id, worker="test")
    assert (done.status, done.created_count) == (BatchStatus.DONE, 1)
    assert orders_of(db) == {"DD-9": (customer, "ordered", "800.00", ["Desk"])}

    def notes(session: Session) -> int:
        query = select(Interaction).where(Interaction.customer_id == customer)
        return len(session.exec(query).all())

    assert db.read_sync(notes) == 0


def test_cancelled_orders_of_an_export_import_with_their_reason_or_the_batchs(
    db: Database,
) -> None:
    """The bot's own export lists cancelled orders with a "Cancel reason" column: they come
    back cancelled with it, never reminded of; a file without one gives the batch's reason
    (the uploader's language), or `crm-bot import`'s English one."""
    sales = add_member(db)
    customer = existing_customer(db, sales)
    exported = (
        "Order number,Customer,Order status,Order date,Delivery date,Amount,Currency,"
        "Cancel reason\n"
        f"DD-1,Old Name,Cancelled,2026-11-20,{future(5)},1200,CNY,customer went elsewhere\n"
        "DD-2,Old Name,Cancelled,2026-11-20,2026-11-21,800,CNY,\n"
        "DD-3,Old Name,Paid,2026-11-20,,500,CNY,not a cancelled one's\n"
    )
    run(db, sales, exported.encode())
    chinese = "订单号,客户,状态,金额\nDD-4,Old Name,已取消,300\n".encode()
    table = read_sheet(chinese, "orders.csv", max_rows=10)
    batch = db.run_sync(
        create_batch, actor=sales, owner_id=sales.id, chat_id=None, file_name="orders.csv",
        content=chinese, table=table, region="CN", cancel_reason="导入前已取消",
    )  # fmt: skip
    start(db, sales, batch.id)
    run_batch(db, batch_id=batch.id, worker="test")

    def made(session: Session) -> dict[str, tuple[str, str | None, str | None, int]]:
        found = {}
        for order in session.exec(select(Order)):
            comment = session.exec(
                select(OrderStatusChange.comment).where(OrderStatusChange.order_id == order.id)
            ).one()
            reminders = list(session.exec(select(Reminder).where(Reminder.order_id == order.id)))
            found[order.number] = (order.status, order.cancel_reason, comment, len(reminders))
        return found

    assert db.read_sync(made) == {
        "DD-1": ("cancelled", "customer went elsewhere", "customer went elsewhere", 0),
        "DD-2": ("cancelled", "cancelled before import", "cancelled before import", 0),
        "DD-3": ("paid", None, None, 0),
        "DD-4": ("cancelled", "导入前已取消", "导入前已取消", 0),
    }
    assert orders_of(db)["DD-1"][0] == customer
    with pytest.raises(ValueError, match="has a reason"):
        OrderCreate(customer_id=customer, ordered_on=TODAY, total=Decimal(1), currency="CNY",
                    status=OrderStatus.CANCELLED)  # fmt: skip
