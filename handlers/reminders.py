"""Follow-up reminders in chat: the reminder message and its buttons, `/reminders`, `/remind`.

The scheduler (bot.scheduler) sends the message `reminder_message` renders; its buttons are
Done (records completion, then offers to log a note), Snooze (1 hour, tomorrow 09:00, next
Monday 09:00, or "Pick a time": the one-field `snooze` flow, saved as soon as the time is
typed), Open customer and Log a note; a snoozed reminder keeps its buttons.
`/reminders` lists the member's open reminders in one message, 10 a page, each a button that
opens it as that same message.

`/remind call Zhang about the quote tomorrow 10am` finds the time in the sentence (member's
timezone, future preferred; a time already past is said so and asked again), takes the rest
as the text, matches a customer of theirs by name, and opens the `remind` flow on its
summary card, so the resolved time is echoed in words before Save. `/remind` alone asks
text, time and (optional) customer step by step.

    /remind <sentence> --> summary card --Save--> reminder set (time echoed)
    /remind <sentence, time past> --> "that time has passed" + when --> ... --> summary card
    /remind            --> text --> when --> customer (Skip) --> summary card --Save--> set
    /reminders --> one message: a line and a button per reminder, ‹ Prev · 1–10 of 34 · Next ›
               (handlers/paging.py, edited in place) --a reminder--> its reminder message
    reminder message --Snooze--> options --1h | tomorrow | next week--> snoozed (buttons kept)
                                         --Pick a time--> snooze flow --typed time--> snoozed
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import ListPage, ReminderAction, TicketAction
from handlers.context import CrmContext
from handlers.contract_reminders import is_renewal, renewal_actions, renewal_label, renewal_text
from handlers.customer import show_customer
from handlers.customer_pick import customer_field
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature, Job, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow
from handlers.formatting import clip, format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.paging import keyset_nav_row, show
from handlers.telegram_helpers import button_data, edit_message, guarded
from handlers.ticket_card import notice_text
from handlers.webhooks import endpoint_disabled_text
from storage.access import NotFound
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.dates import search_when
from storage.lookups import find_customer_named
from storage.models import Reminder
from storage.paging import Cursor
from storage.parsing import ParseError, clean_text, parse_text
from storage.reminders import (
    ReminderKind,
    ReminderView,
    create_follow_up,
    get_reminder_view,
    mark_done,
    page_reminder_views,
    snooze,
)
from storage.tickets import is_overdue_stage

Translate = Callable[..., str]

LIST_LIMIT = 10
LINE_PREVIEW = 200  # a reminder's text on the /reminders list, in Telegram's characters
BUTTON_PREVIEW = 40
NOTE_PREVIEW = 200
MORNING = time(9, 0)
_TRAILING_LINK = re.compile(r"(?:\s+(?:at|on|by|in|for)\b)?[\s,.;:，。；：、]*$", re.IGNORECASE)


# --- the reminder message ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Reader:
    """Whom a message is for: their translator, language and timezone, and "now"."""

    t: Translate
    lang: str
    tz: ZoneInfo
    now: datetime


def reminder_message(
    reader: Reader, view: ReminderView, *, late: bool
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The reminder as the member reads it, with its action buttons."""
    return _text(reader, view, late=late), _actions(reader.t, view)


def _reader(context: CrmContext) -> Reader:
    return Reader(context.t, context.language, context.tz, context.services.clock())


def _text(reader: Reader, view: ReminderView, *, late: bool) -> str:
    reminder, t = view.reminder, reader.t
    if is_renewal(view):
        return renewal_text(t, reader.lang, reader.tz, reader.now, view)
    if reminder.kind == ReminderKind.WEBHOOK_OFF:
        return endpoint_disabled_text(t, reminder.text or "")
    if view.notice is not None:
        return notice_text(t, view.notice)
    when = format_when(reminder.due_at, tz=reader.tz, lang=reader.lang, now=reader.now)
    lines = [t("reminders.late", when=when) if late else t("reminders.heading", when=when)]
    if reminder.kind == ReminderKind.DELIVERY:
        lines.append(t("order.reminder.delivery"))
    if reminder.kind == ReminderKind.TICKET:
        overdue = is_overdue_stage(reminder.dedupe_key)
        lines.append(t("ticket.reminder.overdue" if overdue else "ticket.reminder.due"))
    if reminder.kind == ReminderKind.SATISFACTION:
        lines.append(t("satisfaction.reminder.falling"))
    if reminder.text:
        lines.append(t("reminders.text", text=reminder.text))
    if view.customer_name:
        lines.append(t("reminders.customer", name=view.customer_name))
    if view.last_note:
        note = view.last_note
        note = note if len(note) <= NOTE_PREVIEW else note[: NOTE_PREVIEW - 1] + "…"
        lines.append(t("reminders.last_note", note=note))
    return "\n".join(lines)


