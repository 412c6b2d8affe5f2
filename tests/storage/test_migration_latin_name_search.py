"""Migration 0009 gives the customers already stored a Latin name key (issue 16): "Zhang Wei",
written at 0007, is found by "zhangwei" after the upgrade, as 张伟 always was."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Connection, text

from storage.db import Database
from storage.migrate import alembic_config, current_revision, head_revision, upgrade_database
from storage.models import Member
from storage.search.find import find_customers
from tests.storage.test_migration_hand_over import NOW, add_member, database_at, insert

BEFORE = "0007"
NAMES = ("Zhang Wei", "Acme", "张伟", "O'Brien-Smith")


@pytest.fixture
def old_db(blank_db_url: str) -> Iterator[Database]:
    yield from database_at(blank_db_url, BEFORE)


def add_customer(connection: Connection, owner_id: int, name: str) -> int:
    return insert(
        connection, "customer", NOW, owner_id=owner_id, name=name, tags="[]", created_by_id=1
    )


def search_keys(database: Database) -> dict[str, tuple[str | None, str | None]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT c.name, s.pinyin_key, s.initials FROM customer c"
                " JOIN customer_search s ON s.customer_id = c.id"
            )
        ).all()
    return {name: (key, initials) for name, key, initials in rows}


def test_upgrade_fills_the_key_of_existing_names(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        owner = add_member(connection, "sales")
        for name in NAMES:
            add_customer(connection, owner, name)
    assert search_keys(old_db)["Zhang Wei"] == (None, None)
    upgrade_database(old_db.engine)
    assert current_revision(old_db.engine) == head_revision()
    assert search_keys(old_db) == {
        "Zhang Wei": ("zhangwei", None),
        "Acme": (None, None),  # its name is already its letters
        "张伟": ("zhangwei", "zw"),  # a Chinese name stored without its pinyin gets it too
        "O'Brien-Smith": ("obriensmith", None),
    }
    with old_db.session() as session:
        actor = session.get(Member, owner)
        assert actor is not None
        found = find_customers(session, actor=actor, query="zhangwei")
    assert sorted(c.name for c in found) == ["Zhang Wei", "张伟"]


def test_downgrade_leaves_chinese_pinyin_and_clears_latin_keys(old_db: Database) -> None:
    with old_db.engine.begin() as connection:
        owner = add_member(connection, "sales")
        for name in NAMES:
            add_customer(connection, owner, name)
    upgrade_database(old_db.engine)
    config = alembic_config(str(old_db.engine.url))
    with old_db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)
    assert current_revision(old_db.engine) == BEFORE
    assert search_keys(old_db) == {
        "Zhang Wei": (None, None),
        "Acme": (None, None),
        "张伟": ("zhangwei", "zw"),
        "O'Brien-Smith": (None, None),
    }
