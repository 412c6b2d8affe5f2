"""Tells a complaint or request heard from a customer from an ordinary note, in plain text.

Pure functions, no Telegram and no database, like `handlers.quick_log_parse`. A strong word
anywhere makes it a request ("投诉", "报修", "退货", "complained", "refund"); a weaker one
("维修", "咨询", "问", "asked how") only right after who said it at the start ("张总咨询…",
"Li asked how…"), so "拜访了王总，问了价格" stays a visit note, and "no complaints" is none.
Who said it is the words before that verb ("张总", "Acme的张伟", "ACME"), for the quick log's
customer match; None when the text does not start with them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

COMPLAINT, REPAIR, RETURN, QUESTION = "complaint", "repair", "return", "question"

# Anywhere in the text, the first that matches: (type, pattern).
_STRONG = (
    (COMPLAINT, re.compile(r"投诉|抱怨|\bcomplain(?:s|ed|ing)?\b|\bcomplaints?\b", re.I)),
    (
        REPAIR,
        re.compile(r"报修|\b(?:ask|want|need|request)(?:s|ed)? (?:a |to )?repair", re.I),
    ),
    (RETURN, re.compile(r"退货|退款|退换|\brefunds?\b|\bwants? to return\b", re.I)),
)
_NEGATED = re.compile(r"(?:没有|没|无|不)(?:投诉|抱怨)|\bno complaints?\b|\bnot? complain", re.I)
# Only right after the speaker at the start of the text.
_WEAK = (
    (REPAIR, r"(?:要求|要|需要|申请)?维修"),
    (QUESTION, r"(?:来电)?(?:咨询|询问|问)"),
    (QUESTION, r"(?:asked|asks) (?:how|why|whether|if|about)\b|wants to know\b|has a question\b"),
)
_LEAD = r"(?:客户|(?i:the customer|customer|client)\s+)?"
_WHO = (
    r"(?P<who>[A-Za-z0-9&\u4e00-\u9fff]{1,20}?)(?:今天|刚才|昨天|打电话|来电话?)*",
    r"(?P<who>[A-Z][\w&'.-]*(?:\s+[A-Z][\w&'.-]*){0,3})\s+(?:(?i:called and|just)\s+)?",
)
_TRAILER = re.compile(
    r"(?:今天|刚才|昨天|打电话|来电话?|又|说|要求|要|想|申请"
    r"|\s+(?i:called and|called to|phoned to|just|has|had))+$"
)
_NOTE_START = re.compile(
    r"^(?:拜访|见了|见到|会见|约见|走访|和|跟|与|(?i:met|visited|called|phoned|saw|talked|spoke)\b)"
)
_ONE_NAME = re.compile(
    r"[A-Za-z0-9&\u4e00-\u9fff][\w&'.\u4e00-\u9fff-]*(?:\s+[A-Z][\w&'.-]*){0,3}"
)
_STOP = frozenset({"the", "we", "i", "our", "my", "he", "she", "they", "it", "customer"})
MAX_WHO = 30


@dataclass(frozen=True)
class TicketHint:
    """A request read from text: its type, who said it (or None), and the whole text."""

    type: str
    who: str | None
    text: str

    @property
    def name_and_company(self) -> tuple[str | None, str | None]:
        """ "Acme的张伟" is 张伟 at Acme; anything else is a name alone."""
        if self.who and "的" in self.who:
            company, _, name = self.who.rpartition("的")
            return (name or None), (company or None)
        return self.who, None


def recognise(text: str) -> TicketHint | None:
    """The request `text` describes, or None for anything else (an ordinary note)."""
    text = text.strip()
    if not text:
        return None
    for kind, pattern in _STRONG:
        found = pattern.search(text)
        if found and not (kind == COMPLAINT and _NEGATED.search(text)):
            return TicketHint(kind, _who(text[: found.start()]), text)
    for kind, verb in _WEAK:
        for who in _WHO:
            found = re.match(f"{_LEAD}{who}(?:{verb})", text)
            if found and (speaker := _who(found["who"])) is not None:
                return TicketHint(kind, speaker, text)
    return None


def _who(before: str) -> str | None:
    """The speaker: what comes before the verb when it is one short name at the start."""
    before = re.sub(f"^{_LEAD}", "", before.strip())
    before = _TRAILER.sub("", before).strip()
    if not before or len(before) > MAX_WHO or _NOTE_START.search(before):
        return None
    if not _ONE_NAME.fullmatch(before) or before.casefold() in _STOP or before[0].islower():
        return None
    return before