def _actions(t: Translate, view: ReminderView) -> InlineKeyboardMarkup | None:
    rid = view.id
    if is_renewal(view):
        return renewal_actions(t, view)
    rows: list[list[Any]] = [
        [
            (t("reminders.button.done"), ReminderAction("done", rid)),
            (t("reminders.button.snooze"), ReminderAction("snooze", rid)),
        ]
    ]
    if view.customer_name:
        rows.append(
            [
                (t("reminders.button.open"), ReminderAction("open", rid)),
                (t("reminders.button.note"), ReminderAction("note", rid)),
            ]
        )
    if view.reminder.ticket_id is not None:
        ticket = TicketAction("open", view.reminder.ticket_id)
        rows.append([(t("ticket.button.open"), ticket)])
    return inline_keyboard(rows)


def _snooze_options(t: Translate, rid: int) -> InlineKeyboardMarkup | None:
    return inline_keyboard(
        [
            [
                (t("reminders.snooze.1h"), ReminderAction("snooze", rid, "1h")),
                (t("reminders.snooze.tm"), ReminderAction("snooze", rid, "tm")),
            ],
            [
                (t("reminders.snooze.nw"), ReminderAction("snooze", rid, "nw")),
                (t("reminders.snooze.ask"), ReminderAction("snooze", rid, "ask")),
            ],
        ]
    )


