"""Spreadsheet rows -> orders: which column is what, one row read, the rows of one order.

An orders file is told from a customers file by its headers (`guess_kind`): an order number
and a customer column make it one. Each cell is read like a typed answer: amounts by the
deals' parser ("¥1,200", "50万", "120k"), the currency by its code, sign or name, a status by
its code or a word in English or Chinese ("shipped", "已发货"), dates as ISO, "2026/12/01",
"2026年12月1日", or "01/12/2026" once the column's day order is known. Pure and
database-free, so the review and the run read rows alike; the customer, the contract and
whether the number exists are looked up by `storage.imports.order_apply`.

Several rows with the same order number are the lines of one order (`group_orders`): the
first row gives the customer, dates, status, currency and contract; a later line naming
another customer or currency is rejected rather than guessed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from storage.export import undefuse
from storage.imports.mapping import CUSTOMERS, ORDERS, TARGETS, Vocabulary, fold, kind_of
from storage.imports.rows import Rejected, RowRules
from storage.order_lines import parse_currency
from storage.orders import OrderLineCreate, delivery_due_problem, line_text
from storage.parsing import MAX_LENGTHS, ParseError, clean_text, parse_amount, parse_quantity

ORDER_TARGETS: tuple[str, ...] = (
    "number",
    "customer",
    "ordered_on",
    "delivery_due_on",
    "status",
    "product",
    "quantity",
    "unit_price",
    "total",
    "currency",
    "contract",
    "comment",
    "cancel_reason",
    "lines",
)
"""Order fields an import can fill; `customer` is matched to an existing customer by name,
phone or company, `contract` by its number. New ones go last: a column button names its
target by index."""

ALL_TARGETS = (*TARGETS, *ORDER_TARGETS)  # what a column button names, by index

REASONS: tuple[str, ...] = (
    "missing_number",
    "missing_customer",
    "missing_product",
    "bad_amount",
    "bad_quantity",
    "bad_currency",
    "bad_status",
    "bad_lines",
    "bad_delivery_date",
    "delivery_past",
    "unknown_customer",
    "ambiguous_customer",
    "unknown_contract",
    "number_taken",
    "order_mismatch",
    "order_exists",
)
"""Every reason of an orders import's rows: all but the last reject a row, `order_exists`
skips it (the order was imported or entered before)."""

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": (
        "order number", "order no", "order no.", "order #", "order id", "order", "po number",
        "订单号", "订单编号", "单号", "订单", "销售单号",
    ),
    "customer": (
        "customer", "client", "buyer", "account", "customer name", "client name", "company",
        "客户", "客户名称", "客户姓名", "购买方", "买方", "采购方",
    ),
    "ordered_on": (
        "order date", "ordered on", "date", "date ordered", "下单日期", "订单日期", "下单时间",
        "日期",
    ),
    "delivery_due_on": (
        "delivery date", "promised delivery", "promised delivery date", "delivery promised",
        "due date", "deliver by",
        "交货日期", "交期", "承诺交期", "送货日期", "到货日期", "约定交期",
    ),
    "status": ("status", "order status", "state", "状态", "订单状态"),
    "product": (
        "product", "item", "product name", "goods", "sku", "description", "产品", "商品",
        "产品名称", "商品名称", "品名", "货品",
    ),
    "quantity": ("quantity", "qty", "units", "数量", "件数", "订购数量"),
    "unit_price": ("unit price", "price", "price each", "单价", "价格", "含税单价"),
    "total": (
        "total", "amount", "total amount", "line total", "sum", "金额", "总价", "总额", "合计",
        "订单金额", "小计",
    ),
    "currency": ("currency", "币种", "货币"),
    "contract": ("contract", "contract number", "contract no", "合同", "合同号", "合同编号"),
    "comment": ("comment", "comments", "note", "notes", "remark", "remarks", "备注", "说明"),
    "cancel_reason": (
        "cancel reason", "cancellation reason", "reason", "why cancelled", "取消原因", "作废原因",
    ),
    "lines": ("lines", "order lines", "line items", "订单明细", "明细"),
}  # fmt: skip
_EXACT_ONLY = {"客户", "订单", "日期", "金额", "状态", "合同", "价格", "单号", "说明", "order"}
ORDER_WORDS = Vocabulary.of(
    _SYNONYMS, _EXACT_ONLY, re.compile(r"owner|负责人|所有人|创建人|created|创建时间")
)

_STATUSES: dict[str, str] = {
    "ordered": "ordered", "new": "ordered", "open": "ordered", "已下单": "ordered",
    "下单": "ordered", "新订单": "ordered", "待确认": "ordered",
    "confirmed": "confirmed", "已确认": "confirmed", "确认": "confirmed",
    "shipped": "shipped", "sent": "shipped", "已发货": "shipped", "发货": "shipped",
    "已发出": "shipped",
    "delivered": "delivered", "received": "delivered", "已签收": "delivered",
    "签收": "delivered", "已送达": "delivered", "已交付": "delivered", "已到货": "delivered",
    "paid": "paid", "已付款": "paid", "已回款": "paid", "回款": "paid", "已收款": "paid",
    "已结清": "paid", "完成": "paid",
    "cancelled": "cancelled", "canceled": "cancelled", "已取消": "cancelled", "取消": "cancelled",
    "已作废": "cancelled", "作废": "cancelled",
}  # fmt: skip
_T = TypeVar("_T")
_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
_ZH_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?")
_SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


def targets_of(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The fields a batch's columns may go to."""
    return ORDER_TARGETS if kind_of(settings) == ORDERS else TARGETS


