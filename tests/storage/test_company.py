"""Company normalisation: two spellings of one company share a key; any text gives a key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.quality.company import normalise_company


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("阿里巴巴集团有限公司", "阿里巴巴"),
        ("阿里巴巴（中国）有限公司", "阿里巴巴中国"),
        ("上海汽车股份有限公司", "上海汽车"),
        ("北京华为有限责任公司", "北京华为"),
        ("ACME Co., Ltd.", "acme"),
        ("Acme Inc", "acme"),
        ("acme llc", "acme"),
        ("Siemens GmbH", "siemens"),
        ("ＡＣＭＥ　Ｌｔｄ．", "acme"),
        ("Golden  Dragon Trading", "goldendragontrading"),
        ("Taco", "taco"),
        ("集团", "集团"),
        ("Ltd.", "ltd"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalise_company_gives_the_shared_key(typed: str, key: str):
    assert normalise_company(typed) == key


def test_normalise_company_matches_spellings_of_one_company():
    spellings = ["Golden Dragon Co., Ltd.", "golden dragon", "GOLDEN-DRAGON Inc.", "Golden Dragon"]
    assert len({normalise_company(s) for s in spellings}) == 1


def test_normalise_company_keeps_different_companies_apart():
    assert normalise_company("Acme Trading") != normalise_company("Acme Logistics")
    assert normalise_company("华为有限公司") != normalise_company("中兴有限公司")


@given(st.text())
def test_normalise_company_never_raises_and_is_idempotent(typed: str):
    key = normalise_company(typed)
    assert isinstance(key, str)
    assert " " not in key
    assert normalise_company(key) == key
