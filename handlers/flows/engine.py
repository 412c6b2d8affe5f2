"""Runs flows (see `handlers.flows.flow`): asks the current step, receives answers and buttons.

Every accepted answer is written to the draft before the next question goes out. Each
question carries the draft's new revision in its buttons, so a button on an older message
gets "no longer valid" instead of acting on a later step. An update already applied to the
draft (Telegram re-delivery) is ignored by its update_id.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.ext import ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, MessageHandler
from telegram.ext import filters as tg_filters

from handlers.callback_data import FlowButton, pattern_for
from handlers.common import cancel_command, is_cancel_word
from handlers.context import CrmContext
from handlers.feature import Feature, Route
from handlers.flows.flow import (
    AGAIN,
    CONFIRM,
    EDIT,
    WARN,
    Field,
    Flow,
    State,
    env_of,
    error_text,
    is_empty,
    label_of,
)
from handlers.flows.render import question, render, show, summary
from handlers.formatting import clip
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.drafts import (
    cancel_draft,
    commit_draft,
    delete_draft,
    get_draft,
    save_draft,
    was_cancelled,
)
from storage.models import Draft
from storage.parsing import ParseError, clean_text

logger = logging.getLogger(__name__)

FLOW_GROUP = -5  # after the gate, before commands: an answer is never taken for a command


@dataclass
class Press:
    """A flow button pressed on the current question."""

    context: CrmContext
    query: CallbackQuery
    state: State
    arg: str
    chat_id: int
    update_id: int


class FlowEngine:
    def __init__(self, flows: Sequence[Flow]) -> None:
        self.flows = {flow.name: flow for flow in flows}

    # --- starting ----------------------------------------------------------------------------

    async def start(
        self,
        update: Update,
        context: CrmContext,
        flow_name: str,
        *,
        values: dict[str, Any] | None = None,
        attachments: list[list[str]] | None = None,
        ask: str | None = None,
        notice: str = "",
    ) -> None:
        """Begin a flow, prefilled if given, at `ask` if given (see `State.begin`); an
        unfinished draft is offered first. `notice` goes above the first question or card:
        why a prefilled answer was not taken ("that time has already passed"), how a number
        was read.

        Prefilled text (a /log or /remind sentence, a shared contact's name) skipped the
        parsers, so it is cleaned here like a typed answer in `_answer`.
        """
        chat_id = _chat_id(update)
        values = _cleaned(values or {})
        existing = await self._load(context)
        if existing is not None:
            existing.pending = {
                "flow": flow_name,
                "values": values,
                "attachments": attachments or [],
                "ask": ask,
            }
            await self._offer_resume(context, chat_id, existing, update.update_id)
            return
        flow = self.flows[flow_name]
        state = State.begin(flow, values, attachments or [], ask)
        await context.bot.send_message(chat_id, context.t(f"{flow.name}.title"))
        await self._check_prefilled(context, state)
        prefix = notice + "\n\n" if notice else ""
        await self._ask(context, chat_id, state, update.update_id, prefix=prefix)

    async def _offer_resume(
        self, context: CrmContext, chat_id: int, state: State, update_id: int
    ) -> None:
        state.revision += 1
        await self._persist(context, chat_id, state, update_id)
        keyboard = inline_keyboard(
            [
                [(context.t("flow.button.resume"), FlowButton(state.revision, "resume"))],
                [(context.t("flow.button.discard"), FlowButton(state.revision, "discard"))],
            ]
        )
        await context.bot.send_message(
            chat_id,
            context.t("flow.unfinished", title=context.t(f"{state.flow.name}.title")),
            reply_markup=keyboard,
        )

    # --- asking ------------------------------------------------------------------------------

    async def _ask(
        self,
        context: CrmContext,
        chat_id: int,
        state: State,
        update_id: int | None,
        *,
        prefix: str = "",
    ) -> None:
        """Persist the state with a new revision, then send the step's question."""
        step_field = state.flow.field(state.step)
        if step_field is not None and step_field.suggest and not state.options:
            suggested = await step_field.suggest(context, state.values)
            state.options = [list(o) for o in step_field.offerable(suggested, state.values)]
        state.revision += 1
        await self._persist(context, chat_id, state, update_id)
        text, keyboard = render(context, state)
        await context.bot.send_message(chat_id, prefix + text, reply_markup=keyboard)

    # --- receiving ---------------------------------------------------------------------------

    async def on_message(self, update: Update, context: CrmContext) -> None:
        """Any non-command message while a draft is open answers its current step."""
        state = await self._load(context, update, context.take_prefetched_draft())
        if state is None:
            return
        message = update.effective_message
        assert message is not None
        chat_id = message.chat_id
        if is_cancel_word(context, message.text):
            await cancel_command(update, context)
            raise ApplicationHandlerStop
        state.pending = None  # answering the open step is the clearest way of continuing it
        state.clearing = False  # and a typed answer to a field replaces its value outright
        if state.step in (CONFIRM, EDIT, WARN):
            await self._ask(
                context,
                chat_id,
                state,
                update.update_id,
                prefix=context.t("flow.use_buttons") + "\n\n",
            )
        elif message.photo and state.flow.accepts_photos:
            photo = message.photo[-1]
            state.attachments.append(["photo", photo.file_id, photo.file_unique_id])
            await self._persist(context, chat_id, state, update.update_id)
            await context.bot.send_message(chat_id, context.t("flow.photo_attached"))
        else:
            await self._answer(context, state, message, update.update_id)
        raise ApplicationHandlerStop

    async def _answer(
        self, context: CrmContext, state: State, message: Message, update_id: int
    ) -> None:
        step_field = state.flow.field(state.step)
        assert step_field is not None
        chat_id = message.chat_id
        text = message.text
        if step_field.attach is not None:
            item = step_field.attach(message, context)
            if item is not None:
                await self._attach(context, state, step_field, item, update_id, chat_id)
                return
        if message.voice and step_field.accepts_voice:
            voice = message.voice
            state.attachments.append(["voice", voice.file_id, voice.file_unique_id])
            text = context.t("flow.voice_note")
        elif message.contact and step_field.accepts_contact:
            text = message.contact.phone_number
        if text is None:
            await self._ask(
                context, chat_id, state, update_id, prefix=context.t("flow.wrong_type") + "\n\n"
            )
            return
        text = clean_text(text)
        if step_field.search is not None:
            await self._search(context, state, step_field, text, update_id, chat_id)
            return
        value = self._parse(context, step_field, text)
        if step_field.resolve is not None and not isinstance(value, ParseError):
            value = await step_field.resolve(context, state.values, value)
        if step_field.accumulate and isinstance(value, list) and not state.editing:
            value = [*(state.values.get(step_field.name) or []), *value]
        if isinstance(value, ParseError):
            await self._ask(
                context, chat_id, state, update_id, prefix=error_text(context, value) + "\n\n"
            )
            return
        notice = step_field.notice(text, env_of(context)) if step_field.notice else None
        prefix = context.t(notice[0], **notice[1]) + "\n\n" if notice else ""
        await self._accept(context, chat_id, state, step_field, value, update_id, prefix=prefix)

    async def _attach(
        self,
        context: CrmContext,
        state: State,
        step_field: Field,
        item: Any,
        update_id: int,
        chat_id: int,
    ) -> None:
        """A file for a collecting field: added to its list, the same question asked again
        (with how many it holds) until Skip finishes it; one refused is said why."""
        held = state.values.get(step_field.name) or []
        limit = step_field.max_items(context, state.values) if step_field.max_items else None
        if limit is not None and len(held) >= limit and not isinstance(item, ParseError):
            item = ParseError("flow.too_many_files", {"max": str(limit)})
        if isinstance(item, ParseError):
            prefix = error_text(context, item)
        else:
            kept = [*held, item]
            state.values[step_field.name] = kept
            prefix = context.t("flow.file_kept", count=len(kept))
        await self._ask(context, chat_id, state, update_id, prefix=prefix + "\n\n")

    @staticmethod
    def _parse(context: CrmContext, step_field: Field, text: str) -> Any:
        env = env_of(context)
        if step_field.parse is not None:
            return step_field.parse(text, env)
        wanted = text.strip().casefold()
        for choice in step_field.choices_for(env):
            if wanted in (choice.value.casefold(), label_of(context, choice).casefold()):
                return choice.value
        return ParseError("flow.pick_a_button")

    async def _search(
        self,
        context: CrmContext,
        state: State,
        step_field: Field,
        text: str,
        update_id: int,
        chat_id: int,
    ) -> None:
        assert step_field.search is not None
        found = step_field.offerable(await step_field.search(context, text.strip()), state.values)
        state.options = [list(option) for option in found]
        key = "flow.search_results" if found else "flow.search_none"
        prefix = context.t(key, query=clip(text.strip())) + "\n\n"
        await self._ask(context, chat_id, state, update_id, prefix=prefix)

    async def _accept(
        self,
        context: CrmContext,
        chat_id: int,
        state: State,
        step_field: Field,
        value: Any,
        update_id: int,
        *,
        prefix: str = "",
    ) -> None:
        changed = not _same(state.values.get(step_field.name), value)
        state.values[step_field.name] = value
        state.options = []
        if step_field.repeat is not None and value == AGAIN and not state.editing:
            del state.values[step_field.name]
            state.history.append(state.step)
            state.step = step_field.repeat
            await self._ask(context, chat_id, state, update_id, prefix=prefix)
            return
        dropped = _drop_dependents(state, step_field) if changed else None
        if state.editing and dropped is not None:
            state.history.append(state.step)
            after = dropped
        elif state.editing:  # back to the summary, unless the edit made a required gap
            state.editing, after = False, state.flow.required_gap(state.values) or CONFIRM
        else:
            state.history.append(state.step)
            after = state.flow.next_open_step(state.step, state.values)
        state.step = after
        if not is_empty(value) and await self._check_field(context, state, step_field, after):
            await self._ask(context, chat_id, state, update_id, prefix=prefix)
        elif after == CONFIRM and not state.flow.confirm:
            await self._commit(context, chat_id, state)
        else:
            await self._ask(context, chat_id, state, update_id, prefix=prefix)

    async def _check_field(
        self, context: CrmContext, state: State, step_field: Field, after: str
    ) -> bool:
        """Run the field's check; a warning not dismissed before becomes the step (`warn`),
        remembering where Add anyway continues and which field Change it asks again."""
        if step_field.check is None:
            return False
        warning = await step_field.check(context, state.values)
        if warning is None or not warning.new_to(state.dismissed):
            return False
        state.step, state.warning = WARN, warning.text
        state.options = [list(option) for option in warning.open_options]
        state.warned = {"field": step_field.name, "next": after, "keys": list(warning.keys)}
        if not warning.forcible:
            state.warned["forcible"] = False
        return True

    async def _check_prefilled(self, context: CrmContext, state: State) -> None:
        """A prefilled answer (a /log sentence, a contact card) is checked like a typed one."""
        for step_field in state.flow.fields:
            if (
                step_field.check is not None
                and step_field.applies(state.values)
                and not is_empty(state.values.get(step_field.name))
                and await self._check_field(context, state, step_field, state.step)
            ):
                return

    # --- buttons -----------------------------------------------------------------------------

    async def on_button(self, update: Update, context: CrmContext) -> None:
        button = await button_data(update, context, FlowButton)
        if button is None:
            return
        query = update.callback_query
        assert query is not None
        state = await self._load(context, update)
        if state is None and await context.db.read(was_cancelled, member_id=context.member_id):
            await answer_query(query, context.t("flow.entry_cancelled"))
            return
        if state is None or state.revision % 1_000_000 != button.revision:
            await answer_query(query, context.t("common.stale_button"))
            return
        await answer_query(query)
        press = Press(context, query, state, button.arg, _chat_id(update), update.update_id)
        await getattr(self, f"_on_{button.action}")(press)

    async def _next(self, press: Press, *, prefix: str = "") -> None:
        await self._ask(press.context, press.chat_id, press.state, press.update_id, prefix=prefix)

    async def _on_pick(self, press: Press) -> None:
        context, state = press.context, press.state
        step_field = state.flow.field(state.step)
        if step_field is None or not press.arg.isdigit():
            return
        choices = step_field.choices_for(env_of(context))
        index = int(press.arg)
        value: Any
        if index < len(choices):
            value, label = choices[index].value, label_of(context, choices[index])
            if step_field.toggle:
                await self._toggle(press, step_field, value)
                return
            if step_field.parse is not None:
                value = step_field.parse(value, env_of(context))
                if isinstance(value, ParseError):
                    await self._next(press, prefix=error_text(context, value) + "\n\n")
                    return
        elif index - len(choices) < len(state.options):
            option_value, label = state.options[index - len(choices)]
            value = {"id": option_value, "label": label}
            label = html.escape(label, quote=False)  # a record's name, not catalog markup
        else:
            return
        await edit_message(press.query, question(context, state, step_field) + f"\n→ {label}")
        await self._accept(context, press.chat_id, state, step_field, value, press.update_id)

    async def _toggle(self, press: Press, step_field: Field, value: str) -> None:
        """Add the choice to the field's list or take it out; the question stays, edited."""
        state = press.state
        held = list(state.values.get(step_field.name) or [])
        state.values[step_field.name] = (
            [v for v in held if v != value] if value in held else [*held, value]
        )
        state.revision += 1
        await self._persist(press.context, press.chat_id, state, press.update_id)
        await edit_message(press.query, *render(press.context, state))

    async def _on_skip(self, press: Press) -> None:
        """Leave the field as it is: empty if it was, its value if it had one."""
        context, state = press.context, press.state
        step_field = state.flow.field(state.step)
        if step_field is None:
            return
        kept = state.values.get(step_field.name)
        if is_empty(kept) and step_field.default is not None:
            kept = await step_field.default(context, state.values)
            note = show(context, step_field, kept)
        elif step_field.required and is_empty(kept):
            return
        else:
            note = context.t("flow.skipped" if is_empty(kept) else "flow.kept")
        await edit_message(press.query, question(context, state, step_field) + f"\n→ {note}")
        await self._accept(context, press.chat_id, state, step_field, kept, press.update_id)

    async def _on_clear(self, press: Press) -> None:
        """Clear asks first ("yes" empties the field, "no" asks the question again): a cleared
        value is gone at Save, so it takes a second, deliberate press."""
        context, state = press.context, press.state
        step_field = state.flow.field(state.step)
        if (
            step_field is None
            or step_field.required
            or is_empty(state.values.get(step_field.name))
            or press.arg not in ("", "yes", "no")
            or state.clearing != bool(press.arg)
        ):
            return
        if press.arg == "yes":
            text = render(context, state)[0] + f"\n→ {context.t('flow.cleared')}"
            await edit_message(press.query, text)
            state.clearing = False
            await self._accept(context, press.chat_id, state, step_field, None, press.update_id)
            return
        await edit_message(press.query, render(context, state)[0])
        state.clearing = not press.arg
        await self._next(press)

    async def _on_back(self, press: Press) -> None:
        state = press.state
        if not state.history:
            return
        await edit_message(press.query, render(press.context, state)[0])
        state.step, state.editing, state.options = state.history.pop(), False, []
        await self._next(press)

    async def _on_finish(self, press: Press) -> None:
        """Jump to the summary: the rest is optional."""
        state = press.state
        if not state.flow.required_answered(state.values):
            return
        await edit_message(press.query, render(press.context, state)[0])
        state.history.append(state.step)
        state.step, state.options = CONFIRM, []
        await self._next(press)

    async def _on_edit(self, press: Press) -> None:
        await edit_message(press.query, summary(press.context, press.state))
        press.state.step = EDIT
        await self._next(press)

    async def _on_field(self, press: Press) -> None:
        state = press.state
        if not press.arg.isdigit() or int(press.arg) >= len(state.flow.fields):
            return
        await edit_message(press.query, press.context.t("flow.edit_which"))
        state.step, state.editing, state.options = state.flow.fields[int(press.arg)].name, True, []
        await self._next(press)

    async def _on_resume(self, press: Press) -> None:
        message = press.query.message
        text = getattr(message, "text_html", None) or "…"
        await edit_message(press.query, text)
        press.state.pending = None
        if press.state.step == EDIT or (press.state.step == WARN and not press.state.warned):
            press.state.step = CONFIRM
        await self._next(press)

    async def _on_discard(self, press: Press) -> None:
        context, pending = press.context, press.state.pending or {}
        await context.db.run(delete_draft, member_id=context.member_id)
        await edit_message(press.query, context.t("cancel.done"))
        if pending.get("flow") in self.flows:
            flow = self.flows[pending["flow"]]
            fresh = State.begin(
                flow,
                pending.get("values", {}),
                pending.get("attachments", []),
                pending.get("ask"),
            )
            await context.bot.send_message(press.chat_id, context.t(f"{flow.name}.title"))
            await self._check_prefilled(context, fresh)
            await self._ask(context, press.chat_id, fresh, press.update_id)

    async def _on_cancel(self, press: Press) -> None:
        context = press.context
        await context.db.run(cancel_draft, member_id=context.member_id)
        await edit_message(
            press.query, summary(context, press.state) + "\n\n" + context.t("cancel.done")
        )

    async def _on_save(self, press: Press, *, force: bool = False) -> None:
        context, state = press.context, press.state
        flow = state.flow
        if flow.check is not None and not force:
            warning = await flow.check(context, state.values)
            if warning is not None and warning.new_to(state.dismissed):
                await edit_message(press.query, summary(context, state))
                state.step, state.warning = WARN, warning.text
                state.options = [list(option) for option in warning.open_options]
                await self._next(press)
                return
        await self._commit(context, press.chat_id, state, press.query)

    async def _commit(
        self,
        context: CrmContext,
        chat_id: int,
        state: State,
        query: CallbackQuery | None = None,
    ) -> None:
        """Save the entry and drop its draft in one transaction; the summary card pressed
        (if any) says it was saved, then the flow's `after_save` answers."""
        flow = state.flow
        saver = flow.save(context, state.values, state.attachments)
        result = await context.db.run(
            commit_draft, member_id=context.member_id, revision=state.revision, save=saver
        )
        if result is None:
            await context.bot.send_message(chat_id, context.t("common.stale_button"))
            return
        logger.info("saved a %s", flow.name, extra={"member_id": context.member_id})
        if query is not None:
            await edit_message(query, summary(context, state) + "\n\n" + context.t("flow.saved"))
        await flow.after_save(context, chat_id, result)

    async def _on_force(self, press: Press) -> None:
        """Add anyway: at Save, save; at a field's warning, go on past that field."""
        state, warned = press.state, press.state.warned
        if warned is None:
            await self._on_save(press, force=True)
            return
        if not warned.get("forcible", True):  # never offered: an old or forged press
            return
        await edit_message(press.query, state.warning or "…")
        state.dismissed += [key for key in warned["keys"] if key not in state.dismissed]
        state.step, state.warned, state.warning, state.options = warned["next"], None, None, []
        await self._next(press)

    async def _on_change(self, press: Press) -> None:
        """Change it: the warned field is asked again, its answer checked again."""
        state, warned = press.state, press.state.warned
        if warned is None:
            return
        await edit_message(press.query, state.warning or "…")
        if state.history and state.history[-1] == warned["field"]:
            state.history.pop()
        state.editing = warned["next"] == CONFIRM
        state.step, state.warned, state.warning, state.options = warned["field"], None, None, []
        await self._next(press)

    async def _on_open(self, press: Press) -> None:
        state = press.state
        if (
            (state.flow.open_record is None and state.flow.adopt is None)
            or not press.arg.isdigit()
            or int(press.arg) >= len(state.options)
        ):
            return
        value, _ = state.options[int(press.arg)]
        if state.flow.adopt is not None:
            await edit_message(press.query, state.warning or "…")
            await state.flow.adopt(press.context, state.values, value)
            state.step, state.warned, state.warning, state.options = CONFIRM, None, None, []
            await self._next(press)
            return
        assert state.flow.open_record is not None
        await press.context.db.run(delete_draft, member_id=press.context.member_id)
        await edit_message(press.query, state.warning or "…")
        await state.flow.open_record(press.context, press.chat_id, value)

    # --- persistence -------------------------------------------------------------------------

    async def _load(
        self,
        context: CrmContext,
        update: Update | None = None,
        prefetched: tuple[Draft | None] | None = None,
    ) -> State | None:
        """The open entry; `prefetched` is the draft the gate read with the member."""
        if prefetched is not None:
            (draft,) = prefetched
        else:
            draft = await context.db.read(get_draft, member_id=context.member_id)
        if draft is None or draft.flow not in self.flows:
            return None
        if (
            update is not None
            and draft.last_update_id is not None
            and update.update_id <= draft.last_update_id
        ):
            if update.update_id < draft.last_update_id:
                await _answer_late(update, context)
            logger.info(
                "update already applied to the draft", extra={"update_id": update.update_id}
            )
            raise ApplicationHandlerStop
        return State.from_data(self.flows[draft.flow], draft.step, draft.data, draft.history)

    async def _persist(
        self, context: CrmContext, chat_id: int, state: State, update_id: int | None
    ) -> None:
        await context.db.run(
            save_draft,
            member_id=context.member_id,
            chat_id=chat_id,
            flow=state.flow.name,
            step=state.step,
            data=state.to_data(),
            history=state.history,
            update_id=update_id,
        )

    def build_handlers(
        self,
    ) -> tuple[
        list[BaseHandler[Update, CrmContext, None]], list[BaseHandler[Update, CrmContext, None]]
    ]:
        """(handlers for FLOW_GROUP, handlers for the main group)."""
        answers = tg_filters.ChatType.PRIVATE & ~tg_filters.COMMAND & ~tg_filters.StatusUpdate.ALL
        return (
            [MessageHandler(answers, self.on_message)],
            [CallbackQueryHandler(self.on_button, pattern=pattern_for(FlowButton))],
        )


def _same(before: Any, after: Any) -> bool:
    """The same answer again: a picked record by its id, anything else by its value."""
    if isinstance(before, dict) and isinstance(after, dict):
        return before.get("id") == after.get("id")
    return bool(before == after)


def _drop_dependents(state: State, step_field: Field) -> str | None:
    """Drop the answers that belonged to the field's old one; the first of those fields that
    applies now (asked next), if any."""
    for name in step_field.resets:
        state.values.pop(name, None)
    flow = state.flow
    return next(
        (n for n in step_field.resets if (f := flow.field(n)) and f.applies(state.values)), None
    )


def _cleaned(values: dict[str, Any]) -> dict[str, Any]:
    """Prefilled values with every text in them cleaned (`storage.parsing.clean_text`)."""

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, list):
            return [clean(item) for item in value]
        if isinstance(value, dict):
            return {key: clean(item) for key, item in value.items()}
        return value

    return {key: clean(value) for key, value in values.items()}


async def _answer_late(update: Update, context: CrmContext) -> None:
    """An update older than the one the draft last applied lost its place (its instance died
    and a later update went first): the member hears that it was not used, never silence."""
    if update.callback_query is not None:
        await answer_query(update.callback_query, context.t("common.stale_button"))
        return
    message = update.effective_message
    if message is not None:
        text = clip(message.text or message.caption or "…")
        await context.bot.send_message(message.chat_id, context.t("flow.arrived_late", text=text))


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


FEATURE = Feature(
    name="flows",
    routes=(Route(FlowButton, "on_button"),),  # its answers are taken in FLOW_GROUP
    bind=lambda engine: {"on_button": engine.on_button},
)
