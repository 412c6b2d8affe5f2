"""`/webhooks` for admins: the endpoints and their state, an endpoint's last deliveries, re-send
a failed one, turn an endpoint on or off. Also the delivery pass the bot runs, and the notice
admins get when an endpoint failing for a day was turned off.

Endpoints are added from the shell (`crm-bot webhook add`, which prints the signing secret)
or with ➕ Add endpoint (`handlers.webhook_add`, which shows it once in a private chat). The pass
itself (`bot.webhook_jobs`) posts the outbox's events off the handlers' path, on a ticker.

Every button carries an id, which is untrusted: the storage calls check the actor is an
admin and the id exists, and a refusal answers exactly like a missing one.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import WebhookAction
from handlers.context import CrmContext
from handlers.feature import Callback, Command, Feature, Job, Route
from handlers.flows.engine import FlowEngine
from handlers.formatting import format_when
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from handlers.webhook_add import FLOW, start_add
from storage.access import NotFound
from storage.models import Role
from storage.webhook_deliveries import (
    DeliveryStatus,
    DeliveryView,
    list_deliveries,
    resend_delivery,
)
from storage.webhook_models import WebhookEndpoint
from storage.webhooks import get_endpoint, list_endpoints_for, set_endpoint_enabled

DELIVER_JOB = "deliver-webhooks"
HISTORY = 10  # deliveries on an endpoint's card
RESENDABLE = (DeliveryStatus.FAILED, DeliveryStatus.DEAD)
ICONS = {
    DeliveryStatus.PENDING: "⏳",
    DeliveryStatus.DELIVERED: "✅",
    DeliveryStatus.FAILED: "🔁",
    DeliveryStatus.DEAD: "❌",
}


def endpoint_disabled_text(t: Callable[..., str], url: str) -> str:
    """What each admin is told when an endpoint failing for a day was turned off."""
    return t("webhooks.endpoint_disabled", url=html.escape(url))


async def webhooks(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    try:
        text, keyboard = await _list(context)
    except NotFound:
        text, keyboard = context.t("webhooks.admins_only"), None
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)


async def webhook_button(update: Update, context: CrmContext, engine: FlowEngine) -> None:
    query = update.callback_query
    assert query is not None
    action = await button_data(update, context, WebhookAction)
    if action is None:
        return
    if action.action == "add":
        await start_add(update, context, engine)
        return
    notice = None
    try:
        if action.action == "list":
            text, keyboard = await _list(context)
        else:
            endpoint_id, notice = await _apply(context, action)
            text, keyboard = await _card(context, endpoint_id)
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query, notice)
    await edit_message(query, text, keyboard)


async def _apply(context: CrmContext, action: WebhookAction) -> tuple[int, str | None]:
    """The endpoint whose card to show after the press, and the pop-up that says what it did."""
    actor = context.require_member()
    if action.action == "resend":
        now = context.services.clock()
        delivery = await context.db.run(
            resend_delivery, actor=actor, delivery_id=action.target_id, now=now
        )
        return delivery.endpoint_id, context.t("webhooks.resent")
    if action.action in ("enable", "disable"):
        enabled = action.action == "enable"
        await context.db.run(
            set_endpoint_enabled, actor=actor, endpoint_id=action.target_id, enabled=enabled
        )
        return action.target_id, context.t("webhooks.enabled" if enabled else "webhooks.disabled")
    return action.target_id, None


async def _list(context: CrmContext) -> tuple[str, InlineKeyboardMarkup | None]:
    endpoints = await context.db.read(list_endpoints_for, actor=context.require_member())
    rows: list[Row] = [
        [(f"{_icon(e)} #{e.id} {_short(e.url)}", WebhookAction("open", e.id or 0))]
        for e in endpoints
    ]
    rows.append([(context.t("webhooks.button.add"), WebhookAction("add"))])
    if not endpoints:
        return context.t("webhooks.none"), inline_keyboard(rows)
    return context.t("webhooks.title", count=len(endpoints)), inline_keyboard(rows)


async def _card(context: CrmContext, endpoint_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
    actor = context.require_member()
    endpoint = await context.db.read(get_endpoint, actor=actor, endpoint_id=endpoint_id)
    deliveries = await context.db.read(
        list_deliveries, actor=actor, endpoint_id=endpoint_id, limit=HISTORY
    )
    lines = [
        context.t("webhooks.card", id=endpoint_id, url=html.escape(endpoint.url)),
        _state(context, endpoint),
        context.t("webhooks.events", events=", ".join(endpoint.events)),
        "",
        context.t("webhooks.history") if deliveries else context.t("webhooks.no_history"),
        *(_delivery_line(context, d) for d in deliveries),
    ]
    resend: list[Row] = [
        [(context.t("webhooks.button.resend", id=d.id), WebhookAction("resend", d.id))]
        for d in deliveries
        if d.status in RESENDABLE
    ]
    rows = resend[:5]
    toggle = "disable" if endpoint.enabled else "enable"
    rows.append([(context.t(f"webhooks.button.{toggle}"), WebhookAction(toggle, endpoint_id))])
    rows.append([(context.t("webhooks.button.back"), WebhookAction("list"))])
    return "\n".join(lines), inline_keyboard(rows)


def _state(context: CrmContext, endpoint: WebhookEndpoint) -> str:
    if not endpoint.enabled:
        return context.t("webhooks.state.off")
    if endpoint.failing_since is not None:
        when = _when(context, endpoint.failing_since)
        return context.t("webhooks.state.failing", since=when)
    return context.t("webhooks.state.on")


def _delivery_line(context: CrmContext, delivery: DeliveryView) -> str:
    return context.t(
        "webhooks.delivery",
        icon=ICONS.get(DeliveryStatus(delivery.status), "•"),
        id=delivery.id,
        event=delivery.event_type,
        record=delivery.record,
        status=context.t(f"webhooks.status.{delivery.status}"),
        code=delivery.last_status_code or "—",
        when=_when(context, delivery.at),
    )


def _when(context: CrmContext, moment: datetime) -> str:
    return format_when(moment, tz=context.tz, lang=context.language, now=context.services.clock())


def _icon(endpoint: WebhookEndpoint) -> str:
    if not endpoint.enabled:
        return "⏸"
    return "⚠️" if endpoint.failing_since is not None else "🟢"


def _short(url: str, limit: int = 40) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def button(update: Update, context: CrmContext) -> None:
        await webhook_button(update, context, engine)

    return {"button": button}


FEATURE = Feature(
    name="webhooks",
    commands=(Command("webhooks", webhooks, frozenset({Role.ADMIN})),),
    routes=(Route(WebhookAction, "button"),),
    flows=(FLOW,),
    bind=bind,
    jobs=(Job(DELIVER_JOB, every=timedelta(seconds=2), first=timedelta(seconds=1)),),
)
