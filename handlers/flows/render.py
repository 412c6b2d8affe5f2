"""How a flow's current step looks: the question, its buttons, the summary card.

Pure rendering from the draft state; `handlers.flows.engine` decides what happens next.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup

from handlers.callback_data import FlowButton
from handlers.context import CrmContext
from handlers.flows.flow import CONFIRM, EDIT, WARN, Field, State, env_of, is_empty, label_of
from handlers.formatting import clip
from handlers.i18n import Html
from handlers.keyboards import inline_keyboard
from handlers.text_limits import utf16_len

LONG_VALUE_PREVIEW = 300


def render(context: CrmContext, state: State) -> tuple[str, InlineKeyboardMarkup | None]:
    rev, flow = state.revision, state.flow
    back = [(context.t("flow.button.back"), FlowButton(rev, "back"))] if state.history else []
    if state.step == CONFIRM:
        rows = [
            [(context.t("flow.button.save"), FlowButton(rev, "save"))],
            [
                (context.t("flow.button.edit"), FlowButton(rev, "edit")),
                (context.t("flow.button.cancel"), FlowButton(rev, "cancel")),
            ],
            back,
        ]
        return summary(context, state), inline_keyboard(rows)
    if state.step == EDIT:
        rows = [
            [(context.t(f"{flow.name}.field.{f.name}"), FlowButton(rev, "field", str(i)))]
            for i, f in enumerate(flow.fields)
            if f.applies(state.values)
        ]
        rows.append([(context.t("flow.button.back"), FlowButton(rev, "resume"))])
        return context.t("flow.edit_which"), inline_keyboard(rows)
    if state.step == WARN:
        rows = [
            [(label, FlowButton(rev, "open", str(i)))]
            for i, (_, label) in enumerate(state.options)
        ]
        if state.warned is None or state.warned.get("forcible", True):
            rows.append([(context.t("flow.button.add_anyway"), FlowButton(rev, "force"))])
        if state.warned:  # a field's warning: type it again; at Save: back to the summary
            rows.append([(context.t("flow.button.change_it"), FlowButton(rev, "change"))])
        else:
            rows.append([(context.t("flow.button.back"), FlowButton(rev, "resume"))])
        return state.warning or "", inline_keyboard(rows)
    step_field = flow.field(state.step)
    assert step_field is not None
    if state.clearing:
        rows = [
            [
                (context.t("flow.button.clear_yes"), FlowButton(rev, "clear", "yes")),
                (context.t("flow.button.clear_no"), FlowButton(rev, "clear", "no")),
            ]
        ]
        label = context.t(f"{flow.name}.field.{step_field.name}")
        return context.t("flow.clear_confirm", field=label), inline_keyboard(rows)
    return question(context, state, step_field), _field_keyboard(context, state, step_field, back)


def question(context: CrmContext, state: State, step_field: Field) -> str:
    text = context.t(f"{state.flow.name}.ask.{step_field.name}")
    current = state.values.get(step_field.name)
    if not is_empty(current):
        text += "\n\n" + context.t("flow.current", value=show(context, step_field, current))
    return text


def _field_keyboard(
    context: CrmContext, state: State, step_field: Field, back: list[Any]
) -> InlineKeyboardMarkup | None:
    """Choices, then Clear (optional fields with a value), then Skip (leave as is) and Back."""
    rev = state.revision
    choices = step_field.choices_for(env_of(context))
    held = state.values.get(step_field.name) if step_field.toggle else None
    marked = held if isinstance(held, list) else []
    rows: list[list[Any]] = [
        [
            (_marked(label_of(context, c), c.value in marked), FlowButton(rev, "pick", str(i)))
            for i, c in pair
        ]
        for pair in _pairs(list(enumerate(choices)))
    ]
    rows += [
        [(label, FlowButton(rev, "pick", str(i)))] for i, (_, label) in enumerate(state.options)
    ]
    empty = is_empty(state.values.get(step_field.name))
    if not step_field.required and not empty:
        rows.append([(context.t("flow.button.clear"), FlowButton(rev, "clear"))])
    last = list(back)
    if not (step_field.required and empty) or step_field.default is not None:
        last.insert(0, (context.t(step_field.skip_label), FlowButton(rev, "skip")))
    rows.append(last)
    if not state.editing and state.flow.required_answered(state.values):
        rows.append([(context.t("flow.button.finish"), FlowButton(rev, "finish"))])
    return inline_keyboard(rows)


def summary(context: CrmContext, state: State) -> str:
    lines = [context.t("flow.summary_title", title=context.t(f"{state.flow.name}.title"))]
    for step_field in state.flow.fields:
        value = state.values.get(step_field.name)
        if not step_field.applies(state.values) or (is_empty(value) and not state.flow.show_empty):
            continue
        lines.append(
            context.t(
                "flow.summary_line",
                label=context.t(f"{state.flow.name}.field.{step_field.name}"),
                value="—" if is_empty(value) else show(context, step_field, value),
            )
        )
    if state.flow.summary_extra is not None:
        lines += state.flow.summary_extra(context, state.values)
    if photos := sum(1 for a in state.attachments if a[0] == "photo"):
        lines.append(context.t("flow.summary_photos", count=photos))
    return "\n".join(lines)


def show(context: CrmContext, step_field: Field, value: Any) -> str:
    """The value as the member reads it; a long text as its start and its length, so a 4,000
    character note leaves room on the card for every other answer (Save keeps it whole)."""
    if isinstance(value, str) and utf16_len(value) > LONG_VALUE_PREVIEW:
        preview = clip(value, LONG_VALUE_PREVIEW)
        return Html(context.t("flow.long_value", preview=preview, length=f"{len(value):,}"))
    if step_field.show is not None:
        return step_field.show(value, context)
    for choice in step_field.choices_for(env_of(context)):
        if choice.value == value:
            return label_of(context, choice)
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _marked(label: str, on: bool) -> str:
    return "✅ " + label if on else label


def _pairs(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + 2] for i in range(0, len(items), 2)]
