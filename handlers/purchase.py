"""`/purchase`: records what a customer bought, and shows what they have bought in total.

The one-tap shortcut of `/order`: what it saves is an order delivered and paid, with one line
(storage/purchases.py), so the customer's orders stay the one list of what they bought.

Asks the customer (by search, or prefilled from a customer's "Purchase" button or a won
deal's "Record purchase"), the product (required), quantity and amount (both skippable) and
the date (required; "Today" is one tap). Started from a deal, the purchase is linked to it:
the deal rides along as a value the flow never asks.

    /purchase -> customer -> product -> quantity -> amount -> date -> confirm --Save-->
              saved, with the customer's purchases total
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from telegram import Update

from handlers.context import CrmContext
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Field, Flow
from handlers.formatting import format_money
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.models import Order
from storage.orders import orders_total
from storage.parsing import Money
from storage.purchases import PurchaseCreate, create_purchase

logger = logging.getLogger(__name__)

FLOW_NAME = "purchase"


def _never(_values: dict[str, Any]) -> bool:
    """The deal comes with the flow when started from a deal's button; it is never asked."""
    return False


FIELDS = (
    customer_field(),
    Field("product", parse=fp.text("product"), required=True),
    Field("quantity", parse=fp.quantity),
    Field("amount", parse=fp.money, show=fp.show_money),
    Field(
        "date",
        parse=fp.day("past"),
        choices=(Choice("today", "purchase.date.today"),),
        required=True,
        show=fp.show_date,
    ),
    Field("deal", when=_never),
)


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Order]:
    money = fp.to_money(values.get("amount"))
    quantity = values.get("quantity")
    purchased_on = fp.to_date(values["date"])
    assert purchased_on is not None
    data = PurchaseCreate(
        customer_id=picked_id(values["customer"]),
        product=values["product"],
        purchased_on=purchased_on,
        quantity=Decimal(quantity) if quantity else None,
        amount=money.amount if money else None,
        currency=money.currency if money else None,
        deal_id=picked_id(values["deal"]) if values.get("deal") else None,
    )
    return StorageCall(
        create_purchase,
        actor=context.require_member(),
        data=data,
        number_pattern=context.services.config.orders.number_pattern,
    )


async def _after_save(context: CrmContext, chat_id: int, purchase: Order) -> None:
    """Confirm, with what the customer has bought so far (per currency)."""
    actor = context.require_member()
    customer = await context.db.read(get_customer, actor=actor, customer_id=purchase.customer_id)
    totals = await context.db.read(orders_total, actor=actor, customer_id=purchase.customer_id)
    lines = [context.t("purchase.saved", id=purchase.id, customer=customer_label(customer))]
    if totals:
        shown = ", ".join(
            format_money(Money(amount, currency), lang=context.language)
            for currency, amount in totals.items()
        )
        lines.append(context.t("purchase.total", total=shown))
    await context.bot.send_message(chat_id, "\n".join(lines))


FLOW = Flow(name=FLOW_NAME, fields=FIELDS, save=_save, after_save=_after_save)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_purchase(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    return {"new_purchase": new_purchase}


FEATURE = Feature(
    name="purchase", commands=(Command("purchase", "new_purchase"),), flows=(FLOW,), bind=bind
)
