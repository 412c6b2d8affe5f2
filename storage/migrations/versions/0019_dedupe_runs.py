"""/dedupe's saved searches: `dedupe_run`

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 06:00:00

One new table; no existing row changes. Self-contained on purpose: no project module.
Not-a-duplicate answers need no table of their own: they are `review_decision` rows (0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dedupe_run",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_dedupe_run_member_id_member")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_dedupe_run")),
    )


def downgrade() -> None:
    op.drop_table("dedupe_run")
