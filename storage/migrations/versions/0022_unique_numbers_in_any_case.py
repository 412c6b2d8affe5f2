"""record numbers unique in any case: the lower(number) indexes of 0021 become unique

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 14:10:00

Lookups find "ht-2026-0001" as "HT-2026-0001" (0021), so two records whose numbers differ
only in case would be one number to whoever types it: /find would show both, the orders
import would call either "already imported". From here the database refuses the second, as
the flows, the import and the API do before it gets there. Clashes made before this migration
(possible only by typing a number in another case) are kept, each but the oldest renamed to
`<number>-<id>` (`-<id>-2`, ... if that is taken too): the oldest keeps the number people have been using, and the renamed ones stay
findable by their number as typed. Raw SQL, self-contained on purpose: no project module.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("contract", "sales_order", "ticket")
NUMBER_LENGTH = 64


def upgrade() -> None:
    ops = " text_pattern_ops" if op.get_context().dialect.name == "postgresql" else ""
    for table in TABLES:
        _rename_clashes(table)
        op.execute(f"DROP INDEX ix_{table}_number_lower")
        op.execute(f"CREATE UNIQUE INDEX ix_{table}_number_lower ON {table} (lower(number){ops})")


def downgrade() -> None:
    ops = " text_pattern_ops" if op.get_context().dialect.name == "postgresql" else ""
    for table in TABLES:
        op.execute(f"DROP INDEX ix_{table}_number_lower")
        op.execute(f"CREATE INDEX ix_{table}_number_lower ON {table} (lower(number){ops})")


def _rename_clashes(table: str) -> None:
    """Every record but the oldest of numbers equal in any case gets `<number>-<id>`."""
    connection = op.get_bind()
    clashing = connection.execute(
        sa.text(
            f"SELECT id, number FROM {table} WHERE lower(number) IN"
            f" (SELECT lower(number) FROM {table} GROUP BY lower(number) HAVING count(*) > 1)"
            " ORDER BY id"
        )
    ).all()
    kept: set[str] = set()
    for record_id, number in clashing:
        folded = connection.scalar(sa.text("SELECT lower(:number)"), {"number": number})
        if folded not in kept:
            kept.add(folded)
            continue
        renamed = _free_number(connection, table, number, record_id)
        connection.execute(
            sa.text(f"UPDATE {table} SET number = :renamed WHERE id = :id"),
            {"renamed": renamed, "id": record_id},
        )


def _free_number(connection: sa.Connection, table: str, number: str, record_id: int) -> str:
    """`<number>-<id>`, or `<number>-<id>-2`, -3 ... when someone already uses that one."""
    taken = sa.text(f"SELECT 1 FROM {table} WHERE lower(number) = lower(:number)")
    attempt = 1
    while True:
        suffix = f"-{record_id}" + (f"-{attempt}" if attempt > 1 else "")
        renamed = number[: NUMBER_LENGTH - len(suffix)] + suffix
        if connection.scalar(taken, {"number": renamed}) is None:
            return renamed
        attempt += 1
