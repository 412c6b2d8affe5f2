"""the customer's satisfaction scores: `satisfaction_score`

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 06:00:00

One new table, filled with the scores already recorded on tickets (rated when resolved).
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_score",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_satisfaction_score_customer_id_customer"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_satisfaction_score_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_score")),
        sa.UniqueConstraint(
            "source_kind", "source_id", name=op.f("uq_satisfaction_score_source_kind_source_id")
        ),
    )
    op.create_index(
        "ix_satisfaction_score_customer_id_created_at",
        "satisfaction_score",
        ["customer_id", "created_at"],
    )
    op.execute(
        "INSERT INTO satisfaction_score"
        " (customer_id, source_kind, source_id, score, comment, member_id, created_at)"
        " SELECT customer_id, 'ticket', id, satisfaction_score, satisfaction_comment,"
        " COALESCE(updated_by_id, created_by_id), COALESCE(resolved_at, updated_at)"
        " FROM ticket WHERE satisfaction_score IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_satisfaction_score_customer_id_created_at", table_name="satisfaction_score")
    op.drop_table("satisfaction_score")
