"""`/order`: records what a customer ordered, line by line, with its dates and number.

Asks the customer, then (optionally) one of the customer's deals and contracts, the lines:
one or several in a message ("50 x X2 @ 1200, 10 x cable @ 30", "50个X2 单价1200",
"X2 50台 1200元"), then "add another line?" until the member is done; a total typed directly
when no line has a price; the currency when the prices did not say; the order date (Today is
one tap; not after today), the promised delivery date (not before today, so never before
the order), and the number (Skip: the next suggested one, given
when the order is saved). The summary card echoes every line, the total and the dates;
nothing is saved before Save.

    /order -> customer -> deal? -> contract? -> lines -> another line? --yes--> lines
           --done--> total? (no prices) -> currency? (prices without one) -> order date
           -> delivery date? -> number? -> confirm --Save--> saved
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from telegram import Update

from handlers.context import CrmContext
from handlers.contract_fields import any_day
from handlers.customer_pick import customer_field, picked_id
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import AGAIN, Choice, Env, Field, Flow, Option, SaveWarning
from handlers.formatting import format_money, format_number
from handlers.order_dates import due_ahead
from storage.calls import StorageCall
from storage.contracts import list_contracts
from storage.customers import get_customer
from storage.models import Order
from storage.order_lines import parse_currency, parse_order_lines
from storage.orders import (
    OrderCreate,
    OrderLineCreate,
    create_order,
    list_deals_to_link,
    order_number_taken,
)
from storage.parsing import Money, ParseError, clean_text

logger = logging.getLogger(__name__)

FLOW_NAME = "order"
CURRENCIES = ("CNY", "USD", "EUR", "HKD", "GBP")
DONE_WORDS = frozenset({"done", "no", "that's all", "完成", "没有了", "不用了", "好了"})
MORE_WORDS = frozenset({AGAIN, "yes", "add", "more", "继续", "再加", "还有"})
MAX_NUMBER = 64


# --- reading the answers ----------------------------------------------------------------------


def _lines(text: str, _env: Env) -> list[dict[str, str | None]] | ParseError:
    parsed = parse_order_lines(text)
    if isinstance(parsed, ParseError):
        return parsed
    return [
        {
            "product": line.product,
            "quantity": None if line.quantity is None else str(line.quantity),
            "unit_price": None if line.unit_price is None else str(line.unit_price),
            "currency": line.currency,
        }
        for line in parsed
    ]


def _more(text: str, _env: Env) -> str | None | ParseError:
    """Another line (`AGAIN`) or done (no answer kept, so the summary does not list it)."""
    typed = text.strip().casefold()
    if typed in MORE_WORDS:
        return AGAIN
    if typed in DONE_WORDS:
        return None
    return ParseError("flow.pick_a_button")


def _currency(text: str, _env: Env) -> str | ParseError:
    return parse_currency(text)


def _currency_choices(env: Env) -> tuple[Choice, ...]:
    codes = dict.fromkeys((env.currency, *CURRENCIES))
    return tuple(Choice(code, f"order.currency.{code}") for code in codes)


def _number(text: str, _env: Env) -> str | ParseError:
    number = clean_text(text).strip()
    if not number:
        return ParseError("parse.text.empty")
    if len(number) > MAX_NUMBER:
        return ParseError(
            "parse.text.too_long", {"max": str(MAX_NUMBER), "length": str(len(number))}
        )
    return number


async def _number_free(context: CrmContext, values: dict[str, Any]) -> SaveWarning | None:
    """A number already used (by a deleted order too) is asked again: numbers are unique."""
    number = values.get("number")
    if not number or not await context.db.read(order_number_taken, number=number):
        return None
    text = context.t("order.number_taken", number=number)
    return SaveWarning(text, keys=(f"number:{number}",), forcible=False)


# --- what applies -----------------------------------------------------------------------------


def _priced(values: dict[str, Any]) -> bool:
    return any(line.get("unit_price") for line in values.get("lines") or [])


def _line_currency(values: dict[str, Any]) -> str | None:
    return next((ln["currency"] for ln in values.get("lines") or [] if ln.get("currency")), None)


def _has_lines(values: dict[str, Any]) -> bool:
    return bool(values.get("lines"))


def asks_currency(values: dict[str, Any]) -> bool:
    return _priced(values) and _line_currency(values) is None


def asks_total(values: dict[str, Any]) -> bool:
    return not _priced(values)


async def _customer_deals(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    found = await context.db.read(
        list_deals_to_link,
        actor=context.require_member(),
        customer_id=picked_id(values["customer"]),
    )
    return [(str(d.id), d.title) for d in found]


async def _customer_contracts(context: CrmContext, values: dict[str, Any]) -> list[Option]:
    found = await context.db.read(
        list_contracts, actor=context.require_member(), customer_id=picked_id(values["customer"])
    )
    return [(str(c.id), f"{c.number} · {c.title}") for c in found]


# --- showing them -----------------------------------------------------------------------------


def _line_text(line: dict[str, Any], context: CrmContext) -> str:
    lang = context.language
    quantity = line.get("quantity")
    text = line["product"]
    if quantity:
        text = f"{format_number(Decimal(quantity), lang=lang)} × {text}"
    if line.get("unit_price"):
        price = Decimal(line["unit_price"])
        amount = price * Decimal(quantity or 1)
        text += f" @ {format_number(price, lang=lang)} = {format_number(amount, lang=lang)}"
    return text


def _show_lines(value: list[dict[str, Any]], context: CrmContext) -> str:
    return "".join(f"\n  • {_line_text(line, context)}" for line in value)


def _order_money(values: dict[str, Any], env_currency: str) -> Money | None:
    if _priced(values):
        currency = _line_currency(values) or values.get("currency") or env_currency
        total = sum(
            (
                Decimal(ln["unit_price"]) * Decimal(ln.get("quantity") or 1)
                for ln in values["lines"]
                if ln.get("unit_price")
            ),
            Decimal(0),
        )
        return Money(total, currency)
    return fp.to_money(values.get("total"))


def _summary_extra(context: CrmContext, values: dict[str, Any]) -> list[str]:
    lines = []
    money = _order_money(values, context.services.config.locale.currency)
    if money is not None and _priced(values):
        total = format_money(money, lang=context.language)
        lines.append(
            context.t("flow.summary_line", label=context.t("order.field.total"), value=total)
        )
    if not values.get("number"):
        lines.append(context.t("order.number_at_save"))
    return lines


FIELDS = (
    customer_field(),
    Field("deal", suggest=_customer_deals),
    Field("contract", suggest=_customer_contracts),
    Field("lines", parse=_lines, required=True, accumulate=True, show=_show_lines),
    Field(
        "more",
        parse=_more,
        choices=(Choice(AGAIN, "order.more.again"), Choice("done", "order.more.done")),
        repeat="lines",
        when=_has_lines,
    ),
    Field("total", parse=fp.money, show=fp.show_money, when=asks_total),
    Field(
        "currency", parse=_currency, choices=_currency_choices, when=asks_currency, required=True
    ),
    Field(
        "ordered_on",
        parse=fp.day("past"),
        choices=(Choice("today", "order.date.today"),),
        required=True,
        show=fp.show_date,
    ),
    Field("delivery_due_on", parse=any_day, resolve=due_ahead, show=fp.show_date),
    Field("number", parse=_number, check=_number_free),
)


def line_creates(values: dict[str, Any]) -> tuple[OrderLineCreate, ...]:
    """The answered lines as storage takes them (the entry's and the edit's)."""
    return tuple(
        OrderLineCreate(
            product=line["product"],
            quantity=Decimal(line["quantity"]) if line.get("quantity") else None,
            unit_price=Decimal(line["unit_price"]) if line.get("unit_price") else None,
        )
        for line in values["lines"]
    )


def lines_money(values: dict[str, Any], team_currency: str) -> tuple[Decimal | None, str | None]:
    """The typed total (none with priced lines) and the currency the lines' answers give."""
    money = _order_money(values, team_currency)
    total = None if _priced(values) or money is None else money.amount
    return total, money.currency if money else None


