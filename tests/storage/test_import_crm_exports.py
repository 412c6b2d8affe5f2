"""Other CRMs' exports import without hand mapping: their header conventions are recognised,
first and last name (姓, 名) combined in the language's order, and owner or date columns
taken for the record's owner and created date, never the customer's own fields. Each file
is built here in its CRM's export shape."""

from __future__ import annotations

from datetime import date

import pytest

from storage.imports.files import read_sheet
from storage.imports.mapping import guess_targets
from storage.imports.rows import RowRules, normalise_row

EXPORTS = {
    "hubspot": (
        "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Job Title,"
        "Contact owner,Create Date,Lifecycle Stage,City\n"
        "51,Wei,Zhang,zhang@acme.cn,+86 138 0013 8000,Acme,Buyer,Ada Admin,"
        "2024-03-01 10:00,Lead,Shanghai\n"
    ),
    "salesforce": (
        "First Name,Last Name,Title,Account Name,Mailing City,Phone,Email,Lead Source,"
        "Contact Owner,Created Date,Birthdate,Description\n"
        "Wei,Zhang,Buyer,Acme,Shanghai,+86 138 0013 8000,zhang@acme.cn,Web,Ada Admin,"
        "3/1/2024,1990-03-04,Wants 50 units\n"
    ),
    "pipedrive": (
        "Person - Name,Person - Phone - Work,Person - Email - Work,Person - Organization,"
        "Person - Owner,Person - Person created,Person - Label\n"
        "Wei Zhang,+86 138 0013 8000,zhang@acme.cn,Acme,Ada Admin,2024-03-01 10:00:00,Hot\n"
    ),
    "zoho": (
        "Salutation,First Name,Last Name,Account Name,Email,Phone,Title,Lead Source,"
        "Contact Owner,Created Time,Mailing City,Date of Birth,Description\n"
        "Mr.,Wei,Zhang,Acme,zhang@acme.cn,+86 138 0013 8000,Buyer,Web,Ada Admin,"
        "2024-03-01 10:00:00,Shanghai,1990-03-04,Wants 50 units\n"
    ),
    "fxiaoke": (  # 纷享销客 contacts
        "姓名,手机,邮箱,公司名称,职务,负责人,创建时间,客户来源,地区,备注\n"
        "张伟,13800138000,zhang@acme.cn,Acme,采购,王经理,2024-03-01 10:00,转介绍,上海市,要 50 台\n"
    ),
    "xiaoshouyi": (  # 销售易 contacts
        "联系人姓名,所属客户,手机,邮箱,职务,所有人,创建日期,部门,省份\n"
        "张伟,Acme,13800138000,zhang@acme.cn,采购,王经理,2024-03-01,采购部,上海\n"
    ),
    "split_chinese": "姓,名,手机号码,公司\n张,伟,13800138000,Acme\n",
}


def first_row(export: str) -> dict[str, object]:
    table = read_sheet(EXPORTS[export].encode(), f"{export}.csv", max_rows=10)
    rules = RowRules(
        targets=guess_targets(table.headers),
        region="CN",
        day_first={},
        today=date(2026, 11, 23),
    )
    values = normalise_row(table.rows[0], rules)
    return {**values.fields, "phones": values.phones}


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_an_export_maps_name_phone_and_company_without_help(export: str) -> None:
    row = first_row(export)
    assert row["name"] in ("Wei Zhang", "张伟")
    assert row["phones"] == ["+8613800138000"]
    assert row["company"] == "Acme"


@pytest.mark.parametrize("export", ["hubspot", "salesforce", "zoho"])
def test_first_and_last_name_make_the_name_in_english_order(export: str) -> None:
    assert first_row(export)["name"] == "Wei Zhang"


def test_surname_and_given_name_make_the_name_in_chinese_order() -> None:
    assert first_row("split_chinese")["name"] == "张伟"


@pytest.mark.parametrize(
    "export", ["hubspot", "salesforce", "pipedrive", "zoho", "fxiaoke", "xiaoshouyi"]
)
def test_owner_and_created_columns_are_the_records_history(export: str) -> None:
    table = read_sheet(EXPORTS[export].encode(), f"{export}.csv", max_rows=10)
    targets = dict(zip(table.headers, guess_targets(table.headers), strict=True))
    owner = [h for h in table.headers if "owner" in h.casefold() or h in ("负责人", "所有人")]
    created = [h for h in table.headers if "creat" in h.casefold() or h.startswith("创建")]
    assert owner
    assert created
    assert [targets[h] for h in owner + created] == ["owner", "created"]


@pytest.mark.parametrize(
    ("export", "expected"),
    [
        ("hubspot", {"email": "zhang@acme.cn", "position": "Buyer", "region": "上海"}),
        ("salesforce", {"source": "website", "birthday_month": 3, "needs": "Wants 50 units"}),
        ("zoho", {"position": "Buyer", "region": "上海", "birthday_day": 4}),
        ("fxiaoke", {"source": "referral", "region": "上海", "position": "采购"}),
        ("xiaoshouyi", {"email": "zhang@acme.cn", "region": "上海"}),
    ],
)
def test_the_other_columns_land_in_their_fields(export: str, expected: dict[str, object]) -> None:
    row = first_row(export)
    assert {key: row.get(key) for key in expected} == expected
