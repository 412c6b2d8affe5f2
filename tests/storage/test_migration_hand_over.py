"""Migration 0006 hands over what old reassigns and merges left behind (issue 14, item 1).

Each test builds the database at 0005, seeds the leaked state with plain SQL (as the old code
left it: customer reassigned from Ann to Bob, Ann still holding its records), then upgrades.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, text

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_database

BEFORE = "0005"
AFTER = "0006"  # purchases became orders later (0012): read them where 0006 left them
NOW = {"created_at": "CURRENT_TIMESTAMP", "updated_at": "CURRENT_TIMESTAMP"}
_telegram_ids = iter(range(7_000_001, 8_000_000))
HOLDER = {"deal": "owner_id", "purchase": "owner_id", "reminder": "member_id"}  # who holds a row


def insert(connection: Connection, table: str, sql: dict[str, str], **values: Any) -> int:
    """A row by plain SQL: `values` bound, `sql` written as SQL expressions."""
    columns = [*values, *sql]
    expressions = [f":{name}" for name in values] + list(sql.values())
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(expressions)})"
        " RETURNING id"
    )
    return int(connection.execute(text(statement), values).scalar_one())


def add_member(connection: Connection, role: str, manager_id: int | None = None) -> int:
    return insert(
        connection,
        "member",
        NOW,
        telegram_id=next(_telegram_ids),
        display_name=role,
        role=role,
        manager_id=manager_id,
        active=True,
    )


def add_customer(connection: Connection, owner_id: int, *, deleted: bool = False) -> int:
    sql = {**NOW, "deleted_at": "CURRENT_TIMESTAMP"} if deleted else NOW
    return insert(
        connection, "customer", sql, owner_id=owner_id, name="Li Wei", tags="[]", created_by_id=1
    )


def add_deal(connection: Connection, customer_id: int, owner_id: int) -> int:
    return insert(
        connection,
        "deal",
        NOW,
        customer_id=customer_id,
        owner_id=owner_id,
        title="Boilers",
        stage="lead",
        created_by_id=owner_id,
    )


def add_purchase(connection: Connection, customer_id: int, owner_id: int) -> int:
    return insert(
        connection,
        "purchase",
        {**NOW, "purchased_on": "CURRENT_DATE"},
        customer_id=customer_id,
        owner_id=owner_id,
        product="Pump",
        created_by_id=owner_id,
    )


def add_reminder(
    connection: Connection, member_id: int, customer_id: int | None, status: str = "pending"
) -> int:
    return insert(
        connection,
        "reminder",
        {**NOW, "due_at": "CURRENT_TIMESTAMP"},
        member_id=member_id,
        customer_id=customer_id,
        kind="follow_up",
        status=status,
        exact_time=True,
        attempts=0,
    )


def value(db: Database, table: str, column: str, row_id: int) -> Any:
    with db.engine.connect() as connection:
        query = text(f"SELECT {column} FROM {table} WHERE id = :id")
        return connection.scalar(query, {"id": row_id})


@dataclass(frozen=True)
class Team:
    """Ann and Bob in Mia's team; Max manages another team; Ada is an admin. Bob owns the
    customer, which was Ann's."""

    ann: int
    bob: int
    mia: int
    max: int
    ada: int
    customer: int


def database_at(db_url: str, revision: str) -> Iterator[Database]:
    """A database migrated only up to `revision`, closed after the test (a fixture's body)."""
    database = Database(db_url)
    upgrade_database(database.engine, revision=revision)
    yield database
    database.close()


@pytest.fixture
def old_db(blank_db_url: str) -> Iterator[Database]:
    yield from database_at(blank_db_url, BEFORE)


@pytest.fixture
def team(old_db: Database) -> Team:
    with old_db.engine.begin() as connection:
        mia = add_member(connection, "manager")
        ann = add_member(connection, "sales", mia)
        bob = add_member(connection, "sales", mia)
        max_ = add_member(connection, "manager")
        ada = add_member(connection, "admin")
        customer = add_customer(connection, bob)
    return Team(ann, bob, mia, max_, ada, customer)


