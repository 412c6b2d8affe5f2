"""Tables of the CRM, one SQLModel class each, identical on SQLite and PostgreSQL.

Conventions (STYLE.md): singular snake_case tables, `*_at` columns are timezone-aware UTC,
`*_date` columns are dates, Telegram ids are big integers, records are soft-deleted through
`deleted_at`, and every record knows who created and last changed it. Columns that later
features use (owner, cadence, import batch, reminder claiming) exist from the first migration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Numeric,
    String,
    Text,
    TypeDecorator,
    event,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back an aware UTC datetime (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (SQLAlchemy's signature)
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(*, nullable: bool = True, index: bool = False) -> Any:
    default = None if nullable else utcnow
    return Field(default_factory=default, sa_type=UTCDateTime, nullable=nullable, index=index)


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"


class Member(SQLModel, table=True):
    """A person on the team; `manager_id` links a salesperson to their manager's team."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_type=BigInteger, unique=True)
    display_name: str = Field(max_length=200)
    username: str | None = Field(default=None, max_length=64)
    role: str = Field(default=Role.SALES, sa_type=String(16))
    manager_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    language: str | None = Field(default=None, max_length=8)
    timezone: str | None = Field(default=None, max_length=64)
    work_start: str | None = Field(default=None, max_length=5)
    work_end: str | None = Field(default=None, max_length=5)
    # Working days as weekday numbers, Monday 0: "0,1,2,3,4"; None is Monday to Friday.
    work_days: str | None = Field(default=None, max_length=13)
    active: bool = True
    unreachable_at: datetime | None = _at()
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class Invite(SQLModel, table=True):
    """A single-use, expiring deep-link code that registers whoever opens it."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    role: str = Field(sa_type=String(16))
    manager_id: int | None = Field(default=None, foreign_key="member.id")
    created_by_id: int = Field(foreign_key="member.id")
    created_at: datetime = _at(nullable=False)
    expires_at: datetime = _at(nullable=False)
    used_at: datetime | None = _at()
    used_by_id: int | None = Field(default=None, foreign_key="member.id")


class Tracked(SQLModel):
    """Who created and last changed a record, when, and whether it is soft-deleted."""

    created_by_id: int = Field(foreign_key="member.id")
    updated_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)
    deleted_at: datetime | None = _at()


class Customer(Tracked, table=True):
    # The API's lists page by (updated_at, id), all in scope or one owner's (0020).
    __table_args__ = (
        Index("ix_customer_owner_id_created_at", "owner_id", "created_at"),
        Index("ix_customer_updated_at_id", "updated_at", "id"),
        Index("ix_customer_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="member.id")
    # Not indexed: lookups by name or email go through `customer_search` (storage/search/find.py).
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    company: str | None = Field(default=None, max_length=200)
    position: str | None = Field(default=None, max_length=200)
    industry: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=200)
    gender: str | None = Field(default=None, max_length=16)
    birthday_month: int | None = None
    birthday_day: int | None = None
    birthday_year: int | None = None
    source: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=32)
    tags: list[str] = Field(default_factory=list, sa_type=JSON)
    needs: str | None = Field(default=None, sa_type=Text)
    contact_cadence_days: int | None = None
    last_contact_at: datetime | None = _at()
    import_batch_id: int | None = Field(default=None, index=True)


class CustomerPhone(SQLModel, table=True):
    """Phones in E.164, one row each, so an exact-number lookup is an index hit."""

    __tablename__ = "customer_phone"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    e164: str = Field(max_length=20, index=True)


class Deal(Tracked, table=True):
    __table_args__ = (
        Index("ix_deal_owner_id_stage", "owner_id", "stage"),
        Index("ix_deal_updated_at_id", "updated_at", "id"),
        Index("ix_deal_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int = Field(foreign_key="member.id")
    title: str = Field(max_length=200)
    amount: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    currency: str | None = Field(default=None, max_length=3)
    stage: str = Field(max_length=32)
    expected_close_date: date | None = None
    probability: int | None = None
    budget: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    budget_currency: str | None = Field(default=None, max_length=3)
    decision_date: date | None = None
    budget_notes: str | None = Field(default=None, sa_type=Text)
    decision_maker_notes: str | None = Field(default=None, sa_type=Text)
    close_reason: str | None = Field(default=None, sa_type=Text)
    closed_at: datetime | None = _at()
    import_batch_id: int | None = Field(default=None, index=True)


class DealStageChange(SQLModel, table=True):
    __tablename__ = "deal_stage_change"

    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deal.id", index=True)
    from_stage: str | None = Field(default=None, max_length=32)
    to_stage: str = Field(max_length=32)
    reason: str | None = Field(default=None, sa_type=Text)
    changed_by_id: int = Field(foreign_key="member.id")
    changed_at: datetime = _at(nullable=False)


class Interaction(Tracked, table=True):
    """A call, visit, meeting, email or message with a customer."""

    __table_args__ = (
        Index("ix_interaction_customer_id_happened_at", "customer_id", "happened_at"),
        Index("ix_interaction_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    owner_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=16)
    happened_at: datetime = _at(nullable=False)
    summary: str | None = Field(default=None, sa_type=Text)
    outcome: str | None = Field(default=None, sa_type=Text)
    latitude: float | None = None
    longitude: float | None = None


class ContractStatus(StrEnum):
    """Where a contract is in its life; `storage.contracts` says which moves are allowed."""

    DRAFT = "draft"
    SIGNED = "signed"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    RENEWED = "renewed"
    TERMINATED = "terminated"


class Contract(Tracked, table=True):
    """What was signed with a customer. The number is unique in the database, which serves one
    team; a renewal points back at the contract it renews through `renewed_from_id`."""

    __table_args__ = (
        Index("ix_contract_owner_id_status", "owner_id", "status"),
        Index("ix_contract_updated_at_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
    owner_id: int = Field(foreign_key="member.id")
    number: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=200)
    # The title's characters spaced apart, set on every save (`_key_title`): what the trigram
    # index of titles holds, so two characters ("维保" as "维 保") make a trigram (0023).
    title_key: str | None = Field(default=None, max_length=400)
    amount: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    currency: str | None = Field(default=None, max_length=3)
    signed_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    renewal_notice_days: int | None = None
    terms: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default=ContractStatus.DRAFT, max_length=16)
    renewed_from_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    terminated_on: date | None = None
    termination_reason: str | None = Field(default=None, sa_type=Text)


def spaced(text: str) -> str:
    """`text` with a space between each two characters: "维保" -> "维 保". A text contains a
    query exactly when its spaced form contains the query's spaced form."""
    return " ".join(text)


