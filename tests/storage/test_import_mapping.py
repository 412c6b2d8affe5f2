"""Guessing which customer field each column fills, and spotting ambiguous date columns."""

from __future__ import annotations

import pytest

from storage.imports.files import SheetTable
from storage.imports.mapping import (
    TARGETS,
    ambiguous_date_columns,
    decided_date_orders,
    guess_targets,
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["姓名", "手机号", "电子邮件", "单位", "职务", "行业", "城市", "出生日期", "渠道",
             "客户等级", "标签", "备注", "性别"],
            list(TARGETS[:-4]),  # no first and last name (the full name is there), owner, created
        ),
        (
            ["Full Name", "Mobile", "E-mail", "Company", "Job Title", "Sector", "Province",
             "Date of Birth", "Lead Source", "Type", "Tags", "Notes", "Sex"],
            list(TARGETS[:-4]),
        ),
        (["联系人", "联系电话", "邮箱", "公司"], ["name", "phone", "email", "company"]),
        (["客户名称", "电话", "Email"], ["name", "phone", "email"]),
        (["NAME", " e mail ", "phone-number"], ["name", "email", "phone"]),
    ],
)  # fmt: skip
def test_guess_targets_reads_english_and_chinese_headers(
    headers: list[str], expected: list[str]
) -> None:
    assert guess_targets(headers) == expected


def test_guess_targets_gives_each_target_to_the_first_column_only() -> None:
    assert guess_targets(["电话", "手机", "Name"]) == ["phone", None, "name"]


def test_guess_targets_prefers_an_exact_header_to_one_containing_a_synonym() -> None:
    assert guess_targets(["客户手机号", "手机"]) == [None, "phone"]
    assert guess_targets(["客户手机号", "姓名"]) == ["phone", "name"]


def test_guess_targets_leaves_unknown_and_generic_headers_unmapped() -> None:
    assert guess_targets(["客户经理", "Hotel", "", "序号"]) == [None, None, None, None]


def table(values: list[str]) -> SheetTable:
    return SheetTable(["Name", "Birthday"], [["x", v] for v in values], "utf-8", ",")


def test_ambiguous_date_columns_flags_dates_with_both_parts_up_to_12() -> None:
    targets = ["name", "birthday"]
    assert ambiguous_date_columns(table(["03/04/1990", "1990-05-06", ""]), targets) == [1]


@pytest.mark.parametrize("values", [["03/04/1990", "25/12/1985"], ["03/04/1990", "12/25/1985"]])
def test_ambiguous_date_columns_is_decided_by_a_part_above_12(values: list[str]) -> None:
    assert ambiguous_date_columns(table(values), ["name", "birthday"]) == []


def test_ambiguous_date_columns_ignores_iso_dates_and_unmapped_columns() -> None:
    assert ambiguous_date_columns(table(["1990-03-04"]), ["name", "birthday"]) == []
    assert ambiguous_date_columns(table(["03/04/1990"]), ["name", None]) == []


def test_decided_date_orders_takes_the_choice_then_the_values() -> None:
    targets = ["name", "birthday"]
    assert decided_date_orders(table(["25/12/1985"]), targets, {}) == {1: True}
    assert decided_date_orders(table(["12/25/1985"]), targets, {}) == {1: False}
    assert decided_date_orders(table(["03/04/1990"]), targets, {}) == {}
    assert decided_date_orders(table(["03/04/1990"]), targets, {"1": False}) == {1: False}
