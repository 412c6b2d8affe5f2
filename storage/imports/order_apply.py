"""An orders import: what each order of the file would do (the review) and doing it (the run).

Every order goes through `storage.orders.create_order` as the importer (its access rule,
validation, lines, first status with the comment, audit and webhook event, delivery
reminder), marked with the batch. The customer is one the importer may see, matched by phone,
else by name, else by company; none is `unknown_customer`, several `ambiguous_customer`. A
contract number must be one of that customer's contracts the importer may see. The order
number keeps it idempotent: an order the importer may see with that number skips the order's
rows (`order_exists`, counted in the review), and a number taken by an order they may not see
is rejected with a reason that names nobody (`number_taken`), as /order refuses it.

The run writes a chunk of whole orders per transaction and records every row (`import_row`,
the order's id in `before`), so a resumed run skips the rows already recorded. A run that
fails is rolled back by `roll_back_orders`: the orders it made are deleted with their lines,
history, reminders and audit, and a webhook receiver hears they are gone. The undo archives
the batch's orders nobody moved on since (`undo_orders`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.access import NotFound, contract_scope, order_scope, owner_scope
from storage.db import Database
from storage.imports.models import ImportBatch, ImportRow, RowOutcome
from storage.imports.order_rows import OrderGroup, OrderRow, group_orders, read_order_row
from storage.imports.rows import Rejected, RowRules
from storage.imports.store import IMPORT_ROW, bulk_insert
from storage.models import (
    AuditEntry,
    Contract,
    Customer,
    CustomerPhone,
    Member,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reminder,
    utcnow,
)
from storage.numbering import fold_number
from storage.orders import (
    DuplicateNumber,
    OrderCreate,
    OrderLineCreate,
    archive_order,
    create_order,
)
from storage.parsing import ParseError, parse_phones
from storage.webhooks import record_removed

# Orders per write transaction: `create_order` takes ~10 ms an order on SQLite (its audit,
# webhook outbox and the customer's last contact), so another member's write waits ~0.3 s.
CHUNK_ORDERS = 30
# A cancelled order's reason when the file gives none: the batch's `cancel_reason` setting
# (the uploader's language), this for `crm-bot import`.
CANCELLED_BEFORE_IMPORT = "cancelled before import"
_PHONE_LIKE = set("+0123456789 -()")


@dataclass(frozen=True)
class Plan:
    """What the file does: the orders to make, with their customer and contract, and each
    other row's reason (`order_exists` skips; the rest reject)."""

    orders: list[tuple[OrderGroup, int, int | None]]  # (group, customer id, contract id)
    reasons: dict[int, str]  # row number -> reason

    @property
    def existing(self) -> int:
        return sum(1 for reason in self.reasons.values() if reason == "order_exists")

    @property
    def rejected(self) -> int:
        return len(self.reasons) - self.existing


def read_rows(
    rows: Sequence[Sequence[str]], rules: RowRules, currency: str
) -> tuple[list[tuple[int, OrderRow]], dict[int, str]]:
    """The readable rows and the others' reasons; empty rows are neither."""
    readable: list[tuple[int, OrderRow]] = []
    reasons: dict[int, str] = {}
    for number, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        try:
            readable.append((number, read_order_row(cells, rules, currency)))
        except Rejected as rejected:
            reasons[number] = rejected.reason
    return readable, reasons