def _save(
    context: CrmContext, values: dict[str, Any], _attachments: list[list[str]]
) -> StorageCall[Order]:
    total, currency = lines_money(values, context.services.config.locale.currency)
    ordered_on = fp.to_date(values["ordered_on"])
    assert ordered_on is not None
    data = OrderCreate(
        customer_id=picked_id(values["customer"]),
        ordered_on=ordered_on,
        lines=line_creates(values),
        total=total,
        currency=currency,
        number=values.get("number") or None,
        deal_id=picked_id(values["deal"]) if values.get("deal") else None,
        contract_id=picked_id(values["contract"]) if values.get("contract") else None,
        delivery_due_on=fp.to_date(values.get("delivery_due_on")),
    )
    return StorageCall(
        create_order,
        actor=context.require_member(),
        data=data,
        number_pattern=context.services.config.orders.number_pattern,
    )


async def _after_save(context: CrmContext, chat_id: int, order: Order) -> None:
    actor = context.require_member()
    customer = await context.db.read(get_customer, actor=actor, customer_id=order.customer_id)
    text = context.t("order.saved", number=order.number, customer=customer_label(customer))
    if order.total is not None and order.currency:
        total = format_money(Money(order.total, order.currency), lang=context.language)
        text += "\n" + context.t("order.saved_total", total=total)
    await context.bot.send_message(chat_id, text)


FLOW = Flow(
    name=FLOW_NAME,
    fields=FIELDS,
    save=_save,
    after_save=_after_save,
    summary_extra=_summary_extra,
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_order(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    return {"new_order": new_order}


FEATURE = Feature(
    name="order", commands=(Command("order", "new_order"),), flows=(FLOW,), bind=bind
)