@event.listens_for(Contract, "before_insert")
@event.listens_for(Contract, "before_update")
def _key_title(_mapper: Any, _connection: Any, contract: Contract) -> None:
    contract.title_key = spaced(contract.title)


class OrderStatus(StrEnum):
    """Where an order is; `storage.orders` says which moves are allowed (each to the next, and
    cancelled from any open one)."""

    ORDERED = "ordered"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    PAID = "paid"
    CANCELLED = "cancelled"


class Order(Tracked, table=True):
    """What a customer ordered (a purchase is an order delivered and paid at once). The table
    is `sales_order` because ORDER is an SQL keyword every raw statement would have to quote.
    `total` is the sum of the priced lines, or typed directly when no line has a price."""

    __tablename__ = "sales_order"
    __table_args__ = (
        Index("ix_sales_order_owner_id_status", "owner_id", "status"),
        Index("ix_sales_order_updated_at_id", "updated_at", "id"),
        Index("ix_sales_order_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int = Field(foreign_key="member.id")
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
    contract_id: int | None = Field(default=None, foreign_key="contract.id")
    number: str = Field(max_length=64, unique=True)
    currency: str | None = Field(default=None, max_length=3)
    ordered_on: date
    delivery_due_on: date | None = None
    status: str = Field(default=OrderStatus.ORDERED, max_length=16)
    total: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    cancel_reason: str | None = Field(default=None, sa_type=Text)
    import_batch_id: int | None = Field(default=None, index=True)


class OrderLine(SQLModel, table=True):
    """One product of an order, in the order it was entered (`position` from 1)."""

    __tablename__ = "order_line"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    position: int
    product: str = Field(max_length=200)
    quantity: Decimal | None = Field(default=None, sa_type=Numeric(14, 3))
    unit_price: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))
    amount: Decimal | None = Field(default=None, sa_type=Numeric(16, 2))


class OrderStatusChange(SQLModel, table=True):
    """One move of an order's status (its creation has no `from_status`), like a deal's."""

    __tablename__ = "order_status_change"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    changed_by_id: int = Field(foreign_key="member.id")
    changed_at: datetime = _at(nullable=False)
    comment: str | None = Field(default=None, sa_type=Text)