def plan_orders(
    session: Session,
    *,
    actor: Member,
    rows: Sequence[Sequence[str]],
    rules: RowRules,
    currency: str,
) -> Plan:
    """Read and group the rows, then look up numbers, customers and contracts for `actor`."""
    readable, reasons = read_rows(rows, rules, currency)
    groups, mismatched = group_orders(readable)
    reasons |= dict.fromkeys(mismatched, "order_mismatch")
    taken = _taken_numbers(session, actor, [g.first.number for g in groups])
    customers = _match_customers(session, actor, {g.first.customer for g in groups}, rules)
    contracts = _contracts(session, actor, {g.first.contract for g in groups if g.first.contract})
    orders: list[tuple[OrderGroup, int, int | None]] = []
    for group in groups:
        first = group.first
        customer = customers[first.customer]
        contract = contracts.get(first.contract or "")
        reason = taken.get(first.number)
        if reason is None and isinstance(customer, str):
            reason = customer
        if reason is None and first.contract and (contract is None or contract[1] != customer):
            reason = "unknown_contract"
        lines = [n for n, row in group.rows if row.product or row.lines]
        if reason is None and lines:  # a total without a product beside priced lines
            lineless = [n for n, row in group.rows if not (row.product or row.lines)]
            reasons |= dict.fromkeys(lineless, "missing_product")
            group.rows = [(n, row) for n, row in group.rows if n not in lineless]
        if reason is not None:
            reasons |= {n: reason for n, _ in group.rows}
            continue
        assert isinstance(customer, int)
        orders.append((group, customer, contract[0] if contract else None))
    return Plan(orders, reasons)


def _taken_numbers(session: Session, actor: Member, numbers: list[str]) -> dict[str, str]:
    """Numbers already used in any case: `order_exists` when the actor sees that order, else
    `number_taken` (a deleted order's too: its number stays taken)."""
    dialect = session.get_bind().dialect.name
    found: dict[str, str] = {}
    for start in range(0, len(numbers), 500):
        part = {fold_number(n, dialect): n for n in numbers[start : start + 500]}
        number = func.lower(Order.number)  # as the database folds it: a key of `part`
        used = session.exec(select(number).where(number.in_(part))).all()
        seen = session.exec(
            select(number)
            .join(Customer, col(Customer.id) == col(Order.customer_id))
            .where(number.in_(used), order_scope(actor))
        ).all()
        found |= {part[n]: "number_taken" for n in used} | {part[n]: "order_exists" for n in seen}
    return found


