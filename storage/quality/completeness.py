"""How complete a customer is, 0-100, by the team's field weights, and what is missing: the
card shows it, "Fill gaps" asks the missing fields, and the review and /quality count it.
Pure: the caller loads the customer and its phones (they live in their own table)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import Customer
from storage.quality.rules import FIELDS, QualityRules


def _filled(customer: Customer, name: str, phones: Sequence[str]) -> bool:
    if name == "phone":
        return bool(phones)
    if name == "birthday":
        return customer.birthday_month is not None and customer.birthday_day is not None
    value = getattr(customer, name, None)
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def completeness(
    customer: Customer, rules: QualityRules, *, phones: Sequence[str] = ()
) -> tuple[int, list[str]]:
    """(score, missing): the weighted share of filled fields, rounded down so that 100 means
    nothing is missing, and the empty fields that count (required or weighted), required
    first, then heavier first. `phones` are the customer's (none given: phone is missing)."""
    required = rules.required_for("customer")
    counted = [n for n in FIELDS["customer"] if n in required or rules.weight(n) > 0]
    total = sum(rules.weight(n) for n in counted)
    missing = [n for n in counted if not _filled(customer, n, phones)]
    lost = sum(rules.weight(n) for n in missing)
    score = 100 if total == 0 else (100 * (total - lost)) // total
    if missing and score == 100:
        score = 99  # a required field of weight 0 is still a gap
    missing.sort(key=lambda n: (n not in required, -rules.weight(n)))
    return score, missing
