"""The customer card: every field, owner, recent notes, open deals, reminders and purchases.

Opened by `/customer <id>`, a search result or a card button; the id always goes through the
access rule, so another member's customer gets exactly the "not found" of a missing one.
History shows the customer's audit log, worded by handlers/history.py; Edit, Delete, Merge
and Reassign are handled by handlers/records/customers.py. The card's first line ends with
"#<id>": replying to a card (a message from this bot) with text adds that text as a note of
kind "message" happening now.
"message" because the member wrote it in a chat and we do not know whether they called, met or
visited; the note flow is there when they want to say which.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import filters

from handlers.callback_data import CustomerAction, NoteAction, OrderAction, TicketAction
from handlers.context import CrmContext
from handlers.contract_card import contract_lines
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Feature, OnMessage, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import error_text
from handlers.formatting import clip, format_money, format_number, format_when
from handlers.history import PER_PAGE as HISTORY_PAGE
from handlers.history import history_lines
from handlers.i18n import Html
from handlers.keyboards import Row, inline_keyboard
from handlers.order_card import order_line
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from handlers.text_limits import MAX_TEXT, html_length, split_html, utf16_len
from storage.access import NotFound
from storage.contract_views import CustomerContracts
from storage.customer_card import read_customer_card
from storage.customer_changes import list_customer_history
from storage.customers import get_customer
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Order, Role, utcnow
from storage.parsing import Money, ParseError, parse_text
from storage.quality.completeness import completeness
from storage.quality.rules import FLOW_FIELD
from storage.search.find import CustomerCard, get_customer_card
from storage.ticket_views import CustomerTickets

NOTES_PER_PAGE = 5
NOTE_KIND = "message"
CARD_ID = re.compile(r"#(\d{1,18})\s*$")
TEXT_FIELDS = ("email", "company", "position", "industry", "region")
CHOICE_FIELDS = ("gender", "source", "category")
STANDARD_FIELDS = ("industry", "region")
# Free text on the card is shown to this many characters with "…"; the note's "📝 #id" button
# opens it whole. Deals and reminders are shorter, the full ones are in /deals and /reminders.
NOTE_PREVIEW = 300
NOTE_PREVIEWS = (NOTE_PREVIEW, 200, 120, 60)
CARD_DEALS = 5
CARD_ORDERS = 3  # the latest; "All orders" lists them all, a page at a time
ITEM_PREVIEW = 80
NOTE_BUTTONS_PER_ROW = 5
CARD_ACTIONS = ("open", "remind", "history", "more", "needs")


def _label(context: CrmContext, key: str, fallback: str) -> str:
    translator = context.translator
    return context.t(key) if translator is not None and translator.has(key) else fallback


def _field(context: CrmContext, name: str, value: str) -> str:
    return context.t("lookup.card.field", label=context.t(f"customer.field.{name}"), value=value)


def field_lines(context: CrmContext, customer: Customer, phones: list[str]) -> list[str]:
    lines = []
    if phones:
        lines.append(_field(context, "phones", fp.show_phones(phones, context)))
    for name in TEXT_FIELDS:
        if value := getattr(customer, name):
            if name in STANDARD_FIELDS:  # in the member's language, flagged when not listed
                value = fp.show_standard(name)(value, context)
            lines.append(_field(context, name, value))
    if customer.birthday_month and customer.birthday_day:
        birthday = {
            "month": customer.birthday_month,
            "day": customer.birthday_day,
            "year": customer.birthday_year,
        }
        lines.append(_field(context, "birthday", fp.show_birthday(birthday, context)))
    for name in CHOICE_FIELDS:
        if value := getattr(customer, name):
            lines.append(_field(context, name, _label(context, f"customer.{name}.{value}", value)))
    if customer.tags:
        lines.append(_field(context, "tags", ", ".join(customer.tags)))
    if customer.needs:  # whole under the card's "📄 Needs in full" button when shortened
        lines.append(_field(context, "needs", clip(customer.needs, NOTE_PREVIEW)))
    return lines


def card_title(context: CrmContext, customer: Customer) -> str:
    return context.t("lookup.card.title", name=customer.name, id=customer.id)


def score_line(context: CrmContext, score: int, missing: Sequence[str]) -> str:
    """ "Complete: 62% — missing: Phone, Company" by the team's weights (`[quality]`)."""
    if not missing:
        return context.t("quality.card.complete", score=score)
    labels = ", ".join(context.t(f"customer.field.{FLOW_FIELD.get(n, n)}") for n in missing)
    return context.t("quality.card.score", score=score, missing=labels)


