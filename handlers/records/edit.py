"""One field of a saved customer, deal or note changed through its entry flow's question: the
edit machinery the three record kinds share (customers.py, deals.py, notes.py).

    record --Edit--> pick a field --> the edit flow asks that one question (the entry flow's
                     parser and wording; the current value shown as "Now: ...", kept by Skip,
                     emptied only by a confirmed Clear) -> confirm --Save--> the kind's storage
                     update, called only when the value changed (it writes the history) ->
                     "saved" or "unchanged", then the record again

What differs between the kinds (which fields, which storage update, what the answer says,
how the record is shown) is a `RecordEdit`; the flow, the field list, the save and the Edit
button are its. `Columns` maps a kind's answers onto its columns and back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from telegram import Update

from handlers.callback_data import CallbackData
from handlers.context import CrmContext
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import guarded
from storage.calls import StorageCall
from storage.models import Member

FIELD_KEY = "_field"  # hidden values of an edit flow: which field, which record,
RECORD_KEY = "_record"
ORIGINAL_KEY = "_was"  # and the field's value when the edit began


@dataclass(frozen=True)
class Outcome:
    """What a saved change tells the member: a catalog text, and the record to show after."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    record_id: int | None = None


def only(name: str) -> Callable[[dict[str, Any]], bool]:
    """An edit flow asks one field of the entry flow: the one in the hidden `FIELD_KEY`."""

    def applies(values: dict[str, Any]) -> bool:
        return values.get(FIELD_KEY) == name

    return applies


def edit_fields(fields: tuple[Any, ...], names: tuple[str, ...]) -> tuple[Any, ...]:
    """The entry flow's fields named `names`, each asked only when it is the one edited. Skip
    keeps the record's value, so an entry's default for Skip does not apply."""
    return tuple(replace(f, when=only(f.name), default=None) for f in fields if f.name in names)


def edited(values: dict[str, Any]) -> tuple[str, Any] | None:
    """The edited field and its new value, or None if it is what it was when the edit began
    (Skip keeps it): then nothing is written, not even over a colleague's change meanwhile."""
    name = values[FIELD_KEY]
    if name not in values or values[name] == values.get(ORIGINAL_KEY):
        return None
    return name, values[name]


def same_names(name: str, value: Any) -> dict[str, Any]:
    """An answer as the change of the column of the same name."""
    return {name: value}


@dataclass(frozen=True)
class Columns:
    """How a kind's edit answers map onto its columns, and its columns back onto answers (to
    show "Now: ..."): one to one, money (an amount and its currency travel together) and dates
    (ISO strings in the flow)."""

    plain: Mapping[str, str] = field(default_factory=dict)
    money: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    dates: Mapping[str, str] = field(default_factory=dict)

    def changes(self, name: str, value: Any) -> dict[str, Any]:
        if name in self.money:
            amount, currency = self.money[name]
            money = fp.to_money(value)
            return {
                amount: money.amount if money else None,
                currency: money.currency if money else None,
            }
        if name in self.dates:
            return {self.dates[name]: fp.to_date(value)}
        return {self.plain[name]: value}

    def now(self, record: Any, name: str) -> Any:
        if name in self.money:
            amount, currency = (getattr(record, column) for column in self.money[name])
            if amount is None or not currency:
                return None
            return {"amount": str(amount), "currency": currency}
        if name in self.dates:
            day = getattr(record, self.dates[name])
            return day.isoformat() if day else None
        return getattr(record, self.plain[name])


