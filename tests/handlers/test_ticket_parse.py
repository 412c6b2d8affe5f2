"""The plain-text request recogniser: complaints, repairs, returns and questions in English and
Chinese, who said them, and ordinary notes left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.ticket_parse import TicketHint, recognise


@pytest.mark.parametrize(
    ("text", "kind", "who"),
    [
        ("张总投诉上批货有3台坏了", "complaint", "张总"),
        ("客户王总要求维修水泵", "repair", "王总"),
        ("李经理报修，空调不制冷", "repair", "李经理"),
        ("张总想退款", "return", "张总"),
        ("李经理咨询安装方法", "question", "李经理"),
        ("王总问保修多久", "question", "王总"),
        ("ACME wants a repair of the pump", "repair", "ACME"),
        ("Li complained the delivery was late", "complaint", "Li"),
        ("Zhang Wei called and asked about the warranty", "question", "Zhang Wei"),
        ("the customer wants a refund", "return", None),
        ("Met Zhang at Acme, he complained about the price", "complaint", None),
    ],
)
def test_requests_are_recognised_with_who_said_them(text: str, kind: str, who: str | None):
    assert recognise(text) == TicketHint(kind, who, text)


def test_a_company_and_name_are_told_apart():
    hint = recognise("Acme的张伟要退货")
    assert hint is not None
    assert (hint.type, hint.name_and_company) == ("return", ("张伟", "Acme"))


@pytest.mark.parametrize(
    "text",
    [
        "拜访了王总，问了价格，下周二跟进",
        "拜访王总问了价格",
        "拜访了Acme的张伟，电话13800138000，预算5万，下周二下午3点跟进",
        "王总说没有投诉，很满意",
        "Met Zhang Wei at Acme, budget 50k, follow up next Tue 3pm",
        "Visited Acme, no complaints, they want 50 units",
        "ACME asked for a quote",
        "张伟",
        "",
    ],
)
def test_ordinary_notes_are_not_requests(text: str):
    assert recognise(text) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_never_raises(text: str):
    hint = recognise(text)
    assert hint is None or (hint.text == text.strip() and hint.type)
