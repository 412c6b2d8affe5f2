"""Standard values: region and industry typed any way read as one list entry, in both
languages; anything else kept as typed and flagged; the matchers never raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.quality.standard import Match, load_list, read_list

REGIONS = load_list("regions")
INDUSTRIES = load_list("industries")


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("沪", "上海"),
        ("上海市", "上海"),
        ("上海", "上海"),
        ("Shanghai", "上海"),
        ("shanghai", "上海"),
        ("  SHANGHAI  City ", "上海"),
        ("Shangahi", "上海"),  # a typo in the romanised name
        ("京", "北京"),
        ("北京市", "北京"),
        ("Peking", "北京"),
        ("beijing shi", "北京"),
        ("广东省", "广东"),
        ("粤", "广东"),
        ("Guangdong Province", "广东"),
        ("广西壮族自治区", "广西"),
        ("内蒙古自治区", "内蒙古"),
        ("Inner Mongolia", "内蒙古"),
        ("香港特别行政区", "香港"),
        ("Hong Kong", "香港"),
        ("hongkong", "香港"),
        ("Shanxi", "山西"),  # the English names of 山西 and 陕西 differ; neither takes the other
        ("Shaanxi", "陕西"),
        ("陕西省", "陕西"),
        ("Xi'an", "西安"),
        ("xian", "西安"),
        ("深圳市", "深圳"),
        ("shenzhen", "深圳"),
        ("Hunan", "湖南"),
        ("Henan", "河南"),
    ],
)
def test_region_typed_any_way_is_the_list_value(typed: str, value: str) -> None:
    assert REGIONS.match(typed) == Match(value, True)


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("零售", "零售"),
        ("零售业", "零售"),
        ("Retail", "零售"),
        ("retail", "零售"),
        ("IT", "软件与信息技术"),
        ("Software", "软件与信息技术"),
        ("房产", "房地产"),
        ("Real estate", "房地产"),
        ("Banking", "金融"),
        ("餐饮业", "餐饮"),
        ("Healthcare", "医疗健康"),
        ("医药", "医疗健康"),
    ],
)
def test_industry_typed_any_way_is_the_list_value(typed: str, value: str) -> None:
    assert INDUSTRIES.match(typed) == Match(value, True)


@pytest.mark.parametrize("typed", ["Atlantis", "Pudong New Area", "火星", "市", "Hubie"])
def test_unknown_region_is_kept_as_typed_and_flagged(typed: str) -> None:
    assert REGIONS.match(typed) == Match(typed, False)
    assert not REGIONS.is_known(typed)


def test_unknown_value_keeps_its_words_with_spaces_tidied() -> None:
    assert INDUSTRIES.match("  Bakery   and  cafe ") == Match("Bakery and cafe", False)


@pytest.mark.parametrize(
    ("value", "en", "zh"),
    [
        ("上海", "Shanghai", "上海"),
        ("内蒙古", "Inner Mongolia", "内蒙古"),
        ("Atlantis", "Atlantis", "Atlantis"),
    ],
)
def test_region_label_in_each_language(value: str, en: str, zh: str) -> None:
    assert REGIONS.label(value, "en") == en
    assert REGIONS.label(value, "zh") == zh


def test_every_default_entry_matches_itself_in_both_languages() -> None:
    for values in (REGIONS, INDUSTRIES):
        for entry in values.entries:
            assert values.match(entry.zh) == Match(entry.zh, True)
            assert values.match(entry.en) == Match(entry.zh, True)
            assert values.match(entry.en.upper()) == Match(entry.zh, True)


def test_a_team_list_file_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "regions.json"
    data = {"values": [{"zh": "浦东", "en": "Pudong", "aliases": ["浦东新区"]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    own = read_list(path)
    assert own.match("浦东新区") == Match("浦东", True)
    assert own.match("pudong") == Match("浦东", True)
    assert own.match("上海") == Match("上海", False)


@given(st.text(max_size=300))
def test_matching_never_raises(text: str) -> None:
    for values in (REGIONS, INDUSTRIES):
        found = values.match(text)
        assert found.known == values.is_known(found.value) or not found.value
        assert len(found.value) <= 200
        values.label(text, "zh")
        values.label(text, "en")


@given(st.sampled_from(REGIONS.entries), st.sampled_from(["", "省", "市", " province", " City"]))
def test_suffixes_do_not_change_the_region(entry, suffix: str) -> None:  # type: ignore[no-untyped-def]
    assert REGIONS.match(entry.zh + suffix).value == entry.zh
