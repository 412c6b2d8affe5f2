"""The numbers of /quality: completeness by salesperson and field, merges, open items, scope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.access import NotFound
from storage.customer_changes import merge_customers
from storage.db import Database
from storage.quality_stats import MemberScore, quality_stats
from storage.review_items import ReviewRules
from tests.storage.test_customer_changes import make_people
from tests.storage.test_reviews import TODAY, add_customer

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RULES = ReviewRules(required=("name", "phone", "company"))


def test_quality_scores_completeness_by_salesperson_and_field(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        add_customer(session, people.sales, company="Acme")  # 3 of 3
        add_customer(session, people.sales, phones=[])  # 1 of 3
        add_customer(session, people.teammate, company="Globex")
        add_customer(session, people.other_sales, phones=[])  # another team: not counted
        stats = quality_stats(session, actor=people.manager, rules=RULES, today=TODAY, now=NOW)
    assert stats.members == [
        MemberScore(people.sales.display_name, 2, 67),
        MemberScore(people.teammate.display_name, 1, 100),
    ]
    assert stats.fields == [("name", 100), ("phone", 67), ("company", 67)]
    assert stats.open_items == {"missing": 1}


def test_quality_counts_open_duplicates_and_merges(db: Database) -> None:
    phone = ["+8613800138000"]
    with db.session() as session:
        people = make_people(session)
        first = add_customer(session, people.sales, "Li Na", phones=phone)
        second = add_customer(session, people.teammate, "Li Na 2", phones=phone)
        before = quality_stats(
            session, actor=people.manager, rules=ReviewRules(), today=TODAY, now=NOW
        )
        merge_customers(session, actor=people.manager, survivor_id=first, duplicate_id=second)
        after = quality_stats(
            session, actor=people.manager, rules=ReviewRules(), today=TODAY, now=NOW
        )
        with pytest.raises(NotFound):
            quality_stats(session, actor=people.sales, rules=RULES, today=TODAY, now=NOW)
    assert (before.duplicates_open, before.merged) == (1, 0)
    assert (after.duplicates_open, after.merged) == (0, 1)
