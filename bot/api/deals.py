"""`/deals`: list (filters, cursor), get with the stage history, create, partial update
(fields as the edit flow, `stage` as the card's stage buttons: won/lost close it, with
`close_reason`; a closed deal moves back only to an open stage, as Reopen does), soft delete.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
from bot.api.writes import Resource
from storage.deals import (
    CLOSED_STAGES,
    DealClosed,
    DealCreate,
    change_stage,
    create_deal,
    get_deal,
    list_stage_changes,
    reopen_deal,
)
from storage.models import Deal, DealStageChange, Member
from storage.parsing import MAX_RECORD_ID, Money
from storage.record_changes import archive_deal, update_deal
from storage.record_lists import Filters, list_deals_page, stage_changes_by_deal

router = APIRouter(prefix="/deals", tags=["deals"])
Amount = str | Decimal | None
AMOUNT = Field(default=None, description='As the chat reads it: "12000.50", "50k", "¥3,500"')


class StageMoveOut(BaseModel):
    from_stage: str | None
    to_stage: str
    reason: str | None
    changed_by_id: int
    changed_at: datetime


class DealOut(BaseModel):
    id: int
    customer_id: int
    owner_id: int
    title: str
    stage: str
    amount: str | None
    currency: str | None
    expected_close_date: date | None
    probability: int | None
    budget: str | None
    budget_currency: str | None
    decision_date: date | None
    budget_notes: str | None
    decision_maker_notes: str | None
    close_reason: str | None
    closed_at: datetime | None
    stage_history: list[StageMoveOut]
    created_at: datetime
    updated_at: datetime


class DealPage(Paged):
    items: list[DealOut]


class DealIn(BaseModel):
    """A new deal for a customer the token's member may see. Without `stage`, the first
    stage of the pipeline; amounts in the team's currency unless they name one."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Int = Field(ge=1, le=MAX_RECORD_ID)
    title: str
    stage: str | None = None
    amount: Amount = AMOUNT
    currency: str | None = None
    expected_close_date: Day | None = None
    probability: Int | None = None
    budget: Amount = AMOUNT
    budget_currency: str | None = None
    decision_date: Day | None = None
    budget_notes: str | None = None
    decision_maker_notes: str | None = None


class DealPatch(BaseModel):
    """The fields to change (null clears); `currency` goes with `amount`, `budget_currency`
    with `budget`. `stage` moves the deal; `close_reason` goes with won or lost."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    amount: Amount = AMOUNT
    currency: str | None = None
    expected_close_date: Day | None = None
    probability: Int | None = None
    budget: Amount = AMOUNT
    budget_currency: str | None = None
    decision_date: Day | None = None
    budget_notes: str | None = None
    decision_maker_notes: str | None = None
    stage: str | None = None
    close_reason: str | None = None


def _move(change: DealStageChange) -> StageMoveOut:
    return StageMoveOut(
        from_stage=change.from_stage,
        to_stage=change.to_stage,
        reason=change.reason,
        changed_by_id=change.changed_by_id,
        changed_at=change.changed_at,
    )


def represent(deal: Deal, history: list[DealStageChange]) -> DealOut:
    assert deal.id is not None
    return DealOut(
        id=deal.id,
        customer_id=deal.customer_id,
        owner_id=deal.owner_id,
        title=deal.title,
        stage=deal.stage,
        amount=fields.amount_text(deal.amount),
        currency=deal.currency,
        expected_close_date=deal.expected_close_date,
        probability=deal.probability,
        budget=fields.amount_text(deal.budget),
        budget_currency=deal.budget_currency,
        decision_date=deal.decision_date,
        budget_notes=deal.budget_notes,
        decision_maker_notes=deal.decision_maker_notes,
        close_reason=deal.close_reason,
        closed_at=deal.closed_at,
        stage_history=[_move(c) for c in history],
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


def represent_many(session: Session, rows: list[Deal]) -> list[DealOut]:
    history = stage_changes_by_deal(session, deal_ids=[d.id for d in rows if d.id])
    return [represent(d, history[d.id or 0]) for d in rows]


def show(session: Session, actor: Member, deal_id: int) -> DealOut:
    deal = get_deal(session, actor=actor, deal_id=deal_id)
    return represent(deal, list_stage_changes(session, actor=actor, deal_id=deal_id))


def _money(
    data: BaseModel, field: str, currency_field: str, default: str
) -> tuple[Money | None, bool]:
    """The amount (or budget) parsed, and whether it was given at all."""
    given = data.model_fields_set
    if currency_field in given and field not in given:
        raise FieldRefused(currency_field, f"send it together with {field}")
    amount = getattr(data, field)
    text = None if amount is None else str(amount)
    return fields.money(field, text, getattr(data, currency_field), default=default), (
        field in given
    )


def _stage(stage: str | None, stages: list[str]) -> str | None:
    if stage is not None and stage not in stages:
        raise FieldRefused("stage", f"one of {', '.join(stages)}")
    return stage


_NOTES = ("budget_notes", "decision_maker_notes")


def to_create(data: DealIn, *, currency: str, stages: list[str]) -> DealCreate:
    amount, _ = _money(data, "amount", "currency", currency)
    budget, _ = _money(data, "budget", "budget_currency", currency)
    return DealCreate(
        customer_id=data.customer_id,
        title=fields.required_text("title", data.title),
        stage=_stage(data.stage, stages) or stages[0],
        amount=amount.amount if amount else None,
        currency=amount.currency if amount else None,
        expected_close_date=data.expected_close_date,
        probability=fields.probability(data.probability),
        budget=budget.amount if budget else None,
        budget_currency=budget.currency if budget else None,
        decision_date=data.decision_date,
        **{n: fields.text(n, getattr(data, n), limit="notes") for n in _NOTES},
    )


def to_changes(data: DealPatch, *, currency: str) -> dict[str, Any]:
    """The edit in `update_deal`'s shape (what the deal edit flow hands it)."""
    given = data.model_fields_set
    changes: dict[str, Any] = {}
    if "title" in given:
        if data.title is None:
            raise FieldRefused("title", "a deal needs a title")
        changes["title"] = fields.required_text("title", data.title)
    for field, currency_field in (("amount", "currency"), ("budget", "budget_currency")):
        money, sent = _money(data, field, currency_field, currency)
        if sent:
            changes[field] = money.amount if money else None
            changes[currency_field] = money.currency if money else None
    for name in ("expected_close_date", "decision_date"):
        if name in given:
            changes[name] = getattr(data, name)
    if "probability" in given:
        changes["probability"] = fields.probability(data.probability)
    for name in set(_NOTES) & given:
        changes[name] = fields.text(name, getattr(data, name), limit="notes")
    return changes