def guess_kind(headers: Sequence[str]) -> tuple[str, list[str | None]]:
    """ORDERS with the order columns guessed when there is an order number and a customer
    column, else CUSTOMERS (the caller guesses the customer columns)."""
    targets = ORDER_WORDS.guess(headers)
    if {"number", "customer"} <= set(targets):
        return ORDERS, targets
    return CUSTOMERS, []


@dataclass(frozen=True)
class OrderRow:
    """A readable row: its order's fields and its line (product, quantity, price, amount)."""

    number: str
    customer: str
    ordered_on: date | None
    delivery_due_on: date | None
    status: str
    product: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    total: Decimal | None
    currency: str | None
    contract: str | None
    comment: str | None
    cancel_reason: str | None  # a cancelled order's, from the file
    lines: tuple[OrderLineCreate, ...]  # an export's "Lines" cell, all lines in one
    display: dict[str, str]
    fingerprint: str


@dataclass
class OrderGroup:
    """The rows of one order number, in file order: (row number, row)."""

    rows: list[tuple[int, OrderRow]] = field(default_factory=list)

    @property
    def first(self) -> OrderRow:
        return self.rows[0][1]


def _text(value: str, limit: int) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        raise Rejected("too_long")
    return cleaned


def read_date(value: str, day_first: bool | None) -> date | None:
    """A cell's date; None for an undecided "a/b/yyyy" (the run cannot start until it is
    decided). Rejected("bad_date") when it is no date."""
    match = _ISO.fullmatch(value) or _ZH_DATE.fullmatch(value)
    if match is not None:
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    elif (match := _SLASHED.fullmatch(value)) is not None:
        if day_first is None:
            return None
        first, second = int(match[1]), int(match[2])
        year, (day, month) = int(match[3]), (first, second) if day_first else (second, first)
    else:
        raise Rejected("bad_date")
    try:
        return date(year, month, day)
    except ValueError:
        raise Rejected("bad_date") from None


def _read(parsed: _T | ParseError, reason: str) -> _T:
    """A parser's value, or the row rejected with `reason`."""
    if isinstance(parsed, ParseError):
        raise Rejected(reason)
    return parsed


def read_money(value: str, currency: str) -> tuple[Decimal, str]:
    """An amount and its currency: the sign's or word's ("¥1,200", "50万元"), else `currency`."""
    money = _read(parse_amount(value, default_currency=currency), "bad_amount")
    return money.amount, money.currency


def read_status(value: str) -> str:
    """An order status from its code or a word for it, English or Chinese; empty: ordered.
    A cancelled order keeps the file's cancel reason, else the batch's default one."""
    if not value:
        return "ordered"
    status = _STATUSES.get(fold(value))
    if status is None:
        raise Rejected("bad_status")
    return status


_NUMBER = r"\d[\d,]*(?:\.\d+)?"
# A line as `line_text` writes it: "50 × X2 @ 1200.00 = 60000.00", "X2 = 500.00", "cable".
_LINE = re.compile(
    rf"(?:(?P<qty>{_NUMBER})\s*[×xX*]\s+)?(?P<product>.+?)"
    rf"(?:\s+@\s*(?P<price>{_NUMBER}))?(?:\s*=\s*(?P<amount>{_NUMBER}))?"
)


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text.replace(",", "")) if text else None


def read_lines(value: str) -> tuple[OrderLineCreate, ...]:
    """The lines of an order in one cell, as the export of orders writes them and separates
    them ("50 × X2 @ 1200.00 = 60000.00; X2 = 500.00; cable"); strictly that form, so a
    product named "iPhone 15" stays whole. Rejected("bad_lines") for anything else."""
    lines: list[OrderLineCreate] = []
    for item in filter(None, (part.strip() for part in value.split(";"))):
        match = _LINE.fullmatch(item)
        if match is None or len(match["product"]) > 200:
            raise Rejected("bad_lines")
        quantity, price = _decimal(match["qty"]), _decimal(match["price"])
        try:
            lines.append(
                OrderLineCreate(
                    product=match["product"],
                    quantity=quantity,
                    unit_price=price,
                    amount=None if quantity and price is not None else _decimal(match["amount"]),
                )
            )
        except ValueError:  # a quantity of 0
            raise Rejected("bad_lines") from None
    return tuple(lines)


