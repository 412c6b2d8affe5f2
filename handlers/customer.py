"""`/newcustomer`: records a customer step by step, or from a shared contact card.

Asks the name (required), then phones, email, company, position, industry, region, gender,
birthday, source, category, tags and needs, each skippable, with "Review" to jump to the
summary once the name is in. A photo sent meanwhile (a business card, a storefront) is
attached. Duplicates (same phone or email, a similar name at the company) are checked right
after each of those answers and again at Save (another may have been added meanwhile).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import filters

from handlers.callback_data import CustomerAction
from handlers.context import CrmContext
from handlers.customer_pick import label as customer_label
from handlers.feature import Callback, Command, Feature, OnMessage, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Field, Flow, SaveWarning
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import button_data, guarded
from storage.access import NotFound
from storage.calls import StorageCall
from storage.customers import (
    CATEGORIES,
    GENDERS,
    SOURCES,
    CustomerCreate,
    DuplicateMatch,
    create_customer,
    find_duplicates,
    get_customer,
    list_phones,
)
from storage.models import Customer
from storage.parsing import MAX_LENGTHS, ParseError, parse_name, parse_phones

FLOW_NAME = "customer"


def _choices(prefix: str, values: tuple[str, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(value, f"customer.{prefix}.{value}") for value in values)


Check = Callable[[CrmContext, dict[str, Any]], Awaitable[SaveWarning | None]]


def duplicate_check(*criteria: str, open_key: str = "customer.dup.open") -> Check:
    """The duplicate check on some of the answers: "phones", "email", "name" (a look-alike
    name at the same company). A field checks what it asked, so Change it asks the field
    that matched; Save checks all three."""

    async def check(context: CrmContext, values: dict[str, Any]) -> SaveWarning | None:
        name = values.get("name") or ""
        phones = (values.get("phones") or []) if "phones" in criteria else []
        email = (values.get("email") or None) if "email" in criteria else None
        company = (values.get("company") or None) if "name" in criteria and name else None
        if not (phones or email or company):
            return None  # nothing to compare yet (a name before its company): no query
        matches = await context.db.read(
            find_duplicates,
            actor=context.require_member(),
            phones=phones,
            email=email,
            name=name,
            company=company,
        )
        return duplicate_warning(context, matches, open_key)

    return check


FIELDS = (
    Field("name", parse=fp.name, required=True, check=duplicate_check("name")),
    Field(
        "phones",
        parse=fp.phones,
        show=fp.show_phones,
        notice=fp.phones_notice,
        accepts_contact=True,
        check=duplicate_check("phones"),
    ),
    Field("email", parse=fp.email, check=duplicate_check("email")),
    Field("company", parse=fp.text("company"), check=duplicate_check("name")),
    Field("position", parse=fp.text("position")),
    *(
        Field(
            name,
            parse=fp.standard(name),
            notice=fp.standard_notice(name),
            show=fp.show_standard(name),
        )
        for name in ("industry", "region")
    ),
    Field("gender", choices=_choices("gender", GENDERS)),
    Field("birthday", parse=fp.birthday, show=fp.show_birthday),
    Field("source", choices=_choices("source", SOURCES)),
    Field("category", choices=_choices("category", CATEGORIES)),
    Field("tags", parse=fp.tags),
    Field("needs", parse=fp.text("needs")),
)


def customer_data(values: dict[str, Any], attachments: list[list[str]]) -> CustomerCreate:
    """The customer the entry's answers make: also a /log's new customer (`quick_log`)."""
    birthday = values.get("birthday") or {}
    return CustomerCreate(
        name=values["name"],
        phones=values.get("phones") or [],
        email=values.get("email"),
        company=values.get("company"),
        position=values.get("position"),
        industry=values.get("industry"),
        region=values.get("region"),
        gender=values.get("gender"),
        birthday_month=birthday.get("month"),
        birthday_day=birthday.get("day"),
        birthday_year=birthday.get("year"),
        source=values.get("source"),
        category=values.get("category"),
        tags=values.get("tags") or [],
        needs=values.get("needs"),
        photos=[(file_id, unique) for kind, file_id, unique in attachments if kind == "photo"],
    )


def _save(
    context: CrmContext, values: dict[str, Any], attachments: list[list[str]]
) -> StorageCall[Customer]:
    data = customer_data(values, attachments)
    return StorageCall(create_customer, actor=context.require_member(), data=data)


async def _after_save(context: CrmContext, chat_id: int, customer: Customer) -> None:
    assert customer.id is not None
    await context.bot.send_message(
        chat_id,
        context.t("customer.saved", name=customer.name, id=customer.id),
        reply_markup=next_steps_keyboard(context, customer.id),
    )


def next_steps_keyboard(context: CrmContext, customer_id: int) -> InlineKeyboardMarkup | None:
    """What a salesperson usually does next with a customer."""
    return inline_keyboard(
        [
            [
                (context.t("customer.button.note"), CustomerAction("note", customer_id)),
                (context.t("customer.button.deal"), CustomerAction("deal", customer_id)),
            ],
            [(context.t("customer.button.purchase"), CustomerAction("purchase", customer_id))],
        ]
    )


def duplicate_warning(
    context: CrmContext, matches: list[DuplicateMatch], open_key: str = "customer.dup.open"
) -> SaveWarning | None:
    """The matches the member may see, to open; a colleague's, named only by its owner. The
    header says whose customer it is: "you already have" only when every match is one's own."""
    if not matches:
        return None
    others = list(dict.fromkeys(m.owner_name for m in matches if not m.own))
    title = (
        context.t("customer.dup.title_of", owner=", ".join(others))
        if others
        else context.t("customer.dup.title")
    )
    lines = [title]
    options = []
    for match in matches:
        if match.visible:
            lines.append(
                context.t(
                    f"customer.dup.{match.reason}", name=match.name, company=match.company or "—"
                )
            )
            options.append((str(match.customer_id), context.t(open_key, name=match.name)))
        else:
            lines.append(context.t(f"customer.dup.{match.reason}_other", owner=match.owner_name))
    return SaveWarning("\n".join(lines), options, tuple(str(m.customer_id) for m in matches))


