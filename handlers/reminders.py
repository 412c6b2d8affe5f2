"""Follow-up reminders in chat: the reminder message and its buttons, `/reminders`, `/remind`.

The scheduler (bot.scheduler) sends the message `reminder_message` renders; its buttons are
Done (records completion, then offers to log a note), Snooze (1 hour, tomorrow 09:00, next
Monday 09:00, or "Pick a time": the one-field `snooze` flow), Open customer and Log a note.
`/reminders` shows the member's open reminders as the same messages.

`/remind call Zhang about the quote tomorrow 10am` finds the time in the sentence (member's
timezone, future preferred), takes the rest as the text, matches a customer of theirs by
name, and opens the `remind` flow on its summary card, so the resolved time is echoed in
words before Save. `/remind` alone asks text, time and (optional) customer step by step.

    /remind <sentence> --> summary card --Save--> reminder set (time echoed)
    /remind            --> text --> when --> customer (Skip) --> summary card --Save--> set
    reminder message --Snooze--> options --1h | tomorrow | next week--> snoozed
                                         --Pick a time--> snooze flow --> Save --> snoozed
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardMarkup, Update

from handlers import field_parsers as fp
from handlers.callback_data import ReminderAction
from handlers.context import CrmContext
from handlers.customer import show_customer
from handlers.customer_pick import customer_field
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature, Route
from handlers.flow import Field, Flow
from handlers.flow_engine import FlowEngine
from handlers.formatting import format_when
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotFound
from storage.customers import get_customer
from storage.dates import search_when
from storage.models import Customer, Member, Reminder
from storage.parsing import ParseError, clean_text, parse_text
from storage.reminders import (
    ReminderView,
    create_follow_up,
    describe,
    get_reminder,
    list_reminder_views,
    mark_done,
    snooze,
)
from storage.search import find_customers

Translate = Callable[..., str]

LIST_LIMIT = 10
NOTE_PREVIEW = 200
MORNING = time(9, 0)
_TRAILING_LINK = re.compile(r"(?:\s+(?:at|on|by|in|for)\b)?[\s,.;:，。；：、]*$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


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
    when = format_when(reminder.due_at, tz=reader.tz, lang=reader.lang, now=reader.now)
    lines = [t("reminders.late", when=when) if late else t("reminders.heading", when=when)]
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
    rows = [
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
) -> Callable[[Session], Reminder]:
    actor = context.require_member()
    customer = values.get("customer") or {}
    customer_id = int(customer["id"]) if customer.get("id") else None

    def save(session: Session) -> Reminder:
        return create_follow_up(
            session,
            actor=actor,
            due_at=fp.to_datetime(values["when"]),
            text=values["text"],
            customer_id=customer_id,
            exact_time=bool(values["when"].get("has_time")),
        )

    return save


async def _after_remind(context: CrmContext, chat_id: int, reminder: Reminder) -> None:
    await context.bot.send_message(
        chat_id, context.t("reminders.saved", when=_when(context, reminder.due_at))
    )


def _save_snooze(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> Callable[[Session], Reminder]:
    actor = context.require_member()
    reminder_id, until = int(values["reminder_id"]), fp.to_datetime(values["when"])

    def save(session: Session) -> Reminder:
        return snooze(session, actor=actor, reminder_id=reminder_id, until=until)

    return save


async def _after_snooze(context: CrmContext, chat_id: int, reminder: Reminder) -> None:
    await context.bot.send_message(
        chat_id, context.t("reminders.snoozed", when=_when(context, reminder.due_at))
    )


SNOOZE_FIELDS = (Field("when", parse=fp.when("future"), show=fp.show_when, required=True),)
FLOWS = (
    Flow(name="remind", fields=REMIND_FIELDS, save=_save_remind, after_save=_after_remind),
    Flow(name="snooze", fields=SNOOZE_FIELDS, save=_save_snooze, after_save=_after_snooze),
)


# --- reading a /remind sentence ---------------------------------------------------------------


def _name_matches(customer: Customer, token: str, text: str) -> bool:
    """A whole part of a Latin name ("Zhang" of "Zhang Wei"), or a CJK name inside the text."""
    name = customer.name.casefold()
    return token.casefold() in name.split() or (
        bool(_CJK_RUN.search(name)) and name.replace(" ", "") in text.casefold()
    )


def _tokens(text: str) -> list[str]:
    """Latin words, and every two-character piece of CJK runs (Chinese has no spaces)."""
    tokens = [w for w in _WORD.findall(text) if not _CJK_RUN.fullmatch(w)]
    for run in _CJK_RUN.findall(text):
        tokens += [run[i : i + 2] for i in range(len(run) - 1)]
    return list(dict.fromkeys(tokens))[:30]


def _match_customer(actor: Member, text: str) -> Callable[[Session], Customer | None]:
    """The one customer of the actor's the sentence names, or None (none or ambiguous)."""

    def match(session: Session) -> Customer | None:
        found: dict[int, Customer] = {}
        for token in _tokens(text):
            for customer in find_customers(session, actor=actor, query=token):
                if customer.id is not None and _name_matches(customer, token, text):
                    found[customer.id] = customer
        return next(iter(found.values())) if len(found) == 1 else None

    return match


