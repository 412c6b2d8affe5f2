"""the chat of each inbox update (ordering one chat's updates across instances), search tuning

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every search reads the whole pending list of a GIN index (entries not merged yet), which
# grows to gin_pending_list_limit (4 MB by default) between merges: ~10 ms a trigram index
# per search at 1M customers. At 256 kB it stays under ~1 ms; inserts merge more often.
TRIGRAM_INDEXES = ("ix_customer_search_search_key_trgm", "ix_customer_search_pinyin_key_trgm")
PENDING_LIST_KB = 256


def upgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_inbox_update_chat_id", ["chat_id", "status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for index in TRIGRAM_INDEXES:
            op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_LIST_KB})")


def downgrade() -> None:
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_update_chat_id")
        batch_op.drop_column("chat_id")
    if op.get_bind().dialect.name == "postgresql":
        for index in TRIGRAM_INDEXES:
            op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
