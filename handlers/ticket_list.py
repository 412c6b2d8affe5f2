"""`/tickets`: the open tickets the member may see, soonest due first (a manager: the team's),
each with its open button; "Overdue only" narrows the list to those past their due time. A
manager or admin also filters by an open status and by assignee (a member they may list).

    /tickets --> list [🎫 GD-2026-0001 ...] [⏰ Overdue only | All open]
             (a lead) [Open | In progress | Waiting] [👤 By assignee --> members --> list]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Update

from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.feature import Command, Feature, Route
from handlers.formatting import clip, format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, guarded
from handlers.ticket_card import status_label
from storage.access import require_member
from storage.members import list_members
from storage.models import Member, Role, TicketStatus
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


FILTERS = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)
OVERDUE, WHO = "1", "who"


@dataclass(frozen=True)
class Filter:
    """What /tickets shows: overdue only, one open status, one assignee (a lead's)."""

    overdue: bool = False
    status: TicketStatus | None = None
    assignee: Member | None = None

    def button(self, value: str, assignee_id: int | None = None) -> TicketAction:
        keep = (self.assignee.id or 0) if self.assignee is not None else 0
        return TicketAction("list", keep if assignee_id is None else assignee_id, value)


def _title(context: CrmContext, shown: Filter, count: int) -> str:
    title = "ticket.list.title_overdue" if shown.overdue else "ticket.list.title"
    parts = [context.t(title, count=count)]
    if shown.status is not None:
        parts.append(status_label(context, shown.status))
    if shown.assignee is not None:
        parts.append(context.t("ticket_entry.list.of", member=shown.assignee.display_name))
    return " · ".join(parts)


def _filter_rows(context: CrmContext, shown: Filter) -> list[list[Any]]:
    """A lead's filters: each open status, the assignee picker, and All open."""
    statuses = [
        (status_label(context, status), shown.button(str(status)))
        for status in FILTERS
        if status != shown.status
    ]
    rows: list[list[Any]] = [statuses]
    last = [(context.t("ticket_entry.list.by_assignee"), TicketAction("list", 0, WHO))]
    if shown != Filter():
        last.append((context.t("ticket.list.all"), TicketAction("list", 0, "")))
    rows.append(last)
    return rows


async def _send(context: CrmContext, chat_id: int, shown: Filter) -> None:
    member = context.require_member()
    found = await context.db.read(
        list_open_tickets,
        actor=member,
        overdue=shown.overdue,
        now=context.services.clock(),
        limit=LIMIT,
        status=shown.status,
        assignee_id=shown.assignee.id if shown.assignee is not None else None,
    )
    lines = [_title(context, shown, len(found))]
    lines += [_line(context, line, shown.overdue) for line in found] or [
        context.t("ticket.list.empty")
    ]
    rows: list[list[Any]] = [
        [
            (
                context.t("ticket.list.open", number=t.ticket.number),
                TicketAction("open", t.ticket.id or 0),
            )
        ]
        for t in found
    ]
    if shown.overdue:
        rows.append([(context.t("ticket.list.all"), shown.button(""))])
    else:
        rows.append([(context.t("ticket.list.overdue"), shown.button(OVERDUE))])
    if member.role != Role.SALES:
        rows += _filter_rows(context, shown)
    await context.bot.send_message(chat_id, "\n".join(lines), reply_markup=inline_keyboard(rows))


async def _pick_assignee(context: CrmContext, chat_id: int) -> None:
    """The active members the lead may list, each a button filtering /tickets by them."""
    members = await context.db.read(list_members, actor=context.require_member())
    rows: list[list[Any]] = [
        [(m.display_name, TicketAction("list", m.id or 0, ""))] for m in members if m.active
    ]
    await context.bot.send_message(
        chat_id, context.t("ticket_entry.list.pick"), reply_markup=inline_keyboard(rows)
    )


async def tickets_command(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await _send(context, update.effective_chat.id, Filter())


async def tickets_button(update: Update, context: CrmContext) -> None:
    """A filter button; its data is untrusted: an unknown value is a stale button, an
    assignee the member may not list is "not found" (`list_open_tickets` checks it)."""
    action = await button_data(update, context, TicketAction)
    if action is None:
        return
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    value = action.value
    if value == WHO and context.require_member().role != Role.SALES:
        await answer_query(query)
        await _pick_assignee(context, chat_id)
        return
    if value not in ("", OVERDUE, *(str(s) for s in FILTERS)):
        await answer_query(query, context.t("common.stale_button"))
        return
    status = TicketStatus(value) if value not in ("", OVERDUE) else None
    assignee = None
    if action.ticket_id:
        load = context.db.read(
            require_member, actor=context.require_member(), member_id=action.ticket_id
        )
        assignee = await guarded(update, context, load)
        if assignee is None:
            return
    else:
        await answer_query(query)
    await _send(context, chat_id, Filter(value == OVERDUE, status, assignee))


FEATURE = Feature(
    name="ticket_list",
    commands=(Command("tickets", tickets_command),),
    routes=(Route(TicketAction, tickets_button, ("list",)),),
)
