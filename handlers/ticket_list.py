"""`/tickets`: the open tickets the member may see, soonest due first (a manager: the team's),
each with its open button; "Overdue only" narrows the list to those past their due time.

    /tickets --> list [🎫 GD-2026-0001 ...] [⏰ Overdue only | All open]
"""

from __future__ import annotations

from typing import Any

from telegram import Update

from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.feature import Command, Feature, Route
from handlers.formatting import clip, format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import answer_query, button_data
from handlers.ticket_card import status_label
from storage.models import Member
from storage.ticket_views import TicketLine, list_open_tickets
from storage.tickets import list_deleted_tickets

LIMIT = 20


async def restore_rows(context: CrmContext, member: Member) -> list[Row]:
    """The /restore section for tickets: one Restore button each. NotFound for non-admins."""
    deleted = await context.db.read(list_deleted_tickets, actor=member)
    return [[(f"♻️ {t.number}", TicketAction("restore", t.id or 0))] for t in deleted]


def _line(context: CrmContext, line: TicketLine, overdue: bool) -> str:
    ticket, now = line.ticket, context.services.clock()
    key = "ticket.list.line_overdue" if overdue or ticket.due_at < now else "ticket.list.line"
    return context.t(
        key,
        number=ticket.number,
        priority=context.t(f"ticket.priority.{ticket.priority}"),
        status=status_label(context, ticket.status),
        customer=clip(line.customer_name, 40),
        assignee=line.assignee_name,
        due=format_when(ticket.due_at, tz=context.tz, lang=context.language, now=now),
    )


async def _send(context: CrmContext, chat_id: int, *, overdue: bool) -> None:
    found = await context.db.read(
        list_open_tickets,
        actor=context.require_member(),
        overdue=overdue,
        now=context.services.clock(),
        limit=LIMIT,
    )
    title = "ticket.list.title_overdue" if overdue else "ticket.list.title"
    lines = [context.t(title, count=len(found))]
    lines += [_line(context, line, overdue) for line in found] or [context.t("ticket.list.empty")]
    rows: list[list[Any]] = [
        [
            (
                context.t("ticket.list.open", number=t.ticket.number),
                TicketAction("open", t.ticket.id or 0),
            )
        ]
        for t in found
    ]
    switch = ("ticket.list.all", "") if overdue else ("ticket.list.overdue", "1")
    rows.append([(context.t(switch[0]), TicketAction("list", 0, switch[1]))])
    await context.bot.send_message(chat_id, "\n".join(lines), reply_markup=inline_keyboard(rows))


async def tickets_command(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await _send(context, update.effective_chat.id, overdue=False)


async def tickets_button(update: Update, context: CrmContext) -> None:
    action = await button_data(update, context, TicketAction)
    if action is None:
        return
    assert update.callback_query is not None
    assert update.effective_chat is not None
    await answer_query(update.callback_query)
    await _send(context, update.effective_chat.id, overdue=action.value == "1")


FEATURE = Feature(
    name="ticket_list",
    commands=(Command("tickets", tickets_command),),
    routes=(Route(TicketAction, tickets_button, ("list",)),),
)
