"""`/log <text>`: a whole note in one message, read without AI, confirmed on one card.

`/log Met Zhang Wei at Acme, 138 0013 8000, budget 50k, follow up next Tue 3pm` (or
`/log 拜访了Acme的张伟，电话13800138000，预算5万，下周二下午3点跟进`) is read by
`handlers.quick_log_parse`. The customer is the member's existing one with the same phone or
email (or a similar name at that company, or exactly that name); otherwise a new customer
with the name, company, phone and email found. The card shows the customer, the note (the
whole text, "visit" if it says so, else "meeting"), the amount (a deal) and the follow-up;
what was not found shows as "—" and can be added with Edit. A follow-up dated in the past
("follow up yesterday 3pm") is said to have passed and asked again before the card. A new
customer whose phone or email another member's customer has gets the duplicate warning
(naming only the owner) at once, and again at Save. Nothing is saved before Save, which
then creates the customer (if new), the note, the deal and the reminder in one
transaction; a visit then asks how satisfied the customer is, as /note does. If no customer
can be told from the text, the card first asks which one.

A new customer is held to the team's required fields (`[quality] required.customer`): the
ones the message did not give are asked before the card, without Skip, with the entry's
questions (`handlers.records.gaps`). The default requires only the name, which /log always
asks, so a team without its own list sees no extra question. A deal (an amount was said) is
held to `[quality] required.deal` the same way: /log sets its title, stage and amount, and
asks the other required ones (a close date, a probability...) after the customer's.

The customer questions come last in the flow: after an answer the engine moves to the next
field even when it is prefilled, so only prefilled-free steps may follow one that is asked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from telegram import Update

from handlers import customer_pick
from handlers.context import CrmContext
from handlers.customer import FIELDS as CUSTOMER_FIELDS
from handlers.customer import Check, customer_data, duplicate_check
from handlers.deal import FIELDS as DEAL_FIELDS
from handlers.deal import deal_details
from handlers.feature import Callback, Command, Feature
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Choice, Env, Field, Flow, SaveWarning, env_of, is_empty
from handlers.formatting import format_phone, region_name
from handlers.note import (
    FOLLOW_UP_CHOICES,
    KIND_CHOICES,
    NOW,
    ask_after_visit,
    follow_up,
    follow_up_of,
    hidden,
    note_data,
    request_keyboard,
)
from handlers.note import saved_text as note_saved_text
from handlers.quick_log_parse import QuickLog, command_text, parse_quick_log
from handlers.records.gaps import GAPS_KEY, asked_if_missing
from storage.access import NotFound
from storage.calls import StorageCall
from storage.customers import (
    CustomerCreate,
    find_duplicates,
    get_customer,
)
from storage.dates import When
from storage.deals import DealCreate
from storage.models import Customer
from storage.notes import LogSaved, create_logged_note
from storage.parsing import MAX_LENGTHS, clean_text
from storage.quality.rules import FLOW_FIELD
from storage.search.find import find_customers

FLOW_NAME = "quick_log"
NOT_GIVEN = False  # an optional answer the message did not contain: shown as "—", editable
_MATCH_ORDER = ("phone", "email", "name")
_READ = ("name", "company", "phones", "email")  # the customer fields a message may give
USE_IT = "quick_log.dup.use"  # the duplicate warning's button for one's own customer
DEAL_GAPS_KEY = "_deal_gaps"  # hidden: the deal's required fields the message did not give
_DEAL_SET = ("customer", "title", "stage", "amount")  # what /log gives a deal itself


def _or_not_given(show: fp.Show | None = None) -> fp.Show:
    def display(value: Any, context: CrmContext) -> str:
        if value is NOT_GIVEN:
            return context.t("quick_log.not_given")
        return show(value, context) if show else str(value)

    return display


def _existing(values: dict[str, Any]) -> bool:
    return not values.get("name")


def _new(values: dict[str, Any]) -> bool:
    return values.get("customer") is None


def _makes_deal(values: dict[str, Any]) -> bool:
    """An amount was said (or added on the card): Save creates a deal."""
    return bool(values.get("amount"))


def _if_new(check: Check) -> Check:
    """A new customer with the phone or email of an existing one, a colleague's included
    (named by its owner only): the entry flow's warning instead of a second customer."""

    async def checked(context: CrmContext, values: dict[str, Any]) -> SaveWarning | None:
        return await check(context, values) if _new(values) else None

    return checked


async def _adopt(context: CrmContext, values: dict[str, Any], customer_id: str) -> None:
    """Log it onto <name>: the member's customer the warning named, not a new one."""
    try:
        customer = await context.db.read(
            get_customer, actor=context.require_member(), customer_id=int(customer_id)
        )
    except NotFound:
        return  # gone meanwhile: the card stays as it was, Save checks again
    values["customer"] = {"id": str(customer.id), "label": customer_pick.label(customer)}
    for key in ("name", "company", "phones", "email"):
        values.pop(key, None)


