"""`/customers`: list (filters, search, cursor), get, create, partial update, soft delete.

Writes are the chat's storage calls (`create_customer`, `update_customer`,
`reassign_customer`, `archive_customer`) with the chat's parsers in front (bot/api/fields.py),
so the audit log, the search index and the access rule are the same whichever way a
customer came in. A create with the phone or email of an existing customer is refused with
409, as the chat asks "add anyway?", unless the call says `allow_duplicate=true`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from bot.api import fields
from bot.api.auth import Reader, Writer, state_of
from bot.api.params import (
    Cursor,
    IdempotencyKey,
    IfMatch,
    Int,
    Limit,
    OptionalId,
    Paged,
    RecordId,
    Since,
)
from bot.api.problems import (
    FieldProblem,
    FieldRefused,
    Problem,
    problem_responses,
    unprocessable,
)
from bot.api.writes import Resource, decode_offset, encode_offset
from storage.customer_changes import archive_customer, reassign_customer, update_customer
from storage.customers import (
    CATEGORIES,
    GENDERS,
    SOURCES,
    CustomerCreate,
    create_customer,
    find_duplicates,
    get_customer,
    list_phones,
)
from storage.models import Customer, Member, utcnow
from storage.parsing import MAX_RECORD_ID
from storage.record_lists import Filters, list_customers_page, phones_by_customer
from storage.search.find import find_customers

router = APIRouter(prefix="/customers", tags=["customers"])
DUPLICATE_FIELD = {"phone": "phones", "email": "email"}


def _choice_field(allowed: tuple[str, ...]) -> Any:
    return Field(default=None, json_schema_extra={"enum": [*allowed, None]})


class CustomerOut(BaseModel):
    id: int
    owner_id: int
    name: str
    phones: list[str] = Field(description="E.164")
    email: str | None
    company: str | None
    position: str | None
    industry: str | None
    region: str | None
    gender: str | None
    birthday: str | None = Field(description='"1990-03-05", or "03-05" without the year')
    source: str | None
    category: str | None
    tags: list[str]
    needs: str | None
    last_contact_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(Paged):
    items: list[CustomerOut]


class CustomerIn(BaseModel):
    """A new customer. Phones in any format the chat accepts (read in the team's region
    unless they start with +); text fields within the chat's lengths."""

    model_config = ConfigDict(extra="forbid")

    name: str
    phones: list[str] = []
    email: str | None = None
    company: str | None = None
    position: str | None = None
    industry: str | None = None
    region: str | None = None
    gender: str | None = _choice_field(GENDERS)
    birthday: str | None = Field(default=None, examples=["1990-03-05", "03-05"])
    source: str | None = _choice_field(SOURCES)
    category: str | None = _choice_field(CATEGORIES)
    tags: list[str] = []
    needs: str | None = None


class CustomerPatch(BaseModel):
    """The fields to change; a field left out stays, null clears it. `owner_id` hands the
    customer over (managers and admins, as Reassign in the chat)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    phones: list[str] | None = None
    email: str | None = None
    company: str | None = None
    position: str | None = None
    industry: str | None = None
    region: str | None = None
    gender: str | None = _choice_field(GENDERS)
    birthday: str | None = None
    source: str | None = _choice_field(SOURCES)
    category: str | None = _choice_field(CATEGORIES)
    tags: list[str] | None = None
    needs: str | None = None
    owner_id: Int | None = Field(default=None, ge=1, le=MAX_RECORD_ID)


def _birthday_text(customer: Customer) -> str | None:
    month, day, year = customer.birthday_month, customer.birthday_day, customer.birthday_year
    if not (month and day):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"{month:02d}-{day:02d}"


def represent(customer: Customer, phones: list[str]) -> CustomerOut:
    assert customer.id is not None
    return CustomerOut(
        id=customer.id,
        owner_id=customer.owner_id,
        name=customer.name,
        phones=phones,
        email=customer.email,
        company=customer.company,
        position=customer.position,
        industry=customer.industry,
        region=customer.region,
        gender=customer.gender,
        birthday=_birthday_text(customer),
        source=customer.source,
        category=customer.category,
        tags=list(customer.tags or []),
        needs=customer.needs,
        last_contact_at=customer.last_contact_at,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def represent_many(session: Session, rows: list[Customer]) -> list[CustomerOut]:
    phones = phones_by_customer(session, customer_ids=[c.id for c in rows if c.id])
    return [represent(c, phones[c.id or 0]) for c in rows]


def show(session: Session, actor: Member, customer_id: int) -> CustomerOut:
    customer = get_customer(session, actor=actor, customer_id=customer_id)
    return represent(customer, list_phones(session, customer_id=customer_id))


def _text_values(data: BaseModel, names: set[str]) -> dict[str, Any]:
    """The free-text fields among `names`, through the chat's text rules."""
    texts = ("company", "position", "industry", "region", "needs")
    return {name: fields.text(name, getattr(data, name)) for name in names & set(texts)}


def _choices(data: BaseModel, names: set[str]) -> dict[str, Any]:
    allowed = {"gender": GENDERS, "source": SOURCES, "category": CATEGORIES}
    return {n: fields.choice(n, getattr(data, n), allowed[n]) for n in names & set(allowed)}


