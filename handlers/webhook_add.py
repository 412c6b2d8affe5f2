"""➕ Add endpoint in `/webhooks` (admins): the chat's `crm-bot webhook add`.

    /webhooks --➕ Add endpoint--> URL --> events (toggle buttons, or typed) --Done--> summary
              --Save--> endpoint saved, its signing secret shown this once

The URL and the events are checked and stored by the same storage functions as the command
line (`storage.webhooks.check_url`, `parse_event_types`, `create_endpoint`), through the flow
engine: Back, /cancel and a restart work as in every entry, and nothing is saved before Save.
The button is untrusted: anyone but an admin is refused at the start and again at Save. The
secret is shown only in a private chat, as `/tokens create` shows a token.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ChatType

from handlers.context import CrmContext
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Env, Field, Flow
from handlers.telegram_helpers import answer_query
from storage.access import NotFound
from storage.calls import StorageCall
from storage.parsing import ParseError
from storage.webhook_models import WebhookEndpoint
from storage.webhooks import (
    EVENT_TYPES,
    add_endpoint,
    check_url,
    parse_event_types,
    require_admin,
)

FLOW_NAME = "webhook_add"
ALL = "*"
# "customer.*", "deal.*", ... in the order of the event list, after "all".
EVENT_CHOICES = (
    Choice(ALL, "webhook_add.all"),
    *(
        Choice(f"{group}.*", f"{group}.*")
        for group in dict.fromkeys(t.split(".")[0] for t in EVENT_TYPES)
    ),
)


def _url(text: str, _env: Env) -> str | ParseError:
    try:
        return check_url(text)
    except ValueError:
        return ParseError("webhook_add.bad_url")


def _events(text: str, _env: Env) -> list[str] | ParseError:
    """Typed names and groups, kept as typed ("ticket.*", "*") so the summary reads as they
    were meant; Save expands them as `--events` does."""
    try:
        parse_event_types(text)
    except ValueError:
        return ParseError("webhook_add.bad_events")
    return list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))


def _show_events(value: Any, context: CrmContext) -> str:
    names = list(value or [])
    return context.t("webhook_add.all") if ALL in names else ", ".join(names)


def _save(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> StorageCall[Any]:
    call = StorageCall(
        add_endpoint, actor=context.require_member(), url=values["url"], events=values["events"]
    )
    return call.or_if_missing(None)


async def _after_save(context: CrmContext, chat_id: int, saved: WebhookEndpoint | None) -> None:
    if saved is None:
        await context.bot.send_message(chat_id, context.t("webhooks.admins_only"))
        return
    text = context.t(
        "webhook_add.saved",
        id=saved.id,
        url=saved.url,
        secret=saved.secret,
    )
    await context.bot.send_message(chat_id, text)


FLOW = Flow(
    name=FLOW_NAME,
    fields=(
        Field("url", parse=_url, required=True),
        Field(
            "events",
            parse=_events,
            choices=EVENT_CHOICES,
            toggle=True,
            required=True,
            show=_show_events,
            skip_label="webhook_add.button.done",
        ),
    ),
    save=_save,
    after_save=_after_save,
)


async def start_add(update: Update, context: CrmContext, engine: FlowEngine) -> None:
    """➕ Add endpoint pressed: an admin in a private chat starts the entry."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    try:
        require_admin(context.require_member())
    except NotFound:
        await answer_query(query, context.t("webhooks.admins_only"))
        return
    if update.effective_chat.type != ChatType.PRIVATE:  # a secret in a group is everyone's
        await answer_query(query, context.t("webhook_add.private_only"))
        return
    await answer_query(query)
    await engine.start(update, context, FLOW_NAME)
