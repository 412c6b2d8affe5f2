"""The review queue: each kind of item, decisions that hold until the record changes, access."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.audit import list_audit
from storage.customer_changes import update_customer
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.models import Deal, Member
from storage.review_items import ReviewKey, ReviewRules, missing_customer_fields
from storage.reviews import (
    count_new_items,
    decide_review_item,
    get_review_item,
    list_own_open_items,
    list_review_queue,
)
from tests.factories import pk
from tests.storage.test_customer_changes import make_people

TODAY = date(2026, 12, 7)
RULES = ReviewRules()
PHONE = "+8613800138000"
_numbers = itertools.count(1)  # a distinct valid phone for each customer added


def add_customer(
    session: Session, owner: Member, name: str = "Zhang Wei", **fields: object
) -> int:
    fields.setdefault("phones", [f"+861380013{next(_numbers):04d}"])
    data = CustomerCreate(name=name, **fields)  # type: ignore[arg-type]
    return pk(create_customer(session, actor=owner, data=data))


def add_deal(session: Session, owner: Member, customer_id: int, **fields: object) -> int:
    if "amount" in fields:
        fields["currency"] = "CNY"
    data = DealCreate(customer_id=customer_id, title="Chairs", stage="lead", **fields)  # type: ignore[arg-type]
    deal = create_deal(session, actor=owner, data=data)
    assert deal.id is not None
    return deal.id


def decide(
    session: Session,
    actor: Member,
    key: ReviewKey,
    decision: str,
    comment: str | None = None,
    rules: ReviewRules = RULES,
) -> None:
    decide_review_item(
        session,
        actor=actor,
        rules=rules,
        today=TODAY,
        key=key,
        decision=decision,
        comment=comment,
    )


def queue(session: Session, actor: Member, rules: ReviewRules = RULES) -> list[ReviewKey]:
    return [i.key for i in list_review_queue(session, actor=actor, rules=rules, today=TODAY)]


def test_missing_fields_follow_the_required_list() -> None:
    values = {"name": "Li", "company": "", "birthday_month": None}
    assert missing_customer_fields(values, [], ("name", "phone")) == ("phone",)
    assert missing_customer_fields(values, [PHONE], ("name", "phone", "company")) == ("company",)
    assert missing_customer_fields(values, [PHONE], ("birthday",)) == ("birthday",)


def test_queue_lists_missing_required_fields(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, phones=[])
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
        strict = list_review_queue(
            session,
            actor=people.manager,
            rules=ReviewRules(required=("name", "phone", "company")),
            today=TODAY,
        )
    assert [(i.key, i.details) for i in items] == [
        (ReviewKey("missing", "customer", customer_id), ("phone",))
    ]
    assert strict[0].details == ("phone", "company")


def test_queue_finds_duplicates_across_salespeople_once_per_pair(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        first = add_customer(session, people.sales, "Li Na", phones=[PHONE])
        second = add_customer(session, people.teammate, "Wang Fang", phones=[PHONE])
        by_email = add_customer(session, people.sales, "Chen", email="a@x.cn")
        by_email_2 = add_customer(session, people.teammate, "Chen Jie", email="A@x.cn")
        by_name = add_customer(session, people.sales, "Zhang Wei", company="Acme")
        by_name_2 = add_customer(session, people.teammate, "Zhang  Wei", company="ACME")
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
    duplicates = {(i.key.record_id, i.key.other_id, i.details) for i in items}
    assert duplicates == {
        (second, first, ("phone",)),
        (by_email_2, by_email, ("email",)),
        (by_name_2, by_name, ("name",)),
    }


def test_duplicate_of_another_teams_customer_shows_only_its_owner(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        add_customer(session, people.other_sales, "Li Na", phones=[PHONE])
        mine = add_customer(session, people.sales, "Wang Fang", phones=[PHONE])
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
    assert [(i.key.record_id, i.other_visible, i.other_owner) for i in items] == [
        (mine, False, people.other_sales.display_name)
    ]


def test_queue_flags_suspicious_customer_values(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        bad_phone = add_customer(session, people.sales, "A", phones=["+861234"])
        future = add_customer(
            session, people.sales, "B", birthday_year=2030, birthday_month=1, birthday_day=2
        )
        old = add_customer(
            session, people.sales, "C", birthday_year=1900, birthday_month=1, birthday_day=2
        )
        add_customer(
            session, people.sales, "D", birthday_year=1990, birthday_month=1, birthday_day=2
        )
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
    assert {(i.key.record_id, i.details) for i in items if i.key.kind == "suspicious"} == {
        (bad_phone, ("phone_invalid",)),
        (future, ("birthday_future",)),
        (old, ("age_over_110",)),
    }


def test_queue_flags_outlier_amounts_and_far_close_dates(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        for amount in (1000, 1200, 900):
            add_deal(session, people.sales, customer_id, amount=Decimal(amount))
        teammates = add_customer(session, people.teammate, "Teammate's")
        huge = add_deal(session, people.teammate, teammates, amount=Decimal(1_000_000))
        far = add_deal(
            session, people.sales, customer_id, expected_close_date=TODAY + timedelta(days=1000)
        )
        # Another team's deals make no median for this one.
        other = add_customer(session, people.other_sales, "Other")
        add_deal(session, people.other_sales, other, amount=Decimal(1))
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
    assert {(i.key, i.details) for i in items} == {
        (ReviewKey("suspicious", "deal", huge), ("amount_outlier",)),
        (ReviewKey("suspicious", "deal", far), ("close_far",)),
    }


def test_approval_mode_lists_new_customers_of_salespeople_only(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        entered = add_customer(session, people.sales)
        add_customer(session, people.manager, "Boss's own")
        off = queue(session, people.manager)
        on = queue(session, people.manager, ReviewRules(approve_new=True))
    assert off == []
    assert on == [ReviewKey("new", "customer", entered)]


def test_decision_holds_until_the_record_changes(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, phones=[])
        key = ReviewKey("missing", "customer", customer_id)
        decide(session, people.manager, key, "dismissed", "walk-in, no phone")
        after_decision = queue(session, people.manager)
        update_customer(
            session, actor=people.sales, customer_id=customer_id, changes={"company": "Acme"}
        )
        after_change = queue(session, people.manager)
        audit = list_audit(session, entity_type="customer", entity_id=customer_id)
    assert after_decision == []
    assert after_change == [key]
    review = next(e for e in audit if e.action == "review")
    assert review.actor_id == people.manager.id
    assert review.changes["review"] == [None, "dismissed"]
    assert review.changes["comment"] == [None, "walk-in, no phone"]


def test_approved_new_customer_never_comes_back(db: Database) -> None:
    rules = ReviewRules(approve_new=True)
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        key = ReviewKey("new", "customer", customer_id)
        decide(session, people.manager, key, "approved", rules=rules)
        update_customer(
            session, actor=people.sales, customer_id=customer_id, changes={"company": "Acme"}
        )
        assert queue(session, people.manager, rules) == []


def test_sent_back_item_leaves_the_queue_and_stays_open_for_the_owner(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, phones=[])
        key = ReviewKey("missing", "customer", customer_id)
        decide(session, people.manager, key, "sent_back", "add the phone please")
        queued = queue(session, people.manager)
        own = list_own_open_items(session, actor=people.sales, rules=RULES, today=TODAY)
        teammate = list_own_open_items(session, actor=people.teammate, rules=RULES, today=TODAY)
    assert queued == []
    assert [(o.item.key, o.sent_back and o.sent_back.comment) for o in own] == [
        (key, "add the phone please")
    ]
    assert teammate == []


def test_manager_never_sees_another_teams_items(db: Database) -> None:
    """The access clause of the queue: mutating `owner_scope` out of `compute_items` fails
    this test (docs/mutation-testing.md)."""
    with db.session() as session:
        people = make_people(session)
        mine = add_customer(session, people.sales, phones=[])
        theirs = add_customer(session, people.other_sales, "Other", phones=[])
        deal_customer = add_customer(session, people.other_sales, "Deal customer")
        add_deal(session, people.other_sales, deal_customer, expected_close_date=date(2040, 1, 1))
        manager = queue(session, people.manager)
        admin = queue(session, people.admin)
        other = ReviewKey("missing", "customer", theirs)
        with pytest.raises(NotFound):
            get_review_item(session, actor=people.manager, rules=RULES, today=TODAY, key=other)
        with pytest.raises(NotFound):
            decide(session, people.manager, other, "approved")
    assert manager == [ReviewKey("missing", "customer", mine)]
    assert {k.record_id for k in admin} >= {mine, theirs}
    assert len(admin) == 3


def test_salespeople_have_no_queue_and_decide_nothing(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, phones=[])
        key = ReviewKey("missing", "customer", customer_id)
        with pytest.raises(NotFound):
            list_review_queue(session, actor=people.sales, rules=RULES, today=TODAY)
        with pytest.raises(NotFound):
            decide(session, people.sales, key, "approved")


def test_forged_and_unknown_keys_are_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, phones=[])
        for key in (
            ReviewKey("missing", "customer", customer_id + 999),
            ReviewKey("duplicate", "customer", customer_id, 1),
            ReviewKey("missing", "deal", customer_id),
        ):
            with pytest.raises(NotFound):
                get_review_item(session, actor=people.manager, rules=RULES, today=TODAY, key=key)


def test_digest_counts_only_new_undecided_items(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        add_customer(session, people.sales, phones=[])
        items = list_review_queue(session, actor=people.manager, rules=RULES, today=TODAY)
        since = items[0].since
        assert (
            count_new_items(session, actor=people.manager, rules=RULES, today=TODAY, since=since)
            == 1
        )
        later = since + timedelta(seconds=1)
        assert (
            count_new_items(session, actor=people.manager, rules=RULES, today=TODAY, since=later)
            == 0
        )


def test_a_deal_is_reviewed_only_with_both_its_owners_in_scope(db: Database) -> None:
    """A deal left with another team's owner, or on another team's customer, stays out of the
    manager's queue, as it stays out of their reach (the deal rule of docs/access-rule.md)."""
    far = date(2040, 1, 1)
    with db.session() as session:
        people = make_people(session)
        mine = add_customer(session, people.sales)
        theirs = add_customer(session, people.other_sales, "Theirs")
        for customer_id, owner in ((mine, people.other_sales), (theirs, people.sales)):
            session.add(
                Deal(
                    customer_id=customer_id,
                    owner_id=pk(owner),
                    title="Old",
                    stage="lead",
                    expected_close_date=far,
                    created_by_id=pk(owner),
                )
            )
        session.flush()
        assert queue(session, people.manager) == []
        assert len(queue(session, people.admin)) == 2


def test_a_managers_own_open_items_leave_out_the_teams(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        own = add_customer(session, people.manager, "Boss's", phones=[])
        add_customer(session, people.sales, phones=[])
        items = list_own_open_items(session, actor=people.manager, rules=RULES, today=TODAY)
    assert [o.item.key.record_id for o in items] == [own]
