"""`/today` and `/week`, and the birthday and stay-in-touch messages the scheduler sends.

The agenda lists the member's due and overdue follow-ups, their customers' birthdays, their
deals expected to close in the period and their contracts ending within the final notice
(`[contracts] final_notice_days`), and the open tickets assigned to them due in the period or
overdue, in the member's timezone; every customer, deal, contract or ticket is a button that
opens it (routed by `handlers.customer_card` and `handlers.deal`). Nudges
carry buttons to log a note, open the customer and (stay in touch) snooze.

    /today | /week --> agenda message, one button per customer or deal, 8 lines a page
                       (handlers/paging.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import (
    CallbackData,
    ContractAction,
    CustomerAction,
    DealAction,
    ListPage,
    ReminderAction,
    TicketAction,
)
from handlers.context import CrmContext
from handlers.feature import Command, Feature, Job
from handlers.formatting import clip, format_date, format_when
from handlers.keyboards import inline_keyboard
from handlers.paging import keyset_nav_row, show
from handlers.reminders import Reader
from handlers.review_today import send_own_open_items
from handlers.ticket_card import type_label
from storage.agenda import (
    AgendaItem,
    BirthdayItem,
    ContractItem,
    FollowUpItem,
    TicketItem,
    page_agenda,
)
from storage.nudges import NudgeInfo
from storage.paging import Cursor, KeysetPage
from storage.reminders import ReminderKind, ReminderView
from storage.working_hours import age_on, local_moment

SUMMARY_PREVIEW = 120
PER_PAGE = 8


# --- nudges (sent by bot.scheduler) -----------------------------------------------------------


def nudge_message(
    reader: Reader, view: ReminderView, info: NudgeInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A birthday or stay-in-touch nudge as the owner reads it, with its buttons."""
    t, name = reader.t, view.customer_name or ""
    note = (t("nudges.button.note"), CustomerAction("note", info.customer_id))
    open_ = (t("nudges.button.open"), CustomerAction("open", info.customer_id))
    if view.reminder.kind == ReminderKind.BIRTHDAY and info.birthday is not None:
        return _birthday_text(reader, name, info), inline_keyboard([[note, open_]])
    snooze = (t("nudges.button.snooze"), ReminderAction("snooze", view.id))
    return _touch_text(reader, name, info), inline_keyboard([[note, snooze], [open_]])


def _birthday_text(reader: Reader, name: str, info: NudgeInfo) -> str:
    assert info.birthday is not None
    t, today = reader.t, reader.now.astimezone(reader.tz).date()
    days = (info.birthday - today).days
    day = format_date(info.birthday, lang=reader.lang)
    if days <= 0:
        lines = [t("nudges.birthday.today", name=name)]
    else:
        lines = [t("nudges.birthday.soon", name=name, date=day, days=days, count=days)]
    age = age_on(info.birthday, info.birth_year)
    if age is not None:
        lines.append(t("nudges.birthday.age", age=age))
    return "\n".join(lines)


def _touch_text(reader: Reader, name: str, info: NudgeInfo) -> str:
    t = reader.t
    days = (reader.now - info.since).days if info.since else 0
    lines = [t("nudges.touch.heading", name=name, days=days, count=days)]
    if info.last_at is not None:
        when = format_when(info.last_at, tz=reader.tz, lang=reader.lang, now=reader.now)
        summary = clip(info.last_summary or "", SUMMARY_PREVIEW)  # "…" says there is more
        lines.append(t("nudges.touch.last", kind=info.last_kind or "", when=when, summary=summary))
    else:
        lines.append(t("nudges.touch.never"))
    return "\n".join(lines)


# --- /today and /week -------------------------------------------------------------------------


def _period(context: CrmContext, days: int) -> tuple[date, date, datetime]:
    """Local dates from today through `days - 1` days ahead, and the UTC end instant."""
    tz = context.tz
    first = context.services.clock().astimezone(tz).date()
    last = first + timedelta(days=days - 1)
    return first, last, local_moment(last + timedelta(days=1), datetime.min.time(), tz)


@dataclass(frozen=True)
class _Entry:
    """One line of the agenda under its section heading, and the button that opens it."""

    heading: str
    line: str
    button: tuple[str, CallbackData] | None


