"""The plain-text rule (handlers/plain_text.py) on the messages salespeople type, both
languages: hint, find or log. "Now" is pinned to Mon 13 Jan 2025 10:00 in Asia/Shanghai."""

from __future__ import annotations

import pytest

from handlers.i18n import Catalogs
from handlers.plain_text import Plain, first_look, kind_of
from tests.handlers.test_quick_log_parsing import read


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("👍", Plain.HINT),
        ("😀😀", Plain.HINT),
        ("...", Plain.HINT),
        ("ok", Plain.HINT),
        ("OK!", Plain.HINT),
        ("Thanks", Plain.HINT),
        ("好的", Plain.HINT),
        ("好的。", Plain.HINT),
        ("收到", Plain.HINT),
        ("7", Plain.HINT),
        ("5678", Plain.FIND),
        ("138-0013-8000", Plain.FIND),
        ("+86 138 0013 8000", Plain.FIND),
        ("(415) 253-0000", Plain.FIND),
        ("张伟", Plain.FIND),
        ("Acme", Plain.FIND),
        ("Mark Evans", Plain.FIND),
        ("华为技术", Plain.FIND),
        ("Acme Trading Co", Plain.FIND),
        ("Called Mark Evans", Plain.LOG),
        ("拜访了张伟", Plain.LOG),
        ("follow up tomorrow", Plain.LOG),
        ("张伟 5万", Plain.LOG),
        ("Called Mark Evans, he approved the quote, follow up next Wednesday 3pm", Plain.LOG),
        ("拜访了张伟，聊了新报价，下周三下午3点再跟进", Plain.LOG),
        ("He wants a discount on the second order", Plain.LOG),
        ("客户说下个月再考虑一下价格的问题", Plain.LOG),
    ],
)
def test_plain_text_is_hinted_found_or_logged(
    catalogs: Catalogs, text: str, expected: Plain
) -> None:
    kind = first_look(text, catalogs.words("plain.acks"))
    assert (kind or kind_of(text, read(text))) == expected


def test_cancel_words_are_in_both_catalogs(catalogs: Catalogs) -> None:
    assert {"cancel", "stop", "取消", "算了", "退出"} <= catalogs.words("cancel.words")
