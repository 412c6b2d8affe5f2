"""What `/export` and `crm-bot export` write: one table of plain values per kind of record.

Each function applies the one access rule (`owner_scope`) and leaves soft-deleted rows out
(a note, deal or order of a deleted customer is as gone as the customer), so a file holds
exactly what the member could open in the chat, every field of it. Values stay raw (UTC
datetimes, Decimals, lists of phones or tags, a `Birthday`, choice codes such as "male"):
turning them into what a person reads, in the member's language and timezone, is the
handlers' job.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.access import contract_scope, order_scope, owner_scope
from storage.models import (
    Contract,
    Customer,
    CustomerPhone,
    Deal,
    Interaction,
    Member,
    Order,
    OrderLine,
    OrderStatus,
)
from storage.orders import line_text
from storage.parsing import Birthday, clean_text

Value = str | int | float | Decimal | date | datetime | Birthday | list[str] | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # first in a CSV, or Excel reads its Chinese as mojibake


def undefuse(text: str) -> str:
    """A cell as it was before `defuse`: the guard apostrophe in front of a formula start
    dropped, so a file we exported imports back as it was."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text


def defuse(text: str) -> str:
    """Text a spreadsheet would evaluate, made literal with a leading apostrophe, and without
    control or bidirectional characters (`clean_text`: rows stored before entry cleaned them
    still carry them, and openpyxl refuses a control character in a cell).

    Shared by every file we hand out (exports, an import's error file).
    """
    text = clean_text(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class ExportTable:
    """Column keys (translated into headers by the caller) and rows in the same order."""

    columns: tuple[str, ...]
    rows: list[tuple[Value, ...]]


CUSTOMER_COLUMNS = (
    "id",
    "name",
    "phones",
    "email",
    "company",
    "position",
    "industry",
    "region",
    "gender",
    "birthday",
    "source",
    "category",
    "tags",
    "needs",
    "contact_cadence_days",
    "owner",
    "created_at",
    "last_contact_at",
)
DEAL_COLUMNS = (
    "id",
    "customer",
    "title",
    "stage",
    "amount",
    "currency",
    "expected_close_date",
    "probability",
    "budget",
    "budget_currency",
    "decision_date",
    "budget_notes",
    "decision_maker_notes",
    "close_reason",
    "owner",
    "created_at",
    "closed_at",
)
NOTE_COLUMNS = (
    "id",
    "customer",
    "kind",
    "happened_at",
    "summary",
    "outcome",
    "latitude",
    "longitude",
    "owner",
)
PURCHASE_COLUMNS = (  # what customers bought: a row per line of every order not cancelled
    "id",
    "order_number",
    "order_status",
    "customer",
    "product",
    "quantity",
    "amount",
    "currency",
    "purchased_on",
    "owner",
)


def phones_by_customer(session: Session, customer_ids: list[int]) -> dict[int, list[str]]:
    """Every customer's phones in one query, in the order they were entered."""
    phones: dict[int, list[str]] = defaultdict(list)
    if not customer_ids:
        return phones
    rows = session.exec(
        select(CustomerPhone.customer_id, CustomerPhone.e164)
        .where(col(CustomerPhone.customer_id).in_(customer_ids))
        .order_by(col(CustomerPhone.id))
    )
    for customer_id, e164 in rows:
        phones[customer_id].append(e164)
    return phones


def _birthday(customer: Customer) -> Birthday | None:
    if customer.birthday_month is None or customer.birthday_day is None:
        return None
    return Birthday(
        month=customer.birthday_month, day=customer.birthday_day, year=customer.birthday_year
    )


def list_customer_rows(session: Session, *, actor: Member) -> ExportTable:
    owner = aliased(Member)
    found = session.exec(
        select(Customer, owner.display_name)
        .join(owner, col(owner.id) == col(Customer.owner_id))
        .where(col(Customer.deleted_at).is_(None), owner_scope(actor, Customer.owner_id))
        .order_by(col(Customer.id))
    ).all()
    phones = phones_by_customer(session, [c.id for c, _ in found if c.id is not None])
    rows: list[tuple[Value, ...]] = [
        (
            c.id,
            c.name,
            phones.get(c.id or 0, []),
            c.email,
            c.company,
            c.position,
            c.industry,
            c.region,
            c.gender,
            _birthday(c),
            c.source,
            c.category,
            list(c.tags or []),
            c.needs,
            c.contact_cadence_days,
            owner_name,
            c.created_at,
            c.last_contact_at,
        )
        for c, owner_name in found
    ]
    return ExportTable(CUSTOMER_COLUMNS, rows)


def list_deal_rows(session: Session, *, actor: Member) -> ExportTable:
    owner = aliased(Member)
    found = session.exec(
        select(Deal, Customer.name, owner.display_name)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .where(
            col(Deal.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Deal.owner_id),
        )
        .order_by(col(Deal.id))
    ).all()
    rows: list[tuple[Value, ...]] = [
        (
            d.id,
            customer,
            d.title,
            d.stage,
            d.amount,
            d.currency,
            d.expected_close_date,
            d.probability,
            d.budget,
            d.budget_currency,
            d.decision_date,
            d.budget_notes,
            d.decision_maker_notes,
            d.close_reason,
            owner_name,
            d.created_at,
            d.closed_at,
        )
        for d, customer, owner_name in found
    ]
    return ExportTable(DEAL_COLUMNS, rows)


def list_note_rows(session: Session, *, actor: Member) -> ExportTable:
    """Notes are scoped like their customer (as `require_interaction`): they are its history."""
    owner = aliased(Member)
    found = session.exec(
        select(Interaction, Customer.name, owner.display_name)
        .join(Customer, col(Customer.id) == col(Interaction.customer_id))
        .join(owner, col(owner.id) == col(Interaction.owner_id))
        .where(
            col(Interaction.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            owner_scope(actor, Customer.owner_id),
        )
        .order_by(col(Interaction.id))
    ).all()
    rows: list[tuple[Value, ...]] = [
        (
            n.id,
            customer,
            n.kind,
            n.happened_at,
            n.summary,
            n.outcome,
            n.latitude,
            n.longitude,
            owner_name,
        )
        for n, customer, owner_name in found
    ]
    return ExportTable(NOTE_COLUMNS, rows)


def list_purchase_rows(session: Session, *, actor: Member) -> ExportTable:
    """A row per line of each order not cancelled (an order with a typed total and unpriced
    lines has the total on its first line; one without lines, a row of its own)."""
    owner = aliased(Member)
    found = session.exec(
        select(Order, OrderLine, Customer.name, owner.display_name)
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .join(owner, col(owner.id) == col(Order.owner_id))
        .outerjoin(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .where(order_scope(actor), col(Order.status) != OrderStatus.CANCELLED)
        .order_by(col(Order.id), col(OrderLine.position))
    ).all()
    priced = {o.id for o, line, _, _ in found if line is not None and line.amount is not None}
    rows: list[tuple[Value, ...]] = []
    for o, line, customer, owner_name in found:
        first = line is None or line.position == 1
        amount = line.amount if line is not None and o.id in priced else None
        if o.id not in priced and first:
            amount = o.total
        product, quantity = (line.product, line.quantity) if line is not None else (None, None)
        rows.append(
            (
                o.id,
                o.number,
                o.status,
                customer,
                product,
                quantity,
                amount,
                o.currency,
                o.ordered_on,
                owner_name,
            )  # fmt: skip
        )
    return ExportTable(PURCHASE_COLUMNS, rows)


CONTRACT_COLUMNS = (
    "id",
    "contract_number",
    "customer",
    "title",
    "contract_status",
    "amount",
    "currency",
    "signed_on",
    "starts_on",
    "ends_on",
    "renewal_notice_days",
    "terms",
    "terminated_on",
    "termination_reason",
    "owner",
    "created_at",
)


def list_contract_rows(session: Session, *, actor: Member) -> ExportTable:
    """Contracts by the rule of deals (`contract_scope`: owner and customer in scope)."""
    owner = aliased(Member)
    found = session.exec(
        select(Contract, Customer.name, owner.display_name)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .join(owner, col(owner.id) == col(Contract.owner_id))
        .where(contract_scope(actor))
        .order_by(col(Contract.id))
    ).all()
    rows: list[tuple[Value, ...]] = [
        (
            c.id,
            c.number,
            customer,
            c.title,
            c.status,
            c.amount,
            c.currency,
            c.signed_on,
            c.starts_on,
            c.ends_on,
            c.renewal_notice_days,
            c.terms,
            c.terminated_on,
            c.termination_reason,
            owner_name,
            c.created_at,
        )
        for c, customer, owner_name in found
    ]
    return ExportTable(CONTRACT_COLUMNS, rows)


ORDER_COLUMNS = (  # one row per order, cancelled ones too: the list of orders
    "id",
    "order_number",
    "customer",
    "contract_number",
    "deal",
    "order_status",
    "ordered_on",
    "delivery_due_on",
    "lines",
    "amount",
    "currency",
    "cancel_reason",
    "owner",
    "created_at",
)


def list_order_rows(session: Session, *, actor: Member) -> ExportTable:
    """A row per order by the rule of deals (`order_scope`), its lines in one cell
    ("50 × X2 @ 1200 = 60000.00; ..."), its contract's number and deal's title when linked."""
    owner = aliased(Member)
    found = session.execute(  # five columns: more than sqlmodel's `select` is typed for
        core_select(
            Order,
            col(Customer.name),
            col(owner.display_name),
            col(Contract.number),
            col(Deal.title),
        )
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .join(owner, col(owner.id) == col(Order.owner_id))
        .outerjoin(Contract, col(Contract.id) == col(Order.contract_id))
        .outerjoin(Deal, col(Deal.id) == col(Order.deal_id))
        .where(order_scope(actor))
        .order_by(col(Order.id))
    ).all()
    lines: dict[int, list[str]] = defaultdict(list)
    for line in session.exec(
        select(OrderLine)
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .join(Customer, col(Customer.id) == col(Order.customer_id))
        .where(order_scope(actor))
        .order_by(col(OrderLine.order_id), col(OrderLine.position))
    ):
        lines[line.order_id].append(line_text(line))
    rows: list[tuple[Value, ...]] = [
        (
            o.id,
            o.number,
            customer,
            contract_number,
            deal_title,
            o.status,
            o.ordered_on,
            o.delivery_due_on,
            "; ".join(lines[o.id or 0]),
            o.total,
            o.currency,
            o.cancel_reason,
            owner_name,
            o.created_at,
        )
        for o, customer, owner_name, contract_number, deal_title in found
    ]
    return ExportTable(ORDER_COLUMNS, rows)
