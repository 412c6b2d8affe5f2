"""hand over the deals, purchases and open reminders that old reassigns and merges left behind

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 02:30:00

Reassign and merge used to change only the customer's owner: its deals and purchases stayed
with the former owner (who still listed, opened and changed them), and its open reminders
stayed with members who may no longer see the customer (who still read it through them).
They now move with the customer (storage/customer_changes.py); this repairs databases that
went through the old code. A deal's or purchase's owner becomes its customer's owner, as
records created for a customer are owned (storage/access.py, `owner_for`). A pending or sent
reminder goes to the customer's owner unless its holder still sees the customer by the access
rule: an admin, or the manager of the owner's team. A deleted customer is treated alike, so
that restoring it brings back records in the right hands.

Self-contained on purpose: plain SQL over the tables as they are at this revision, no project
module, so later changes to the models cannot change what this migration does.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = "(SELECT c.owner_id FROM customer c WHERE c.id = {table}.customer_id)"

HAND_OVER_RECORDS = """
UPDATE {table} SET owner_id = {owner}, updated_at = :now
WHERE owner_id <> {owner}
"""

# A reminder without a customer (a digest) has a NULL owner here: `<>` is not true, it stays.
HAND_OVER_REMINDERS = """
UPDATE reminder SET member_id = {owner}, updated_at = :now
WHERE status IN ('pending', 'sent')
  AND member_id <> {owner}
  AND NOT EXISTS (
    SELECT 1 FROM member holder
    WHERE holder.id = reminder.member_id
      AND (holder.role = 'admin'
           OR (holder.role = 'manager' AND EXISTS (
                SELECT 1 FROM customer c JOIN member o ON o.id = c.owner_id
                WHERE c.id = reminder.customer_id AND o.manager_id = holder.id))))
"""


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # stored naive UTC there, as the models store it
        now = now.replace(tzinfo=None)
    stamp = sa.bindparam("now", now, type_=sa.DateTime(timezone=True))
    for table in ("deal", "purchase"):
        statement = HAND_OVER_RECORDS.format(table=table, owner=OWNER.format(table=table))
        bind.execute(sa.text(statement).bindparams(stamp))
    reminders = HAND_OVER_REMINDERS.format(owner=OWNER.format(table="reminder"))
    bind.execute(sa.text(reminders).bindparams(stamp))


def downgrade() -> None:
    """Nothing to undo: the records were in the wrong hands, and who held them is not kept."""
