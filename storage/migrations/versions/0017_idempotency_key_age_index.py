"""the API's remembered answers by age: an index on `api_idempotent_request.created_at`

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:00:00

The 24-hour prune (`prune_idempotent`) deletes by `created_at`; without the index it reads
the whole table each pass. No row changes. Self-contained on purpose: no project module.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_api_idempotent_request_created_at"


def upgrade() -> None:
    op.create_index(INDEX, "api_idempotent_request", ["created_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="api_idempotent_request")
