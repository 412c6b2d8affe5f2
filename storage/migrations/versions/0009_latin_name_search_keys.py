"""Latin names are found typed without their spaces ("zhangwei" finds "Zhang Wei")

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 20:30:00

The pinyin key of a Chinese name ("zhangwei" for 张伟) lets a salesperson type the name
without spaces; a name written in Latin letters had no such key, so `/find zhangwei` missed
"Zhang Wei". New and renamed customers get the key on save (`storage.search.index`); this
fills it for the customers already in the database, with the frozen copy of that rule. The
column, its indexes and the triggers are those of 0002: only data changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.migrations.frozen import latin_name_key, pinyin_keys

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000


def upgrade() -> None:
    bind = op.get_bind()
    # Rows without a pinyin key: Latin names, and any Chinese one written without it.
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.name FROM customer c"
            " JOIN customer_search s ON s.customer_id = c.id WHERE s.pinyin_key IS NULL"
        )
    ).all()
    keys = []
    for customer_id, name in rows:
        full, initials = pinyin_keys(name)
        if full is None:
            full = latin_name_key(name)
        if full is not None:
            keys.append({"full": full, "initials": initials, "id": customer_id})
    update = sa.text(
        "UPDATE customer_search SET pinyin_key = :full, initials = :initials"
        " WHERE customer_id = :id"
    )
    for start in range(0, len(keys), CHUNK):
        bind.execute(update, keys[start : start + CHUNK])


def downgrade() -> None:
    # Only Latin names' keys come without initials: a Chinese name's pinyin always has them.
    op.execute("UPDATE customer_search SET pinyin_key = NULL WHERE initials IS NULL")