def to_create(data: CustomerIn, *, region: str) -> CustomerCreate:
    birthday = fields.birthday(data.birthday, today=utcnow().date())
    return CustomerCreate(
        name=fields.name(data.name),
        phones=fields.phones(data.phones, region=region),
        email=fields.email(data.email),
        birthday_month=birthday.month if birthday else None,
        birthday_day=birthday.day if birthday else None,
        birthday_year=birthday.year if birthday else None,
        tags=fields.tags(data.tags),
        **_text_values(data, set(CustomerIn.model_fields)),
        **_choices(data, set(CustomerIn.model_fields)),
    )


def to_changes(data: CustomerPatch, *, region: str) -> dict[str, Any]:
    """The edit in `update_customer`'s shape (what the chat's edit flow hands it)."""
    given = set(data.model_fields_set) - {"owner_id"}
    changes: dict[str, Any] = {**_text_values(data, given), **_choices(data, given)}
    if "name" in given:
        if data.name is None:
            raise FieldRefused("name", "a customer needs a name")
        changes["name"] = fields.name(data.name)
    if "phones" in given:
        changes["phones"] = fields.phones(data.phones or [], region=region)
    if "email" in given:
        changes["email"] = fields.email(data.email)
    if "tags" in given:
        changes["tags"] = fields.tags(data.tags or [])
    if "birthday" in given:
        parsed = fields.birthday(data.birthday, today=utcnow().date())
        changes["birthday"] = (
            {"month": parsed.month, "day": parsed.day, "year": parsed.year} if parsed else None
        )
    return changes


def refuse_duplicates(session: Session, actor: Member, values: CustomerCreate) -> None:
    """A 409 problem naming each customer with one of the phones or the email."""
    matches = find_duplicates(
        session,
        actor=actor,
        phones=values.phones,
        email=values.email,
        name=values.name,
        company=None,
    )
    if not matches:
        return
    errors = [
        FieldProblem(
            field=DUPLICATE_FIELD[match.reason],
            detail=f"customer {match.customer_id} ({match.name}) has it"
            if match.visible
            else f"a customer of {match.owner_name} has it",
            code="duplicate",
        )
        for match in matches
    ]
    detail = "A customer with this phone or email exists; send allow_duplicate=true to add anyway."
    raise Problem(409, "Conflict", detail, errors=errors)


RESOURCE = Resource(
    Customer, show, list_customers_page, represent_many, "customer_id", archive_customer
)


@router.get("", response_model=CustomerPage, responses=problem_responses(401, 422, 429))
def list_customers(
    request: Request,
    caller: Reader,
    updated_since: Since = None,
    owner_id: OptionalId = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Search as /find does; not with other filters"),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CustomerPage:
    """Customers the token's member may see, by last change (oldest first), or best match
    first with `q`."""
    if q is not None:
        if updated_since is not None or owner_id is not None or tag is not None:
            raise unprocessable("q", "cannot be combined with other filters")
        return _search(request, caller.member, q, limit, cursor)
    filters = Filters(updated_since=updated_since, owner_id=owner_id, tag=tag)
    items, next_cursor = RESOURCE.page(request, caller, filters, cursor, limit)
    return CustomerPage(items=items, next_cursor=next_cursor)


def _search(
    request: Request, actor: Member, q: str, limit: int, cursor: str | None
) -> CustomerPage:
    state = state_of(request)
    offset = decode_offset(cursor)
    with state.db.session(write=False) as session:
        rows = find_customers(
            session,
            actor=actor,
            query=q,
            limit=limit + 1,
            offset=offset,
            region=state.config.locale.default_region,
        )
        more = len(rows) > limit
        items = represent_many(session, rows[:limit])
    return CustomerPage(items=items, next_cursor=encode_offset(offset + limit) if more else None)


@router.post(
    "",
    status_code=201,
    response_model=CustomerOut,
    responses=problem_responses(401, 403, 409, 422, 429),
)
def create_one(
    request: Request,
    caller: Writer,
    data: CustomerIn,
    idempotency_key: IdempotencyKey = None,
    allow_duplicate: Annotated[
        bool, Query(description="Create even if a customer has one of these phones or the email")
    ] = False,
) -> Response:
    """409 naming the existing customers when one has one of the phones or the email (the
    chat's duplicate check; the id of one the token's member may see, else its owner), unless
    `allow_duplicate=true`: the chat's "add anyway"."""
    state = state_of(request)
    values = to_create(data, region=state.config.locale.default_region)

    def make(session: Session) -> Customer:
        if not allow_duplicate:  # checked in the insert's transaction (BEGIN IMMEDIATE)
            refuse_duplicates(session, caller.member, values)
        return create_customer(session, actor=caller.member, data=values)

    return RESOURCE.create(request, caller, idempotency_key, data, make)


@router.patch(
    "/{customer_id}",
    response_model=CustomerOut,
    responses=problem_responses(401, 403, 404, 412, 422, 429),
)
def update_one(
    request: Request,
    caller: Writer,
    customer_id: RecordId,
    data: CustomerPatch,
    if_match: IfMatch = None,
) -> Response:
    state = state_of(request)
    changes = to_changes(data, region=state.config.locale.default_region)
    actor = caller.member

    def apply(session: Session) -> None:
        update_customer(session, actor=actor, customer_id=customer_id, changes=changes)
        if data.owner_id is not None:
            current = get_customer(session, actor=actor, customer_id=customer_id)
            if current.owner_id != data.owner_id:
                reassign_customer(
                    session, actor=actor, customer_id=customer_id, new_owner_id=data.owner_id
                )

    return RESOURCE.change(request, caller, customer_id, if_match, apply)


RESOURCE.add_routes(
    router,
    CustomerOut,
    deleted="Soft delete, as Delete on the card: an admin can restore it in the chat.",
)
