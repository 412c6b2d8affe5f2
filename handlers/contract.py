"""`/contract`: records what was signed with a customer, with the signed files.

Asks the customer (by search, or prefilled from a customer's or deal's "New contract" and a
won deal's "Create contract"), the deal (the customer's, or Skip), the number (free text,
refused when taken, with the next free one; Skip takes the next of the configured pattern),
the title, amount and currency, the signing, start and end dates (the end may be a duration:
"1年", "12 months"), the payment terms, the renewal notice (Skip: the configured default) and
the signed files (a PDF, a document or photos, several; Done ends it). The summary echoes it
all; nothing is saved before Save. Saved, the contract shows as a card
(handlers/contract_card.py). Renew on a card starts this flow prefilled from the old
contract; its Save renews (links both, the old one becomes renewed).

    /contract -> customer -> deal -> number -> title -> amount -> signed_on -> starts_on
              -> ends_on -> terms -> notice -> files (send files, Done) -> confirm --Save--> card
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from telegram import Update

from handlers import contract_fields as cf
from handlers import contract_moves as cm
from handlers.callback_data import ContractAction, CustomerAction
from handlers.context import CrmContext
from handlers.contract_card import after_save, show_contract
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.deal import Refused
from handlers.feature import Callback, Command, Feature, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Field, Flow, Option
from handlers.telegram_helpers import button_data, guarded
from storage.access import NotFound
from storage.calls import StorageCall
from storage.contract_views import deals_to_contract, get_contract_view
from storage.contracts import (
    IN_FORCE,
    RENEWABLE,
    ContractCreate,
    DuplicateNumber,
    TransitionRefused,
    create_contract,
    initial_status,
    renew_contract,
    renewal_of,
)
from storage.interactions import AttachmentRef
from storage.models import Contract, ContractStatus, Customer

Values = dict[str, Any]

logger = logging.getLogger(__name__)

FLOW_NAME = "contract"
RENEWS = "renews"  # the contract a renewal renews: a value the flow is started with


def _never(_values: dict[str, Any]) -> bool:
    return False


def _not_a_renewal(values: dict[str, Any]) -> bool:
    """A renewal keeps the deal of the contract it renews."""
    return RENEWS not in values


async def _deals(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    """The picked customer's deals, won ones first (none until a customer is picked)."""
    customer = values.get("customer")
    if not isinstance(customer, dict):
        return []
    try:
        deals = await context.db.read(
            deals_to_contract, actor=context.require_member(), customer_id=picked_id(customer)
        )
    except NotFound:
        return []
    return [(str(d.id), d.title) for d in deals]


FIELDS = (
    replace(customer_field(), resets=("deal",)),  # the deal is the customer's
    Field("deal", suggest=_deals, when=_not_a_renewal),
    Field(
        "number",
        parse=cf.number,
        required=True,
        resolve=cf.free_number,
        default=cf.suggested_number,
    ),
    Field("title", parse=fp.text("title"), required=True),
    Field("amount", parse=fp.money, show=fp.show_money),
    Field(
        "signed_on",
        parse=fp.day("past"),
        choices=(Choice("today", "contract.date.today"),),
        show=fp.show_date,
    ),
    Field("starts_on", parse=cf.any_day, resolve=cf.start_before_end, show=fp.show_date),
    Field("ends_on", parse=cf.end, resolve=cf.end_after_start, show=fp.show_date),
    Field("terms", parse=fp.optional_text("notes")),
    Field("notice", parse=cf.notice_days, default=cf.default_notice, show=cf.show_notice),
    Field(
        "files",
        parse=cf.not_a_file,
        attach=cf.signed_file,
        skip_label="contract.button.files_done",
        show=cf.show_files,
    ),
    Field(RENEWS, when=_never),
)


