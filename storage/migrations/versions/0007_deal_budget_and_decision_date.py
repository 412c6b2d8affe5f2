"""a deal's budget (an amount with its currency) and decision date

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:00:00

Salespeople are asked for the customer's budget and when the customer decides on every
opportunity; until now the budget was free text only (`budget_notes`, kept as notes). Existing
deals get empty values: nothing in the notes is reliable enough to parse into an amount.

Self-contained on purpose: no project module, so later changes to the models cannot change
what this migration does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal") as batch:
        batch.add_column(sa.Column("budget", sa.Numeric(16, 2), nullable=True))
        batch.add_column(sa.Column("budget_currency", sa.String(length=3), nullable=True))
        batch.add_column(sa.Column("decision_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deal") as batch:
        batch.drop_column("decision_date")
        batch.drop_column("budget_currency")
        batch.drop_column("budget")
