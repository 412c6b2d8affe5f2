"""record numbers found by prefix in any case: an index on lower(number) for contracts,
orders and tickets

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:20:00

/find and inline mode look every query up as a contract, order and ticket number, the number
as typed in any case or a number starting with it (`storage.numbering.number_match`).
The unique index on `number` is case-sensitive, so each lookup read every record: 100,000
contracts and 250,000 orders took ~150 ms of every /find at 1,000,000 customers. An index on lower(number)
serves both: SQLite as a range (`>= q AND < q || U+FFFF`), PostgreSQL as `LIKE 'q%'`, which
needs text_pattern_ops outside the C collation. Raw SQL: SQLAlchemy cannot reflect or compare
expression indexes. No row changes. Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract", "sales_order", "ticket")


def upgrade() -> None:
    ops = " text_pattern_ops" if op.get_context().dialect.name == "postgresql" else ""
    for table in TABLES:
        op.execute(f"CREATE INDEX ix_{table}_number_lower ON {table} (lower(number){ops})")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_number_lower")