def contract_data(context: CrmContext, values: dict[str, Any]) -> ContractCreate:
    """The answers as a contract: signed with a signing date, and already active when it has
    started; a draft without one."""
    money = fp.to_money(values.get("amount"))
    signed_on = fp.to_date(values.get("signed_on"))
    starts_on = fp.to_date(values.get("starts_on"))
    today = context.services.clock().astimezone(context.tz).date()
    notice = values.get("notice")
    return ContractCreate(
        customer_id=picked_id(values["customer"]),
        number=values["number"],
        title=values["title"],
        deal_id=picked_id(values["deal"]) if values.get("deal") else None,
        amount=money.amount if money else None,
        currency=money.currency if money else None,
        signed_on=signed_on,
        starts_on=starts_on,
        ends_on=fp.to_date(values.get("ends_on")),
        renewal_notice_days=notice if isinstance(notice, int) else None,
        terms=values.get("terms") or None,
        status=initial_status(signed_on, starts_on, today),
    )


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Contract | Refused]:
    data = contract_data(context, values)
    files = [
        AttachmentRef(kind, file_id, unique)
        for kind, file_id, unique, _ in values.get("files") or []
    ]
    actor = context.require_member()
    renews = values.get(RENEWS)
    call: StorageCall[Contract] = (
        StorageCall(
            renew_contract, actor=actor, contract_id=picked_id(renews), data=data, files=files
        )
        if isinstance(renews, dict)
        else StorageCall(create_contract, actor=actor, data=data, files=files)
    )
    return (
        call.or_if_refused(Refused("contract.number_taken_meanwhile"), DuplicateNumber)
        .or_if_refused(Refused("contract.renew_refused"), TransitionRefused)
        .or_if_missing(Refused("common.not_found"))
    )


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=after_save)


def renewal_values(contract: Contract, customer: Customer, deal_title: str | None) -> Values:
    """The new contract's answers, prefilled from the old one (`renewal_of`): the flow asks
    only the number, the signing date and the files, and the summary shows it all."""
    draft = renewal_of(contract, "-")
    values: Values = {
        "customer": {"id": str(customer.id), "label": customer_label(customer)},
        "title": draft.title,
        "terms": draft.terms,
        "notice": draft.renewal_notice_days,
        RENEWS: {"id": str(contract.id), "label": contract.number},
    }
    if draft.deal_id is not None and deal_title is not None:
        values["deal"] = {"id": str(draft.deal_id), "label": deal_title}
    if draft.amount is not None and draft.currency:
        values["amount"] = {"amount": str(draft.amount), "currency": draft.currency}
    for name in ("starts_on", "ends_on"):
        day = getattr(draft, name)
        values[name] = day.isoformat() if day else None
    return {name: value for name, value in values.items() if value is not None}


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_contract(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def contract_button(update: Update, context: CrmContext) -> None:
        """Open, files, sign, activate, renew or terminate: the id is checked first, and a
        contract the presser may not see gets the answer of an unknown one."""
        action = await button_data(update, context, ContractAction)
        if action is None:
            return
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        chat_id = update.effective_chat.id
        member = context.require_member()
        load = context.db.read(get_contract_view, actor=member, contract_id=action.contract_id)
        view = await guarded(update, context, load, answer=action.action not in cm.MOVES)
        if view is None:
            return
        contract = view.contract
        if action.action in cm.MOVES:
            await cm.move(update, context, action)
        elif action.action == "files":
            await cm.send_files(context, chat_id, action.contract_id)
        elif action.action == "renew" and contract.status in RENEWABLE:
            values = renewal_values(contract, view.customer, view.deal_title)
            await engine.start(update, context, FLOW_NAME, values=values)
        elif action.action == "sign" and contract.status == ContractStatus.DRAFT:
            picked = {"id": str(contract.id), "label": contract.number}
            await engine.start(update, context, cm.SIGN_FLOW.name, values={"contract": picked})
        elif action.action == "terminate" and contract.status in IN_FORCE:
            signed = contract.signed_on.isoformat() if contract.signed_on else None
            values = {"contract": {"id": str(contract.id), "label": contract.number}}
            await engine.start(
                update, context, cm.END_FLOW.name, values={**values, "signed_on": signed}
            )
        elif action.action == "open":
            await show_contract(context, chat_id, action.contract_id)
        else:  # sign, renew or terminate where the status no longer allows it
            await context.bot.send_message(chat_id, context.t("contract.move_refused"))

    return {
        "new_contract": new_contract,
        "contract_button": contract_button,
        "customer_contracts": cm.customer_contracts_page,
    }


FEATURE = Feature(
    name="contract",
    commands=(Command("contract", "new_contract"),),
    # edit / delete / restore / history belong to record maintenance (handlers.records.contracts)
    routes=(
        Route(
            ContractAction,
            "contract_button",
            ("open", "files", "sign", "activate", "renew", "terminate"),
        ),
        Route(CustomerAction, "customer_contracts", ("contracts",)),
    ),
    flows=(FLOW, cm.SIGN_FLOW, cm.END_FLOW),
    bind=bind,
)