def render_card(
    context: CrmContext,
    card: CustomerCard,
    contracts: CustomerContracts | None = None,
    tickets: CustomerTickets | None = None,
) -> str:
    """The card in one message: with every field at its longest, the note previews shrink
    until it fits, rather than the end of the card being cut off."""
    customer = card.customer
    score = completeness(customer, context.services.quality, phones=card.phones)
    head = [card_title(context, customer), score_line(context, *score)]
    head += field_lines(context, customer, card.phones)
    head += [context.t("lookup.card.owner", owner=card.owner_name), ""]
    head.append(context.t("lookup.card.notes"))
    tail = _card_tail(context, card)
    if contracts is not None:
        tail[-2:-2] = contract_lines(context, contracts)
    if tickets is not None:
        tail[-2:-2] = ticket_lines(context, tickets)
    for preview in NOTE_PREVIEWS:
        notes = [
            # the id matches the note's "📝 #id" button under the card
            context.t("records.note.line", line=Html(note_line(context, n, preview)), id=n.id)
            for n in card.interactions
        ] or [context.t("lookup.card.none")]
        text = "\n".join([*head, *notes, *tail])
        if html_length(text) <= MAX_TEXT:
            break
    return text


def _card_tail(context: CrmContext, card: CustomerCard) -> list[str]:
    lines: list[str] = []
    if card.open_deals:
        lines += ["", context.t("lookup.card.deals")]
        for deal in card.open_deals[:CARD_DEALS]:
            amount = (
                format_money(Money(deal.amount, deal.currency), lang=context.language)
                if deal.amount is not None and deal.currency
                else "—"
            )
            stage = _label(context, f"deal.stage.{deal.stage}", deal.stage)
            title = clip(deal.title, ITEM_PREVIEW)
            lines.append(context.t("lookup.card.deal", title=title, amount=amount, stage=stage))
        if len(card.open_deals) > CARD_DEALS:
            more = len(card.open_deals) - CARD_DEALS
            lines.append(context.t("lookup.card.deals_more", count=more))
    if card.reminders:
        lines += ["", context.t("lookup.card.reminders")]
        for reminder in card.reminders:
            when = format_when(reminder.due_at, tz=context.tz, lang=context.language)
            text = clip(reminder.text or "", ITEM_PREVIEW)
            lines.append(context.t("lookup.card.reminder", when=when, text=text))
    if card.purchases:
        total = ", ".join(
            format_money(Money(amount, currency), lang=context.language)
            for currency, amount in card.purchases.items()
        )
        lines += ["", context.t("lookup.card.purchases", total=total)]
    if card.orders:
        lines += ["", context.t("order.card.orders")]
        lines += [order_line(context, order) for order in card.orders[:CARD_ORDERS]]
    lines += ["", context.t("lookup.card.reply_hint")]
    return lines


def ticket_lines(context: CrmContext, tickets: CustomerTickets) -> list[str]:
    """Open tickets, and the latest satisfaction score with the average of tickets, orders and
    visits, when there is something to say."""
    lines: list[str] = []
    if tickets.open:
        lines.append(context.t("ticket.customer.open", count=tickets.open))
    if tickets.average is not None:
        average = format_number(Decimal(f"{tickets.average:.1f}"), lang=context.language)
        lines.append(
            context.t(
                "ticket.customer.satisfaction",
                latest=tickets.latest,
                average=average,
                count=tickets.rated,
            )
        )
    return ["", *lines] if lines else []


def note_line(context: CrmContext, note: Any, preview: int = NOTE_PREVIEW) -> str:
    return context.t(
        "lookup.card.note",
        when=format_when(note.happened_at, tz=context.tz, lang=context.language),
        kind=_label(context, f"note.kind.{note.kind}", note.kind),
        summary=clip(note.summary or note.outcome or "—", preview),
    )


