"""HTTP API: `api_token` and `api_idempotent_request`

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-06 23:20:00

Two new tables; no existing row changes. A token's name is unique among the tokens not
revoked (a partial unique index, which SQLite and PostgreSQL both have).
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("read_only", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_api_token_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["member.id"], name=op.f("fk_api_token_created_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_api_token_name_live",
            ["name"],
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        )
    op.create_table(
        "api_idempotent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["api_token.id"],
            name=op.f("fk_api_idempotent_request_token_id_api_token"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotent_request")),
        sa.UniqueConstraint(
            "token_id", "key", name=op.f("uq_api_idempotent_request_token_id_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("api_idempotent_request")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index("uq_api_token_name_live")
        batch_op.drop_index(batch_op.f("ix_api_token_member_id"))
    op.drop_table("api_token")