def snooze_until(choice: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """1h: an hour from now; tm: tomorrow 09:00; nw: next Monday 09:00 (member's timezone)."""
    if choice == "1h":
        return now + timedelta(hours=1)
    today = now.astimezone(tz).date()
    days = 1 if choice == "tm" else 7 - today.weekday()
    return datetime.combine(today + timedelta(days=days), MORNING, tzinfo=tz).astimezone(UTC)


def _when(context: CrmContext, at: datetime) -> str:
    return format_when(at, tz=context.tz, lang=context.language, now=context.services.clock())


async def reminders_page(update: Update, context: CrmContext, cursor: Cursor | None) -> None:
    """The member's open reminders in one message, `LIST_LIMIT` a page (the page buttons edit
    it in place): a line per reminder and a button opening it as its own message, with Done,
    Snooze and Open."""
    reader = _reader(context)
    page = await context.db.read(
        page_reminder_views, actor=context.require_member(), cursor=cursor, size=LIST_LIMIT
    )
    if not page.total:
        await show(update, context, (context.t("reminders.none"), None))
        return
    lines = [context.t("reminders.list_title", count=page.total)]
    rows: list[Row] = []
    for number, view in enumerate(page.items, start=page.first):
        reminder = view.reminder
        text = reminder.text or view.customer_name or context.t("reminders.list_untitled")
        if is_renewal(view):
            text = renewal_label(context.t, view)
        key = "reminders.list_late" if reminder.due_at < reader.now else "reminders.list_item"
        when = _when(context, reminder.due_at)
        lines.append(context.t(key, number=number, when=when, text=clip(text, LINE_PREVIEW)))
        label = context.t("reminders.button.show", number=number, text=clip(text, BUTTON_PREVIEW))
        rows.append([(label, ReminderAction("show", view.id))])
    rows.append(keyset_nav_row(context.t, page, partial(ListPage, "rem")))
    await show(update, context, ("\n".join(lines), inline_keyboard(rows)))


# --- the `remind` and `snooze` flows ----------------------------------------------------------


def _parse_text(value: str, _env: Any) -> str | ParseError:
    return parse_text(value, field="notes")


def _show_customer(value: dict[str, str], context: CrmContext) -> str:
    """A sentence that named no customer stores {"id": ""}: shown as "none" on the card."""
    return value["label"] if value.get("id") else context.t("reminders.no_customer")


REMIND_FIELDS = (
    Field("text", parse=_parse_text, required=True),
    Field("when", parse=fp.when("future"), show=fp.show_when, required=True),
    dataclasses.replace(customer_field(), required=False, show=_show_customer),
)


def _save_remind(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Reminder]:
    customer = values.get("customer") or {}
    return StorageCall(
        create_follow_up,
        actor=context.require_member(),
        due_at=fp.to_datetime(values["when"]),
        text=values["text"],
        customer_id=int(customer["id"]) if customer.get("id") else None,
        exact_time=bool(values["when"].get("has_time")),
    )


async def _after_remind(context: CrmContext, chat_id: int, reminder: Reminder) -> None:
    await context.bot.send_message(
        chat_id, context.t("reminders.saved", when=_when(context, reminder.due_at))
    )


def _save_snooze(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Reminder]:
    return StorageCall(
        snooze,
        actor=context.require_member(),
        reminder_id=int(values["reminder_id"]),
        until=fp.to_datetime(values["when"]),
    )


async def _after_snooze(context: CrmContext, chat_id: int, reminder: Reminder) -> None:
    await context.bot.send_message(
        chat_id, context.t("reminders.snoozed", when=_when(context, reminder.due_at))
    )


SNOOZE_FIELDS = (Field("when", parse=fp.when("future"), show=fp.show_when, required=True),)
FLOWS = (
    Flow(name="remind", fields=REMIND_FIELDS, save=_save_remind, after_save=_after_remind),
    # The typed time is the whole answer: it takes effect at once and `_after_snooze` echoes it.
    Flow(
        name="snooze",
        fields=SNOOZE_FIELDS,
        save=_save_snooze,
        after_save=_after_snooze,
        confirm=False,
    ),
)


# --- reading a /remind sentence ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Sentence:
    """What a /remind sentence prefills, and whether its time had already passed."""

    values: dict[str, Any]
    in_past: bool = False


async def _read_sentence(context: CrmContext, sentence: str) -> Sentence:
    """The `remind` flow's prefilled values: when, text and customer found in the sentence.
    A time already past is left out of the text too, so only the time is asked again."""
    now, tz = context.services.clock(), context.tz
    found = await asyncio.to_thread(search_when, sentence, now=now, tz=tz, prefer="future")
    values: dict[str, Any] = {}
    rest, in_past = sentence, False
    if found is not None:
        (start, end), when = found
        today = now.astimezone(tz).date()
        if when.at >= now or not when.has_time and when.at.astimezone(tz).date() >= today:
            values["when"] = {"at": when.at.isoformat(), "has_time": when.has_time}
        else:
            in_past = True
        rest = f"{sentence[:start]} {sentence[end:]}"
    rest = _TRAILING_LINK.sub("", " ".join(rest.split()), count=1).strip(" ,.;:，。；：、")
    text = _parse_text(rest, None) if rest else None
    if isinstance(text, str):
        values["text"] = text
    customer = await context.db.read(
        find_customer_named, actor=context.require_member(), text=rest
    )
    if customer is not None:
        values["customer"] = {"id": str(customer.id), "label": customer_label(customer)}
    elif "text" in values and "when" in values:
        values["customer"] = {"id": "", "label": ""}  # lands on the summary card
    return Sentence(values, in_past=in_past and "text" in values)


# --- handlers ---------------------------------------------------------------------------------


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def remind(update: Update, context: CrmContext) -> None:
        assert update.message is not None
        sentence = clean_text(update.message.text or "").partition(" ")[2].strip()
        read = await _read_sentence(context, sentence) if sentence else Sentence({})
        note = context.t("parse.when.in_past") if read.in_past else ""
        await engine.start(update, context, "remind", values=read.values, notice=note)

    async def list_reminders(update: Update, context: CrmContext) -> None:
        await reminders_page(update, context, None)

    async def on_button(update: Update, context: CrmContext) -> None:
        """Every reminder button: the id is loaded as the member's own, or it is not found."""
        action = await button_data(update, context, ReminderAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        actor, rid = context.require_member(), action.reminder_id
        view = await guarded(
            update, context, context.db.read(get_reminder_view, actor=actor, reminder_id=rid)
        )
        if view is None:
            return
        reader, chat_id = _reader(context), update.effective_chat.id
        text = _text(reader, view, late=False)
        customer_id = view.reminder.customer_id
        if action.action == "done":
            await context.db.run(mark_done, actor=actor, reminder_id=rid)
            offer = [(context.t("reminders.button.note"), ReminderAction("note", rid))]
            markup = inline_keyboard([offer if view.customer_name else []])
            await edit_message(query, f"{text}\n\n{context.t('reminders.done')}", markup)
        elif action.action == "snooze" and action.value in ("1h", "tm", "nw"):
            until = snooze_until(action.value, now=reader.now, tz=context.tz)
            await context.db.run(snooze, actor=actor, reminder_id=rid, until=until)
            snoozed = context.t("reminders.snoozed", when=_when(context, until))
            await edit_message(query, f"{text}\n\n{snoozed}", _actions(context.t, view))
        elif action.action == "show":
            message = reminder_message(reader, view, late=view.reminder.due_at < reader.now)
            await context.bot.send_message(chat_id, message[0], reply_markup=message[1])
        elif action.action == "snooze" and action.value == "ask":
            await edit_message(query, text, _actions(context.t, view))
            await engine.start(update, context, "snooze", values={"reminder_id": rid})
        elif action.action == "snooze":
            await edit_message(query, text, _snooze_options(context.t, rid))
        elif customer_id is None or not view.customer_name:
            await context.bot.send_message(chat_id, context.t("common.not_found"))
        elif action.action == "note" and "note" in engine.flows:
            try:
                found = await context.db.read(get_customer, actor=actor, customer_id=customer_id)
            except NotFound:
                await context.bot.send_message(chat_id, context.t("common.not_found"))
                return
            picked = {"id": str(customer_id), "label": customer_label(found)}
            await engine.start(update, context, "note", values={"customer": picked})
        else:
            await show_customer(context, chat_id, str(customer_id))

    return {"remind": remind, "list_reminders": list_reminders, "on_button": on_button}


FEATURE = Feature(
    name="reminders",
    commands=(Command("remind", "remind"), Command("reminders", "list_reminders")),
    routes=(Route(ReminderAction, "on_button"),),
    flows=FLOWS,
    # Due reminders are sent by a pass every 5 s (`bot.scheduler`), never one job per reminder.
    jobs=(Job("deliver-reminders", every=timedelta(seconds=5), first=timedelta(seconds=1)),),
    bind=bind,
)