RESOURCE = Resource(Deal, show, list_deals_page, represent_many, "deal_id", archive_deal)


@router.get("", response_model=DealPage, responses=problem_responses(401, 422, 429))
def list_deals(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    customer_id: OptionalId = None,
    stage: str | None = None,
    q: Search = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DealPage:
    """Deals the token's member may see (as `/deals` and the card show them), by last change;
    `q` is part of the title."""
    filters = Filters(
        updated_since=updated_since,
        owner_id=owner_id,
        customer_id=customer_id,
        status=stage,
        text=q,
    )
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return DealPage(items=items, next_cursor=next_cursor)


@router.post(
    "",
    status_code=201,
    response_model=DealOut,
    responses=problem_responses(401, 403, 404, 422, 429),
)
def create_one(
    request: Request, caller: Writer, data: DealIn, idempotency_key: IdempotencyKey = None
) -> Response:
    """404 when the customer is not one the token's member may see."""
    state = state_of(request)
    values = to_create(
        data, currency=state.config.locale.currency, stages=state.config.deals.stages
    )

    def make(session: Session) -> Deal:
        return create_deal(session, actor=caller.member, data=values)

    return RESOURCE.create(request, caller, idempotency_key, data, make)


@router.patch(
    "/{deal_id}",
    response_model=DealOut,
    responses=problem_responses(401, 403, 404, 409, 412, 422, 429),
)
def update_one(
    request: Request, caller: Writer, deal_id: RecordId, data: DealPatch, if_match: IfMatch = None
) -> Response:
    """409 when a won or lost deal is moved to the other closed stage (reopen it first)."""
    state = state_of(request)
    stages = state.config.deals.stages
    changes = to_changes(data, currency=state.config.locale.currency)
    stage = _stage(data.stage, stages)
    reason = fields.text("close_reason", data.close_reason, limit="reason")
    actor = caller.member

    def apply(session: Session) -> None:
        if changes:
            update_deal(session, actor=actor, deal_id=deal_id, changes=changes)
        if stage is None:
            return
        deal = get_deal(session, actor=actor, deal_id=deal_id)
        if deal.stage in CLOSED_STAGES and stage not in CLOSED_STAGES:
            deal = reopen_deal(session, actor=actor, deal_id=deal_id, stages=stages)
        try:
            change_stage(
                session, actor=actor, deal_id=deal_id, stage=stage, reason=reason, stages=stages
            )
        except DealClosed:
            detail = f"the deal is {deal.stage}; move it to an open stage first"
            raise conflict(detail, "stage") from None

    return RESOURCE.change(request, caller, deal_id, if_match, apply)


RESOURCE.add_routes(
    router, DealOut, deleted="Soft delete, as Delete on the deal card: an admin can restore it."
)
