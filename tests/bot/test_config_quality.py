"""`[quality]`: required fields and weights checked at load, one line per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.services import quality_rules
from tests.bot.test_config import config_error, load


def test_quality_defaults_require_what_the_flows_always_required(tmp_path: Path) -> None:
    quality = load(tmp_path, "").quality
    assert quality.required == {"customer": ["name"], "deal": ["title", "stage"]}
    assert quality.weights["phone"] == 3


def test_required_fields_and_weights_are_taken_as_configured(tmp_path: Path) -> None:
    text = (
        "[quality]\n"
        'required.customer = ["name", "phone", "company", "source"]\n'
        'required.deal = ["amount", "close_date"]\n'
        "weights = { phone = 10, tags = 1 }\n"
    )
    rules = quality_rules(load(tmp_path, text).quality)
    assert rules.required_for("customer") == ("name", "phone", "company", "source")
    assert rules.required_for("deal") == ("title", "stage", "amount", "close_date")
    assert (rules.weight("phone"), rules.weight("tags"), rules.weight("email")) == (10, 1, 2)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('required.customer = ["name", "fax"]', "unknown field 'fax'"),
        ('required.invoice = ["total"]', "unknown record type 'invoice'"),
        ("weights = { fax = 1 }", "'fax'"),
        ("weights = { phone = -1 }", "greater than or equal to 0"),
        ('regions_file = "/nonexistent/regions.json"', "not a readable list file"),
    ],
)
def test_bad_quality_keys_are_one_line_each(tmp_path: Path, text: str, said: str) -> None:
    [line] = config_error(tmp_path, f"[quality]\n{text}\n")
    assert line.startswith("quality.")
    assert said in line