async def _read_sentence(context: CrmContext, sentence: str) -> dict[str, Any]:
    """The `remind` flow's prefilled values: when, text and customer found in the sentence."""
    now, tz = context.services.clock(), context.tz
    found = await asyncio.to_thread(search_when, sentence, now=now, tz=tz, prefer="future")
    values: dict[str, Any] = {}
    rest = sentence
    if found is not None:
        (start, end), when = found
        today = now.astimezone(tz).date()
        if when.at >= now or not when.has_time and when.at.astimezone(tz).date() >= today:
            values["when"] = {"at": when.at.isoformat(), "has_time": when.has_time}
            rest = f"{sentence[:start]} {sentence[end:]}"
    rest = _TRAILING_LINK.sub("", " ".join(rest.split()), count=1).strip(" ,.;:，。；：、")
    text = _parse_text(rest, None) if rest else None
    if isinstance(text, str):
        values["text"] = text
    customer = await context.db.read(_match_customer(context.require_member(), rest))
    if customer is not None:
        values["customer"] = {"id": str(customer.id), "label": customer_label(customer)}
    elif "text" in values and "when" in values:
        values["customer"] = {"id": "", "label": ""}  # lands on the summary card
    return values


# --- handlers ---------------------------------------------------------------------------------


def _view_of(actor: Member, reminder_id: int) -> Callable[[Session], ReminderView]:
    def load(session: Session) -> ReminderView:
        return describe(session, [get_reminder(session, actor=actor, reminder_id=reminder_id)])[0]

    return load


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def remind(update: Update, context: CrmContext) -> None:
        assert update.message is not None
        sentence = clean_text(update.message.text or "").partition(" ")[2].strip()
        values = await _read_sentence(context, sentence) if sentence else {}
        await engine.start(update, context, "remind", values=values)

    async def list_reminders(update: Update, context: CrmContext) -> None:
        assert update.effective_chat is not None
        chat_id, reader = update.effective_chat.id, _reader(context)
        views = await context.db.read(
            list_reminder_views, actor=context.require_member(), limit=LIST_LIMIT + 1
        )
        if not views:
            await context.bot.send_message(chat_id, context.t("reminders.none"))
            return
        key = "reminders.list_more" if len(views) > LIST_LIMIT else "reminders.list_title"
        await context.bot.send_message(chat_id, context.t(key, count=min(len(views), LIST_LIMIT)))
        for view in views[:LIST_LIMIT]:
            late = view.reminder.due_at < reader.now
            text, markup = reminder_message(reader, view, late=late)
            await context.bot.send_message(chat_id, text, reply_markup=markup)

    async def on_button(update: Update, context: CrmContext) -> None:
        """Every reminder button: the id is loaded as the member's own, or it is not found."""
        action = await button_data(update, context, ReminderAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        actor, rid = context.require_member(), action.reminder_id
        try:
            view = await context.db.read(_view_of(actor, rid))
        except NotFound:
            await answer_query(query, context.t("common.not_found"))
            return
        await answer_query(query)
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
            await edit_message(query, f"{text}\n\n{snoozed}")
        elif action.action == "snooze" and action.value == "ask":
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
    bind=bind,
)
