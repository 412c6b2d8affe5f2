"""tickets: `ticket`, `ticket_status_change`, `ticket_comment`, `attachment.ticket_id`,
`reminder.ticket_id`

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:00:00

Service requests (工单) with their status history and comments; their photos and files are
attachments of the ticket, and their SLA reminders name the ticket. No existing row changes.
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHILDREN = ("attachment", "reminder")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "ticket",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("satisfaction_score", sa.Integer(), nullable=True),
        sa.Column("satisfaction_comment", sa.Text(), nullable=True),
        sa.Column("satisfaction_asked", sa.Boolean(), nullable=True),
        _fk("ticket", "created_by_id", "member"),
        _fk("ticket", "updated_by_id", "member"),
        _fk("ticket", "customer_id", "customer"),
        _fk("ticket", "owner_id", "member"),
        _fk("ticket", "assignee_id", "member"),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sales_order.id"], name=op.f("fk_ticket_order_id_sales_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_ticket_number")),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_customer_id"), ["customer_id"])
        batch_op.create_index("ix_ticket_owner_id_status", ["owner_id", "status"])
        batch_op.create_index("ix_ticket_assignee_id_status", ["assignee_id", "status"])
    op.create_table(
        "ticket_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _fk("ticket_status_change", "ticket_id", "ticket"),
        _fk("ticket_status_change", "changed_by_id", "member"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_status_change")),
    )
    with op.batch_alter_table("ticket_status_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_status_change_ticket_id"), ["ticket_id"])
    op.create_table(
        "ticket_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("ticket_comment", "ticket_id", "ticket"),
        _fk("ticket_comment", "member_id", "member"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_comment")),
    )
    with op.batch_alter_table("ticket_comment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_comment_ticket_id"), ["ticket_id"])
    for table in _CHILDREN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("ticket_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_ticket_id"), ["ticket_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_ticket_id_ticket"), "ticket", ["ticket_id"], ["id"]
            )


def downgrade() -> None:
    for table in _CHILDREN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_ticket_id_ticket"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_ticket_id"))
            batch_op.drop_column("ticket_id")
    op.drop_table("ticket_comment")
    op.drop_table("ticket_status_change")
    op.drop_table("ticket")
