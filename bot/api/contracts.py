"""`/contracts`: list (filters, text search, cursor), get, create, partial update (what the
contract's Edit changes; `status` as the card's Mark signed, Activate and Terminate), soft
delete.

Writes are the chat's storage calls (`create_contract`, `update_contract`, `sign_contract`,
`activate_contract`, `terminate_contract`, `archive_contract`), so numbering, the renewal
reminders, the audit log and the webhook events are the same whichever way a contract came
in. A contract is read through its customer (`require_contract`). Renewing stays in the chat:
it makes a second contract from the first, with its signed files.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader, Writer, state_of
from bot.api.params import (
    Cursor,
    Day,
    IdempotencyKey,
    IfMatch,
    Int,
    Limit,
    OptionalId,
    Paged,
    RecordId,
    Search,
    Since,
)
from bot.api.problems import FieldRefused, conflict, problem_responses
from bot.api.writes import Resource, each
from storage.contract_changes import EditRefused, archive_contract, update_contract
from storage.contract_terms import parse_term, term_end
from storage.contracts import (
    ContractCreate,
    DuplicateNumber,
    TransitionRefused,
    activate_contract,
    create_contract,
    get_contract,
    initial_status,
    sign_contract,
    suggest_contract_number,
    terminate_contract,
)
from storage.models import Contract, ContractStatus, Member, utcnow
from storage.parsing import MAX_RECORD_ID, ParseError
from storage.record_lists import Filters, list_contracts_page

router = APIRouter(prefix="/contracts", tags=["contracts"])


class ContractOut(BaseModel):
    id: int
    customer_id: int
    deal_id: int | None
    owner_id: int
    number: str
    title: str
    amount: str | None
    currency: str | None
    signed_on: date | None
    starts_on: date | None
    ends_on: date | None
    renewal_notice_days: int | None
    terms: str | None
    status: str
    renewed_from_id: int | None
    terminated_on: date | None
    termination_reason: str | None
    created_at: datetime
    updated_at: datetime


class ContractPage(Paged):
    items: list[ContractOut]


def represent(contract: Contract) -> ContractOut:
    assert contract.id is not None
    return ContractOut(
        id=contract.id,
        customer_id=contract.customer_id,
        deal_id=contract.deal_id,
        owner_id=contract.owner_id,
        number=contract.number,
        title=contract.title,
        amount=fields.amount_text(contract.amount),
        currency=contract.currency,
        signed_on=contract.signed_on,
        starts_on=contract.starts_on,
        ends_on=contract.ends_on,
        renewal_notice_days=contract.renewal_notice_days,
        terms=contract.terms,
        status=contract.status,
        renewed_from_id=contract.renewed_from_id,
        terminated_on=contract.terminated_on,
        termination_reason=contract.termination_reason,
        created_at=contract.created_at,
        updated_at=contract.updated_at,
    )


def show(session: Session, actor: Member, contract_id: int) -> ContractOut:
    return represent(get_contract(session, actor=actor, contract_id=contract_id))


RESOURCE = Resource(
    Contract, show, list_contracts_page, each(represent), "contract_id", archive_contract
)
NOTICE_MAX = 366  # days, as the contract flow's question holds it
# What an edit refused names (storage.contract_changes.EditRefused says it in words).
REFUSED_FIELD = {
    "a contract cannot end before it starts": "ends_on",
    "a signed contract needs its signing date": "signed_on",
    "a contract needs a number": "number",
}
Amount = str | Decimal | None
Id = Int | None


class ContractIn(BaseModel):
    """A new contract for a customer the token's member may see, recorded as it stands:
    with `signed_on` it is signed, and active once `starts_on` has come (UTC); without, a
    draft. Without `number`, the next of the configured pattern; `term` ("12 months", "1年",
    "90 days") instead of `ends_on` counts from `starts_on`; without
    `renewal_notice_days`, the configured default. A deal given must be the customer's."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Int = Field(ge=1, le=MAX_RECORD_ID)
    title: str
    number: str | None = None
    deal_id: Id = Field(default=None, ge=1, le=MAX_RECORD_ID)
    amount: Amount = Field(default=None, examples=["120000", "¥3,500"])
    currency: str | None = None
    signed_on: Day | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    term: str | None = Field(default=None, examples=["12 months", "1年"])
    renewal_notice_days: Int | None = Field(default=None, ge=0, le=NOTICE_MAX)
    terms: str | None = Field(default=None, description="Payment terms")


