"""A customer's completeness score and missing fields, by the team's weights."""

from __future__ import annotations

from storage.models import Customer
from storage.quality.completeness import completeness
from storage.quality.rules import QualityRules, rules_from

RULES = rules_from(
    required={"customer": ["name", "phone", "company", "source"]},
    weights={"name": 1, "phone": 4, "company": 3, "source": 2, "email": 0, "position": 0,
             "industry": 0, "region": 0, "birthday": 0, "category": 0, "needs": 0},
)  # fmt: skip


def customer(**fields: object) -> Customer:
    return Customer(owner_id=1, name="张伟", **fields)


def test_a_customer_with_every_weighted_field_scores_100() -> None:
    full = customer(company="Acme", source="referral")
    assert completeness(full, RULES, phones=["+8613800138000"]) == (100, [])


def test_missing_fields_lower_the_score_by_their_weight_required_first() -> None:
    score, missing = completeness(customer(), RULES)
    assert score == 10  # only the name (1 of 10)
    assert missing == ["phone", "company", "source"]


def test_blank_text_counts_as_missing() -> None:
    score, missing = completeness(customer(company="  ", source="event"), RULES, phones=["+1"])
    assert (score, missing) == (70, ["company"])


def test_a_required_field_of_weight_zero_still_keeps_the_score_below_100() -> None:
    rules = rules_from(required={"customer": ["email"]}, weights=dict.fromkeys(
        ("phone", "email", "company", "position", "industry", "region", "birthday", "source",
         "category", "needs"), 0))  # fmt: skip
    assert completeness(customer(), rules) == (99, ["email"])


def test_default_rules_score_a_name_only_customer_low() -> None:
    score, missing = completeness(customer(), QualityRules())
    assert 0 < score < 20
    assert missing[0] == "phone"  # heaviest first
    assert "tags" not in missing  # weight 0 by default
    assert "gender" not in missing


def test_birthday_counts_with_month_and_day() -> None:
    rules = rules_from(required={}, weights={"birthday": 5})
    _, missing = completeness(customer(birthday_month=3, birthday_day=4), rules)
    assert "birthday" not in missing
