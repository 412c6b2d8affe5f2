"""Plain text outside an entry: logged like /log, looked up like /find, or answered with a hint.

A text reaches this module only when nothing else claimed it: answers to an open entry are
taken in the flow engine's group, strangers stop at the gate, and a reply to a card (a note)
or to the /find prompt is excluded here and left to its feature. The rule, in this order:

- a cancel word (取消, cancel: catalog `cancel.words`) → what /cancel answers;
- nothing but symbols (an emoji), or an acknowledgement from the catalogs' `plain.acks`
  ("ok", "thanks", "好的") → a one-line hint of what can be typed;
- only digits and phone punctuation → /find's results if it has 3 digits or more
  ("5678"), else the hint;
- a complaint or request (`handlers.ticket_parse`: "张总投诉上批货有3台坏了", "Li complained
  the delivery was late") → the /ticket entry, prefilled (`handlers.ticket_entry`);
- a short text (at most 3 words and 20 characters) in which the /log reader finds no
  person, verb, date, amount, phone or email ("张伟", "Acme") → /find's results, or "no
  customer matches" and the hint;
- anything else is a sentence → the /log check card; nothing is saved before Save.
"""

from __future__ import annotations

import re
from enum import StrEnum

from telegram import Update
from telegram.ext import filters

from handlers import quick_log, ticket_entry
from handlers.common import cancel_command, is_cancel_word
from handlers.context import CrmContext
from handlers.customer_card import CardReply
from handlers.feature import Callback, Feature, OnMessage
from handlers.flows.engine import FlowEngine
from handlers.formatting import clip
from handlers.lookup import PromptReply, show_results
from handlers.quick_log_parse import QuickLog
from handlers.ticket_card import CARD_LINE as TICKET_CARD_LINE
from handlers.ticket_parse import recognise
from storage.lookups import find_customer_page
from storage.parsing import clean_text

SHORT_WORDS = 3
SHORT_CHARS = 20
MIN_PHONE_DIGITS = 3
_MEANINGFUL = re.compile(r"[^\W_]")  # a letter, a digit or a CJK character
_PHONE_FRAGMENT = re.compile(r"[\d\s+().-]+")
_TRAILING = " .!?。！？~～"


class Plain(StrEnum):
    HINT = "hint"
    FIND = "find"
    LOG = "log"


def first_look(text: str, acks: frozenset[str]) -> Plain | None:
    """What the text is without reading it as a note: a hint, a phone fragment, or None."""
    if not _MEANINGFUL.search(text) or text.casefold().rstrip(_TRAILING) in acks:
        return Plain.HINT
    if _PHONE_FRAGMENT.fullmatch(text):
        digits = sum(char.isdigit() for char in text)
        return Plain.FIND if digits >= MIN_PHONE_DIGITS else Plain.HINT
    return None


def says_something(found: QuickLog) -> bool:
    """Whether the /log reader found more in the text than words."""
    return bool(
        found.name
        or found.kind != "meeting"
        or found.happened
        or found.follow_up
        or found.amount
        or found.phones
        or found.email
    )


def kind_of(text: str, found: QuickLog) -> Plain:
    short = len(text.split()) <= SHORT_WORDS and len(text) <= SHORT_CHARS
    return Plain.FIND if short and not says_something(found) else Plain.LOG


async def _find(context: CrmContext, chat_id: int, text: str) -> None:
    """The results when something matches; else say so, with the hint."""
    found, _more = await context.db.read(
        find_customer_page,
        actor=context.require_member(),
        query=text,
        page=0,
        page_size=1,
        region=context.services.config.locale.default_region,
    )
    if found:
        await show_results(context, chat_id, text)
        return
    none = context.t("lookup.none", query=clip(text))
    await context.bot.send_message(chat_id, none + "\n" + context.t("plain.hint"))


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def plain_text(update: Update, context: CrmContext) -> None:
        message = update.effective_message
        assert message is not None
        if is_cancel_word(context, message.text):
            await cancel_command(update, context)  # "nothing to cancel", or an import review
            return
        text = clean_text(message.text or "").strip()
        kind = first_look(text, context.services.catalogs.words("plain.acks"))
        found = None
        if kind is None and (hint := recognise(text)) is not None:
            await ticket_entry.start_from_text(engine, update, context, hint)
            return
        if kind is None:
            found = quick_log.read(context, text)
            kind = kind_of(text, found)
        if kind is Plain.LOG and found is not None:
            await quick_log.start(engine, update, context, found)
        elif kind is Plain.FIND:
            await _find(context, message.chat_id, text)
        else:
            await context.bot.send_message(message.chat_id, context.t("plain.hint"))

    return {"plain_text": plain_text}


FEATURE = Feature(
    name="plain_text",
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE
            & filters.UpdateType.MESSAGE  # an edited old message is no new request
            & filters.TEXT
            & ~filters.COMMAND
            & ~PromptReply()
            & ~CardReply()
            & ~CardReply(TICKET_CARD_LINE),
            "plain_text",
        ),
    ),
    bind=bind,
)