def _match_customers(
    session: Session, actor: Member, texts: set[str], rules: RowRules
) -> dict[str, int | str]:
    """Each customer cell as the one visible customer it names, or the reason it names none."""
    visible = (col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
    matched: dict[str, int | str] = {}
    for text in texts:
        ids: set[int] = set()
        phones = parse_phones(text, region=rules.region) if set(text) <= _PHONE_LIKE else []
        if phones and not isinstance(phones, ParseError):
            by_phone = (
                select(col(Customer.id))
                .join(CustomerPhone, col(Customer.id) == col(CustomerPhone.customer_id))
                .where(col(CustomerPhone.e164).in_(phones), *visible)
            )
            ids = set(session.execute(by_phone).scalars())
        for column in (Customer.name, Customer.company):
            if ids:
                break
            by_text = select(col(Customer.id)).where(func.lower(column) == text.lower(), *visible)
            ids = set(session.execute(by_text.limit(2)).scalars())
        if len(ids) == 1:
            matched[text] = ids.pop()
        else:
            matched[text] = "ambiguous_customer" if ids else "unknown_customer"
    return matched


def _contracts(session: Session, actor: Member, numbers: set[str]) -> dict[str, tuple[int, int]]:
    """Visible contracts by number in any case: (contract id, its customer's id)."""
    if not numbers:
        return {}
    dialect = session.get_bind().dialect.name
    wanted = {text: fold_number(text, dialect) for text in numbers}
    number = func.lower(Contract.number)
    rows = session.exec(
        select(number, Contract.id, Contract.customer_id)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(number.in_(set(wanted.values())), contract_scope(actor))
    )
    found = {folded: (contract_id or 0, customer_id) for folded, contract_id, customer_id in rows}
    return {text: found[folded] for text, folded in wanted.items() if folded in found}


def order_data(
    group: OrderGroup,
    customer_id: int,
    contract_id: int | None,
    today: date,
    cancel_reason: str = CANCELLED_BEFORE_IMPORT,
) -> Any:
    """The group as `create_order` takes it: a line per product (its amount the row's total,
    else quantity × unit price) and the lines of a Lines cell (the row's total then the
    order's, kept only when no line is priced), or the total alone; undated orders are dated
    `today`; a cancelled one without its reason in the file gets `cancel_reason`."""
    first = group.first
    cancelled = first.status == OrderStatus.CANCELLED
    lines: list[OrderLineCreate] = []
    total: Decimal | None = None
    for _, row in group.rows:
        lines += row.lines  # an export's Lines cell: its Amount is the order's total
        if row.product:
            lines.append(OrderLineCreate(row.product, row.quantity, row.unit_price, row.total))
        elif row.lines and row.total is not None:
            total = (total or Decimal(0)) + row.total
    if not lines:
        total = sum((row.total or Decimal(0) for _, row in group.rows), Decimal(0))
    elif any(line.line_amount is not None for line in lines):
        total = None  # the sum of the priced lines
    comments = [row.comment for _, row in group.rows if row.comment]
    return OrderCreate(
        customer_id=customer_id,
        ordered_on=first.ordered_on or today,
        lines=tuple(lines),
        total=total,
        currency=next((row.currency for _, row in group.rows if row.currency), None),
        number=first.number,
        contract_id=contract_id,
        delivery_due_on=first.delivery_due_on,
        status=OrderStatus(first.status),
        comment="; ".join(comments)[:500] or None,
        cancel_reason=(first.cancel_reason or cancel_reason) if cancelled else None,
    )


def run_orders(
    db: Database,
    *,
    batch: ImportBatch,
    rows: Sequence[Sequence[str]],
    rules: RowRules,
    worker: str,
    locked: Callable[[Session, int, str], ImportBatch],
    progress: Callable[[ImportBatch], None] | None,
) -> None:
    """Make the batch's orders, a chunk of whole orders per transaction; `locked` loads the
    batch row while this worker holds it (`storage.imports.apply`)."""
    batch_id, currency = batch.id or 0, batch.settings.get("currency", "CNY")
    actor = db.read_sync(_importer, batch_id=batch_id)
    plan = db.read_sync(plan_orders, actor=actor, rows=rows, rules=rules, currency=currency)
    recorded = set(db.read_sync(_recorded, batch_id=batch_id))
    empty = [n for n, cells in enumerate(rows, start=1) if not any(cells)]
    loose = sorted(set(plan.reasons) | set(empty))
    work: list[tuple[list[tuple[OrderGroup, int, int | None]], list[int]]] = [([], loose)]
    for start in range(0, len(plan.orders), CHUNK_ORDERS):
        work.append((plan.orders[start : start + CHUNK_ORDERS], []))
    for orders, others in work:
        orders = [o for o in orders if o[0].rows[0][0] not in recorded]
        others = [n for n in others if n not in recorded]
        if not orders and not others:
            continue
        updated = db.run_sync(
            _apply_orders,
            batch_id=batch_id,
            worker=worker,
            locked=locked,
            orders=orders,
            others={n: plan.reasons.get(n, "empty_row") for n in others},
        )
        if progress is not None:
            progress(updated)


def _importer(session: Session, *, batch_id: int) -> Member:
    """Who the orders are made as: the member who uploaded, else (`crm-bot import`) the owner."""
    batch = session.get_one(ImportBatch, batch_id)
    return session.get_one(Member, batch.member_id or batch.owner_id)


def _recorded(session: Session, *, batch_id: int) -> list[int]:
    return list(session.exec(select(ImportRow.row_number).where(ImportRow.batch_id == batch_id)))


def _apply_orders(
    session: Session,
    *,
    batch_id: int,
    worker: str,
    locked: Callable[[Session, int, str], ImportBatch],
    orders: list[tuple[OrderGroup, int, int | None]],
    others: dict[int, str],
) -> ImportBatch:
    batch = locked(session, batch_id, worker)
    actor = _importer(session, batch_id=batch_id)
    records: list[dict[str, Any]] = []
    cancel_reason = batch.settings.get("cancel_reason") or CANCELLED_BEFORE_IMPORT

    def record(number: int, outcome: RowOutcome, reason: str | None, order_id: int | None) -> None:
        before = {"order_id": order_id} if order_id is not None else None
        records.append(
            {"batch_id": batch_id, "row_number": number, "fingerprint": "", "outcome": outcome,
             "customer_id": None, "before": before, "reason": reason}
        )  # fmt: skip

    for number, why in others.items():
        skipped = why in ("order_exists", "empty_row")
        record(number, RowOutcome.SKIPPED if skipped else RowOutcome.REJECTED, why, None)
    taken = _taken_numbers(session, actor, [group.first.number for group, _, _ in orders])
    created = 0
    for group, customer_id, contract_id in orders:
        reason = taken.get(group.first.number)  # made meanwhile (another import, /order)
        order_id = None
        if reason is None:
            try:
                with session.begin_nested():
                    data = order_data(
                        group, customer_id, contract_id, utcnow().date(), cancel_reason
                    )
                    order = create_order(session, actor=actor, data=data)
                    order.import_batch_id = batch_id
                    session.add(order)
                order_id, created = order.id, created + 1
            except NotFound:  # the customer or contract went out of reach meanwhile
                reason = "unknown_customer"
            except (DuplicateNumber, IntegrityError):  # the number was given out meanwhile
                reason = "number_taken"
        for number, _ in group.rows:
            if reason is not None:
                skipped = reason == "order_exists"
                outcome = RowOutcome.SKIPPED if skipped else RowOutcome.REJECTED
                record(number, outcome, reason, None)
            else:
                record(number, RowOutcome.CREATED, None, order_id)
    bulk_insert(session, IMPORT_ROW, records)
    batch.processed_rows += len(records)
    batch.created_count += created
    batch.skipped_count += sum(r["outcome"] == RowOutcome.SKIPPED for r in records)
    batch.rejected_count += sum(r["outcome"] == RowOutcome.REJECTED for r in records)
    session.add(batch)
    return batch


def batch_order_ids(session: Session, *, batch_id: int) -> list[int]:
    """The orders a batch made (deleted ones too)."""
    return list(
        session.exec(
            select(Order.id).where(col(Order.import_batch_id) == batch_id).order_by(col(Order.id))
        ).all()  # type: ignore[arg-type]
    )


def roll_back_orders(session: Session, *, batch_id: int, since: datetime) -> None:
    """Delete the orders a failed batch made, with everything `create_order` wrote."""
    ids = batch_order_ids(session, batch_id=batch_id)
    if not ids:
        return
    record_removed(session, record_type="order", record_ids=ids)
    for table, column in (
        (OrderLine, OrderLine.order_id),
        (OrderStatusChange, OrderStatusChange.order_id),
        (Reminder, Reminder.order_id),
    ):
        session.execute(delete(table).where(col(column).in_(ids)))
    session.execute(
        delete(AuditEntry).where(
            col(AuditEntry.entity_type) == "order",
            col(AuditEntry.entity_id).in_(ids),
            col(AuditEntry.at) >= since,
        )
    )
    session.execute(delete(Order).where(col(Order.id).in_(ids)))


@dataclass
class OrdersUndone:
    removed: int = 0  # archived: as the import left them
    changed: int = 0  # moved on or edited since: kept
    gone: int = 0  # deleted since, or out of the undoer's reach


def undo_orders(session: Session, *, actor: Member, batch: ImportBatch) -> OrdersUndone:
    """Archive (`archive_order`: audited, its delivery reminder closed) each order of the
    batch still as the import made it: not edited, its status not moved."""
    result = OrdersUndone()
    for order_id in batch_order_ids(session, batch_id=batch.id or 0):
        order = session.get_one(Order, order_id)
        moves = session.exec(
            select(func.count()).where(col(OrderStatusChange.order_id) == order_id)
        ).one()
        if order.deleted_at is not None:
            result.gone += 1
        elif moves > 1 or order.updated_by_id is not None:
            result.changed += 1
        else:
            try:
                archive_order(session, actor=actor, order_id=order_id)
                result.removed += 1
            except NotFound:
                result.gone += 1
    return result
