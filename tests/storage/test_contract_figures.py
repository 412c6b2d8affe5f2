"""Contract figures of /report (`storage.contract_figures`): signed in the period per currency,
expiring within 30 days, through the access rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session

from storage.contract_figures import contract_figures
from storage.db import Database
from storage.models import Contract, ContractStatus, Member, utcnow
from storage.parsing import Money
from tests.factories import make_customer, pk
from tests.storage.test_customer_changes import make_people

FIRST, LAST = date(2027, 6, 1), date(2027, 6, 15)


def add(
    session: Session,
    owner: Member,
    *,
    signed_on: date | None = date(2027, 6, 3),
    ends_on: date = date(2028, 6, 2),
    amount: str | None = "1000.00",
    currency: str | None = "CNY",
    status: ContractStatus = ContractStatus.ACTIVE,
) -> Contract:
    customer = make_customer(session, owner=owner)
    contract = Contract(
        customer_id=pk(customer),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        number=f"HT-{pk(customer)}",
        title="t",
        status=status,
        signed_on=signed_on,
        ends_on=ends_on,
        amount=Decimal(amount) if amount else None,
        currency=currency,
    )
    session.add(contract)
    session.flush()
    return contract


def test_signed_in_the_period_per_currency_and_expiring_within_30_days(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        add(session, people.sales)
        add(session, people.sales, amount="500.50")
        add(session, people.sales, currency="USD", amount="20.00")
        add(session, people.sales, amount=None, currency=None)  # counted, no amount
        add(session, people.sales, signed_on=date(2027, 5, 31))  # before the period
        add(session, people.sales, status=ContractStatus.DRAFT)  # a draft is not signed
        add(session, people.other_sales)  # not theirs
        gone = add(session, people.sales)
        gone.deleted_at = utcnow()
        add(session, people.sales, signed_on=date(2026, 1, 1), ends_on=date(2027, 7, 15))
        add(session, people.sales, signed_on=date(2026, 1, 1), ends_on=date(2027, 7, 16))
        add(session, people.sales, signed_on=date(2026, 1, 1), ends_on=LAST)  # its last day
        add(
            session,
            people.sales,
            signed_on=date(2026, 1, 1),
            ends_on=date(2027, 7, 1),
            status=ContractStatus.RENEWED,
        )
        session.flush()
        figures = contract_figures(
            session, actor=people.sales, first=FIRST, last=LAST, currency="CNY"
        )
        assert figures.signed == 4
        assert figures.contracted == [
            Money(Decimal("1500.50"), "CNY"),
            Money(Decimal("20.00"), "USD"),
        ]
        assert figures.expiring == 2
        team = contract_figures(
            session, actor=people.manager, first=FIRST, last=LAST, currency="USD"
        )
        assert team.contracted[0] == Money(Decimal("20.00"), "USD")
        other = contract_figures(
            session, actor=people.other_sales, first=FIRST, last=LAST, currency="CNY"
        )
        assert (other.signed, other.expiring) == (1, 0)

    db.run_sync(scenario)