def read_order_row(cells: Sequence[str], rules: RowRules, currency: str) -> OrderRow:
    """One row of an orders file as it will be stored; raises Rejected with a reason."""
    cells = [undefuse(clean_text(cell)) for cell in cells]
    by: dict[str, tuple[int, str]] = {
        target: (i, cells[i]) for i, target in enumerate(rules.targets) if target and cells[i]
    }

    def cell(target: str) -> str:
        return by.get(target, (0, ""))[1]

    number = _text(cell("number"), 64)
    if not number:
        raise Rejected("missing_number")
    customer = _text(cell("customer"), MAX_LENGTHS["name"])
    if not customer:
        raise Rejected("missing_customer")
    dates: dict[str, date | None] = {}
    for target in ("ordered_on", "delivery_due_on"):
        column, value = by.get(target, (0, ""))
        dates[target] = read_date(value, rules.day_first.get(column)) if value else None
    code = _read(parse_currency(cell("currency")), "bad_currency") if cell("currency") else None
    amounts: dict[str, Decimal | None] = {}
    for target in ("unit_price", "total"):
        amounts[target] = None
        if cell(target):
            amount, sign = read_money(cell(target), code or currency)
            if code is not None and sign != code:  # "USD" beside "¥1,200"
                raise Rejected("bad_currency")
            code, amounts[target] = sign, amount
    quantity = (
        _read(parse_quantity(cell("quantity")), "bad_quantity") if cell("quantity") else None
    )
    status = read_status(cell("status"))
    reason = _text(cell("cancel_reason"), 500) if status == "cancelled" else ""
    if (due := dates["delivery_due_on"]) is not None:
        problem = delivery_due_problem(
            due=due, ordered_on=dates["ordered_on"], status=status, today=rules.today
        )
        if problem is not None:
            raise Rejected("delivery_past" if problem == "past" else "bad_delivery_date")
    product = _text(cell("product"), 200) or None
    if product is None and (quantity is not None or amounts["unit_price"] is not None):
        raise Rejected("missing_product")
    lines = read_lines(cell("lines"))
    if product is None and amounts["total"] is None and not lines:
        raise Rejected("missing_product")
    priced = (
        amounts["total"] is not None
        or amounts["unit_price"] is not None
        or any(line.line_amount is not None for line in lines)
    )
    code = code or (currency if priced else None)
    values = {
        "number": number,
        "customer": customer,
        **{k: v.isoformat() for k, v in dates.items() if v is not None},
        "status": status,
        **({"product": product} if product else {}),
        **({"quantity": f"{quantity.normalize():f}"} if quantity is not None else {}),
        **{k: f"{v:,.2f}" for k, v in amounts.items() if v is not None},
        **({"currency": code} if priced and code else {}),
        **({"contract": _text(cell("contract"), 64)} if cell("contract") else {}),
        **({"comment": _text(cell("comment"), 500)} if cell("comment") else {}),
        **({"cancel_reason": reason} if status == "cancelled" and reason else {}),
        **({"lines": "; ".join(line_text(line) for line in lines)} if lines else {}),
    }
    digest = hashlib.sha256(
        "\x1f".join(f"{t}={values[t]}" for t in sorted(values)).encode()
    ).hexdigest()
    return OrderRow(
        number=number,
        customer=customer,
        ordered_on=dates["ordered_on"],
        delivery_due_on=dates["delivery_due_on"],
        status=values["status"],
        product=product,
        quantity=quantity,
        unit_price=amounts["unit_price"],
        total=amounts["total"],
        currency=values.get("currency"),
        contract=values.get("contract"),
        comment=values.get("comment"),
        cancel_reason=values.get("cancel_reason"),
        lines=lines,
        display=values,
        fingerprint=digest,
    )


def group_orders(rows: Sequence[tuple[int, OrderRow]]) -> tuple[list[OrderGroup], list[int]]:
    """The orders of the readable rows, each with its lines in file order (first seen first),
    and the row numbers of lines that name another customer or currency than their order's
    first row (`order_mismatch`)."""
    groups: dict[str, OrderGroup] = {}
    mismatched: list[int] = []
    for number, row in rows:
        group = groups.setdefault(row.number.casefold(), OrderGroup())
        if group.rows and (
            fold(row.customer) != fold(group.first.customer)
            or (row.currency and group.first.currency and row.currency != group.first.currency)
        ):
            mismatched.append(number)
            continue
        group.rows.append((number, row))
    return list(groups.values()), mismatched