@dataclass(frozen=True)
class Picked:
    """The record an Edit button names, loaded through the access rule."""

    record_id: int
    name: str  # how the answers name it
    choose: str  # the text above the pick list
    now: Callable[[str], Any]  # a field's current value, in the entry flow's answer shape
    button: Callable[[str], CallbackData]  # the pick list's button for a field's index
    # Other answers the record already holds, that the edited field's questions read (an
    # order's currency and number, when its lines are typed again).
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordEdit:
    """What one record kind's edit is made of; the asking, saving and answering are shared."""

    flow: str  # the edit flow's name
    fields: tuple[Field, ...]  # from `edit_fields`, in the order the pick list shows them
    label: str  # a field's label is the catalog key f"{label}.{name}", as on the entry's card
    # The storage update (actor, record id, changed columns); it keeps the record's history.
    update: Callable[[Member, int, dict[str, Any]], StorageCall[Any]]
    saved: Callable[[Any], tuple[str, dict[str, Any]]]  # the updated record -> answer and params
    show: Callable[[CrmContext, int, int], Awaitable[None]]  # the record again: chat id, id
    changes: Callable[[str, Any], dict[str, Any]] = same_names  # an answer as columns
    record_key: str = RECORD_KEY  # the hidden key the flow keeps the record under

    def as_flow(self, **options: Any) -> Flow:
        return Flow(
            name=self.flow,
            fields=self.fields,
            save=self.save,
            after_save=self.after_save,
            show_empty=True,
            **options,
        )

    def record_id(self, values: dict[str, Any]) -> int:
        return int(values[self.record_key]["id"])

    def save(
        self, context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
    ) -> StorageCall[Outcome]:
        """Only the edited field, and only if its value changed."""
        change = edited(values)
        return self.apply(context, self.record_id(values), self.changes(*change) if change else {})

    def apply(
        self, context: CrmContext, record_id: int, changes: dict[str, Any]
    ) -> StorageCall[Outcome]:
        """The storage update with these columns, and what it tells; none: "unchanged"."""
        if not changes:
            return StorageCall.done(Outcome("records.edit.unchanged", record_id=record_id))
        return (
            self.update(context.require_member(), record_id, changes)
            .returning(lambda record: Outcome(*self.saved(record), record_id))
            .or_if_missing(Outcome("common.not_found"))
        )

    async def after_save(self, context: CrmContext, chat_id: int, outcome: Outcome) -> None:
        await context.bot.send_message(chat_id, context.t(outcome.key, **outcome.params))
        if outcome.record_id is not None:
            await self.show(context, chat_id, outcome.record_id)

    async def choose_or_ask(
        self, update: Update, context: CrmContext, engine: FlowEngine, choice: str, record: Picked
    ) -> None:
        """Without a field (`choice` empty): the fields to pick from. With one: the record's
        name and the field, then its question with the current value as the answer."""
        assert update.effective_chat is not None
        chat_id = update.effective_chat.id
        index = int(choice) if choice else len(self.fields)
        if index >= len(self.fields):
            rows = [
                [(context.t(f"{self.label}.{f.name}"), record.button(str(i)))]
                for i, f in enumerate(self.fields)
            ]
            await context.bot.send_message(
                chat_id, record.choose, reply_markup=inline_keyboard(rows)
            )
            return
        name = self.fields[index].name
        label = context.t(f"{self.label}.{name}")
        await context.bot.send_message(
            chat_id, context.t("records.edit.intro", name=record.name, field=label)
        )
        now = record.now(name)
        picked = {"id": str(record.record_id), "label": record.name}
        values = {
            **record.context,
            FIELD_KEY: name,
            self.record_key: picked,
            ORIGINAL_KEY: now,
            name: now,
        }
        await engine.start(update, context, self.flow, values=values, ask=name)

    async def on_button(
        self,
        update: Update,
        context: CrmContext,
        engine: FlowEngine,
        *,
        load: Awaitable[Any],
        record_id: int,
        choice: str,
        name: Callable[[Any], str],
        now: Callable[[Any, str], Any],
        button: Callable[[str], CallbackData],
    ) -> None:
        """The Edit button of a record loaded by `load` through the access rule (a forged or
        stale id gets the one "not found"): its fields, or the picked one's question."""
        record = await guarded(update, context, load)
        if record is None:
            return
        title = name(record)
        picked = Picked(
            record_id=record_id,
            name=title,
            choose=context.t("records.edit.choose", name=title),
            now=partial(now, record),
            button=button,
        )
        await self.choose_or_ask(update, context, engine, choice, picked)
