"""Finding customers: `/find <text>`, `/customer <id>`, inline mode, and the card's buttons.

    /find <text> --> results (8 a page, « » buttons) --press--> card
    /find --> "🔎 what are you looking for?" (ForceReply) --reply--> results
    /customer <id> --> card (or "not found", the same for a missing or foreign id)
    @bot <text> in any chat --> matching customers; picking one drops a short card there

Contracts are found too, by number or title (`storage.contract_lookups`): on the first page
of /find above the customers, and in inline mode as a short contract text whose button opens
it (`ContractAction` open). Orders likewise, by number (`storage.order_lookups`), below the
contracts, opening the order's card (`OrderAction` open), then tickets by number
(`handlers.ticket_lookup`, through `ticket_scope`: their assignee finds them too). Another
salesperson's contract, order or ticket number finds nothing, as an unknown one does.

The query behind the « » buttons is kept in the database (`saved_search`) because callback
data holds 64 bytes; a page button whose search is gone (expired, another member's, forged)
gets "no longer valid". Every search applies the access rule (storage/search/find.py).
"""

from __future__ import annotations

import logging

from telegram import (
    ForceReply,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler, filters

from handlers.callback_data import ContractAction, CustomerAction, OrderAction, SearchPage
from handlers.context import CrmContext
from handlers.customer_card import send_card, short_card
from handlers.customer_pick import label as customer_label
from handlers.feature import Command, Feature, OnMessage, Route
from handlers.formatting import clip, format_date
from handlers.keyboards import Row, inline_keyboard
from handlers.order_card import status_label, total_text
from handlers.telegram_helpers import button_data, edit_message, guarded
from handlers.ticket_lookup import ticket_article, ticket_rows
from storage.lookups import FoundPage, Records, find_inline, find_page
from storage.models import Contract, Customer, Order
from storage.parsing import parse_record_id
from storage.search.find import get_saved_search, new_search_id, save_search

logger = logging.getLogger(__name__)

PAGE_SIZE = 8
INLINE_RESULTS = 20
# The /find prompt starts with this in every language, so a reply to it is recognised
# without comparing translated text (tests/e2e/test_lookup.py checks both catalogs).
PROMPT_MARK = "🔎"


async def _find(context: CrmContext, query: str, page: int) -> FoundPage:
    return await context.db.read(
        find_page,
        actor=context.require_member(),
        query=query,
        page=page,
        page_size=PAGE_SIZE,
        region=context.services.config.locale.default_region,
    )


def _record_rows(context: CrmContext, records: Records) -> list[Row]:
    """The contracts, the orders, then the tickets found: a row each that opens it."""
    rows: list[Row] = [
        [(contract_label(context, contract, customer), ContractAction("open", contract.id or 0))]
        for contract, customer in records.contracts
    ]
    rows += [
        [(order_label(context, order, customer), OrderAction("open", order.id or 0))]
        for order, customer in records.orders
    ]
    return rows + ticket_rows(context, records.tickets)


def order_label(context: CrmContext, order: Order, customer: Customer) -> str:
    return context.t(
        "order_lookup.label",
        number=order.number,
        customer=customer.name,
        status=status_label(context, order.status),
    )


def contract_label(context: CrmContext, contract: Contract, customer: Customer) -> str:
    return context.t(
        "contract_reminders.find.label",
        number=contract.number,
        title=contract.title,
        customer=customer.name,
    )


def _results(
    context: CrmContext, found: FoundPage, query: str, page: int, search_id: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The results page; page buttons only with a saved search (`search_id`) behind them.
    Contracts, orders and tickets found (first page only) come first, each opening itself."""
    rows = _record_rows(context, found.records)
    if not found.customers and not rows:
        key = "lookup.none" if page == 0 else "lookup.no_more"
        return context.t(key, query=clip(query)), None
    rows += [[(customer_label(c), CustomerAction("open", c.id or 0))] for c in found.customers]
    nav = []
    if search_id is not None and page > 0:
        nav.append((context.t("lookup.prev"), SearchPage(search_id, page - 1)))
    if search_id is not None and found.more:
        nav.append((context.t("lookup.next"), SearchPage(search_id, page + 1)))
    text = context.t("lookup.results", query=clip(query), page=page + 1)
    return text, inline_keyboard([*rows, nav])


async def show_results(context: CrmContext, chat_id: int, query: str) -> None:
    """The first page of /find's results (also for a plain-text name, `handlers.plain_text`)."""
    found = await _find(context, query, 0)
    # Only a second page needs the query kept (most searches fit on one), and it is written
    # after the results went out: the member does not wait for it.
    search_id = new_search_id() if found.more else None
    text, markup = _results(context, found, query, 0, search_id)
    await context.bot.send_message(chat_id, text, reply_markup=markup)
    if search_id is not None:
        await _keep(context, query, search_id)


async def _keep(context: CrmContext, query: str, search_id: int) -> None:
    # Best effort: the results are out; if this fails, only their page buttons expire.
    kept = await context.db.run_best_effort(
        save_search, actor=context.require_member(), query=query, search_id=search_id
    )
    if kept is False:
        logger.warning("search id taken; the page buttons will say expired")


async def find(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    query = " ".join(context.args or [])
    if not query.strip():
        prompt = context.t("lookup.ask")
        await context.bot.send_message(
            update.effective_chat.id, prompt, reply_markup=ForceReply(selective=True)
        )
        return
    await show_results(context, update.effective_chat.id, query)


async def answer_prompt(update: Update, context: CrmContext) -> None:
    """The text typed in reply to the /find prompt."""
    assert update.message is not None
    assert update.message.text is not None
    await show_results(context, update.message.chat_id, update.message.text)


async def page(update: Update, context: CrmContext) -> None:
    data = await button_data(update, context, SearchPage)
    if data is None:
        return
    query = update.callback_query
    assert query is not None
    text = await guarded(
        update,
        context,
        context.db.read(get_saved_search, actor=context.require_member(), search_id=data.query_id),
        missing="lookup.expired",
    )
    if text is None:
        return
    found = await _find(context, text, data.page)
    body, markup = _results(context, found, text, data.page, data.query_id)
    await edit_message(query, body, markup)


async def open_customer(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    args = context.args or []
    customer_id = parse_record_id(args[0]) if len(args) == 1 else None
    if customer_id is None:
        await context.bot.send_message(update.effective_chat.id, context.t("lookup.usage"))
        return
    await send_card(context, update.effective_chat.id, customer_id)


async def inline(update: Update, context: CrmContext) -> None:
    """Matching customers as articles; personal and uncached, since results depend on who asks."""
    inline_query = update.inline_query
    assert inline_query is not None
    matches, records = await context.db.read(
        find_inline,
        actor=context.require_member(),
        query=inline_query.query,
        limit=INLINE_RESULTS,
        region=context.services.config.locale.default_region,
    )
    results = [
        InlineQueryResultArticle(
            id=str(customer.id),
            title=customer_label(customer),
            description=context.t("lookup.inline.description", id=customer.id),
            input_message_content=InputTextMessageContent(
                short_card(context, customer, phones), parse_mode=ParseMode.HTML
            ),
        )
        for customer, phones in matches
    ]
    shown = [_contract_article(context, c, customer) for c, customer in records.contracts]
    shown += [_order_article(context, o, customer) for o, customer in records.orders]
    shown += [ticket_article(context, t, customer) for t, customer in records.tickets]
    await inline_query.answer([*shown, *results], cache_time=0, is_personal=True)


def _contract_article(
    context: CrmContext, contract: Contract, customer: Customer
) -> InlineQueryResultArticle:
    """A contract as an inline result: its number, title, customer and end, and a button that
    opens it for whoever presses it (through the access rule, like every button)."""
    ends = format_date(contract.ends_on, lang=context.language) if contract.ends_on else "—"
    text = context.t(
        "contract_reminders.find.inline_text",
        number=contract.number,
        title=contract.title,
        customer=customer.name,
        ends=ends,
    )
    label = context.t("contract_reminders.button.open")
    return InlineQueryResultArticle(
        id=f"c{contract.id}",
        title=contract_label(context, contract, customer),
        description=context.t("contract_reminders.find.inline_description", ends=ends),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        reply_markup=inline_keyboard([[(label, ContractAction("open", contract.id or 0))]]),
    )


def _order_article(
    context: CrmContext, order: Order, customer: Customer
) -> InlineQueryResultArticle:
    """An order as an inline result: its number, customer, status, total and delivery date,
    and a button that opens its card for whoever presses it (through the access rule)."""
    status = status_label(context, order.status)
    total = total_text(context, order)
    due = (
        format_date(order.delivery_due_on, lang=context.language) if order.delivery_due_on else "—"
    )
    text = context.t(
        "order_lookup.inline_text",
        number=order.number,
        customer=customer.name,
        status=status,
        total=total,
        due=due,
    )
    return InlineQueryResultArticle(
        id=f"o{order.id}",
        title=order_label(context, order, customer),
        description=context.t("order_lookup.inline_description", status=status, total=total),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        reply_markup=inline_keyboard(
            [[(context.t("order_lookup.open"), OrderAction("open", order.id or 0))]]
        ),
    )


class PromptReply(filters.MessageFilter):
    """A reply to this bot's /find prompt."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(
            replied is not None
            and replied.from_user is not None
            and replied.from_user.id == message.get_bot().id
            and (replied.text or "").startswith(PROMPT_MARK)
        )


FEATURE = Feature(
    name="lookup",
    commands=(Command("find", find), Command("customer", open_customer)),
    routes=(Route(SearchPage, page),),
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & PromptReply(),
            answer_prompt,
        ),
    ),
    others=(InlineQueryHandler(inline),),
)
