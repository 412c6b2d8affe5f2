"""One row -> customer values with manual entry's rules, or the reason it is rejected."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.formatting import format_birthday
from handlers.i18n import Catalogs
from storage.imports import REASONS
from storage.imports.rows import Rejected, RowRules, normalise_row
from storage.parsing import Birthday
from storage.quality.rules import QualityRules

TARGETS = ["name", "phone", "email", "birthday", "gender", "source", "category", "tags", None]


def rules(day_first: dict[int, bool] | None = None) -> RowRules:
    return RowRules(
        targets=TARGETS, region="CN", day_first=day_first or {}, today=date(2026, 11, 23)
    )


def row(**cells: str) -> list[str]:
    values = dict.fromkeys(("name", "phone", "email", "birthday", "gender", "source",
                            "category", "tags", "other"), "")  # fmt: skip
    values.update(cells)
    return list(values.values())


def test_normalise_row_stores_values_as_manual_entry_does() -> None:
    values = normalise_row(
        row(
            name="  张  伟 ",
            phone="138 0013 8000; +1 650-253-0000",
            email="Zhang.Wei@EXAMPLE.com",
            birthday="1990年3月4日",
            gender="男",
            source="转介绍",
            category="VIP",
            tags="#重点, expo 重点",
            other="ignored",
        ),
        rules(),
    )
    assert values.fields == {
        "name": "张 伟",
        "email": "Zhang.Wei@example.com",
        "birthday_month": 3,
        "birthday_day": 4,
        "birthday_year": 1990,
        "gender": "male",
        "source": "referral",
        "category": "loyal",
        "tags": ["重点", "expo"],
    }
    assert values.phones == ["+8613800138000", "+16502530000"]
    assert values.display["birthday"] == "1990-03-04"
    assert values.display["phone"] == "+8613800138000, +16502530000"


@pytest.mark.parametrize(
    ("day_first", "expected"), [(True, (4, 3)), (False, (3, 4))], ids=["day", "month"]
)
def test_normalise_row_reads_slashed_dates_in_the_chosen_order(
    day_first: bool, expected: tuple[int, int]
) -> None:
    values = normalise_row(row(name="Ada", birthday="03/04/1990"), rules({3: day_first}))
    assert (values.fields["birthday_month"], values.fields["birthday_day"]) == expected


def test_normalise_row_keeps_unknown_source_and_category_as_written() -> None:
    values = normalise_row(row(name="Ada", source="微信群", category="A类"), rules())
    assert values.fields["source"] == "微信群"
    assert values.fields["category"] == "A类"


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ({"phone": "13800138000"}, "missing_name"),
        ({"name": "x" * 101}, "too_long"),
        ({"name": "Ada", "phone": "12345"}, "bad_phone"),
        ({"name": "Ada", "email": "ada@"}, "bad_email"),
        ({"name": "Ada", "birthday": "31/02/1990"}, "bad_date"),
        ({"name": "Ada", "birthday": "2030-01-01"}, "bad_date"),
        ({"name": "Ada", "gender": "robot"}, "bad_gender"),
        ({"name": "Ada", "tags": "t" * 31}, "too_long"),
        ({"name": "Ada", "source": "s" * 33}, "too_long"),
    ],
)
def test_normalise_row_rejects_with_a_reason(cells: dict[str, str], reason: str) -> None:
    with pytest.raises(Rejected) as caught:
        normalise_row(row(**cells), rules({3: True}))
    assert caught.value.reason == reason


def test_fingerprint_is_the_same_for_the_same_values_typed_differently() -> None:
    first = normalise_row(row(name="Ada", phone="13800138000", email="a@EXAMPLE.com"), rules())
    second = normalise_row(
        row(name=" Ada ", phone="+86 138-0013-8000", email="a@example.com"), rules()
    )
    third = normalise_row(row(name="Ada", phone="13800138001"), rules())
    assert first.fingerprint == second.fingerprint
    assert first.fingerprint != third.fingerprint


def test_normalise_row_strips_control_and_bidi_characters() -> None:
    values = normalise_row(
        row(name="Zh\x1bang\u202eWei", source="微\x07信", tags="vip\u2066,\x1bexpo"), rules()
    )
    assert values.fields["name"] == "ZhangWei"
    assert (values.fields["source"], values.fields["tags"]) == ("微信", ["vip", "expo"])


def test_normalise_row_name_of_only_control_characters_is_missing() -> None:
    with pytest.raises(Rejected) as rejected:
        normalise_row(row(name="\x07\u202e", phone="13800138000"), rules())
    assert rejected.value.reason == "missing_name"


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(
    ("field", "codes"),
    [
        ("gender", ("male", "female")),
        ("source", ("referral", "website", "advertising", "event", "cold_call", "other")),
        ("category", ("potential", "existing", "loyal")),
    ],
)
def test_normalise_row_reads_choice_labels_and_codes_back(
    catalogs: Catalogs, language: str, field: str, codes: tuple[str, ...]
) -> None:
    """What an export writes (the label, in either language) and the code both read back."""
    t = catalogs.translator(language)
    for code in codes:
        for written in (code, t(f"customer.{field}.{code}")):
            assert (
                normalise_row(row(name="Ada", **{field: written}), rules()).fields[field] == code
            )


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("birthday", [Birthday(3, 5, 1988), Birthday(2, 29, None)])
def test_normalise_row_reads_an_exported_birthday_back(language: str, birthday: Birthday) -> None:
    written = format_birthday(birthday, lang=language)
    fields = normalise_row(row(name="Ada", birthday=written), rules()).fields
    found = (fields["birthday_month"], fields["birthday_day"], fields["birthday_year"])
    assert found == (birthday.month, birthday.day, birthday.year)


def test_normalise_row_drops_the_csv_formula_guard() -> None:
    values = normalise_row(row(name="'=Ada", phone="'+8613800138000; +8613900139000"), rules())
    assert values.fields["name"] == "=Ada"
    assert values.phones == ["+8613800138000", "+8613900139000"]


def test_normalise_row_keeps_an_apostrophe_that_guards_nothing() -> None:
    assert normalise_row(row(name="'Ada"), rules()).fields["name"] == "'Ada"


def quality_rules(required: tuple[str, ...]) -> RowRules:
    return RowRules(
        targets=["name", "phone", "company", "region", "industry"],
        region="CN",
        day_first={},
        today=date(2026, 11, 23),
        quality=QualityRules(required={"customer": required}),
    )


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["张伟", "", "Acme", "", ""], "missing_phone"),
        (["张伟", "13800138000", " ", "", ""], "missing_company"),
        (["张伟", "13800138000", "Acme", "", ""], "missing_region"),
    ],
)
def test_a_row_without_a_required_field_is_rejected_naming_it(
    cells: list[str], reason: str
) -> None:
    with pytest.raises(Rejected) as rejected:
        normalise_row(cells, quality_rules(("name", "phone", "company", "region")))
    assert rejected.value.reason == reason


@pytest.mark.parametrize(
    ("region", "industry", "stored"),
    [
        ("上海市", "零售业", ("上海", "零售")),
        ("shanghai", "Retail", ("上海", "零售")),
        ("沪", "retail", ("上海", "零售")),
        ("Pudong", "Bakery", ("Pudong", "Bakery")),  # not on the lists: kept as written
    ],
)
def test_region_and_industry_cells_are_read_to_the_lists(
    region: str, industry: str, stored: tuple[str, str]
) -> None:
    values = normalise_row(["张伟", "13800138000", "Acme", region, industry], quality_rules(()))
    assert (values.fields["region"], values.fields["industry"]) == stored


def test_every_missing_reason_has_text_in_both_languages(catalogs: Catalogs) -> None:
    for language in ("en", "zh"):
        translate = catalogs.translator(language)
        for reason in REASONS:
            assert translate(f"import.reason.{reason}") != f"import.reason.{reason}"