def seed(db: Database, add: Any, *args: Any, **kwargs: Any) -> int:
    with db.engine.begin() as connection:
        return int(add(connection, *args, **kwargs))


def test_upgrade_from_previous_revision_reaches_head(old_db: Database) -> None:
    assert current_revision(old_db.engine) == BEFORE
    upgrade_database(old_db.engine)
    assert current_revision(old_db.engine) == head_revision()


def test_upgrade_leaves_records_in_owner_hands_untouched(old_db: Database, team: Team) -> None:
    deal = seed(old_db, add_deal, team.customer, team.bob)
    reminder = seed(old_db, add_reminder, team.bob, team.customer)
    stamps = [value(old_db, "deal", "updated_at", deal)]
    stamps.append(value(old_db, "reminder", "updated_at", reminder))
    upgrade_database(old_db.engine)
    assert value(old_db, "deal", "owner_id", deal) == team.bob
    assert value(old_db, "reminder", "member_id", reminder) == team.bob
    assert [
        value(old_db, "deal", "updated_at", deal),
        value(old_db, "reminder", "updated_at", reminder),
    ] == stamps


# A record someone held when the migration runs -> who holds it after: (table, seed).
Seed = Callable[[Connection, Team], int]
HANDED_TO_OWNER: dict[str, tuple[str, Seed]] = {
    "deal of the former owner": ("deal", lambda c, t: add_deal(c, t.customer, t.ann)),
    "purchase of the former owner": ("purchase", lambda c, t: add_purchase(c, t.customer, t.ann)),
    "pending reminder of the former owner": (
        "reminder",
        lambda c, t: add_reminder(c, t.ann, t.customer, "pending"),
    ),
    "sent reminder of the former owner": (
        "reminder",
        lambda c, t: add_reminder(c, t.ann, t.customer, "sent"),
    ),
    # Max managed the customer's former owner in another team; the customer left his team.
    "reminder of the other team's manager": (
        "reminder",
        lambda c, t: add_reminder(c, t.max, t.customer),
    ),
}
KEPT_BY: dict[str, tuple[str, Seed]] = {
    "done reminder": ("ann", lambda c, t: add_reminder(c, t.ann, t.customer, "done")),
    # Members who still see the customer: the owner's manager, an admin.
    "reminder of the owner's manager": (
        "mia",
        lambda c, t: add_reminder(c, t.mia, t.customer, "sent"),
    ),
    "reminder of an admin": ("ada", lambda c, t: add_reminder(c, t.ada, t.customer, "sent")),
    "reminder without customer": ("ann", lambda c, t: add_reminder(c, t.ann, None)),
}


def holder_after_upgrade(db: Database, table: str, row_id: int) -> Any:
    upgrade_database(db.engine, revision=AFTER)
    return value(db, table, HOLDER[table], row_id)


@pytest.mark.parametrize("case", HANDED_TO_OWNER)
def test_upgrade_hands_record_to_customer_owner(old_db: Database, team: Team, case: str) -> None:
    table, add = HANDED_TO_OWNER[case]
    row = seed(old_db, add, team)
    assert holder_after_upgrade(old_db, table, row) == team.bob


@pytest.mark.parametrize("case", KEPT_BY)
def test_upgrade_keeps_reminder_with_its_holder(old_db: Database, team: Team, case: str) -> None:
    holder, add = KEPT_BY[case]
    reminder = seed(old_db, add, team)
    assert holder_after_upgrade(old_db, "reminder", reminder) == getattr(team, holder)


def test_upgrade_hands_over_records_of_deleted_customer(old_db: Database, team: Team) -> None:
    """Restoring the customer must bring its records back in its owner's hands."""
    deleted = seed(old_db, add_customer, team.bob, deleted=True)
    deal = seed(old_db, add_deal, deleted, team.ann)
    purchase = seed(old_db, add_purchase, deleted, team.ann)
    reminder = seed(old_db, add_reminder, team.ann, deleted)
    upgrade_database(old_db.engine, revision=AFTER)
    for table, row in (("deal", deal), ("purchase", purchase), ("reminder", reminder)):
        assert value(old_db, table, HOLDER[table], row) == team.bob
