"""Tickets found by number in `/find` and inline mode (`storage.order_lookups.find_tickets`,
through `ticket_scope`): a button row each on /find's first page, below the orders, and an
inline article whose button opens the card for whoever presses it (through the access rule)."""

from __future__ import annotations

from telegram import InlineQueryResultArticle, InputTextMessageContent
from telegram.constants import ParseMode

from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.formatting import format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.ticket_card import status_label, type_label
from storage.models import Customer, Ticket


def ticket_label(context: CrmContext, ticket: Ticket, customer: Customer) -> str:
    return context.t(
        "ticket_more.find.label",
        number=ticket.number,
        customer=customer.name,
        status=status_label(context, ticket.status),
    )


def ticket_rows(context: CrmContext, found: list[tuple[Ticket, Customer]]) -> list[Row]:
    """A row per ticket found that opens its card."""
    return [
        [(ticket_label(context, ticket, customer), TicketAction("open", ticket.id or 0))]
        for ticket, customer in found
    ]


def ticket_article(
    context: CrmContext, ticket: Ticket, customer: Customer
) -> InlineQueryResultArticle:
    """A ticket as an inline result: number, type, customer, status and due time."""
    status = status_label(context, ticket.status)
    kind = type_label(context, ticket.type)
    text = context.t(
        "ticket_more.find.inline_text",
        number=ticket.number,
        type=kind,
        customer=customer.name,
        status=status,
        due=format_when(
            ticket.due_at, tz=context.tz, lang=context.language, now=context.services.clock()
        ),
    )
    return InlineQueryResultArticle(
        id=f"t{ticket.id}",
        title=ticket_label(context, ticket, customer),
        description=context.t("ticket_more.find.inline_description", type=kind, status=status),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        reply_markup=inline_keyboard(
            [[(context.t("ticket.button.open"), TicketAction("open", ticket.id or 0))]]
        ),
    )
