"""Migration 0006 hands over what old reassigns and merges left behind (issue 14, item 1).

Each test builds the database at 0005, seeds the leaked state with plain SQL (as the old code
left it: customer reassigned from Ann to Bob, Ann still holding its records), then upgrades.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, text

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_database

BEFORE = "0005"
NOW = {"created_at": "CURRENT_TIMESTAMP", "updated_at": "CURRENT_TIMESTAMP"}
_telegram_ids = iter(range(7_000_001, 8_000_000))


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


@pytest.fixture
def old_db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    upgrade_database(database.engine, revision=BEFORE)
    yield database
    database.close()


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


def test_upgrade_hands_deal_of_former_owner_to_customer_owner(
    old_db: Database, team: Team
) -> None:
    deal = seed(old_db, add_deal, team.customer, team.ann)
    upgrade_database(old_db.engine)
    assert value(old_db, "deal", "owner_id", deal) == team.bob


def test_upgrade_hands_purchase_of_former_owner_to_customer_owner(
    old_db: Database, team: Team
) -> None:
    purchase = seed(old_db, add_purchase, team.customer, team.ann)
    upgrade_database(old_db.engine)
    assert value(old_db, "purchase", "owner_id", purchase) == team.bob


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


@pytest.mark.parametrize("status", ["pending", "sent"])
def test_upgrade_hands_open_reminder_of_former_owner_to_customer_owner(
    old_db: Database, team: Team, status: str
) -> None:
    reminder = seed(old_db, add_reminder, team.ann, team.customer, status)
    upgrade_database(old_db.engine)
    assert value(old_db, "reminder", "member_id", reminder) == team.bob


def test_upgrade_keeps_done_reminder_with_its_holder(old_db: Database, team: Team) -> None:
    reminder = seed(old_db, add_reminder, team.ann, team.customer, "done")
    upgrade_database(old_db.engine)
    assert value(old_db, "reminder", "member_id", reminder) == team.ann


@pytest.mark.parametrize("holder", ["mia", "ada"])  # the owner's manager, an admin
def test_upgrade_keeps_reminder_of_member_who_still_sees_customer(
    old_db: Database, team: Team, holder: str
) -> None:
    member = getattr(team, holder)
    reminder = seed(old_db, add_reminder, member, team.customer, "sent")
    upgrade_database(old_db.engine)
    assert value(old_db, "reminder", "member_id", reminder) == member


def test_upgrade_hands_reminder_of_other_team_manager_to_customer_owner(
    old_db: Database, team: Team
) -> None:
    """Max managed the customer's former owner in another team; the customer left his team."""
    reminder = seed(old_db, add_reminder, team.max, team.customer)
    upgrade_database(old_db.engine)
    assert value(old_db, "reminder", "member_id", reminder) == team.bob


def test_upgrade_keeps_reminder_without_customer(old_db: Database, team: Team) -> None:
    reminder = seed(old_db, add_reminder, team.ann, None)
    upgrade_database(old_db.engine)
    assert value(old_db, "reminder", "member_id", reminder) == team.ann


def test_upgrade_hands_over_records_of_deleted_customer(old_db: Database, team: Team) -> None:
    """Restoring the customer must bring its records back in its owner's hands."""
    deleted = seed(old_db, add_customer, team.bob, deleted=True)
    deal = seed(old_db, add_deal, deleted, team.ann)
    purchase = seed(old_db, add_purchase, deleted, team.ann)
    reminder = seed(old_db, add_reminder, team.ann, deleted)
    upgrade_database(old_db.engine)
    assert value(old_db, "deal", "owner_id", deal) == team.bob
    assert value(old_db, "purchase", "owner_id", purchase) == team.bob
    assert value(old_db, "reminder", "member_id", reminder) == team.bob