FIELDS = (
    Field("summary", parse=fp.text("summary"), required=True),
    Field("kind", required=True, choices=KIND_CHOICES),
    Field(
        "happened",
        parse=fp.when("past"),
        required=True,
        choices=(Choice(NOW, "note.happened.now"),),
        show=fp.show_when,
    ),
    Field("amount", parse=fp.money, show=_or_not_given(fp.show_money)),
    Field(
        "follow_up",
        parse=follow_up,
        choices=FOLLOW_UP_CHOICES,
        show=_or_not_given(fp.show_when),
    ),
    dataclasses.replace(customer_pick.customer_field(), when=_existing),
    Field("name", parse=fp.name, required=True, when=_new),
    Field(
        "company",
        parse=fp.text("company"),
        show=_or_not_given(),
        when=_new,
        check=_if_new(duplicate_check("name", open_key=USE_IT)),
    ),
    Field(
        "phones",
        parse=fp.phones,
        show=_or_not_given(fp.show_phones),
        notice=fp.phones_notice,
        when=_new,
        check=_if_new(duplicate_check("phones", open_key=USE_IT)),
    ),
    Field(
        "email",
        parse=fp.email,
        show=_or_not_given(),
        when=_new,
        check=_if_new(duplicate_check("email", open_key=USE_IT)),
    ),
    Field("deal_title", when=hidden),  # what the customer wants, if the message says
    # the team's required fields a message never gives (source, region...), if new
    *asked_if_missing((f for f in CUSTOMER_FIELDS if f.name not in _READ), also=_new),
    # the deal's required fields, if it makes one: asked only when required, so without Skip
    *asked_if_missing(
        (dataclasses.replace(f, required=True) for f in DEAL_FIELDS if f.name not in _DEAL_SET),
        also=_makes_deal,
        key=DEAL_GAPS_KEY,
    ),
)


# --- reading the message -----------------------------------------------------------------------


def _when_value(when: When | None) -> dict[str, Any] | bool:
    return NOT_GIVEN if when is None else {"at": when.at.isoformat(), "has_time": when.has_time}


async def match_customer(context: CrmContext, found: QuickLog) -> Customer | None:
    """The member's customer with this phone or email (or a look-alike name at the company),
    else the only one with exactly this name."""
    actor = context.require_member()
    matches = await context.db.read(
        find_duplicates,
        actor=actor,
        phones=list(found.phones),
        email=found.email,
        name=found.name or "",
        company=found.company if found.name else None,
    )
    visible = sorted((m for m in matches if m.visible), key=lambda m: _MATCH_ORDER.index(m.reason))
    if visible:
        customer: Customer = await context.db.read(
            get_customer, actor=actor, customer_id=visible[0].customer_id
        )
        return customer
    if found.name:
        named = await context.db.read(find_customers, actor=actor, query=found.name)
        exact = [c for c in named if c.name.casefold() == found.name.casefold()]
        if len(exact) == 1:
            return exact[0]
    return None


async def prefill(context: CrmContext, found: QuickLog, env: Env) -> dict[str, Any]:
    """The flow's answers from what the message says; customer fields from the match."""
    happened = found.happened or When(at=env.now, has_time=True)
    values: dict[str, Any] = {
        "summary": found.text,  # at most one message long: never cut
        "kind": found.kind,
        "happened": _when_value(happened),
        "amount": NOT_GIVEN
        if found.amount is None
        else {"amount": str(found.amount.amount), "currency": found.amount.currency},
        "follow_up": _when_value(found.follow_up),
        "deal_title": found.deal_title,
    }
    if (customer := await match_customer(context, found)) is not None:
        values["customer"] = {"id": str(customer.id), "label": customer_pick.label(customer)}
    elif found.name:
        read = {
            "name": found.name[: MAX_LENGTHS["name"]],
            "company": found.company,
            "phones": list(found.phones),
            "email": found.email,
        }
        required = [
            FLOW_FIELD.get(n, n) for n in context.services.quality.required_for("customer")
        ]
        gaps = [name for name in required if not read.get(name)]
        # a required field not read stays empty, so it is asked (without Skip)
        values |= {k: v or (None if k in gaps else NOT_GIVEN) for k, v in read.items()}
        if gaps:
            values[GAPS_KEY] = gaps
    quality = context.services.quality
    deal_gaps = [FLOW_FIELD.get(n, n) for n in quality.required_for("deal")]
    deal_gaps = [name for name in deal_gaps if name not in _DEAL_SET]
    if deal_gaps:  # asked if a deal is made; left empty (not "—") until then
        values |= {DEAL_GAPS_KEY: deal_gaps, **dict.fromkeys(deal_gaps)}
    return values


