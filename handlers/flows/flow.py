"""The step engine every entry flow runs on: one question per step, answers kept in the database.

A flow is data: a tuple of `Field`s, a function that builds the record, and a confirmation.
One ask/receive pair walks any flow and handles Skip, Back, Edit a field, bad input, wrong
message types and stale buttons once, for every flow. ConversationHandler is not used: its
state lives in process memory (docs/stack-facts.md); here each accepted answer is written to the
member's `draft` row, so a restart, `kill -9` or another instance continues at the same step.

    <field> --answer / Skip--> next field, or `confirm` after the last (or after an edit)
    <field> --Back--> the previous step
    <field> --Clear--> "really?" --Yes, clear--> as an empty answer; --No--> <field> again
    confirm --Save--> [check: duplicates -> `warn` --Add anyway--> save] --> record saved,
                      draft deleted in the same transaction (exactly once)
    <last field> --answer--> record saved at once, when the flow has `confirm=False` (a
                      snooze time: the answer is the whole entry, and it is echoed after)
    <field> --answer--> [the field's check: duplicates -> `warn` --Add anyway--> next field;
                         --Change it--> <field> again] (prefilled values are checked at start)
    confirm --Edit--> `edit` (pick a field) --> <field> --answer--> confirm
    any step --/cancel, Cancel or a typed 取消/cancel--> draft discarded, nothing saved

Skip means "leave as is": a field that has a value (prefilled, answered earlier, or the
record's current value in an edit) keeps it, so Skip is offered on a required field too once
it has one. Emptying a field is the explicit Clear, offered on optional fields that have a
value and confirmed first, because Save then erases what was there.

Catalog keys by convention: `<flow>.title`, `<flow>.ask.<field>` (the question with an
example), `<flow>.field.<field>` (its label on the summary card).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Message

from handlers.context import CrmContext
from handlers.formatting import region_name
from storage.calls import StorageCall
from storage.parsing import ParseError
from storage.quality.rules import QualityRules

CONFIRM = "confirm"
EDIT = "edit"
WARN = "warn"
AGAIN = "again"  # the answer of a `repeat` field that asks its field once more

Option = tuple[str, str]  # (value, label shown on its button)


def is_empty(value: Any) -> bool:
    """No answer: what Skip leaves empty and what Clear makes of a field."""
    return value in (None, "", [])


@dataclass(frozen=True)
class Env:
    """What parsers need to read an answer the way this member means it."""

    region: str
    currency: str
    tz: ZoneInfo
    now: datetime
    language: str
    stages: tuple[str, ...]
    quality: QualityRules = field(default_factory=QualityRules)


Parser = Callable[[str, Env], Any]  # a JSON-able value, or a ParseError


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # catalog key; when the catalog has none (a custom stage), the value is shown


@dataclass(frozen=True)
class Field:
    """One question. Exactly one way of answering leads: `parse` (text), `choices` (buttons,
    optionally also typed, then parsed), or `search` (typed text lists matches to pick)."""

    name: str
    parse: Parser | None = None
    required: bool = False
    choices: tuple[Choice, ...] | Callable[[Env], tuple[Choice, ...]] = ()
    search: Callable[[CrmContext, str], Awaitable[list[Option]]] | None = None
    suggest: Callable[[CrmContext, dict[str, Any]], Awaitable[list[Option]]] | None = None
    show: Callable[[Any, CrmContext], str] | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    accepts_voice: bool = False
    accepts_contact: bool = False
    # Another search step whose pick is never offered here (a merge's two customers).
    not_same_as: str | None = None
    # Run once the answer is accepted (and on a prefilled value at start): a warning stops
    # the entry there, so a duplicate is met when it is typed, not after the last question.
    check: Callable[[CrmContext, dict[str, Any]], Awaitable[SaveWarning | None]] | None = None
    # Said above the next question when a typed answer was accepted but read in a way the
    # member may not have meant ("(415) 253-0000" read as a Chinese number): (key, params).
    notice: Callable[[str, Env], tuple[str, dict[str, str]] | None] | None = None
    # Run after `parse` with the answers so far and the database: the value to keep (a
    # duration made an end date) or a ParseError, asked again (a contract number taken).
    resolve: Callable[[CrmContext, dict[str, Any], Any], Awaitable[Any]] | None = None
    # What Skip on an empty field answers instead of nothing (the next free number).
    default: Callable[[CrmContext, dict[str, Any]], Awaitable[Any]] | None = None
    # The field collects files: reads one from a message (an item for the field's list), a
    # ParseError (too big), or None when the message holds no file. Skip finishes it.
    attach: Callable[[Message, CrmContext], Any] | None = None
    # How many files the field keeps at most (a ticket's photos); one more is refused.
    max_items: Callable[[CrmContext, dict[str, Any]], int] | None = None
    skip_label: str = "flow.button.skip"
    # A list answered more than once ("add another line?"): a typed answer is added to the
    # list already there, except in an edit from the summary, which replaces it.
    accumulate: bool = False
    # A choice field whose `AGAIN` answer asks the field named here once more (and is not
    # kept, so this question comes again after it); any other answer goes on as usual.
    repeat: str | None = None
    # Fields whose answers belong to this one's (a customer's deal): a different answer here
    # drops them and asks them next, even in an edit from the summary.
    resets: tuple[str, ...] = ()
    # A choice field answered by several buttons: each press adds its choice to the list, or
    # takes it out again, on the same question (marked ✅); Skip (`skip_label`) goes on.
    toggle: bool = False

    def choices_for(self, env: Env) -> tuple[Choice, ...]:
        return self.choices(env) if callable(self.choices) else self.choices

    def offerable(self, options: list[Option], values: dict[str, Any]) -> list[Option]:
        """Search results or suggestions without the record picked in `not_same_as`."""
        picked = values.get(self.not_same_as) if self.not_same_as else None
        if not isinstance(picked, dict):
            return options
        return [option for option in options if option[0] != picked.get("id")]

    def applies(self, values: dict[str, Any]) -> bool:
        return self.when is None or self.when(values)


@dataclass(frozen=True)
class SaveWarning:
    """Shown instead of saving (e.g. a duplicate): the text and records the member may open."""

    text: str
    open_options: list[Option] = field(default_factory=list)
    # What was matched (customer ids): once the member chose "Add anyway", the same match is
    # not warned about again in this entry, at a later field or at Save.
    keys: tuple[str, ...] = ()
    # False: there is no adding anyway (a number already taken): only Change it.
    forcible: bool = True

    def new_to(self, dismissed: Sequence[str]) -> bool:
        return not self.keys or any(key not in dismissed for key in self.keys)


@dataclass(frozen=True)
class Flow:
    name: str
    fields: tuple[Field, ...]
    # Names the storage call that creates the record(s): the engine runs it with the draft's
    # deletion in one transaction. Gets the answers and the attachments ([kind, file_id,
    # unique_id] lists).
    save: Callable[[CrmContext, dict[str, Any], list[list[str]]], StorageCall[Any]]
    after_save: Callable[[CrmContext, int, Any], Awaitable[None]]
    check: Callable[[CrmContext, dict[str, Any]], Awaitable[SaveWarning | None]] | None = None
    open_record: Callable[[CrmContext, int, str], Awaitable[None]] | None = None
    # Instead of opening: the warning's record becomes the answer (a /log goes onto the
    # member's own customer instead of a new one); the entry goes on at the summary.
    adopt: Callable[[CrmContext, dict[str, Any], str], Awaitable[None]] | None = None
    accepts_photos: bool = False
    # An edit's summary lists its field even when empty ("—"): a cleared value shows what
    # Save will leave, where an entry's summary simply omits what was never answered.
    show_empty: bool = False
    # False: the last answer saves at once, without the summary card; for a one-question
    # flow whose `after_save` echoes what was understood.
    confirm: bool = True
    # Lines added at the foot of the summary card from all the answers (an order's total).
    summary_extra: Callable[[CrmContext, dict[str, Any]], list[str]] | None = None

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def first_open_step(self, values: dict[str, Any]) -> str:
        """Where a (possibly prefilled) entry starts: the first unanswered question."""
        return self.next_open_step(None, values)

    def next_open_step(self, after: str | None, values: dict[str, Any]) -> str:
        """The next question without an answer: prefilled ones are not asked again."""
        step = self.next_step(after, values)
        while step != CONFIRM and not is_empty(values.get(step)):
            step = self.next_step(step, values)
        return step

    def required_answered(self, values: dict[str, Any]) -> bool:
        return self.required_gap(values) is None

    def required_gap(self, values: dict[str, Any]) -> str | None:
        """The first required question without an answer: an edit can make one apply (an
        amount added on /log's card makes a deal, with the team's required deal fields)."""
        for f in self.fields:
            if f.required and f.applies(values) and is_empty(values.get(f.name)):
                return f.name
        return None

    def next_step(self, after: str | None, values: dict[str, Any]) -> str:
        names = [f.name for f in self.fields]
        start = names.index(after) + 1 if after in names else 0
        for candidate in self.fields[start:]:
            if candidate.applies(values):
                return candidate.name
        return CONFIRM


@dataclass
class State:
    """A draft as the engine works on it; `to_data` is what goes into `draft.data`."""

    flow: Flow
    step: str
    values: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    revision: int = 0
    editing: bool = False
    options: list[list[str]] = field(default_factory=list)
    attachments: list[list[str]] = field(default_factory=list)
    warning: str | None = None
    pending: dict[str, Any] | None = None
    clearing: bool = False  # the step's field waits for "Yes, clear" / "No"
    # A field's check warned: {"field": its name, "next": the step after it, "keys": matched}.
    # None while warning at Save.
    warned: dict[str, Any] | None = None
    dismissed: list[str] = field(default_factory=list)  # keys the member chose to add anyway

    def to_data(self) -> dict[str, Any]:
        return {
            "values": self.values,
            "rev": self.revision,
            "editing": self.editing,
            "options": self.options,
            "attachments": self.attachments,
            "warning": self.warning,
            "pending": self.pending,
            "clearing": self.clearing,
            "warned": self.warned,
            "dismissed": self.dismissed,
        }

    @classmethod
    def begin(
        cls,
        flow: Flow,
        values: dict[str, Any],
        attachments: list[list[str]],
        ask: str | None = None,
    ) -> State:
        """A new entry at its first unanswered question, or at `ask` even though prefilled:
        an edit asks the one field it changes, showing the record's current value."""
        state = cls(flow=flow, step="", values=dict(values), attachments=list(attachments))
        state.step = ask if ask and flow.field(ask) else flow.first_open_step(state.values)
        return state

    @classmethod
    def from_data(
        cls, flow: Flow, step: str, data: dict[str, Any], history: Sequence[str]
    ) -> State:
        return cls(
            flow=flow,
            step=step,
            values=dict(data.get("values", {})),
            history=list(history),
            revision=int(data.get("rev", 0)),
            editing=bool(data.get("editing")),
            options=list(data.get("options", [])),
            attachments=list(data.get("attachments", [])),
            warning=data.get("warning"),
            pending=data.get("pending"),
            clearing=bool(data.get("clearing")),
            warned=data.get("warned"),
            dismissed=list(data.get("dismissed", [])),
        )


def env_of(context: CrmContext) -> Env:
    config = context.services.config
    return Env(
        region=config.locale.default_region,
        currency=config.locale.currency,
        tz=context.tz,
        now=context.services.clock(),
        language=context.language,
        stages=tuple(config.deals.stages),
        quality=context.services.quality,
    )


def label_of(context: CrmContext, choice: Choice) -> str:
    translator = context.services.catalogs.translator(context.language)
    return translator.label(choice.label, choice.value)


def error_text(context: CrmContext, error: ParseError) -> str:
    """The parser's message; a region code in it is named in the member's language ("中国")."""
    params = dict(error.params)
    if "region" in params:
        params["region"] = region_name(str(params["region"]), lang=context.language)
    return context.t(error.key, **params)
