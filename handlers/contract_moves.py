"""What the buttons on a contract's card do besides starting an entry (handlers/contract.py):
Mark signed's and Terminate's small flows, Activate on the same card, Files sent again by their
Telegram file ids, and a customer's contracts, a page at a time.

    card --Mark signed--> "contract_sign": signing date (Today, or typed; not in the future)
                          -> confirm --Save--> signed, card again
    card --Terminate--> "contract_end": date (Today, or typed; not before the signing) ->
                        reason (or Skip) -> confirm --Save--> terminated, card again
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import Update

from handlers import contract_fields as cf
from handlers.callback_data import ContractAction, CustomerAction
from handlers.context import CrmContext
from handlers.contract_card import (
    after_save,
    contract_keyboard,
    contract_line,
    contract_text,
    status_label,
)
from handlers.customer_card import page_reply
from handlers.customer_pick import picked_id
from handlers.deal import Refused
from handlers.flows import field_parsers as fp
from handlers.flows.flow import Choice, Field, Flow
from handlers.keyboards import Row, inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from storage.calls import StorageCall
from storage.contract_views import get_contract_view, list_contract_files
from storage.contracts import (
    TransitionRefused,
    activate_contract,
    list_contracts,
    sign_contract,
    terminate_contract,
)
from storage.models import Contract
from storage.parsing import ParseError


def _never(_values: dict[str, Any]) -> bool:
    """A value the flow is started with, never asked."""
    return False


async def _not_before_signing(context: CrmContext, values: dict[str, Any], value: str) -> Any:
    signed_on = values.get("signed_on")
    if isinstance(signed_on, str) and value < signed_on:
        return ParseError("contract.end_before_signing", {"day": fp.show_date(signed_on, context)})
    return value


def _moved(
    context: CrmContext, values: dict[str, Any], move: Callable[..., Contract], **arguments: Any
) -> StorageCall[Contract | Refused]:
    """`move` (sign, terminate) of the flow's contract; a status that no longer allows it, or
    a contract gone meanwhile, is answered instead."""
    return (
        StorageCall(
            move,
            actor=context.require_member(),
            contract_id=picked_id(values["contract"]),
            **arguments,
        )
        .or_if_refused(Refused("contract.move_refused"), TransitionRefused)
        .or_if_missing(Refused("common.not_found"))
    )


def _save_end(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Contract | Refused]:
    terminated_on = fp.to_date(values["terminated_on"])
    reason = values.get("reason") or ""
    return _moved(context, values, terminate_contract, terminated_on=terminated_on, reason=reason)


def _save_signing(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Contract | Refused]:
    return _moved(context, values, sign_contract, signed_on=fp.to_date(values["signed_on"]))


# Mark signed asks the signing date, read as at entry: a date not yet come is refused.
SIGN_FLOW = Flow(
    name="contract_sign",
    fields=(
        Field("contract", when=_never),
        Field(
            "signed_on",
            parse=fp.day("past"),
            choices=(Choice("today", "contract.date.today"),),
            required=True,
            show=fp.show_date,
        ),
    ),
    save=_save_signing,
    after_save=after_save,
)


# Terminate asks the date and why; the contract (and its signing date) come with the start.
END_FLOW = Flow(
    name="contract_end",
    fields=(
        Field("contract", when=_never),
        Field("signed_on", when=_never),
        Field(
            "terminated_on",
            parse=cf.any_day,
            choices=(Choice("today", "contract.date.today"),),
            required=True,
            resolve=_not_before_signing,
            show=fp.show_date,
        ),
        Field("reason", parse=fp.optional_text("reason")),
    ),
    save=_save_end,
    after_save=after_save,
)


LIST_PAGE = 8


async def customer_contracts_page(update: Update, context: CrmContext) -> None:
    """A customer's contracts, latest first, a page at a time, a button each to open it."""
    action = await button_data(update, context, CustomerAction)
    if action is None:
        return
    page = max(int(action.value or "1"), 1)
    load = context.db.read(
        list_contracts,
        actor=context.require_member(),
        customer_id=action.customer_id,
        limit=LIST_PAGE + 1,
        offset=(page - 1) * LIST_PAGE,
    )
    contracts = await guarded(update, context, load)
    if contracts is None:
        return
    shown = contracts[:LIST_PAGE]
    lines = [context.t("contract.list_title", page=page)]
    lines += [contract_line(context, c) for c in shown] or [context.t("contract.list_none")]
    rows: list[Row] = [
        [(context.t("contract.button.link", number=c.number), ContractAction("open", c.id or 0))]
        for c in shown
    ]
    nav = []
    if page > 1:
        nav.append(("«", CustomerAction("contracts", action.customer_id, str(page - 1))))
    if len(contracts) > LIST_PAGE:
        nav.append(("»", CustomerAction("contracts", action.customer_id, str(page + 1))))
    await page_reply(update, "\n".join(lines), inline_keyboard([*rows, nav]))


MOVES = ("activate",)


async def move(update: Update, context: CrmContext, action: ContractAction) -> None:
    """Activate, on the same card."""
    query = update.callback_query
    assert query is not None
    member = context.require_member()
    try:
        await context.db.run(activate_contract, actor=member, contract_id=action.contract_id)
    except TransitionRefused:
        await answer_query(query, context.t("contract.move_refused"))
        return
    view = await context.db.read(get_contract_view, actor=member, contract_id=action.contract_id)
    await answer_query(
        query, context.t("contract.moved", status=status_label(context, view.contract.status))
    )
    await edit_message(query, contract_text(context, view), contract_keyboard(context, view))


async def send_files(context: CrmContext, chat_id: int, contract_id: int) -> None:
    """The signed files again, by their Telegram file ids."""
    files = await context.db.read(
        list_contract_files, actor=context.require_member(), contract_id=contract_id
    )
    if not files:
        await context.bot.send_message(chat_id, context.t("contract.no_files"))
    for item in files:
        if item.kind == "photo":
            await context.bot.send_photo(chat_id, item.telegram_file_id)
        else:
            await context.bot.send_document(chat_id, item.telegram_file_id)
