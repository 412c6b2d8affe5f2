"""The `/log` reader on everyday messages in English and Chinese, "now" pinned to
Mon 13 Jan 2025 10:00 in Asia/Shanghai (UTC+8), region CN, currency CNY."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from handlers.quick_log_parse import QuickLog, command_text, parse_quick_log
from storage.dates import When
from storage.parsing import Money

NOW = datetime(2025, 1, 13, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, has_time: bool = True) -> When:
    """A UTC instant in January 2025."""
    return When(at=datetime(2025, 1, day, hour, 0, tzinfo=UTC), has_time=has_time)


def feb(day: int) -> When:
    """A date without a time in February 2025: 09:00 in Shanghai."""
    return When(at=datetime(2025, 2, day, 1, 0, tzinfo=UTC), has_time=False)


def read(text: str) -> QuickLog:
    return parse_quick_log(text, region="CN", currency="CNY", now=NOW, tz=TZ)


CASES = [
    (
        "Met Zhang Wei at Acme, 138 0013 8000, budget 50k for 50 units, follow up next Tue 3pm",
        {
            "kind": "meeting",
            "name": "Zhang Wei",
            "company": "Acme",
            "phones": ("+8613800138000",),
            "amount": Money(Decimal("50000.00"), "CNY"),
            "deal_title": "50 units",
            "follow_up": at(14, 7),
        },
    ),
    (
        "拜访了Acme的张伟，电话13800138000，预算5万，想要50台，下周二下午3点跟进",
        {
            "kind": "visit",
            "name": "张伟",
            "company": "Acme",
            "phones": ("+8613800138000",),
            "amount": Money(Decimal("50000.00"), "CNY"),
            "deal_title": "50台",
            "follow_up": at(21, 7),
        },
    ),
    (
        "Met Li Na yesterday 4pm, call back tomorrow",
        {"name": "Li Na", "company": None, "happened": at(12, 8), "follow_up": at(14, 1, False)},
    ),
    (
        "昨天下午4点见了华为的王总，3天后回访",
        {"name": "王总", "company": "华为", "happened": at(12, 8), "follow_up": at(16, 1, False)},
    ),
    (
        "called Bob, zhang@acme.cn, quote $3,500, next week",
        {
            "kind": "call",
            "name": "Bob",
            "email": "zhang@acme.cn",
            "amount": Money(Decimal("3500.00"), "USD"),
            "deal_title": None,
            "follow_up": at(20, 1, False),
        },
    ),
    (
        "和Acme的张伟开会，报价2万",
        {"kind": "meeting", "name": "张伟", "company": "Acme", "deal_title": None},
    ),
    ("Acme的李娜说要100台，周五回访", {"name": "李娜", "company": "Acme", "amount": None}),
    (
        "Visited Acme Trading, spoke with Grace Hopper from Acme Trading Co, in 2 weeks",
        {
            "kind": "visit",
            "name": "Grace Hopper",
            "company": "Acme Trading Co",
            "follow_up": at(27, 1, False),
        },
    ),
    ("met li today, nothing new", {"name": None, "follow_up": None, "happened": at(13, 1, False)}),
    (
        "跟王总通了电话，明天下午3点再打",
        {"kind": "call", "name": "王总", "company": None, "follow_up": at(14, 7)},
    ),
    (
        "Visited the Pudong store, wants 50 units",
        {"kind": "visit", "amount": None, "phones": (), "follow_up": None},
    ),
    ("Called Mark Evans, 50k, follow up Tuesday", {"deal_title": None}),  # not "50k"
    ("拜访了张伟，要采购20台打印机，预算5万", {"deal_title": "20台打印机"}),
    (
        "见了李娜，+1 650 253 0000，lina@example.com",
        {"name": "李娜", "phones": ("+16502530000",), "email": "lina@example.com"},
    ),  # A follow-up dated in the past is neither the follow-up nor when it happened: it is
    # kept apart, so the member is told and asked again.
    (
        "Called Mark Evans, follow up yesterday 3pm",
        {"happened": None, "follow_up": None, "follow_up_past": at(12, 7)},
    ),
    (
        "拜访了Acme的张伟，预算3万5千，下个月底签约",
        {"amount": Money(Decimal("35000.00"), "CNY"), "follow_up": feb(28)},
    ),
    (
        "见了李娜，报价十二万五千，下月5号回访",
        {"amount": Money(Decimal("125000.00"), "CNY"), "follow_up": feb(5)},
    ),
    ("见了王总，他说两千五可以，月底前回复", {"amount": Money(Decimal("2500.00"), "CNY")}),
    (
        "Met Amy Lee at Globex, budget 1.2万, follow up end of next month",
        {"amount": Money(Decimal("12000.00"), "CNY"), "follow_up": feb(28)},
    ),
    ("Called Sam, call again on the 15th of next month", {"follow_up": feb(15)}),
    (
        "拜访了张伟，昨天下午3点跟进",
        {"happened": None, "follow_up": None, "follow_up_past": at(12, 7)},
    ),
    (
        "Met Li today, call him back today 9am",
        {"happened": at(13, 1, False), "follow_up": None, "follow_up_past": at(13, 1)},
    ),
    (
        "Called Mark yesterday 4pm, follow up next Tue",
        {"happened": at(12, 8), "follow_up": at(14, 1, False), "follow_up_past": None},
    ),
    # A number or a code in the text is not the date.
    (
        "Called client 3 at Acme, follow up at 16:44",
        {"follow_up": When(datetime(2025, 1, 13, 8, 44, tzinfo=UTC), True)},
    ),
    ("Quote Q01x0 sent, follow up tomorrow 3pm", {"follow_up": at(14, 7)}),
    (
        "Met Sarah Lee at Globex, (415) 253-0000, 138 0013 8000",
        {
            "phones": ("+864152530000", "+8613800138000"),
            "foreign_phones": ("+864152530000",),
        },
    ),
    ("见了李娜，0415 253 0000", {"phones": ("+864152530000",), "foreign_phones": ()}),
    (
        "Met Sarah Lee at Globex, 02 9374 4000, order 12345678, budget 80000, 13800138000",
        {"phones": ("+8613800138000",), "invalid_phones": ("02 9374 4000",)},
    ),
    (
        "见了李娜，电话 07911 123456，预算120000000元",
        {"phones": (), "invalid_phones": ("07911 123456",)},
    ),
    ("拜访了张伟，2025-03-15 14:30 再聊，报价¥12,000,000", {"invalid_phones": ()}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:30] for c in CASES])
def test_quick_log_reads_the_message(text: str, expected: dict[str, object]) -> None:
    found = read(text)
    assert found.text == text
    assert {key: getattr(found, key) for key in expected} == expected


def test_quick_log_without_anything_recognisable_keeps_only_the_text() -> None:
    assert read("nothing to see here") == QuickLog(text="nothing to see here", kind="meeting")


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ("/log Met Li", "Met Li"),
        ("/log@crm_test_bot 见了李娜", "见了李娜"),
        ("/log\nMet Li\nat Acme", "Met Li\nat Acme"),
        ("/log", ""),
        ("/log   ", ""),
    ],
)
def test_command_text_is_what_follows_the_command(message: str, text: str) -> None:
    assert command_text(message) == text