def _entry(context: CrmContext, item: AgendaItem) -> _Entry:
    t, lang, tz, now = context.t, context.language, context.tz, context.services.clock()
    if isinstance(item, FollowUpItem):
        when = format_when(item.due_at, tz=tz, lang=lang, now=now)
        key = "agenda.overdue" if item.due_at < now else "agenda.follow_up"
        label = clip(item.text or item.customer_name or "", SUMMARY_PREVIEW)
        line = t(key, when=when, text=label, customer=item.customer_name or "—")
        button = None
        if item.customer_id is not None and item.customer_name:
            name = t("agenda.button.customer", name=item.customer_name)
            button = (name, CustomerAction("open", item.customer_id))
        return _Entry(t("agenda.section.follow_ups"), line, button)
    if isinstance(item, BirthdayItem):
        day = format_date(item.occurs, lang=lang)
        if item.age is None:
            line = t("agenda.birthday", name=item.customer_name, date=day)
        else:
            line = t("agenda.birthday_age", name=item.customer_name, date=day, age=item.age)
        name = t("agenda.button.birthday", name=item.customer_name)
        button = (name, CustomerAction("open", item.customer_id))
        return _Entry(t("agenda.section.birthdays"), line, button)
    if isinstance(item, ContractItem):
        day = format_date(item.ends_on, lang=lang)
        line = t(
            "contract_reminders.agenda.line",
            number=item.number,
            title=item.title,
            customer=item.customer_name,
            date=day,
        )
        label = t("contract_reminders.agenda.button", number=item.number)
        section = t("contract_reminders.agenda.section")
        return _Entry(section, line, (label, ContractAction("open", item.contract_id)))
    if isinstance(item, TicketItem):
        return _ticket_entry(context, item)
    day = format_date(item.expected_close_date, lang=lang)
    line = t("agenda.deal", title=item.title, customer=item.customer_name, date=day)
    label = t("agenda.button.deal", title=item.title)
    return _Entry(t("agenda.section.deals"), line, (label, DealAction("open", item.deal_id)))


def _ticket_entry(context: CrmContext, item: TicketItem) -> _Entry:
    t, now = context.t, context.services.clock()
    when = format_when(item.due_at, tz=context.tz, lang=context.language, now=now)
    key = "ticket_more.agenda.overdue" if item.due_at < now else "ticket_more.agenda.due"
    kind = type_label(context, item.type)
    line = t(key, number=item.number, type=kind, customer=item.customer_name, when=when)
    label = t("ticket_more.agenda.button", number=item.number)
    section = t("ticket_more.agenda.section")
    return _Entry(section, line, (label, TicketAction("open", item.ticket_id)))


def _render(
    context: CrmContext, page: KeysetPage[AgendaItem], *, title: str, list_name: str
) -> tuple[str, Any]:
    """A page of the agenda, `PER_PAGE` lines under their section headings."""
    lines = [title]
    if not page.total:
        lines.append(context.t("agenda.empty"))
        return "\n".join(lines), None
    rows: list[list[tuple[str, CallbackData]]] = []
    heading = ""
    for entry in (_entry(context, item) for item in page.items):
        if entry.heading != heading:
            heading = entry.heading
            lines += ["", heading]
        lines.append(entry.line)
        if entry.button is not None:
            rows.append([entry.button])
    rows.append(keyset_nav_row(context.t, page, partial(ListPage, list_name)))
    return "\n".join(lines), inline_keyboard(rows)


async def _show(
    update: Update,
    context: CrmContext,
    *,
    days: int,
    title_key: str,
    list_name: str,
    cursor: Cursor | None,
) -> None:
    first, last, until = _period(context, days)
    # Contracts running out within the final notice (the last week, by default), however
    # short the period: they need acting on now.
    final_notice = timedelta(days=context.services.config.contracts.final_notice_days)
    page = await context.db.read(
        page_agenda,
        actor=context.require_member(),
        first=first,
        last=last,
        until=until,
        cursor=cursor,
        size=PER_PAGE,
        contracts_until=max(last, first + final_notice),
    )
    lang = context.language
    title = context.t(
        title_key,
        first=format_date(first, lang=lang),
        last=format_date(last, lang=lang),
    )
    await show(update, context, _render(context, page, title=title, list_name=list_name))


async def today_page(update: Update, context: CrmContext, cursor: Cursor | None) -> None:
    await _show(
        update, context, days=1, title_key="agenda.title.today", list_name="today", cursor=cursor
    )


async def week_page(update: Update, context: CrmContext, cursor: Cursor | None) -> None:
    await _show(
        update, context, days=7, title_key="agenda.title.week", list_name="week", cursor=cursor
    )


async def today(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await today_page(update, context, None)
    await send_own_open_items(context, update.effective_chat.id)


async def week(update: Update, context: CrmContext) -> None:
    await week_page(update, context, None)


# The agenda asks nothing; its buttons belong to the customer and deal flows.
FEATURE = Feature(
    name="agenda",
    commands=(Command("today", today), Command("week", week)),
    # Birthday and stay-in-touch nudges become reminders in the database (`bot.scheduler`).
    jobs=(Job("plan-nudges", every=timedelta(minutes=10), first=timedelta(seconds=1)),),
)