def card_keyboard(
    context: CrmContext,
    customer_id: int,
    note_ids: Sequence[int] = (),
    *,
    long_needs: bool = False,
    contracts: bool = False,
    orders: Sequence[Order] = (),
    gaps: bool = False,
) -> InlineKeyboardMarkup | None:
    """A "📝 #id" button per listed note (opens it to edit or delete, handlers/records/notes.py);
    "📄 Needs in full" when the card shortened them; Merge and Reassign only for managers and
    admins (the handlers check the role again); "Fill gaps" last when fields are missing."""

    def button(key: str, action: str, value: str = "") -> tuple[str, CustomerAction]:
        return context.t(key), CustomerAction(action, customer_id, value)

    lifecycle = [button("records.button.delete", "delete")]
    if context.require_member().role != Role.SALES:
        lifecycle += [
            button("records.button.merge", "merge"),
            button("records.button.reassign", "reassign"),
        ]
    return inline_keyboard(
        [
            *note_rows(context, note_ids),
            order_row(context, customer_id, orders),
            [button("lookup.button.needs", "needs")] if long_needs else [],
            [
                button("lookup.button.note", "note"),
                button("lookup.button.deal", "deal"),
                button("lookup.button.remind", "remind"),
            ],
            [
                button("lookup.button.contract", "contract"),
                *([button("lookup.button.contracts", "contracts", "1")] if contracts else []),
            ],
            [
                button("lookup.button.edit", "edit"),
                button("lookup.button.history", "history", "1"),
                button("lookup.button.more", "more", "1"),
            ],
            lifecycle,
            # after the fixed buttons, so they keep their places (the console numbers them);
            # Fill gaps, there only while something is missing, comes last
            [(context.t("ticket.button.new"), TicketAction("new", customer_id))],
            [button("quality.button.gaps", "gaps")] if gaps else [],
        ]
    )


def order_row(context: CrmContext, customer_id: int, orders: Sequence[Order]) -> Row:
    """A "📦 <number>" button per order listed on the card, and "All orders" when there are
    more than it lists."""
    row = [
        (context.t("order.list.open", number=o.number), OrderAction("open", o.id or 0))
        for o in orders[:CARD_ORDERS]
    ]
    if len(orders) > CARD_ORDERS:
        row.append((context.t("order.card.all"), OrderAction("list", customer_id, "0")))
    return row


def note_rows(context: CrmContext, note_ids: Sequence[int]) -> list[Row]:
    """A "📝 #id" button per listed note: it opens the note whole (the card shortens it)."""
    notes = [(context.t("records.note.button", id=i), NoteAction("open", i)) for i in note_ids]
    return [
        notes[i : i + NOTE_BUTTONS_PER_ROW] for i in range(0, len(notes), NOTE_BUTTONS_PER_ROW)
    ]


async def send_card(context: CrmContext, chat_id: int, customer_id: int) -> None:
    """The full card, or the same "not found" for a missing, deleted or foreign id."""
    member = context.require_member()
    try:
        full = await context.db.read(read_customer_card, actor=member, customer_id=customer_id)
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    card, contracts = full.card, full.contracts
    await context.bot.send_message(
        chat_id,
        render_card(context, card, contracts, full.tickets),
        reply_markup=card_keyboard(
            context,
            customer_id,
            [n.id or 0 for n in card.interactions],
            long_needs=utf16_len(card.customer.needs or "") > NOTE_PREVIEW,
            contracts=contracts.count > 0,
            orders=card.orders,
            gaps=bool(
                completeness(card.customer, context.services.quality, phones=card.phones)[1]
            ),
        ),
    )


async def _more(update: Update, context: CrmContext, action: CustomerAction) -> None:
    """Older notes, five a page; the first page comes as a new message under the card."""
    assert update.effective_chat is not None
    page = max(int(action.value or "1"), 1)
    card = await guarded(
        update,
        context,
        context.db.read(
            get_customer_card,
            actor=context.require_member(),
            customer_id=action.customer_id,
            notes_limit=NOTES_PER_PAGE,
            notes_offset=page * NOTES_PER_PAGE,
        ),
    )
    if card is None:
        return
    customer = card.customer
    lines = [context.t("lookup.more.title", name=customer.name, page=page + 1)]
    lines += [
        context.t("records.note.line", line=Html(note_line(context, n)), id=n.id)
        for n in card.interactions
    ] or [context.t("lookup.more.none")]
    nav = []
    if page > 1:
        nav.append(("«", CustomerAction("more", action.customer_id, str(page - 1))))
    if card.more_interactions:
        nav.append(("»", CustomerAction("more", action.customer_id, str(page + 1))))
    rows: list[Row] = [*note_rows(context, [n.id or 0 for n in card.interactions]), nav]
    await page_reply(update, "\n".join(lines), inline_keyboard(rows))