def _gaps_notice(context: CrmContext, values: dict[str, Any]) -> str:
    """Why questions come before the card: the team requires what the message lacks, of
    the new customer and of the deal an amount makes."""
    notices = []
    for key, notice, applies in (
        (GAPS_KEY, "quick_log.gaps.notice", True),
        (DEAL_GAPS_KEY, "quick_log.deal_gaps.notice", _makes_deal(values)),
    ):
        if gaps := values.get(key) if applies else None:
            names = context.t("quick_log.gaps.joiner").join(
                context.t(f"{FLOW_NAME}.field.{name}") for name in gaps
            )
            notices.append(context.t(notice, fields=names))
    return "\n".join(notices)


# --- saving ----------------------------------------------------------------------------------


def _save(
    context: CrmContext, values: dict[str, Any], attachments: list[list[str]]
) -> StorageCall[LogSaved]:
    customer: int | CustomerCreate
    if values.get("customer"):
        customer = customer_pick.picked_id(values["customer"])
    else:
        # with the required fields asked after the message, if any; the photos are the note's
        given = {k: v for k, v in values.items() if v is not NOT_GIVEN and not is_empty(v)}
        customer = customer_data(given, [])
    money = fp.to_money(values.get("amount") or None)
    deal = None
    if money is not None:
        deal = DealCreate(
            customer_id=0,  # the customer's, set by create_logged_note
            # what was wanted, else whom it is with: never the amount alone
            title=values.get("deal_title")
            or values.get("name")
            or values["customer"]["label"][: MAX_LENGTHS["title"]],
            stage=context.services.config.deals.stages[0],
            amount=money.amount,
            currency=money.currency,
            **deal_details(values),  # the required ones asked; the others not given
        )
    return StorageCall(
        create_logged_note,
        actor=context.require_member(),
        customer=customer,
        note=note_data(values, attachments, customer_id=0),  # set there too
        follow_up=follow_up_of(values),
        deal=deal,
    )


async def _after_save(context: CrmContext, chat_id: int, saved: LogSaved) -> None:
    lines = []
    if saved.new_customer is not None:
        lines.append(context.t("quick_log.saved_customer", name=saved.new_customer.name))
    if saved.deal is not None:
        lines.append(context.t("quick_log.saved_deal", title=saved.deal.title))
    lines.append(note_saved_text(context, saved.note))
    await context.bot.send_message(
        chat_id, "\n".join(lines), reply_markup=request_keyboard(context, saved.note)
    )
    await ask_after_visit(context, chat_id, saved.note)


FLOW = Flow(
    name=FLOW_NAME,
    fields=FIELDS,
    save=_save,
    after_save=_after_save,
    check=_if_new(duplicate_check("phones", "email", "name", open_key=USE_IT)),
    adopt=_adopt,
)


def read(context: CrmContext, text: str) -> QuickLog:
    """`text` (already cleaned) read with the member's region, currency, clock and zone."""
    env = env_of(context)
    return parse_quick_log(text, region=env.region, currency=env.currency, now=env.now, tz=env.tz)


async def start(engine: FlowEngine, update: Update, context: CrmContext, found: QuickLog) -> None:
    """The check card for what a message says: by /log, or plain text (handlers.plain_text)."""
    env = env_of(context)
    values = await prefill(context, found, env)
    notices = [notice] if (notice := _gaps_notice(context, values)) else []
    region = region_name(env.region, lang=env.language)
    if found.invalid_phones and "phones" in values:  # a new customer: its phones are saved
        numbers = ", ".join(found.invalid_phones)
        notices.append(context.t("quick_log.phone_invalid", numbers=numbers, region=region))
    if found.foreign_phones and values.get("phones"):
        numbers = ", ".join(format_phone(p, region=None) for p in found.foreign_phones)
        notices.append(context.t("quick_log.phone_read_as_local", numbers=numbers, region=region))
    if found.follow_up is None and found.follow_up_past is not None:
        # "follow up yesterday 3pm": said to have passed, and the follow-up is asked again
        past = found.follow_up_past
        when = fp.show_when({"at": past.at.isoformat(), "has_time": past.has_time}, context)
        notices.append(context.t("quick_log.follow_up_in_past", when=when))
        await engine.start(
            update, context, FLOW_NAME, values=values, ask="follow_up", notice="\n".join(notices)
        )
        return
    await engine.start(update, context, FLOW_NAME, values=values, notice="\n".join(notices))


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def quick_log(update: Update, context: CrmContext) -> None:
        message = update.effective_message
        assert message is not None
        text = command_text(clean_text(message.text or ""))  # cleaned before it is read
        if not text:
            await context.bot.send_message(message.chat_id, context.t("quick_log.usage"))
            return
        await start(engine, update, context, read(context, text))

    return {"quick_log": quick_log}


FEATURE = Feature(
    name="quick_log", commands=(Command("log", "quick_log"),), flows=(FLOW,), bind=bind
)
