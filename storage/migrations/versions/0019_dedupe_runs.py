"""/dedupe's saved searches (`dedupe_run`) and the normalised company key of every customer

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-07 06:00:00

`dedupe_run` is new. `customer_search.company_key` is new, indexed, and filled here for the
customers already in the database with the frozen copy of `normalise_company`, so the entry
flows find "上海华为" at "上海华为有限公司" with one index lookup; new and edited customers get
the key on save (`storage.search.index`). Not-a-duplicate answers need no table of their
own: they are `review_decision` rows (0016).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen import normalise_company_0019

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000


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
    # A plain ALTER on both databases: a batch copy of the table would drop its FTS triggers.
    op.add_column("customer_search", sa.Column("company_key", sa.String(length=200)))
    op.create_index("ix_customer_search_company_key", "customer_search", ["company_key"])
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.company FROM customer c"
            " JOIN customer_search s ON s.customer_id = c.id WHERE c.company IS NOT NULL"
        )
    ).all()
    keys = [{"key": normalise_company_0019(company), "id": i} for i, company in rows]
    update = sa.text("UPDATE customer_search SET company_key = :key WHERE customer_id = :id")
    for start in range(0, len(keys), CHUNK):
        bind.execute(update, keys[start : start + CHUNK])


def downgrade() -> None:
    op.drop_index("ix_customer_search_company_key", table_name="customer_search")
    op.execute("ALTER TABLE customer_search DROP COLUMN company_key")
    op.drop_table("dedupe_run")