async def show_customer(context: CrmContext, chat_id: int, customer_id: str) -> None:
    """A short card of an existing customer (the duplicate the member chose to open)."""
    try:
        customer = await context.db.read(
            get_customer, actor=context.require_member(), customer_id=int(customer_id)
        )
    except NotFound:
        await context.bot.send_message(chat_id, context.t("common.not_found"))
        return
    phones = await context.db.read(list_phones, customer_id=int(customer_id))
    lines = [f"<b>{html.escape(customer.name, quote=False)}</b> #{customer.id}"]
    if customer.company:
        lines.append(html.escape(customer.company))
    if phones:
        lines.append(fp.show_phones(phones, context))
    if customer.email:
        lines.append(html.escape(customer.email))
    await context.bot.send_message(chat_id, "\n".join(lines))


FLOW = Flow(
    name=FLOW_NAME,
    fields=FIELDS,
    save=_save,
    after_save=_after_save,
    check=duplicate_check("phones", "email", "name"),
    open_record=show_customer,
    accepts_photos=True,
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def new_customer(update: Update, context: CrmContext) -> None:
        await engine.start(update, context, FLOW_NAME)

    async def customer_button(update: Update, context: CrmContext) -> None:
        """Start a note, deal, purchase or contract for this customer (the flow of the same
        name): the id is checked like any other."""
        action = await button_data(update, context, CustomerAction)
        if action is None:
            return
        load = context.db.read(
            get_customer, actor=context.require_member(), customer_id=action.customer_id
        )
        found = await guarded(update, context, load)
        if found is None:
            return
        picked = {"id": str(action.customer_id), "label": customer_label(found)}
        await engine.start(update, context, action.action, values={"customer": picked})

    async def from_contact(update: Update, context: CrmContext) -> None:
        """A shared or forwarded contact card starts a customer with its name and phone."""
        assert update.message is not None
        contact = update.message.contact
        assert contact is not None
        # a contact named only "😀" asks for the name instead of prefilling it
        full = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        name = parse_name(full[: MAX_LENGTHS["name"]])
        values: dict[str, Any] = {"name": name} if isinstance(name, str) else {}
        parsed = parse_phones(
            contact.phone_number, region=context.services.config.locale.default_region
        )
        if not isinstance(parsed, ParseError):
            values["phones"] = parsed
        await engine.start(update, context, FLOW_NAME, values=values)

    return {
        "new_customer": new_customer,
        "customer_button": customer_button,
        "from_contact": from_contact,
    }


FEATURE = Feature(
    name="customer",
    commands=(Command("newcustomer", "new_customer"),),
    # open / remind / history / more belong to the card (handlers.customer_card), edit /
    # delete / restore / merge / reassign to record maintenance (handlers.records.customers)
    routes=(Route(CustomerAction, "customer_button", ("note", "deal", "purchase", "contract")),),
    messages=(OnMessage(filters.ChatType.PRIVATE & filters.CONTACT, "from_contact"),),
    flows=(FLOW,),
    bind=bind,
)
