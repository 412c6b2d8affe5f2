""" "Fill gaps" on a customer card: one short flow asking only the fields the completeness score
misses (`storage.quality.completeness`), with the entry flow's questions and validation.

    card --🧩 Fill gaps--> the first missing field --> ... the last --> confirm --Save-->
         update_customer (only what was answered) --> the card again, with its new score

Fields the team requires are asked without Skip (`handlers.flows.rules`); the others may be
skipped and stay missing. The id in the button is untrusted: a missing, deleted or foreign
customer answers "not found" like any other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from telegram import Update

from handlers.callback_data import CustomerAction
from handlers.context import CrmContext
from handlers.customer import FIELDS, duplicate_check
from handlers.customer_card import send_card
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Feature, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow, is_empty
from handlers.records.edit import Outcome
from handlers.telegram_helpers import button_data, guarded
from storage.calls import StorageCall
from storage.customer_changes import update_customer
from storage.quality.completeness import completeness
from storage.quality.rules import FLOW_FIELD
from storage.search.find import get_customer_card

FLOW_NAME = "fill_gaps"
GAPS_KEY = "_gaps"  # hidden: the entry-flow field names to ask
CUSTOMER_KEY = "_customer"


def _missing(name: str, also: Callable[[dict[str, Any]], bool] | None, key: str) -> Any:
    def applies(values: dict[str, Any]) -> bool:
        return name in values.get(key, ()) and (also is None or also(values))

    return applies


def asked_if_missing(
    fields: Iterable[Field],
    *,
    also: Callable[[dict[str, Any]], bool] | None = None,
    key: str = GAPS_KEY,
) -> tuple[Field, ...]:
    """`fields` (an entry flow's) each asked only when its name is listed under `key` (and
    `also` holds): here, and in a /log making a customer or a deal the team's required
    fields would leave incomplete (`handlers.quick_log`)."""
    return tuple(dataclasses.replace(f, when=_missing(f.name, also, key)) for f in fields)


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Outcome]:
    customer_id = int(values[CUSTOMER_KEY]["id"])
    changes = {
        name: values[name] for name in values.get(GAPS_KEY, ()) if not is_empty(values.get(name))
    }
    if not changes:
        return StorageCall.done(Outcome("records.edit.unchanged", record_id=customer_id))
    return (
        StorageCall(
            update_customer,
            actor=context.require_member(),
            customer_id=customer_id,
            changes=changes,
        )
        .returning(lambda c: Outcome("quality.gaps.saved", {"name": c.name}, customer_id))
        .or_if_missing(Outcome("common.not_found"))
    )


async def _after_save(context: CrmContext, chat_id: int, outcome: Outcome) -> None:
    await context.bot.send_message(chat_id, context.t(outcome.key, **outcome.params))
    if outcome.record_id is not None:
        await send_card(context, chat_id, outcome.record_id)


FLOW = Flow(
    name=FLOW_NAME,
    fields=asked_if_missing(f for f in FIELDS if f.name != "name"),
    save=_save,
    after_save=_after_save,
    # The customer has none of the missing phone, email or company yet, so it cannot match
    # itself: the entry's duplicate check applies as it is.
    check=duplicate_check("phones", "email", "name"),
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def fill_gaps(update: Update, context: CrmContext) -> None:
        """The flow over what is missing now (another member may have filled some meanwhile)."""
        action = await button_data(update, context, CustomerAction)
        if action is None:
            return
        load = context.db.read(
            get_customer_card,
            actor=context.require_member(),
            customer_id=action.customer_id,
            notes_limit=0,
        )
        card = await guarded(update, context, load)
        if card is None:
            return
        _score, missing = completeness(card.customer, context.services.quality, phones=card.phones)
        if not missing:
            assert update.effective_chat is not None
            await context.bot.send_message(
                update.effective_chat.id, context.t("quality.gaps.none")
            )
            return
        values = {
            CUSTOMER_KEY: {"id": str(action.customer_id), "label": customer_label(card.customer)},
            GAPS_KEY: [FLOW_FIELD.get(name, name) for name in missing],
            "name": card.customer.name,  # for the duplicate check of a company
        }
        await engine.start(update, context, FLOW_NAME, values=values)

    return {"fill_gaps": fill_gaps}


FEATURE = Feature(
    name="fill_gaps",
    routes=(Route(CustomerAction, "fill_gaps", ("gaps",)),),
    flows=(FLOW,),
    bind=bind,
)
