"""`/contracts` (read): contracts of the customers the token's member may see
(`require_contract`: scoped through the customer), with their status and term."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader
from bot.api.params import Cursor, Limit, OptionalId, Paged, Since
from bot.api.problems import problem_responses
from bot.api.writes import Resource, each
from storage.contracts import get_contract
from storage.models import Contract, ContractStatus, Member
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


RESOURCE = Resource(Contract, show, list_contracts_page, each(represent), "contract_id")


@router.get("", response_model=ContractPage, responses=problem_responses(401, 422, 429))
def list_contracts(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    customer_id: OptionalId = None,
    status: ContractStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ContractPage:
    filters = Filters(
        updated_since=updated_since,
        owner_id=owner_id,
        customer_id=customer_id,
        status=status.value if status else None,
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return ContractPage(items=items, next_cursor=next_cursor)


RESOURCE.add_routes(router, ContractOut)
