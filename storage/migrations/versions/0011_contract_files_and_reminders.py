"""contract files and contract reminders: `attachment.contract_id`, `reminder.contract_id`

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:10:00

Two nullable columns; no existing row changes. A signed contract's PDF or photos are kept as
attachments of the contract, and a renewal reminder names the contract it is about.
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("attachment", "reminder")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("contract_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_contract_id"), ["contract_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_contract_id_contract"), "contract", ["contract_id"], ["id"]
            )


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_contract_id_contract"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_contract_id"))
            batch_op.drop_column("contract_id")
