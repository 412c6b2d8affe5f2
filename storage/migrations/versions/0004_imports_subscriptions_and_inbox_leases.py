"""imports (import_batch, import_file, import_row), subscriptions, and leases on the update inbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:45:55
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen import sqlite_search_key_sql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _search_insert_trigger(conflict: str) -> str:
    """SQLite's customer -> customer_search insert trigger. `OR IGNORE` lets a bulk import
    write a customer's complete search row first (FTS5 tokenises it once, instead of once
    for the trigger's row and twice more for the update that adds pinyin)."""
    return f"""CREATE TRIGGER customer_search_after_insert AFTER INSERT ON customer BEGIN
        INSERT {conflict} INTO customer_search
            (customer_id, owner_id, deleted, name_key, email_key, search_key)
        VALUES (new.id, new.owner_id, new.deleted_at IS NOT NULL, lower(trim(new.name)),
                lower(new.email), {sqlite_search_key_sql("new")});
    END"""


def _replace_search_insert_trigger(conflict: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER customer_search_after_insert")
        op.execute(_search_insert_trigger(conflict))


def _set_fts_automerge(segments: int) -> None:
    """How many index segments FTS5 lets pile up before merging them (default 4). Merging
    less often made a 100,000-row import ~10% faster; searches read a few more segments."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "INSERT INTO customer_search_fts(customer_search_fts, rank)"
            f" VALUES ('automerge', {segments})"
        )


def _string(length: int) -> sa.String:
    return sa.String(length=length)


def _at() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "import_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("file_name", _string(255), nullable=False),
        sa.Column("file_sha256", _string(64), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", _string(16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", _string(64), nullable=True),
        sa.Column("claimed_until", _at(), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("started_at", _at(), nullable=True),
        sa.Column("finished_at", _at(), nullable=True),
        sa.Column("undone_at", _at(), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_import_batch_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["member.id"], name=op.f("fk_import_batch_owner_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"], ["member.id"], name=op.f("fk_import_batch_undone_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_batch")),
    )
    with op.batch_alter_table("import_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_batch_file_sha256"), ["file_sha256"], unique=False
        )
        batch_op.create_index(
            "ix_import_batch_member_id_status", ["member_id", "status"], unique=False
        )

    op.create_table(
        "import_file",
        sa.Column("batch_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_import_file_batch_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_import_file")),
    )

    op.create_table(
        "import_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("fingerprint", _string(64), nullable=False),
        sa.Column("outcome", _string(16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["import_batch.id"], name=op.f("fk_import_row_batch_id_import_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_row")),
        sa.UniqueConstraint(
            "batch_id", "row_number", name=op.f("uq_import_row_batch_id_row_number")
        ),
    )
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_import_row_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_import_row_fingerprint"), ["fingerprint"], unique=False
        )

    op.create_table(
        "subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", _string(32), nullable=False),
        sa.Column("cadence", _string(16), nullable=False),
        sa.Column("created_at", _at(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_subscription_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription")),
        sa.UniqueConstraint("member_id", "kind", name=op.f("uq_subscription_member_id_kind")),
    )
    with op.batch_alter_table("subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscription_member_id"), ["member_id"], unique=False)

    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", _string(64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", _at(), nullable=True))
    _replace_search_insert_trigger("OR IGNORE")
    _set_fts_automerge(16)
    # Every insert paid for these and no query used them: lookups by name and email go
    # through customer_search (and lower(email) could not use a plain index anyway).
    op.drop_index("ix_customer_email", table_name="customer")
    op.drop_index("ix_customer_name", table_name="customer")


def downgrade() -> None:
    op.create_index("ix_customer_name", "customer", ["name"], unique=False)
    op.create_index("ix_customer_email", "customer", ["email"], unique=False)
    _replace_search_insert_trigger("")
    _set_fts_automerge(4)
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
    op.drop_table("subscription")
    op.drop_table("import_row")
    op.drop_table("import_file")
    op.drop_table("import_batch")
