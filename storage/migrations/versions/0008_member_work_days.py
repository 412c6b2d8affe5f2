"""a member's working days

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:00:00

Digests, birthday reminders and stay-in-touch nudges wait for a working day, not only for
working hours: a Saturday digest was sent. The days are kept per member as weekday numbers
("0,1,2,3,4", Monday 0); empty means the default, Monday to Friday, so existing members get
nothing written and keep the default.

Self-contained on purpose: no project module, so later changes to the models cannot change
what this migration does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("work_days", sa.String(length=13), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35 and later have it): a batch copy of the member table
    # would fail on SQLite, where customers, deals and reminders refer to it.
    op.drop_column("member", "work_days")
