"""`/dedupe` (managers: their team; admins: everyone): clean up duplicates already entered.

    /dedupe --> "looking… 40 %" (edited in place while the search runs in a thread of its
                own, the event loop and the database workers free) --> "N clusters"
                --> a cluster: its customers and the fields they differ on
                --Keep X--> for each differing field: which value stays (one button each)
                --> "merge into X with …?" --Merge--> merged (storage.quality.merge) --> next
            --Not a duplicate--> remembered (storage.quality.dismissals) --> next
            --Skip--> next cluster ... "no more clusters"
    /dedupe with clusters left --> Continue (where the member was) / Search again
    /review's Merge on a duplicate --> the pair as a cluster, the same steps --> /review

The clusters found and the member's place in them are saved in the database
(`storage.quality.runs`): after a restart, or on another instance, the buttons go on where
they were. Every id in a button is untrusted: one not in the cluster shown, or no longer
visible, gets "not found" like any unknown record.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update

from handlers.callback_data import DedupeAction
from handlers.context import CrmContext
from handlers.feature import LEADS, Command, Feature, Route
from handlers.keyboards import inline_keyboard
from handlers.progress import LiveMessage
from handlers.review import show_queue
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from storage.models import Member, Role
from storage.quality.clusters import Cluster, find_clusters
from storage.quality.dismissals import dismiss_cluster
from storage.quality.merge import differing_fields, list_cluster_values, merge_cluster
from storage.quality.runs import get_dedupe_run, save_dedupe_state, start_dedupe_run

logger = logging.getLogger(__name__)


def _show_value(value: Any) -> str:
    if isinstance(value, dict):  # a birthday
        parts = (value.get("year"), value.get("month"), value.get("day"))
        return "-".join(str(p) for p in parts if p)
    if isinstance(value, list):  # tags
        value = ", ".join(value)
    return "—" if value in (None, "") else str(value)


async def _run(context: CrmContext) -> tuple[list[list[int]], dict[str, Any]]:
    """The member's saved clusters and where they are in them."""
    run = await context.db.read(get_dedupe_run, actor=context.require_member())
    return (run.clusters, dict(run.state)) if run else ([], {})


async def _keep(context: CrmContext, state: dict[str, Any]) -> None:
    await context.db.run(save_dedupe_state, actor=context.require_member(), state=state)


async def dedupe(update: Update, context: CrmContext) -> None:
    """Offer the saved search when clusters are left in it, else start a new one."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    member = context.require_member()
    if Role(member.role) not in LEADS:
        await context.bot.send_message(chat_id, context.t("dedupe.not_lead"))
        return
    clusters, state = await _run(context)
    at = state.get("at", 0)
    if at < len(clusters):
        keyboard = inline_keyboard(
            [
                [(context.t("dedupe.button.resume"), DedupeAction("resume", 0))],
                [(context.t("dedupe.button.again"), DedupeAction("again", 0))],
            ]
        )
        text = context.t("dedupe.resume", number=at + 1, total=len(clusters))
        await context.bot.send_message(chat_id, text, reply_markup=keyboard)
        return
    await _start_search(update, context, chat_id, member)


async def _start_search(update: Update, context: CrmContext, chat_id: int, member: Member) -> None:
    """Say the search started, and run it off the handler's await path."""
    message = await context.bot.send_message(chat_id, context.t("dedupe.progress", percent=0))
    context.application.create_task(
        _search(context, chat_id, message.message_id, member), update=update
    )


async def _search(context: CrmContext, chat_id: int, message_id: int, member: Member) -> None:
    live = LiveMessage(asyncio.get_running_loop(), context.bot, chat_id, message_id)

    def progress(percent: int) -> None:  # from the search's thread
        live.show(context.t("dedupe.progress", percent=percent))

    # A thread of its own, as an import has: a minute-long search at a million customers
    # must not hold one of the database workers every member's step waits for.
    clusters: list[Cluster] = await asyncio.to_thread(
        context.db.read_sync, find_clusters, actor=member, progress=progress
    )
    found = [list(c.customer_ids) for c in clusters]
    await context.db.run(start_dedupe_run, actor=member, clusters=found)
    await live.finish(context.t("dedupe.found", count=len(clusters)))
    await _next(context, chat_id, 0)


