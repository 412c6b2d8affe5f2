"""A contract's card: number, title, customer, deal, amount, dates, status, terms, renewal
notice, the contracts it renews and that renewed it, and the buttons its status allows.

The first line names the contract by its number only: a first line ending in "#<id>" is a
customer card, which a reply turns into a note (handlers/customer_card.py).
"""

from __future__ import annotations

from datetime import date

from telegram import InlineKeyboardMarkup

from handlers.callback_data import ContractAction
from handlers.context import CrmContext
from handlers.customer_pick import label as customer_label
from handlers.deal import Refused
from handlers.formatting import clip, format_date, format_money
from handlers.keyboards import inline_keyboard
from handlers.text_limits import fit_html
from storage.access import NotFound
from storage.contract_views import ContractView, CustomerContracts, get_contract_view
from storage.contracts import IN_FORCE, RENEWABLE
from storage.models import Contract, ContractStatus
from storage.parsing import Money


def _day(context: CrmContext, day: date | None) -> str:
    return format_date(day, lang=context.language) if day else context.t("contract.card_empty")


def status_label(context: CrmContext, status: str) -> str:
    return context.t(f"contract.status.{status}")


def contract_text(context: CrmContext, view: ContractView) -> str:
    contract = view.contract
    empty = context.t("contract.card_empty")
    amount = _amount(context, contract)
    lines = [
        context.t(
            "contract.card",
            number=contract.number,
            title=contract.title,
            customer=customer_label(view.customer),
            deal=view.deal_title or empty,
            amount=amount,
            status=status_label(context, contract.status),
            signed=_day(context, contract.signed_on),
            starts=_day(context, contract.starts_on),
            ends=_day(context, contract.ends_on),
        )
    ]
    if contract.renewal_notice_days is not None:
        lines.append(context.t("contract.card_notice", count=contract.renewal_notice_days))
    if contract.terms:
        lines.append(context.t("contract.card_terms", terms=contract.terms))
    if contract.status == ContractStatus.TERMINATED:
        lines.append(
            context.t(
                "contract.card_terminated",
                day=_day(context, contract.terminated_on),
                reason=contract.termination_reason or empty,
            )
        )
    if view.renewed_from is not None:
        lines.append(context.t("contract.card_renews", number=view.renewed_from.number))
    if view.renewed_by is not None:
        lines.append(context.t("contract.card_renewed_by", number=view.renewed_by.number))
    if view.files:
        lines.append(context.t("contract.card_files", count=view.files))
    return fit_html("\n".join(lines))


def contract_keyboard(context: CrmContext, view: ContractView) -> InlineKeyboardMarkup | None:
    """What the status allows, then the links, Edit and History, and Delete last."""
    contract = view.contract
    assert contract.id is not None
    contract_id = contract.id

    def button(key: str, action: str, target: int = contract_id) -> tuple[str, ContractAction]:
        return context.t(key), ContractAction(action, target)

    moves: list[tuple[str, ContractAction]] = []
    if contract.status == ContractStatus.DRAFT:
        moves.append(button("contract.button.sign", "sign"))
    if contract.status == ContractStatus.SIGNED:
        moves.append(button("contract.button.activate", "activate"))
    if contract.status in RENEWABLE:
        moves.append(button("contract.button.renew", "renew"))
    if contract.status in IN_FORCE:
        moves.append(button("contract.button.terminate", "terminate"))
    links: list[tuple[str, ContractAction]] = []
    if view.files:
        links.append(button("contract.button.files", "files"))
    if view.renewed_from is not None:
        links.append(
            (
                context.t("contract.button.link", number=view.renewed_from.number),
                ContractAction("open", view.renewed_from.id),
            )
        )
    if view.renewed_by is not None:
        links.append(
            (
                context.t("contract.button.link", number=view.renewed_by.number),
                ContractAction("open", view.renewed_by.id),
            )
        )
    return inline_keyboard(
        [
            moves,
            links,
            [button("contract.button.edit", "edit"), button("contract.button.history", "history")],
            [button("contract.button.delete", "delete")],
        ]
    )


CARD_CONTRACTS = 5  # contracts in force listed on a customer's card


def _amount(context: CrmContext, contract: Contract) -> str:
    if contract.amount is None or not contract.currency:
        return context.t("contract.card_empty")
    return format_money(Money(contract.amount, contract.currency), lang=context.language)


def contract_line(context: CrmContext, contract: Contract) -> str:
    """One contract in a list: number, title, amount, status and end."""
    return context.t(
        "contract.line",
        number=contract.number,
        title=clip(contract.title, 60),
        amount=_amount(context, contract),
        status=status_label(context, contract.status),
        ends=_day(context, contract.ends_on),
    )


def contract_lines(context: CrmContext, contracts: CustomerContracts) -> list[str]:
    """The customer card's contracts: those in force, and the total contracted."""
    if not contracts.count:
        return []
    lines = ["", context.t("contract.on_card.title")]
    lines += [contract_line(context, c) for c in contracts.in_force]
    if contracts.in_force_count > len(contracts.in_force):
        more = contracts.in_force_count - len(contracts.in_force)
        lines.append(context.t("contract.on_card.more", count=more))
    if not contracts.in_force:
        lines.append(context.t("contract.on_card.none_in_force"))
    if contracts.totals:
        total = ", ".join(
            format_money(Money(amount, currency), lang=context.language)
            for currency, amount in contracts.totals.items()
        )
        lines.append(context.t("contract.on_card.total", total=total))
    return lines


async def show_contract(context: CrmContext, chat_id: int, contract_id: int) -> None:
    """The card, or the one "not found" for a missing, deleted or foreign contract."""
    try:
        view = await context.db.read(
            get_contract_view, actor=context.require_member(), contract_id=contract_id
        )
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    await context.bot.send_message(
        chat_id, contract_text(context, view), reply_markup=contract_keyboard(context, view)
    )


async def after_save(context: CrmContext, chat_id: int, saved: Contract | Refused) -> None:
    """The saved contract's card, or what storage refused instead (nothing was written)."""
    if isinstance(saved, Refused):
        await context.bot.send_message(chat_id, context.t(saved.key))
        return
    assert saved.id is not None
    await show_contract(context, chat_id, saved.id)
