"""Migration 0016 adds `review_decision` to a database made by 0015, whose customers then
show in the review queue and take decisions."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Member
from storage.review_items import ReviewKey, ReviewRules
from storage.reviews import decide_review_item, list_review_queue
from tests.storage.test_migration_hand_over import add_customer, add_member

BEFORE = "0015"


def test_upgrade_from_0015_keeps_customers_and_records_decisions(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision=BEFORE)
        with database.engine.begin() as connection:
            manager = add_member(connection, "manager")
            sales = add_member(connection, "sales", manager)
            customer = add_customer(connection, sales)
        upgrade_database(database.engine)
        rules, today = ReviewRules(), date(2026, 12, 7)
        key = ReviewKey("missing", "customer", customer)
        with database.session() as session:
            actor = session.exec(select(Member).where(Member.id == manager)).one()
            before = [
                i.key for i in list_review_queue(session, actor=actor, rules=rules, today=today)
            ]
            decide_review_item(
                session, actor=actor, rules=rules, today=today, key=key, decision="approved"
            )
            after = list_review_queue(session, actor=actor, rules=rules, today=today)
    finally:
        database.close()
    assert before == [key]
    assert after == []
