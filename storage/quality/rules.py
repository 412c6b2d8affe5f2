"""The data-quality rules a team sets in `[quality]`: which fields each record type requires,
how much each field weighs in a customer's completeness score, and the standard lists for
region and industry. Field names are the config's words ("phone", "close_date"); `FLOW_FIELD`
names the entry flows' fields they stand for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from storage.quality.standard import StandardList, load_list

FIELDS: dict[str, tuple[str, ...]] = {
    "customer": (
        "name", "phone", "email", "company", "position", "industry", "region", "gender",
        "birthday", "source", "category", "tags", "needs",
    ),
    "deal": (
        "title", "amount", "budget_amount", "decision_date", "stage", "close_date",
        "probability", "budget", "decision_maker",
    ),
}  # fmt: skip
FLOW_FIELD = {"phone": "phones", "close_date": "close"}
DEFAULT_REQUIRED: dict[str, tuple[str, ...]] = {"customer": ("name",), "deal": ("title", "stage")}
DEFAULT_WEIGHTS: dict[str, int] = {
    "name": 2, "phone": 3, "email": 2, "company": 2, "position": 1, "industry": 1,
    "region": 1, "gender": 0, "birthday": 1, "source": 1, "category": 1, "tags": 0, "needs": 1,
}  # fmt: skip


def unknown_fields(record: str, names: Sequence[str]) -> list[str]:
    """The names `record` ("customer", "deal") does not have: what config validation reports."""
    known = FIELDS.get(record, ())
    return [name for name in names if name not in known]


@dataclass(frozen=True)
class QualityRules:
    """Built once from the configuration (`rules_from`); the defaults keep today's flows."""

    required: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_REQUIRED)
    weights: Mapping[str, int] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    regions_file: str = ""
    industries_file: str = ""

    def required_for(self, record: str) -> tuple[str, ...]:
        """Always with what the record cannot be saved without (a customer's name)."""
        return tuple(
            dict.fromkeys((*DEFAULT_REQUIRED.get(record, ()), *self.required.get(record, ())))
        )

    def weight(self, name: str) -> int:
        return self.weights.get(name, DEFAULT_WEIGHTS.get(name, 0))

    def standard(self, name: str) -> StandardList:
        """The list a field is picked from: "region" or "industry"."""
        return self.regions if name == "region" else self.industries

    @cached_property
    def regions(self) -> StandardList:
        return load_list("regions", self.regions_file)

    @cached_property
    def industries(self) -> StandardList:
        return load_list("industries", self.industries_file)


def rules_from(
    *,
    required: Mapping[str, Sequence[str]],
    weights: Mapping[str, int],
    regions_file: str = "",
    industries_file: str = "",
) -> QualityRules:
    """Rules from the `[quality]` table: a weight not given keeps its default."""
    return QualityRules(
        required={record: tuple(names) for record, names in required.items()},
        weights={**DEFAULT_WEIGHTS, **weights},
        regions_file=regions_file,
        industries_file=industries_file,
    )
