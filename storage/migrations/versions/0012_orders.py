"""orders: `sales_order`, `order_line`, `order_status_change`, `reminder.order_id`; every
purchase becomes a delivered and paid order, and the purchase table goes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:30:00

One list of what customers bought, not two: each purchase row becomes an order with the same
id (so its audit entries only change their entity type), one line (product, quantity,
amount), the same customer, owner, deal, date, import batch, created/updated by and at and
deleted_at, status paid, and two status rows (none -> delivered -> paid) at its creation.
Its number follows the default pattern "DD-{year}-{seq:04d}", numbered per year of the
purchase date in date order. Nothing stays in the purchase table, so it is dropped.

Downgrading puts each order's first line back as a purchase (cancelled orders and other
lines are lost) and drops the order tables.
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRACKED = (
    "created_by_id",
    "updated_by_id",
    "created_at",
    "updated_at",
    "deleted_at",
)


def _tracked(table: str) -> list[Any]:
    return [
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f(f"fk_{table}_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f(f"fk_{table}_updated_by_id_member")
        ),
    ]


def upgrade() -> None:
    _create_tables()
    _move_purchases()
    _drop_purchase()


def _create_tables() -> None:
    op.create_table(
        "sales_order",
        *_tracked("sales_order"),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("ordered_on", sa.Date(), nullable=False),
        sa.Column("delivery_due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Numeric(16, 2), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_sales_order_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_sales_order_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deal.id"], name=op.f("fk_sales_order_deal_id_deal")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contract.id"], name=op.f("fk_sales_order_contract_id_contract")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_order")),
        sa.UniqueConstraint("number", name=op.f("uq_sales_order_number")),
    )
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_order_customer_id"), ["customer_id"])
        batch_op.create_index(batch_op.f("ix_sales_order_import_batch_id"), ["import_batch_id"])
        batch_op.create_index("ix_sales_order_owner_id_status", ["owner_id", "status"])
    op.create_table(
        "order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 3), nullable=True),
        sa.Column("unit_price", sa.Numeric(16, 2), nullable=True),
        sa.Column("amount", sa.Numeric(16, 2), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_order_line_order_id_sales_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line")),
    )
    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_line_order_id"), ["order_id"])
    op.create_table(
        "order_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sales_order.id"],
            name=op.f("fk_order_status_change_order_id_sales_order"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["member.id"],
            name=op.f("fk_order_status_change_changed_by_id_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_status_change")),
    )
    with op.batch_alter_table("order_status_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_status_change_order_id"), ["order_id"])
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_reminder_order_id"), ["order_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_reminder_order_id_sales_order"), "sales_order", ["order_id"], ["id"]
        )


def _number_sql(dialect: str) -> str:
    """The order number of a purchase, "DD-{year}-{seq:04d}", as SQL over `numbered`."""
    if dialect == "sqlite":
        year, seq, padded = (
            "order_year",
            "CAST(order_seq AS TEXT)",
            "substr('000' || order_seq, -4)",
        )
    else:
        year, seq, padded = "order_year::text", "order_seq::text", "lpad(order_seq::text, 4, '0')"
    return f"'DD-' || {year} || '-' || CASE WHEN order_seq < 10000 THEN {padded} ELSE {seq} END"


def _year_sql(dialect: str) -> str:
    if dialect == "sqlite":
        return "CAST(strftime('%Y', purchased_on) AS INTEGER)"
    return "CAST(EXTRACT(YEAR FROM purchased_on) AS INTEGER)"


def _move_purchases() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    tracked = ", ".join(_TRACKED)
    op.execute(
        f"""
        INSERT INTO sales_order (id, {tracked}, customer_id, owner_id, deal_id, number,
            currency, ordered_on, status, total, import_batch_id)
        SELECT id, {tracked}, customer_id, owner_id, deal_id, {_number_sql(dialect)},
            currency, purchased_on, 'paid', amount, import_batch_id
        FROM (
            SELECT purchase.*, ROW_NUMBER() OVER (
                PARTITION BY {_year_sql(dialect)} ORDER BY purchased_on, id
            ) AS order_seq, {_year_sql(dialect)} AS order_year
            FROM purchase
        ) AS numbered
        """
    )
    op.execute(
        "INSERT INTO order_line (id, order_id, position, product, quantity, amount)"
        " SELECT id, id, 1, product, quantity, amount FROM purchase"
    )
    for before, after in (("NULL", "'delivered'"), ("'delivered'", "'paid'")):
        op.execute(
            "INSERT INTO order_status_change"
            " (order_id, from_status, to_status, changed_by_id, changed_at)"
            f" SELECT id, {before}, {after}, created_by_id, created_at FROM purchase"
            " ORDER BY id"
        )
    op.execute("UPDATE audit_entry SET entity_type = 'order' WHERE entity_type = 'purchase'")
    if dialect == "postgresql":
        _follow_ids("sales_order", "order_line")


def _follow_ids(*tables: str) -> None:
    """PostgreSQL: rows came with their ids, so the next id given must follow the last."""
    for table in tables:
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )


def _drop_purchase() -> None:
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purchase_import_batch_id"))
        batch_op.drop_index(batch_op.f("ix_purchase_customer_id"))
    op.drop_table("purchase")


def downgrade() -> None:
    op.create_table(
        "purchase",
        *_tracked("purchase"),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("product", sa.String(length=200), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 3), nullable=True),
        sa.Column("amount", sa.Numeric(16, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("purchased_on", sa.Date(), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_purchase_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], name=op.f("fk_purchase_deal_id_deal")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_purchase_owner_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase")),
    )
    with op.batch_alter_table("purchase", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_purchase_customer_id"), ["customer_id"])
        batch_op.create_index(batch_op.f("ix_purchase_import_batch_id"), ["import_batch_id"])
    tracked = ", ".join(f"o.{name}" for name in _TRACKED)
    op.execute(
        f"""
        INSERT INTO purchase ({", ".join(_TRACKED)}, id, customer_id, owner_id, deal_id,
            product, quantity, amount, currency, purchased_on, import_batch_id)
        SELECT {tracked}, o.id, o.customer_id, o.owner_id, o.deal_id, l.product, l.quantity,
            COALESCE(l.amount, o.total), o.currency, o.ordered_on, o.import_batch_id
        FROM sales_order o JOIN order_line l ON l.order_id = o.id AND l.position = 1
        WHERE o.status <> 'cancelled'
        """
    )
    if op.get_bind().dialect.name == "postgresql":
        _follow_ids("purchase")
    op.execute("UPDATE audit_entry SET entity_type = 'purchase' WHERE entity_type = 'order'")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_reminder_order_id_sales_order"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_reminder_order_id"))
        batch_op.drop_column("order_id")
    op.drop_table("order_status_change")
    op.drop_table("order_line")
    op.drop_table("sales_order")