class ContractPatch(BaseModel):
    """The fields change what the contract holds, checked as a new contract's (a field sent
    as null is cleared; a new customer takes the contract to that customer's salesperson and
    lets go of the deal). `status` moves it as the card's buttons: `signed` (a draft, on
    `signed_on`, not after today), `active` (a signed one), `terminated` (a signed or
    running one, on `terminated_on`, not before its signing, for `termination_reason`); the
    status it already has changes nothing."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["signed", "active", "terminated"] | None = None
    terminated_on: Day | None = None
    termination_reason: str | None = None
    title: str | None = None
    number: str | None = None
    customer_id: Id = Field(default=None, ge=1, le=MAX_RECORD_ID)
    deal_id: Id = Field(default=None, ge=1, le=MAX_RECORD_ID)
    amount: Amount = None
    currency: str | None = None
    signed_on: Day | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    term: str | None = Field(default=None, examples=["12 months", "1年"])
    renewal_notice_days: Int | None = Field(default=None, ge=0, le=NOTICE_MAX)
    terms: str | None = Field(default=None, description="Payment terms")


def _signed_on(value: date | None) -> date | None:
    """A signing date not yet come is refused, as the chat does; "today" is the member's, so
    a day ahead of UTC is allowed (UTC+14)."""
    if value is not None and value > utcnow().date() + timedelta(days=1):
        raise FieldRefused("signed_on", "a contract is signed today or before")
    return value


def _ends_on(term: str | None, ends_on: date | None, starts_on: date | None) -> date | None:
    """The end date, or the end of `term` counted from the start."""
    if term is None:
        return ends_on
    if ends_on is not None:
        raise FieldRefused("term", "either ends_on or term, not both")
    parsed = parse_term(term)
    if parsed is None:
        raise FieldRefused("term", "a duration, e.g. 12 months, 2 years, 90 days, 1年")
    if isinstance(parsed, ParseError):
        raise FieldRefused("term", parsed)
    if starts_on is None:
        raise FieldRefused("term", "a term counts from starts_on; send it too")
    return term_end(starts_on, parsed)


def _money(amount: Amount, currency: str | None, default: str) -> tuple[Decimal, str] | None:
    text = None if amount is None else str(amount)
    money = fields.money("amount", text, currency, default=default)
    return None if money is None else (money.amount, money.currency)


def to_create(data: ContractIn, *, default_currency: str, default_notice: int) -> dict[str, Any]:
    """The values of `ContractCreate` but the number (suggested in the transaction)."""
    money = _money(data.amount, data.currency, default_currency)
    if money is None and data.currency is not None:
        raise FieldRefused("currency", "names the amount's currency; send the amount too")
    signed_on = _signed_on(data.signed_on)
    ends_on = _ends_on(data.term, data.ends_on, data.starts_on)
    if data.starts_on and ends_on and ends_on < data.starts_on:
        raise FieldRefused("ends_on", "a contract cannot end before it starts")
    notice = data.renewal_notice_days
    return {
        "customer_id": data.customer_id,
        "title": fields.required_text("title", data.title),
        "deal_id": data.deal_id,
        "amount": money[0] if money else None,
        "currency": money[1] if money else None,
        "signed_on": signed_on,
        "starts_on": data.starts_on,
        "ends_on": ends_on,
        "renewal_notice_days": default_notice if notice is None else notice,
        "terms": fields.text("terms", data.terms, limit="notes"),
        "status": initial_status(signed_on, data.starts_on, utcnow().date()),
    }


@router.get("", response_model=ContractPage, responses=problem_responses(401, 422, 429))
def list_contracts(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    customer_id: OptionalId = None,
    status: ContractStatus | None = None,
    q: Search = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ContractPage:
    """Contracts of the customers the token's member may see, by last change; `q` is part
    of the number, the title or the payment terms."""
    filters = Filters(
        updated_since=updated_since,
        owner_id=owner_id,
        customer_id=customer_id,
        status=status.value if status else None,
        text=q,
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return ContractPage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=ContractOut,
    responses=problem_responses(401, 403, 404, 409, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: ContractIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """404 when the customer (or the deal) is not one the token's member may see; 409 naming
    `number` when that number is taken (by a deleted contract too)."""
    config = state_of(request).config
    values = to_create(
        data,
        default_currency=config.locale.currency,
        default_notice=config.contracts.renewal_notice_days,
    )
    number = fields.number(data.number)

    def make(session: Session) -> Contract:
        given = number or suggest_contract_number(
            session, today=utcnow().date(), pattern=config.contracts.number_pattern
        )
        try:
            return create_contract(
                session, actor=caller.member, data=ContractCreate(number=given, **values)
            )
        except DuplicateNumber as taken:
            raise conflict(f"contract number {taken} is taken", "number") from None

    return RESOURCE.create(request, caller, idempotency_key, data, make)


_PLAIN = ("customer_id", "deal_id", "starts_on", "renewal_notice_days")


def _edits(data: ContractPatch, contract: Contract, default_currency: str) -> dict[str, Any]:
    """The sent fields of what the contract holds, read as the create reads them."""
    sent = data.model_fields_set
    edits: dict[str, Any] = {name: getattr(data, name) for name in _PLAIN if name in sent}
    if "customer_id" in edits and edits["customer_id"] is None:
        raise FieldRefused("customer_id", "a contract has a customer")
    if "title" in sent:
        edits["title"] = fields.required_text("title", data.title or "")
    if "number" in sent:
        edits["number"] = fields.number(data.number or "")
    if "terms" in sent:
        edits["terms"] = fields.text("terms", data.terms, limit="notes")
    if "signed_on" in sent:
        edits["signed_on"] = _signed_on(data.signed_on)
    if "ends_on" in sent or data.term is not None:
        starts_on = edits.get("starts_on", contract.starts_on)
        edits["ends_on"] = _ends_on(data.term, data.ends_on, starts_on)
    if "amount" in sent or "currency" in sent:
        amount = data.amount if "amount" in sent else contract.amount
        currency = data.currency if "currency" in sent else contract.currency
        money = _money(amount, currency, default_currency)
        if money is None and data.currency is not None:
            raise FieldRefused("currency", "names the amount's currency; send the amount too")
        edits["amount"], edits["currency"] = money or (None, None)
    return edits


@router.patch(
    "/{contract_id}",
    response_model=ContractOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 429),
)
def update_one(
    request: Request,
    caller: Writer,
    contract_id: RecordId,
    data: ContractPatch,
    if_match: IfMatch = None,
) -> Response:
    """409 naming `status` for a move the contract's status does not allow (signing one past
    its draft, terminating a draft or one over already), naming `number` for a number taken;
    422 naming the field an edit would leave wrong; 404 for a customer or deal outside the
    scope."""
    if data.status == "terminated" and data.terminated_on is None:
        raise FieldRefused("terminated_on", "the day it ends, e.g. 2026-03-01")
    for name in ("terminated_on", "termination_reason"):
        if data.status != "terminated" and getattr(data, name) is not None:
            raise FieldRefused(name, 'goes with "status": "terminated"')
    reason = fields.text("termination_reason", data.termination_reason, limit="reason")
    actor = caller.member
    currency = state_of(request).config.locale.currency

    def apply(session: Session) -> None:
        contract = get_contract(session, actor=actor, contract_id=contract_id)
        signing = data.status == "signed" and contract.status == ContractStatus.DRAFT
        edits = _edits(data, contract, currency)
        signed_on = edits.pop("signed_on", None) if signing else None
        if signing and signed_on is None:
            raise FieldRefused("signed_on", "the day it was signed, e.g. 2026-03-01")
        if edits:
            try:
                update_contract(session, actor=actor, contract_id=contract_id, changes=edits)
            except EditRefused as refused:
                raise FieldRefused(
                    REFUSED_FIELD.get(str(refused), "contract"), str(refused)
                ) from None
            except DuplicateNumber as taken:
                raise conflict(f"contract number {taken} is taken", "number") from None
        try:
            _move(session, actor, contract_id, data, signed_on, reason)
        except TransitionRefused as refused:
            detail = f"the contract is {refused}; it cannot move to {data.status}"
            raise conflict(detail, "status") from None

    return RESOURCE.change(request, caller, contract_id, if_match, apply)


def _move(
    session: Session,
    actor: Member,
    contract_id: int,
    data: ContractPatch,
    signed_on: date | None,
    reason: str | None,
) -> None:
    """The status move `data` asks for, as the card's buttons make it."""
    if data.status == "signed" and signed_on is not None:
        sign_contract(session, actor=actor, contract_id=contract_id, signed_on=signed_on)
    elif data.status == "signed":  # past its draft: signed again changes nothing
        sign_contract(session, actor=actor, contract_id=contract_id, signed_on=utcnow().date())
    elif data.status == "active":
        activate_contract(session, actor=actor, contract_id=contract_id)
    elif data.status == "terminated":
        assert data.terminated_on is not None
        try:
            terminate_contract(
                session,
                actor=actor,
                contract_id=contract_id,
                terminated_on=data.terminated_on,
                reason=reason or "",
            )
        except ValueError as refused:
            if isinstance(refused, TransitionRefused):
                raise
            raise FieldRefused("terminated_on", str(refused)) from None


RESOURCE.add_routes(
    router,
    ContractOut,
    deleted="Soft delete, as Delete on the contract card: an admin can restore it.",
)
