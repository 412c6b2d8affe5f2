"""`/dedupe` (managers: their team; admins: everyone): clean up duplicates already entered.

    /dedupe --> "looking…" (the search runs as a background task, in the database's workers)
            --> "N clusters" --> a cluster: its customers and the fields they differ on
                --Keep X--> for each differing field: which value stays (one button each)
                --> "merge into X with …?" --Merge--> merged (storage.quality.merge) --> next
            --Skip--> next cluster ... "no more clusters"

The clusters found are ids kept for this chat in `user_data` (a restart asks for /dedupe
again; nothing is saved before Merge). Every id in a button is untrusted: one not in the
cluster shown, or no longer visible, gets "not found" like any unknown record.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update

from handlers.callback_data import DedupeAction
from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature, Route
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from storage.models import Member, Role
from storage.quality.clusters import Cluster, find_clusters
from storage.quality.merge import differing_fields, list_cluster_values, merge_cluster

logger = logging.getLogger(__name__)

STATE_KEY = "dedupe"


def _show_value(value: Any) -> str:
    if isinstance(value, dict):  # a birthday
        parts = (value.get("year"), value.get("month"), value.get("day"))
        return "-".join(str(p) for p in parts if p)
    if isinstance(value, list):  # tags
        value = ", ".join(value)
    return "—" if value in (None, "") else str(value)


def _state(context: CrmContext) -> dict[str, Any]:
    """This chat's clusters and where the member is in them."""
    assert context.user_data is not None
    state: dict[str, Any] = context.user_data.setdefault(STATE_KEY, {})
    return state


async def dedupe(update: Update, context: CrmContext) -> None:
    """Say the search started, and run it off the handler's await path."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    member = context.require_member()
    if Role(member.role) not in LEADS:
        await context.bot.send_message(chat_id, context.t("dedupe.not_lead"))
        return
    message = await context.bot.send_message(chat_id, context.t("dedupe.searching"))
    context.application.create_task(
        _search(context, chat_id, message.message_id, member), update=update
    )


async def _search(context: CrmContext, chat_id: int, message_id: int, member: Member) -> None:
    clusters: list[Cluster] = await context.db.read(find_clusters, actor=member)
    _state(context).update(clusters=[list(c.customer_ids) for c in clusters], ids=[])
    await context.bot.edit_message_text(
        context.t("dedupe.found", count=len(clusters)), chat_id=chat_id, message_id=message_id
    )
    await _next(context, chat_id, 0)


async def _next(context: CrmContext, chat_id: int, start: int) -> None:
    """Show the first cluster from `start` that still has two customers the member sees."""
    state = _state(context)
    clusters = state.get("clusters") or []
    member = context.require_member()
    for at in range(start, len(clusters)):
        values = await context.db.read(
            list_cluster_values, actor=member, customer_ids=clusters[at]
        )
        if len(values) > 1:
            state.update(at=at, ids=list(values), survivor=0, picks={})
            await _send_cluster(context, chat_id, at + 1, len(clusters), values)
            return
    state.update(at=len(clusters), ids=[])
    await context.bot.send_message(chat_id, context.t("dedupe.done"))


async def _send_cluster(
    context: CrmContext, chat_id: int, number: int, total: int, values: dict[int, dict[str, Any]]
) -> None:
    lines = [context.t("dedupe.cluster", number=number, total=total)]
    lines += [
        context.t("dedupe.customer", id=customer_id, name=v["name"], phones=", ".join(v["phones"]))
        for customer_id, v in values.items()
    ]
    for field in differing_fields(values):
        shown = " | ".join(f"#{i}: {_show_value(v.get(field))}" for i, v in values.items())
        lines.append(
            context.t("dedupe.differs", field=context.t(f"customer.field.{field}"), values=shown)
        )
    keep = [
        [(context.t("dedupe.button.keep", id=customer_id), DedupeAction("keep", customer_id))]
        for customer_id in values
    ]
    keyboard = inline_keyboard(
        [*keep, [(context.t("dedupe.button.skip"), DedupeAction("skip", 0))]]
    )
    await context.bot.send_message(chat_id, "\n".join(lines), reply_markup=keyboard)


async def on_button(update: Update, context: CrmContext) -> None:
    """keep / pick / merge / skip on the cluster shown; anything else is "not found"."""
    action = await button_data(update, context, DedupeAction)
    query = update.callback_query
    if action is None or query is None or query.message is None:
        return
    chat_id = query.message.chat.id
    state = _state(context)
    ids: list[int] = state.get("ids") or []
    if action.action == "skip" and ids:
        await answer_query(query)
        await _next(context, chat_id, state["at"] + 1)
        return
    if action.action == "keep" and action.a in ids:
        state.update(survivor=action.a, picks={})
    elif action.action == "pick" and state.get("survivor") and action.b in ids:
        fields = state.get("fields") or []
        if action.a >= len(fields):
            await answer_query(query, context.t("common.not_found"))
            return
        state["picks"][fields[action.a]] = action.b
    elif action.action == "merge" and state.get("survivor"):
        await _merge(update, context, state)
        return
    else:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query)
    await _ask_next_field(update, context, state)


async def _ask_next_field(update: Update, context: CrmContext, state: dict[str, Any]) -> None:
    """The next differing field without a pick, or the summary with Merge."""
    query = update.callback_query
    assert query is not None
    values = await context.db.read(
        list_cluster_values, actor=context.require_member(), customer_ids=state["ids"]
    )
    fields = differing_fields(values)
    state["fields"] = fields
    for index, field in enumerate(fields):
        if field in state["picks"]:
            continue
        label = context.t(f"customer.field.{field}")
        rows = [
            [(f"#{i}: {_show_value(v.get(field))}", DedupeAction("pick", index, i))]
            for i, v in values.items()
        ]
        await edit_message(query, context.t("dedupe.pick", field=label), inline_keyboard(rows))
        return
    survivor = state["survivor"]
    chosen = {**values[survivor], **{f: values[i][f] for f, i in state["picks"].items()}}
    lines = [context.t("dedupe.confirm", id=survivor, count=len(values) - 1)]
    lines += [f"{context.t(f'customer.field.{f}')}: {_show_value(chosen.get(f))}" for f in fields]
    keyboard = inline_keyboard(
        [
            [(context.t("dedupe.button.merge"), DedupeAction("merge", 0))],
            [(context.t("dedupe.button.skip"), DedupeAction("skip", 0))],
        ]
    )
    await edit_message(query, "\n".join(lines), keyboard)


async def _merge(update: Update, context: CrmContext, state: dict[str, Any]) -> None:
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    survivor = state["survivor"]
    merged = await guarded(
        update,
        context,
        context.db.run(
            merge_cluster,
            actor=context.require_member(),
            survivor_id=survivor,
            duplicate_ids=[i for i in state["ids"] if i != survivor],
            picks=dict(state["picks"]),
        ),
    )
    if merged is None:
        return
    logger.info("dedupe merged %d customers into %s", len(merged), survivor)
    await edit_message(query, context.t("dedupe.merged", id=survivor, count=len(merged)))
    await _next(context, query.message.chat.id, state["at"] + 1)


FEATURE = Feature(
    name="dedupe",
    commands=(Command("dedupe", dedupe, roles=LEADS),),
    routes=(Route(DedupeAction, on_button),),
)
