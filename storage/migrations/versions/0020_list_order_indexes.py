"""the API's list order: indexes on (updated_at, id), and (owner_id, updated_at, id) where
the list is scoped by the record's owner

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 07:00:00

Every list of `bot/api` pages by keyset on (updated_at, id) (`storage.record_lists`).
Without an index on that order each page sorted every record in the token's scope (58 ms
for a manager's page of customers at 100,000). Customers, deals, orders and tickets are
scoped by their own `owner_id`, so they get the owner's index too; notes and contracts are
scoped through their customer; reminders are always one member's. No row changes.
Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "customer": (["updated_at", "id"], ["owner_id", "updated_at", "id"]),
    "deal": (["updated_at", "id"], ["owner_id", "updated_at", "id"]),
    "sales_order": (["updated_at", "id"], ["owner_id", "updated_at", "id"]),
    "ticket": (["updated_at", "id"], ["owner_id", "updated_at", "id"]),
    "interaction": (["updated_at", "id"],),
    "contract": (["updated_at", "id"],),
    "reminder": (["member_id", "updated_at", "id"],),
}


def _name(table: str, columns: list[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for columns in indexes:
            op.create_index(_name(table, columns), table, columns)


def downgrade() -> None:
    for table, indexes in INDEXES.items():
        for columns in indexes:
            op.drop_index(_name(table, columns), table_name=table)
