"""A member's agenda for a period (`/today`, `/week`): what is due, whose birthday, which deals.

The agenda is personal, like reminders: the member's own follow-ups (overdue ones included,
they are still to do) and deliveries promised by then and not yet made (their delivery
reminders, open until the order is delivered), birthdays of the customers they own, their own
open deals whose expected close date falls in the period, and their own contracts in force
running out soon (ending from the first day to `contracts_until`: the final notice,
`[contracts] final_notice_days`), and the open tickets assigned to them due by the end of
the period (overdue ones included, through `ticket_scope`). The period is a range of local
dates in the member's timezone; the caller turns it into the UTC end instant. A customer's
name is shown only while the access rule lets the member see it (a follow-up of a customer
reassigned since keeps its own text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.access import contract_scope, owner_scope, ticket_scope
from storage.contract_figures import IN_FORCE
from storage.deals import CLOSED_STAGES
from storage.models import Contract, Customer, Deal, Member, Reminder, Ticket
from storage.paging import Cursor, Key, KeysetPage, day, keyset_page, micros
from storage.reminders import OPEN_STATUSES, ReminderKind
from storage.tickets import OPEN as OPEN_TICKETS
from storage.working_hours import age_on, birthday_in


@dataclass(frozen=True)
class FollowUpItem:
    reminder_id: int
    due_at: datetime
    text: str | None
    customer_id: int | None
    customer_name: str | None


@dataclass(frozen=True)
class BirthdayItem:
    customer_id: int
    customer_name: str
    occurs: date
    age: int | None


@dataclass(frozen=True)
class DealItem:
    deal_id: int
    title: str
    customer_name: str
    expected_close_date: date


@dataclass(frozen=True)
class ContractItem:
    contract_id: int
    number: str
    title: str
    customer_name: str
    ends_on: date


@dataclass(frozen=True)
class TicketItem:
    ticket_id: int
    number: str
    type: str
    customer_name: str
    due_at: datetime


@dataclass(frozen=True)
class Agenda:
    follow_ups: list[FollowUpItem]
    birthdays: list[BirthdayItem]
    deals: list[DealItem]
    contracts: list[ContractItem] = field(default_factory=list)
    tickets: list[TicketItem] = field(default_factory=list)


AgendaItem = FollowUpItem | BirthdayItem | DealItem | ContractItem | TicketItem


def agenda_key(item: AgendaItem) -> Key:
    """The agenda's order: follow-ups, birthdays, deals, contracts, tickets; each soonest
    first, then by id."""
    if isinstance(item, FollowUpItem):
        return (0, micros(item.due_at), item.reminder_id)
    if isinstance(item, BirthdayItem):
        return (1, day(item.occurs), item.customer_id)
    if isinstance(item, ContractItem):
        return (3, day(item.ends_on), item.contract_id)
    if isinstance(item, TicketItem):
        return (4, micros(item.due_at), item.ticket_id)
    return (2, day(item.expected_close_date), item.deal_id)


def get_agenda(
    session: Session,
    *,
    actor: Member,
    first: date,
    last: date,
    until: datetime,
    contracts_until: date | None = None,
) -> Agenda:
    """Follow-ups due before `until` (the end of `last`, as UTC), birthdays and expected
    closes from `first` to `last` (local dates), contracts ending from `first` to
    `contracts_until` (none without it), open tickets assigned to the actor due before
    `until`, each list soonest first and whole (the chat shows it
    a page at a time)."""
    return Agenda(
        follow_ups=_follow_ups(session, actor, until),
        birthdays=_birthdays(session, actor, first, last),
        deals=_deals(session, actor, first, last),
        contracts=_contracts(session, actor, first, contracts_until) if contracts_until else [],
        tickets=_tickets(session, actor, until),
    )


def page_agenda(
    session: Session,
    *,
    actor: Member,
    first: date,
    last: date,
    until: datetime,
    cursor: Cursor | None = None,
    size: int = 8,
    contracts_until: date | None = None,
) -> KeysetPage[AgendaItem]:
    """The page of the agenda (`get_agenda`, every section in `agenda_key` order) that
    `cursor` points to."""
    agenda = get_agenda(
        session, actor=actor, first=first, last=last, until=until, contracts_until=contracts_until
    )
    items: list[AgendaItem] = [
        *agenda.follow_ups,
        *agenda.birthdays,
        *agenda.deals,
        *agenda.contracts,
        *agenda.tickets,
    ]
    return keyset_page(items, key=agenda_key, cursor=cursor, size=size)


def _follow_ups(session: Session, actor: Member, until: datetime) -> list[FollowUpItem]:
    rows = session.exec(
        select(Reminder, Customer)
        .outerjoin(
            Customer,
            and_(
                col(Customer.id) == col(Reminder.customer_id),
                col(Customer.deleted_at).is_(None),
                owner_scope(actor, Customer.owner_id),  # reassigned since: the text stays
            ),
        )
        .where(
            col(Reminder.member_id) == actor.id,
            # A delivery reminder stays open until the order is delivered: an overdue
            # delivery is on the agenda every day until then.
            col(Reminder.kind).in_((ReminderKind.FOLLOW_UP, ReminderKind.DELIVERY)),
            col(Reminder.status).in_(OPEN_STATUSES),
            col(Reminder.due_at) < until,
        )
        .order_by(col(Reminder.due_at), col(Reminder.id))
    )
    items = []
    for reminder, customer in rows:
        assert reminder.id is not None
        items.append(
            FollowUpItem(
                reminder_id=reminder.id,
                due_at=reminder.due_at,
                text=reminder.text,
                customer_id=customer.id if customer else None,
                customer_name=customer.name if customer else None,
            )
        )
    return items


def _birthdays(session: Session, actor: Member, first: date, last: date) -> list[BirthdayItem]:
    """29 February counts on 28 February in other years, as the birthday nudge does."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    pairs = {(d.month, d.day) for d in days}
    pairs |= {(2, 29) for d in days if (d.month, d.day) == (2, 28)}
    rows = session.exec(
        select(Customer).where(
            col(Customer.owner_id) == actor.id,
            col(Customer.deleted_at).is_(None),
            or_(
                *(
                    and_(col(Customer.birthday_month) == m, col(Customer.birthday_day) == d)
                    for m, d in pairs
                )
            ),
        )
    )
    items = []
    for customer in rows:
        assert customer.id is not None
        assert customer.birthday_month is not None
        assert customer.birthday_day is not None
        for year in sorted({first.year, last.year}):
            occurs = birthday_in(year, customer.birthday_month, customer.birthday_day)
            if first <= occurs <= last:
                age = age_on(occurs, customer.birthday_year)
                items.append(BirthdayItem(customer.id, customer.name, occurs, age))
    return sorted(items, key=lambda item: (item.occurs, item.customer_id))