async def page_reply(update: Update, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Pressed on the card: a new message under it (the card stays); on a page: turn it."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    message = query.message
    if (
        isinstance(message, Message)
        and message.text
        and CARD_ID.search(message.text.split("\n")[0])
    ):
        await query.get_bot().send_message(update.effective_chat.id, text, reply_markup=markup)
    else:
        await edit_message(query, text, markup)


async def _send_needs(context: CrmContext, chat_id: int, customer: Customer) -> None:
    """The needs whole, which the card shortens: up to 4,096 characters, in several messages
    when the heading pushes them over one."""
    text = context.t("lookup.card.needs_whole", name=customer.name, needs=customer.needs or "—")
    for part in split_html(text):
        await context.bot.send_message(chat_id, part)


async def _history(update: Update, context: CrmContext, action: CustomerAction) -> None:
    """The audit log of this customer: who, when (member's tz), what, old → new; paginated."""
    query = update.callback_query
    assert query is not None
    page = max(int(action.value or "1"), 1)
    member = context.require_member()
    try:
        customer = await context.db.read(
            get_customer, actor=member, customer_id=action.customer_id
        )
        entries = await context.db.read(
            list_customer_history,
            actor=member,
            customer_id=action.customer_id,
            limit=HISTORY_PAGE + 1,
            offset=(page - 1) * HISTORY_PAGE,
        )
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query)
    lines = [context.t("records.history.title", name=customer.name, page=page)]
    for entry in entries[:HISTORY_PAGE]:
        lines += history_lines(context, entry)
    if not entries:
        lines.append(context.t("records.history.none"))
    nav = []
    if page > 1:
        nav.append(("«", CustomerAction("history", action.customer_id, str(page - 1))))
    if len(entries) > HISTORY_PAGE:
        nav.append(("»", CustomerAction("history", action.customer_id, str(page + 1))))
    await page_reply(update, "\n".join(lines), inline_keyboard([nav]))


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def card_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, CustomerAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        if action.action == "more":
            await _more(update, context, action)
            return
        if action.action == "history":
            await _history(update, context, action)
            return
        try:
            card = await context.db.read(
                get_customer_card,
                actor=context.require_member(),
                customer_id=action.customer_id,
                notes_limit=0,
            )
        except NotFound:
            await answer_query(query, context.t("common.not_found"))
            return
        if action.action == "open":
            await answer_query(query)
            await send_card(context, update.effective_chat.id, action.customer_id)
        elif action.action == "needs":
            await answer_query(query)
            await _send_needs(context, update.effective_chat.id, card.customer)
        elif action.action == "remind" and "remind" in engine.flows:
            await answer_query(query)
            picked = {"id": str(action.customer_id), "label": customer_label(card.customer)}
            await engine.start(update, context, "remind", values={"customer": picked})
        else:
            await answer_query(query, context.t("lookup.not_available"))

    async def reply_to_card(update: Update, context: CrmContext) -> None:
        """A text reply to a card becomes a note on that customer (access rule applies)."""
        message = update.message
        assert message is not None
        assert message.reply_to_message is not None
        replied = message.reply_to_message.text or ""
        match = CARD_ID.search(replied.split("\n")[0])
        assert match is not None
        summary = parse_text(message.text, field="summary")
        if isinstance(summary, ParseError):  # as the note flow answers it, with its example
            refusal = error_text(context, summary)
            await message.reply_text(f"{refusal}\n\n{context.t('note.ask.summary')}")
            return
        data = InteractionCreate(
            customer_id=int(match[1]), kind=NOTE_KIND, happened_at=utcnow(), summary=summary
        )
        try:
            await context.db.run(create_interaction, actor=context.require_member(), data=data)
        except NotFound:
            await message.reply_text(context.t("common.not_found"))
            return
        await message.reply_text(context.t("lookup.note_saved"))

    return {"card_button": card_button, "reply_to_card": reply_to_card}


class CardReply(filters.MessageFilter):
    """A reply to a message this bot sent whose first line matches `first_line`: by default
    ends with "#<id>" (a customer card); a ticket's card names its number."""

    def __init__(self, first_line: re.Pattern[str] = CARD_ID) -> None:
        super().__init__()
        self.first_line = first_line

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.text:
            return False
        if replied.from_user.id != message.get_bot().id:
            return False
        return self.first_line.search(replied.text.split("\n")[0]) is not None


# handlers/customer.py routes note|deal|purchase, handlers/records/customers.py the changes.
FEATURE = Feature(
    name="customer_card",
    routes=(Route(CustomerAction, "card_button", CARD_ACTIONS),),
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & CardReply(),
            "reply_to_card",
        ),
    ),
    bind=bind,
)


def short_card(context: CrmContext, customer: Customer, phones: list[str]) -> str:
    """Name, company, phones and email: what an inline result drops into another chat."""
    lines = [f"<b>{html.escape(customer.name, quote=False)}</b>"]
    lines += field_lines(context, customer, phones)[:4]
    return "\n".join(lines)