class TicketStatus(StrEnum):
    """Where a service request is; `storage.tickets` says which moves are allowed."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Ticket(Tracked, table=True):
    """A service request (工单): a complaint, repair, question or return heard from a customer,
    followed by its assignee until it is closed. The owner is the customer's salesperson, as
    for a deal; the assignee may be anyone the creator may assign, also outside that team."""

    __table_args__ = (
        Index("ix_ticket_owner_id_status", "owner_id", "status"),
        Index("ix_ticket_assignee_id_status", "assignee_id", "status"),
        Index("ix_ticket_updated_at_id", "updated_at", "id"),
        Index("ix_ticket_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    owner_id: int = Field(foreign_key="member.id")
    assignee_id: int = Field(foreign_key="member.id")
    order_id: int | None = Field(default=None, foreign_key="sales_order.id")
    number: str = Field(max_length=64, unique=True)
    type: str = Field(max_length=32)
    priority: str = Field(max_length=16)
    description: str = Field(sa_type=Text)
    due_at: datetime = _at(nullable=False)
    status: str = Field(default=TicketStatus.OPEN, max_length=16)
    resolved_at: datetime | None = _at()
    satisfaction_score: int | None = None
    satisfaction_comment: str | None = Field(default=None, sa_type=Text)
    satisfaction_asked: bool | None = None


class TicketStatusChange(SQLModel, table=True):
    """One move of a ticket's status (its creation has no `from_status`); a reopen keeps its
    reason as the comment."""

    __tablename__ = "ticket_status_change"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    changed_by_id: int = Field(foreign_key="member.id")
    changed_at: datetime = _at(nullable=False)
    comment: str | None = Field(default=None, sa_type=Text)


class TicketComment(SQLModel, table=True):
    """A comment on a ticket, from any member who may see it."""

    __tablename__ = "ticket_comment"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    text: str = Field(sa_type=Text)
    created_at: datetime = _at(nullable=False)


class Attachment(SQLModel, table=True):
    """A Telegram file (business card photo, voice note) kept by its file_id."""

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    interaction_id: int | None = Field(default=None, foreign_key="interaction.id", index=True)
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)
    telegram_file_id: str = Field(max_length=255)
    telegram_file_unique_id: str = Field(max_length=64)
    created_by_id: int = Field(foreign_key="member.id")
    created_at: datetime = _at(nullable=False)


class Reminder(SQLModel, table=True):
    """Something to tell a member at `due_at`; the database, not the scheduler, is the truth."""

    __table_args__ = (
        Index("ix_reminder_status_due_at", "status", "due_at"),
        Index("ix_reminder_member_id_updated_at_id", "member_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deal.id")
    contract_id: int | None = Field(default=None, foreign_key="contract.id", index=True)
    order_id: int | None = Field(default=None, foreign_key="sales_order.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)
    text: str | None = Field(default=None, sa_type=Text)
    due_at: datetime = _at(nullable=False)
    exact_time: bool = True
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = _at()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _at()
    sent_at: datetime | None = _at()
    done_at: datetime | None = _at()
    dedupe_key: str | None = Field(default=None, max_length=128, unique=True)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class AuditEntry(SQLModel, table=True):
    """Who did what to which record, with old and new values of the changed fields."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    action: str = Field(max_length=32)
    entity_type: str = Field(max_length=32)
    entity_id: int
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    at: datetime = _at(nullable=False)


class Draft(SQLModel, table=True):
    """An unfinished entry: the flow, its current step and every answer so far.

    Written on each answered step so a restart (or another instance) resumes exactly here.
    `last_update_id` makes a re-delivered Telegram update a no-op.
    """

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    chat_id: int = Field(sa_type=BigInteger)
    flow: str = Field(max_length=32)
    step: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    history: list[str] = Field(default_factory=list, sa_type=JSON)
    last_update_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = _at(nullable=False)
    updated_at: datetime = _at(nullable=False)


class InboxUpdate(SQLModel, table=True):
    """Every Telegram update we accepted, by update_id: durable backlog and duplicate filter."""

    __tablename__ = "inbox_update"
    __table_args__ = (Index("ix_inbox_update_chat_id", "chat_id", "status"),)

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    payload: str = Field(sa_type=Text)
    status: str = Field(default="pending", max_length=16, index=True)
    received_at: datetime = _at(nullable=False)
    handled_at: datetime | None = _at()
    # A pending update is leased to the instance handling it, so another instance's start-up
    # replay leaves it alone until the lease runs out (the holder died).
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _at()
    # The chat (else the user) the update belongs to: an instance starts a chat's update only
    # once the earlier ones of that chat are handled, wherever they were received.
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
