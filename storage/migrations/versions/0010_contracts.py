"""contracts: what was signed with a customer, its dates, status and renewal link

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:00:00

A new table only; no existing row changes. Self-contained on purpose: no project module, so
later changes to the models cannot change what this migration does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contract",
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("renewal_notice_days", sa.Integer(), nullable=True),
        sa.Column("terms", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("renewed_from_id", sa.Integer(), nullable=True),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_contract_created_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["member.id"], name=op.f("fk_contract_updated_by_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_contract_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], name=op.f("fk_contract_deal_id_deal")),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_contract_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["renewed_from_id"],
            ["contract.id"],
            name=op.f("fk_contract_renewed_from_id_contract"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
        sa.UniqueConstraint("number", name=op.f("uq_contract_number")),
    )
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contract_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contract_renewed_from_id"), ["renewed_from_id"], unique=False
        )
        batch_op.create_index("ix_contract_owner_id_status", ["owner_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contract", schema=None) as batch_op:
        batch_op.drop_index("ix_contract_owner_id_status")
        batch_op.drop_index(batch_op.f("ix_contract_renewed_from_id"))
        batch_op.drop_index(batch_op.f("ix_contract_customer_id"))
    op.drop_table("contract")