async def _next(context: CrmContext, chat_id: int, start: int) -> None:
    """Show the first cluster from `start` that still has two customers the member sees."""
    clusters, _ = await _run(context)
    member = context.require_member()
    for at in range(start, len(clusters)):
        values = await context.db.read(
            list_cluster_values, actor=member, customer_ids=clusters[at]
        )
        if len(values) > 1:
            await _keep(context, {"at": at, "ids": list(values), "survivor": 0, "picks": {}})
            await _send_cluster(context, chat_id, at + 1, len(clusters), values)
            return
    await _keep(context, {"at": len(clusters), "ids": []})
    await context.bot.send_message(chat_id, context.t("dedupe.done"))


async def _after_cluster(context: CrmContext, chat_id: int, state: dict[str, Any]) -> None:
    """The next cluster, or for a pair opened from /review, the review queue again."""
    if not state.get("review"):
        await _next(context, chat_id, state["at"] + 1)
        return
    await _keep(context, {**state, "ids": [], "review": False})
    text, keyboard = await show_queue(context)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


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
        [
            *keep,
            [(context.t("dedupe.button.apart"), DedupeAction("apart", 0))],
            [(context.t("dedupe.button.skip"), DedupeAction("skip", 0))],
        ]
    )
    await context.bot.send_message(chat_id, "\n".join(lines), reply_markup=keyboard)


async def on_button(update: Update, context: CrmContext) -> None:
    """keep / pick / merge / skip / apart on the cluster shown, resume / again the search,
    pair from /review; anything else is "not found"."""
    action = await button_data(update, context, DedupeAction)
    query = update.callback_query
    if action is None or query is None or query.message is None:
        return
    chat_id = query.message.chat.id
    clusters, state = await _run(context)
    ids: list[int] = state.get("ids") or []
    if action.action in ("resume", "again", "pair"):
        await _restart(update, context, action, clusters, state)
        return
    if action.action == "skip" and ids:
        await answer_query(query)
        await _after_cluster(context, chat_id, state)
        return
    if action.action == "apart" and ids:
        await _apart(update, context, state)
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


async def _restart(
    update: Update,
    context: CrmContext,
    action: DedupeAction,
    clusters: list[list[int]],
    state: dict[str, Any],
) -> None:
    """Continue the saved search, search again, or open /review's pair as a cluster."""
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    chat_id = query.message.chat.id
    if action.action == "resume":
        await answer_query(query)
        await _next(context, chat_id, state.get("at", 0))
    elif action.action == "again":
        await answer_query(query)
        await _start_search(update, context, chat_id, context.require_member())
    else:
        values = await context.db.read(
            list_cluster_values, actor=context.require_member(), customer_ids=[action.a, action.b]
        )
        if len(values) < 2:
            await answer_query(query, context.t("common.not_found"))
            return
        await answer_query(query)
        pair = {"ids": list(values), "survivor": 0, "picks": {}, "review": True}
        await _keep(context, {"at": state.get("at", len(clusters)), **pair})
        await _send_cluster(context, chat_id, 1, 1, values)


async def _apart(update: Update, context: CrmContext, state: dict[str, Any]) -> None:
    """Not a duplicate: remembered for every pair of the cluster, then the next one."""
    query = update.callback_query
    assert query is not None
    assert query.message is not None
    ids = state["ids"]
    done = await guarded(
        update,
        context,
        context.db.run(dismiss_cluster, actor=context.require_member(), customer_ids=ids),
    )
    if done is None:
        return
    shown = ", ".join(f"#{i}" for i in ids)
    await edit_message(query, context.t("dedupe.apart", ids=shown))
    await _after_cluster(context, query.message.chat.id, state)


async def _ask_next_field(update: Update, context: CrmContext, state: dict[str, Any]) -> None:
    """The next differing field without a pick, or the summary with Merge."""
    query = update.callback_query
    assert query is not None
    values = await context.db.read(
        list_cluster_values, actor=context.require_member(), customer_ids=state["ids"]
    )
    fields = differing_fields(values)
    state["fields"] = fields
    await _keep(context, state)
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
    await _after_cluster(context, query.message.chat.id, state)


FEATURE = Feature(
    name="dedupe",
    commands=(Command("dedupe", dedupe, roles=LEADS),),
    routes=(Route(DedupeAction, on_button),),
)
