"""Alembic environment: migrations run on the engine `storage.migrate` hands over."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import storage.api_models  # noqa: F401  (the HTTP API's tables)
import storage.imports.models  # noqa: F401  (the import feature's tables)
import storage.models  # noqa: F401  (registers the tables on the metadata)
import storage.notification_models  # noqa: F401  (the notification feature's tables)
import storage.review_models  # noqa: F401  (the review queue's decisions)
import storage.satisfaction_models  # noqa: F401  (the customers' satisfaction scores)
import storage.webhook_models  # noqa: F401  (the outgoing webhooks' tables)
from storage.db import create_db_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(
    type_: str,
    obj: Any,
    autogen_context: AutogenContext,  # noqa: ARG001 (Alembic's signature)
) -> str | Literal[False]:
    """Autogenerate writes UTC columns as plain SQLAlchemy types: a migration imports nothing
    of the live code (tests/storage/test_migrations_self_contained.py)."""
    if type_ == "type" and isinstance(obj, storage.models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
