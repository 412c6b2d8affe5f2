"""record numbers indexed by length, then in any case: a suggested number reads a few rows

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 01:00:00

An order or contract saved without a number, every /purchase and every ticket gets one past
the year's highest sequence (`storage.numbering.suggest_number`), inside the save's write
transaction. That read every number of the year's prefix: ~210 ms at 100,000 order numbers a
year, measured on the 1,000,000-customer bench, with SQLite's write lock held all along. The
lower(number) index of 0021 orders "DD-2026-9" above "DD-2026-10000", so it cannot give the
highest by value. Within one length the digits of numbers of one pattern sit in the same
places, so an index on (length(number), lower(number)) gives the highest of each length in
one seek, and the suggestion reads lengths longest first. On PostgreSQL the second column is
in the "C" collation, so its order is the code points' order that SQLite uses too.
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract", "sales_order", "ticket")


def upgrade() -> None:
    collate = ' COLLATE "C"' if op.get_context().dialect.name == "postgresql" else ""
    for table in TABLES:
        op.execute(
            f"CREATE INDEX ix_{table}_number_length"
            f" ON {table} (length(number), lower(number){collate})"
        )


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_number_length")
