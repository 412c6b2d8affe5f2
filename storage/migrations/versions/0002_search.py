"""search: customer_search keys, FTS5 trigram / pg_trgm indexes, phone-suffix index, saved_search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:00:00

`customer_search` holds one row of lowercased search keys per customer. Database triggers
keep it in step with `customer` (so every writer, including bulk imports, is covered); only
the pinyin of Chinese names needs Python (`storage.search.index.index_customer`), and the rows that
exist now get it here. See storage/search/find.py for how each index is used.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen import pinyin_keys, reversed_e164_sql, sqlite_search_key_sql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SQLITE_KEY = sqlite_search_key_sql("new")

SQLITE_STATEMENTS = (
    """CREATE VIRTUAL TABLE customer_search_fts USING fts5(
        search_key, pinyin_key, content='customer_search', content_rowid='customer_id',
        tokenize='trigram')""",
    f"""CREATE TRIGGER customer_search_after_insert AFTER INSERT ON customer BEGIN
        INSERT INTO customer_search
            (customer_id, owner_id, deleted, name_key, email_key, search_key)
        VALUES (new.id, new.owner_id, new.deleted_at IS NOT NULL, lower(trim(new.name)),
                lower(new.email), {_SQLITE_KEY});
    END""",
    f"""CREATE TRIGGER customer_search_after_update
        AFTER UPDATE OF name, company, email, tags, owner_id, deleted_at ON customer BEGIN
        UPDATE customer_search SET
            owner_id = new.owner_id,
            deleted = new.deleted_at IS NOT NULL,
            name_key = lower(trim(new.name)),
            email_key = lower(new.email),
            search_key = {_SQLITE_KEY},
            pinyin_key = CASE WHEN new.name IS old.name THEN pinyin_key END,
            initials = CASE WHEN new.name IS old.name THEN initials END
        WHERE customer_id = new.id;
    END""",
    """CREATE TRIGGER customer_search_fts_insert AFTER INSERT ON customer_search BEGIN
        INSERT INTO customer_search_fts (rowid, search_key, pinyin_key)
        VALUES (new.customer_id, new.search_key, new.pinyin_key);
    END""",
    """CREATE TRIGGER customer_search_fts_delete AFTER DELETE ON customer_search BEGIN
        INSERT INTO customer_search_fts (customer_search_fts, rowid, search_key, pinyin_key)
        VALUES ('delete', old.customer_id, old.search_key, old.pinyin_key);
    END""",
    """CREATE TRIGGER customer_search_fts_update
        AFTER UPDATE OF search_key, pinyin_key ON customer_search BEGIN
        INSERT INTO customer_search_fts (customer_search_fts, rowid, search_key, pinyin_key)
        VALUES ('delete', old.customer_id, old.search_key, old.pinyin_key);
        INSERT INTO customer_search_fts (rowid, search_key, pinyin_key)
        VALUES (new.customer_id, new.search_key, new.pinyin_key);
    END""",
    f"""INSERT INTO customer_search
            (customer_id, owner_id, deleted, name_key, email_key, search_key)
        SELECT c.id, c.owner_id, c.deleted_at IS NOT NULL, lower(trim(c.name)),
               lower(c.email), {sqlite_search_key_sql("c")}
        FROM customer AS c""",
)


def _pg_key(row: str) -> str:
    tags = f"(SELECT string_agg(value, ' ') FROM json_array_elements_text({row}.tags))"
    return f"lower(concat_ws(' ', {row}.name, {row}.company, {row}.email, {tags}))"


_PG_KEY = _pg_key("NEW")

POSTGRESQL_STATEMENTS = (
    f"""CREATE FUNCTION customer_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO customer_search AS s
            (customer_id, owner_id, deleted, name_key, email_key, search_key)
        VALUES (NEW.id, NEW.owner_id, NEW.deleted_at IS NOT NULL, lower(trim(NEW.name)),
                lower(NEW.email), {_PG_KEY})
        ON CONFLICT (customer_id) DO UPDATE SET
            owner_id = EXCLUDED.owner_id,
            deleted = EXCLUDED.deleted,
            name_key = EXCLUDED.name_key,
            email_key = EXCLUDED.email_key,
            search_key = EXCLUDED.search_key,
            pinyin_key = CASE WHEN s.name_key = EXCLUDED.name_key THEN s.pinyin_key END,
            initials = CASE WHEN s.name_key = EXCLUDED.name_key THEN s.initials END;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER customer_search_sync
        AFTER INSERT OR UPDATE OF name, company, email, tags, owner_id, deleted_at ON customer
        FOR EACH ROW EXECUTE FUNCTION customer_search_sync()""",
    f"""INSERT INTO customer_search
            (customer_id, owner_id, deleted, name_key, email_key, search_key)
        SELECT c.id, c.owner_id, c.deleted_at IS NOT NULL, lower(trim(c.name)),
               lower(c.email), {_pg_key("c")}
        FROM customer AS c""",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "customer_search",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("name_key", sa.String(length=200), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column("pinyin_key", sa.Text(), nullable=True),
        sa.Column("initials", sa.String(length=64), nullable=True),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_customer_search_customer_id_customer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_search")),
    )
    pattern_ops = {"postgresql_ops": {"name_key": "text_pattern_ops"}}
    op.create_index(
        "ix_customer_search_owner_id_name_key",
        "customer_search",
        ["owner_id", "name_key"],
        **pattern_ops,
    )
    op.create_index("ix_customer_search_name_key", "customer_search", ["name_key"], **pattern_ops)
    op.create_index(
        "ix_customer_search_pinyin_key",
        "customer_search",
        ["pinyin_key"],
        postgresql_ops={"pinyin_key": "text_pattern_ops"},
    )
    op.create_index(
        "ix_customer_search_initials",
        "customer_search",
        ["initials"],
        postgresql_ops={"initials": "text_pattern_ops"},
    )
    op.create_index("ix_customer_search_email_key", "customer_search", ["email_key"])
    opclass = " text_pattern_ops" if dialect == "postgresql" else ""
    op.execute(
        "CREATE INDEX ix_customer_phone_e164_reversed ON customer_phone"
        f" (({reversed_e164_sql(dialect)}){opclass})"
    )
    op.create_table(
        "saved_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_saved_search_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_search")),
    )
    op.create_index("ix_saved_search_member_id", "saved_search", ["member_id"])
    if dialect == "sqlite":
        for statement in SQLITE_STATEMENTS:
            op.execute(statement)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = op.get_bind().scalar(
            sa.text(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
        for column in ("search_key", "pinyin_key"):
            op.execute(
                f"CREATE INDEX ix_customer_search_{column}_trgm ON customer_search"
                f' USING gin ({column} "{schema}".gin_trgm_ops)'
            )
        for statement in POSTGRESQL_STATEMENTS:
            op.execute(statement)
    _backfill_pinyin()


def _backfill_pinyin() -> None:
    """Pinyin for the Chinese names already in the database (new ones get it on save)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, name FROM customer")).all()
    for customer_id, name in rows:
        full, initials = pinyin_keys(name)
        if full:
            bind.execute(
                sa.text(
                    "UPDATE customer_search SET pinyin_key = :full, initials = :initials"
                    " WHERE customer_id = :id"
                ),
                {"full": full, "initials": initials, "id": customer_id},
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("after_insert", "after_update", "fts_insert", "fts_delete", "fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS customer_search_{trigger}")
        op.execute("DROP TABLE IF EXISTS customer_search_fts")
    else:
        op.execute("DROP TRIGGER IF EXISTS customer_search_sync ON customer")
        op.execute("DROP FUNCTION IF EXISTS customer_search_sync()")
    op.drop_table("saved_search")
    op.drop_index("ix_customer_phone_e164_reversed", table_name="customer_phone")
    op.drop_table("customer_search")
