"""Reads a one-message `/log` entry: who was met, their phone and email, money, and dates.

Pure functions, no Telegram and no database: the handler matches the result to a customer.
No AI: phones come from phonenumbers' matcher (member's region), emails and amounts from
`storage.parsing`, dates from `storage.dates.search_when` (English and Chinese), and the
name and company from a few plain patterns ("Met <Name> at <Company>", "<Company>的<Name>",
"拜访了/见了 ..."). Spans already taken by a phone, email or amount are blanked before dates
are searched, so "138 0013 8000" or "$3,500" is never read as a date.

A date in the past is when the meeting happened ("yesterday 4pm"); the first one in the
future is the follow-up ("follow up next Tue"). A past date in a clause that asks for a
follow-up ("follow up yesterday 3pm", "昨天下午3点跟进") is neither: it is kept apart as
`follow_up_past`, so the member is told it has passed and asked again, never left silent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.dates import When, search_when
from storage.parsing import (
    Money,
    extract_amounts,
    extract_emails,
    extract_invalid_phones,
    extract_phones,
    read_as_foreign,
)

MAX_DATES = 4  # date phrases looked at in one message
SLACK = timedelta(minutes=5)
_CLAUSE = re.compile(r"(?:[^,，;；。!！?？\n]|(?<=\d),(?=\d))+")  # "$3,500" is one clause
_WORD = r"[A-Z][\w'.-]*"
_COMPANY_WORD = r"[A-Z0-9&][\w&'.-]*"
_EN_PERSON = re.compile(
    r"\b(?i:met|meeting with|visited|called|phoned|saw|talked to|spoke (?:to|with))\s+"
    rf"(?P<name>{_WORD}(?:\s+{_WORD}){{0,2}})"
    rf"(?:\s+(?:at|from|of)\s+(?P<company>{_COMPANY_WORD}(?:\s+{_COMPANY_WORD}){{0,3}}))?"
    r"(?!\w)"
)
_ZH_NAME = (
    r"[\u4e00-\u9fff]{1,3}?(?:总|经理|老师|先生|女士|小姐|工|主任|老板)|[\u4e00-\u9fff]{2,3}?"
)
_ZH_COMPANY = r"(?:(?P<company>[^\s，,。；;的]{1,30}?)的)?"
_ZH_ACTIVITY = r"(?:见面|开会|开了会|通了?电话|聊|谈|吃饭)"
_ZH_PERSON = (
    # 拜访了Acme的张伟，... / 见了王总
    re.compile(
        rf"(?:拜访了?|见了|见到了?|会见了?|约见了?|走访了?){_ZH_COMPANY}(?P<name>{_ZH_NAME})"
        rf"(?=[，,。；;\s]|$|{_ZH_ACTIVITY})"
    ),
    # 和Acme的张伟开会 / 跟张伟通了电话
    re.compile(rf"(?:和|跟|与){_ZH_COMPANY}(?P<name>{_ZH_NAME})(?={_ZH_ACTIVITY})"),
    # Acme的张伟说... at the start of a clause
    re.compile(
        r"(?:^|(?<=[，,。；;\s]))(?P<company>[A-Za-z0-9&\u4e00-\u9fff]{2,20}?)的"
        rf"(?P<name>{_ZH_NAME})(?=[，,。；;\s]|$|说|要|想|表示|{_ZH_ACTIVITY})"
    ),
)
_WANTED = re.compile(
    r"(?:(?i:\b(?:wants?|needs?|interested in|looking for|for)\s+)"
    r"|(?:想要|需要|要)(?:采购|购买|买)?|采购|购买|想买)"
    r"(?P<what>.+)"
)
_FILLER = re.compile(r"\s+(?i:follow up|next)\b.*$")
_LETTER = re.compile(r"[^\W\d_]")
_SEPARATOR = re.compile(r"[,，;；。!！?？\n]")
_FOLLOW_UP_CUE = re.compile(
    r"\b(?:follow(?:ing)?[- ]?up|call (?:\w+ )?back|remind|get back|check in|touch base)\b"
    r"|跟进|回访|再联系|再约|回电|提醒",
    re.IGNORECASE,
)
_VISIT = re.compile(r"\bvisit(?:ed|ing)?\b|拜访|上门|走访", re.IGNORECASE)
_CALL = re.compile(r"\b(?:called|phoned|call with)\b|打了?电话给|打电话|通了?电话", re.IGNORECASE)


@dataclass(frozen=True)
class QuickLog:
    """What one message says; anything not found is None (or empty)."""

    text: str
    kind: str  # "visit", "call" or "meeting"
    name: str | None = None
    company: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    amount: Money | None = None
    deal_title: str | None = None  # what the customer wants, if the message says
    happened: When | None = None
    follow_up: When | None = None
    follow_up_past: When | None = None  # "follow up yesterday": said to be past, asked again
    # Phones valid in the region only as typed another country's way (`read_as_foreign`)
    foreign_phones: tuple[str, ...] = ()
    # Numbers as typed that are not valid in the region (`extract_invalid_phones`): not saved
    invalid_phones: tuple[str, ...] = ()


def command_text(message: str) -> str:
    """The text after `/log` (or `/log@bot`), on the same line or the next ones."""
    return re.sub(r"^/\S*", "", message.strip(), count=1).strip()


def parse_quick_log(
    text: str, *, region: str, currency: str, now: datetime, tz: ZoneInfo
) -> QuickLog:
    phones = extract_phones(text, region=region)
    emails = extract_emails(text)
    amounts = extract_amounts(text, default_currency=currency)
    spans = [span for span, _ in (*phones, *emails, *amounts)]
    invalid = [
        raw
        for (start, end), raw in extract_invalid_phones(text, region=region)
        if not any(start < taken_end and taken_start < end for taken_start, taken_end in spans)
    ]
    name, company = _person(_blank(text, spans))
    happened, follow_up, follow_up_past = _dates(_blank(text, spans), now=now, tz=tz)
    amount = amounts[0] if amounts else None
    return QuickLog(
        text=text,
        kind=_kind(text),
        name=name,
        company=company,
        phones=tuple(dict.fromkeys(phone for _, phone in phones)),
        email=emails[0][1] if emails else None,
        amount=amount[1] if amount else None,
        deal_title=_wanted(_blank(text, spans)) if amount else None,
        happened=happened,
        follow_up=follow_up,
        follow_up_past=follow_up_past,
        invalid_phones=tuple(dict.fromkeys(invalid)),
        foreign_phones=tuple(
            dict.fromkeys(
                p
                for (start, end), _ in phones
                for p in read_as_foreign(text[start:end], region=region)
            )
        ),
    )


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the spans replaced by spaces: offsets stay valid."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _kind(text: str) -> str:
    if _VISIT.search(text):
        return "visit"
    if _CALL.search(text):
        return "call"
    return "meeting"


def _person(text: str) -> tuple[str | None, str | None]:
    found = list(_EN_PERSON.finditer(text))
    if m := next((m for m in found if m["company"]), found[0] if found else None):
        return m["name"], m["company"]
    for pattern in _ZH_PERSON:
        if m := pattern.search(text):
            return m["name"], m["company"]
    return None, None


def _dates(
    text: str, *, now: datetime, tz: ZoneInfo
) -> tuple[When | None, When | None, When | None]:
    """The first past date (when it happened), the first future one (the follow-up), and
    the first past one its clause asks to follow up on."""
    happened: When | None = None
    follow_up: When | None = None
    follow_up_past: When | None = None
    cursor = 0
    for _ in range(MAX_DATES):
        found = search_when(text[cursor:], now=now, tz=tz, prefer="future")
        if found is None:
            break
        (start, end), when = found
        start, end, cursor = cursor + start, cursor + end, cursor + end
        if _is_future(when, now=now, tz=tz):
            follow_up = follow_up or when
        elif _FOLLOW_UP_CUE.search(_clause(text, start, end)):
            follow_up_past = follow_up_past or when
        else:
            happened = happened or when
        if follow_up is not None:
            break
    return happened, follow_up, follow_up_past


def _clause(text: str, start: int, end: int) -> str:
    """The clause around text[start:end]: from the separator before to the one after."""
    before = [m.end() for m in _SEPARATOR.finditer(text, 0, start)]
    after = _SEPARATOR.search(text, end)
    return text[before[-1] if before else 0 : after.start() if after else len(text)]


def _is_future(when: When, *, now: datetime, tz: ZoneInfo) -> bool:
    """A date without a time is a follow-up from tomorrow on; "today" is when it happened."""
    if when.has_time:
        return when.at > now + SLACK
    return when.at.astimezone(tz).date() > now.astimezone(tz).date()


def _wanted(text: str) -> str | None:
    """What the customer wants ("wants 50 units", "想要50台", "budget 50k for 50 units"), with
    the amounts, phones and emails already blanked out: a deal named "50k" says nothing."""
    for clause in _CLAUSE.finditer(text):
        if m := _WANTED.search(clause.group()):
            wanted = _FILLER.sub("", m["what"]).strip(" ,，.。")
            if _LETTER.search(wanted):
                return wanted[:150]
    return None