def _deals(session: Session, actor: Member, first: date, last: date) -> list[DealItem]:
    rows = session.exec(
        select(Deal, Customer)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .where(
            col(Deal.owner_id) == actor.id,
            owner_scope(actor, Customer.owner_id),
            col(Deal.stage).not_in(CLOSED_STAGES),
            col(Deal.deleted_at).is_(None),
            col(Customer.deleted_at).is_(None),
            col(Deal.expected_close_date) >= first,
            col(Deal.expected_close_date) <= last,
        )
        .order_by(col(Deal.expected_close_date), col(Deal.id))
    )
    items = []
    for deal, customer in rows:
        assert deal.id is not None
        assert deal.expected_close_date is not None
        items.append(DealItem(deal.id, deal.title, customer.name, deal.expected_close_date))
    return items


def _contracts(session: Session, actor: Member, first: date, until: date) -> list[ContractItem]:
    """The actor's own contracts in force (by the contracts' access rule too) ending from
    `first` to `until`."""
    rows = session.exec(
        select(Contract, Customer)
        .join(Customer, col(Customer.id) == col(Contract.customer_id))
        .where(
            col(Contract.owner_id) == actor.id,
            contract_scope(actor),
            col(Contract.status).in_(IN_FORCE),
            col(Contract.ends_on) >= first,
            col(Contract.ends_on) <= until,
        )
        .order_by(col(Contract.ends_on), col(Contract.id))
    )
    items = []
    for contract, customer in rows:
        assert contract.id is not None
        assert contract.ends_on is not None
        items.append(
            ContractItem(
                contract.id, contract.number, contract.title, customer.name, contract.ends_on
            )
        )
    return items


def _tickets(session: Session, actor: Member, until: datetime) -> list[TicketItem]:
    """The open tickets assigned to the actor (by the tickets' access rule too) due before
    `until`: an overdue one is on the agenda every day until it is resolved."""
    rows = session.exec(
        select(Ticket, Customer)
        .join(Customer, col(Customer.id) == col(Ticket.customer_id))
        .where(
            col(Ticket.assignee_id) == actor.id,
            ticket_scope(actor),
            col(Ticket.status).in_(OPEN_TICKETS),
            col(Ticket.due_at) < until,
        )
        .order_by(col(Ticket.due_at), col(Ticket.id))
    )
    items = []
    for ticket, customer in rows:
        assert ticket.id is not None
        items.append(
            TicketItem(ticket.id, ticket.number, ticket.type, customer.name, ticket.due_at)
        )
    return items
