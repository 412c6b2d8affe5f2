"""Contracts: who may record and read them, who owns them, numbers, audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.audit import list_audit
from storage.contracts import (
    ContractCreate,
    DuplicateNumber,
    TransitionRefused,
    activate_contract,
    create_contract,
    find_renewal,
    get_contract,
    list_contracts,
    renew_contract,
    sign_contract,
    suggest_contract_number,
    terminate_contract,
)
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.models import Contract, ContractStatus, Customer, Member
from tests.factories import make_customer, pk
from tests.storage.test_customer_changes import make_people

TODAY = date(2026, 12, 6)


def contract_data(
    customer: Customer, number: str = "HT-2026-0001", **values: object
) -> ContractCreate:
    data = ContractCreate(
        customer_id=pk(customer),
        number=number,
        title="Forklift service 2027",
        amount=Decimal("120000.00"),
        currency="CNY",
        signed_on=date(2026, 12, 1),
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
        renewal_notice_days=30,
        terms="30% upfront, rest on delivery",
        status=ContractStatus.SIGNED,
    )
    return replace(data, **values)  # type: ignore[arg-type]


def new_contract(
    session: Session, actor: Member, customer: Customer, number: str = "HT-2026-0001"
) -> Contract:
    return create_contract(session, actor=actor, data=contract_data(customer, number))


def test_create_contract_keeps_every_field_and_audits_it(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = new_contract(session, people.sales, customer)
        assert (contract.owner_id, contract.status) == (people.sales.id, "signed")
        assert (contract.amount, contract.ends_on) == (Decimal("120000.00"), date(2027, 12, 31))
        (entry,) = list_audit(session, entity_type="contract", entity_id=pk(contract))
        assert (entry.action, entry.actor_id) == ("create", people.sales.id)
        assert entry.changes["owner_id"] == [None, people.sales.id]
        assert entry.changes["number"] == [None, "HT-2026-0001"]
        assert entry.changes["amount"] == [None, "120000.00"]


def test_contract_by_a_manager_belongs_to_the_customers_owner(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = new_contract(
            session, people.manager, make_customer(session, owner=people.sales)
        )
        assert contract.owner_id == people.sales.id


def test_get_contract_follows_the_access_rule(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = new_contract(session, people.sales, make_customer(session, owner=people.sales))
        for reader in (people.sales, people.manager, people.admin):
            assert get_contract(session, actor=reader, contract_id=pk(contract)) is contract
        for stranger in (people.teammate, people.other_sales):
            with pytest.raises(NotFound):
                get_contract(session, actor=stranger, contract_id=pk(contract))
        with pytest.raises(NotFound):
            get_contract(session, actor=people.admin, contract_id=pk(contract) + 1000)


def test_contract_needs_its_owner_and_its_customer_in_scope(db: Database) -> None:
    """As for deals: a contract left with another salesperson on one's own customer, or one's
    own contract on a customer now another's, is not found (and not listed)."""
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        foreign_owner = new_contract(session, people.sales, customer, "O-1")
        foreign_owner.owner_id = pk(people.other_sales)
        foreign_customer = new_contract(session, people.sales, customer, "O-2")
        foreign_customer.customer_id = pk(make_customer(session, owner=people.other_sales))
        own = new_contract(session, people.sales, customer, "O-3")
        session.flush()
        for contract in (foreign_owner, foreign_customer):
            for reader in (people.sales, people.manager):
                with pytest.raises(NotFound):
                    get_contract(session, actor=reader, contract_id=pk(contract))
            assert get_contract(session, actor=people.admin, contract_id=pk(contract))
        listed = list_contracts(session, actor=people.sales, customer_id=pk(customer))
        assert [c.number for c in listed] == [own.number]
        everything = list_contracts(session, actor=people.admin, customer_id=pk(customer))
        assert {c.number for c in everything} == {"O-1", "O-3"}


def test_deleted_contract_or_one_of_a_deleted_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        gone = new_contract(session, people.sales, make_customer(session, owner=people.sales))
        gone.deleted_at = gone.created_at
        hidden_customer = make_customer(session, owner=people.sales, deleted=True)
        hidden = new_contract(
            session, people.admin, make_customer(session, owner=people.sales), "B-1"
        )
        hidden.customer_id = pk(hidden_customer)
        session.flush()
        for contract in (gone, hidden):
            with pytest.raises(NotFound):
                get_contract(session, actor=people.admin, contract_id=pk(contract))


def test_create_contract_for_another_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.other_sales)
        with pytest.raises(NotFound):
            new_contract(session, people.sales, customer)


def test_create_contract_with_another_customers_deal_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        other = make_customer(session, owner=people.sales)
        deal = create_deal(
            session,
            actor=people.sales,
            data=DealCreate(customer_id=pk(other), title="Other", stage="lead"),
        )
        with pytest.raises(NotFound):
            create_contract(
                session, actor=people.sales, data=contract_data(customer, deal_id=deal.id)
            )
        own = create_deal(
            session,
            actor=people.sales,
            data=DealCreate(customer_id=pk(customer), title="Own", stage="won"),
        )
        data = contract_data(customer, deal_id=own.id)
        assert create_contract(session, actor=people.sales, data=data).deal_id == own.id


def test_duplicate_number_is_refused_even_of_a_deleted_contract(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        first = new_contract(session, people.sales, make_customer(session, owner=people.sales))
        first.deleted_at = first.created_at
        session.flush()
        customer = make_customer(session, owner=people.other_sales)
        with pytest.raises(DuplicateNumber):
            new_contract(session, people.other_sales, customer, number=" HT-2026-0001 ")
        with pytest.raises(DuplicateNumber):  # the same number to whoever looks it up
            new_contract(session, people.other_sales, customer, number="ht-2026-0001")
        assert new_contract(session, people.other_sales, customer, " HT-9 ").number == "HT-9"


@pytest.mark.parametrize(
    "values",
    [
        {"number": "  "},
        {"currency": None},
        {"starts_on": date(2027, 1, 1), "ends_on": date(2026, 12, 31)},
        {"renewal_notice_days": -1},
        {"status": ContractStatus.RENEWED},
        {"signed_on": None},
    ],
)
def test_contract_create_refuses_inconsistent_values(values: dict[str, object]) -> None:
    customer = Customer(id=1, owner_id=1, created_by_id=1, name="X")
    with pytest.raises(ValueError):  # noqa: PT011 (each case has its own message)
        contract_data(customer, **values)


def test_list_contracts_latest_first_without_deleted(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        numbers = ("A-1", "A-2", "A-3")
        made = [new_contract(session, people.sales, customer, n) for n in numbers]
        new_contract(session, people.sales, make_customer(session, owner=people.sales), "B-1")
        made[1].deleted_at = made[1].created_at
        session.flush()
        listed = list_contracts(session, actor=people.manager, customer_id=pk(customer))
        assert [c.number for c in listed] == ["A-3", "A-1"]
        assert [
            c.number
            for c in list_contracts(
                session, actor=people.sales, customer_id=pk(customer), limit=1, offset=1
            )
        ] == ["A-1"]
        with pytest.raises(NotFound):
            list_contracts(session, actor=people.other_sales, customer_id=pk(customer))


def test_suggested_number_counts_on_from_the_years_highest(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        assert suggest_contract_number(session, today=TODAY) == "HT-2026-0001"
        for number in ("HT-2026-0001", "HT-2026-0007", "HT-2025-0042", "HT-2026-extra"):
            new_contract(session, people.sales, customer, number)
        assert suggest_contract_number(session, today=TODAY) == "HT-2026-0008"
        assert suggest_contract_number(session, today=date(2025, 1, 1)) == "HT-2025-0043"
        assert suggest_contract_number(session, today=date(2027, 1, 1)) == "HT-2027-0001"


def test_suggested_number_follows_a_configured_pattern(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        pattern = "合同_{year}/{seq}"
        new_contract(session, people.sales, customer, "合同_2026/9")
        new_contract(session, people.sales, customer, "合同X2026/50")  # not of the pattern
        assert suggest_contract_number(session, today=TODAY, pattern=pattern) == "合同_2026/10"
        assert suggest_contract_number(session, today=TODAY, pattern="C{seq:03d}") == "C001"


@pytest.mark.parametrize("pattern", ["HT-{year}", "HT-{seq}-{seq}", "HT-{month}-{seq}"])
def test_suggested_number_refuses_a_pattern_without_one_sequence(
    db: Database, pattern: str
) -> None:
    with db.session() as session, pytest.raises(ValueError, match="pattern"):
        suggest_contract_number(session, today=TODAY, pattern=pattern)


def moved_through(
    session: Session, actor: Member, customer: Customer, *statuses: str, number: str = "M-1"
) -> Contract:
    """A draft contract taken through `statuses` in order ("signed", "active")."""
    data = contract_data(customer, number, status=ContractStatus.DRAFT, signed_on=None)
    contract = create_contract(session, actor=actor, data=data)
    for status in statuses:
        if status == "signed":
            sign_contract(session, actor=actor, contract_id=pk(contract), signed_on=TODAY)
        elif status == "active":
            activate_contract(session, actor=actor, contract_id=pk(contract))
    return contract


def test_draft_is_signed_then_activated_and_each_move_audited(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = moved_through(session, people.sales, make_customer(session, owner=people.sales))
        sign_contract(session, actor=people.sales, contract_id=pk(contract), signed_on=TODAY)
        assert (contract.status, contract.signed_on) == ("signed", TODAY)
        activate_contract(session, actor=people.manager, contract_id=pk(contract))
        assert (contract.status, contract.updated_by_id) == ("active", people.manager.id)
        entries = list_audit(session, entity_type="contract", entity_id=pk(contract))
        changes = [e.changes for e in entries if e.action == "update"]
        assert {"status": ["draft", "signed"], "signed_on": [None, "2026-12-06"]} in changes
        assert {"status": ["signed", "active"]} in changes


def test_repeated_sign_or_activate_changes_nothing(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = moved_through(session, people.sales, customer, "signed", "active")
        audited = len(list_audit(session, entity_type="contract", entity_id=pk(contract)))
        activate_contract(session, actor=people.sales, contract_id=pk(contract))
        assert len(list_audit(session, entity_type="contract", entity_id=pk(contract))) == audited


@pytest.mark.parametrize(
    ("statuses", "move"),
    [
        ((), "activate"),
        ((), "terminate"),
        ((), "renew"),
        (("signed",), "renew"),
        (("signed", "active"), "sign"),
        (("signed", "active", "terminate"), "renew"),
        (("signed", "active", "terminate"), "activate"),
        (("signed", "active", "renew"), "terminate"),
    ],
)
def test_moves_the_status_does_not_allow_are_refused(
    db: Database, statuses: tuple[str, ...], move: str
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = moved_through(session, people.sales, customer, *statuses[:2])
        contract_id = pk(contract)
        moves = {
            "sign": lambda: sign_contract(
                session, actor=people.sales, contract_id=contract_id, signed_on=TODAY
            ),
            "activate": lambda: activate_contract(
                session, actor=people.sales, contract_id=contract_id
            ),
            "terminate": lambda: terminate_contract(
                session,
                actor=people.sales,
                contract_id=contract_id,
                terminated_on=TODAY,
                reason="customer closed",
            ),
            "renew": lambda: renew_contract(
                session, actor=people.sales, contract_id=contract_id, number="R-1"
            ),
        }
        for done in statuses[2:]:
            moves[done]()
        status = contract.status
        with pytest.raises(TransitionRefused):
            moves[move]()
        assert contract.status == status


def test_terminate_keeps_date_and_reason(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = moved_through(session, people.sales, customer, "signed", "active")
        terminate_contract(
            session,
            actor=people.sales,
            contract_id=pk(contract),
            terminated_on=date(2027, 3, 1),
            reason=" moved to a competitor ",
        )
        assert contract.status == "terminated"
        assert (contract.terminated_on, contract.termination_reason) == (
            date(2027, 3, 1),
            "moved to a competitor",
        )
        entries = list_audit(session, entity_type="contract", entity_id=pk(contract))
        assert entries[0].changes["termination_reason"] == [None, "moved to a competitor"]
        other = moved_through(session, people.sales, customer, "signed", number="M-2")
        with pytest.raises(ValueError, match="signed"):
            terminate_contract(
                session,
                actor=people.sales,
                contract_id=pk(other),
                terminated_on=TODAY - timedelta(days=1),
                reason="",
            )


def test_renew_prefills_the_next_contract_and_links_both(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        old = moved_through(session, people.sales, customer, "signed", "active")
        deal = create_deal(
            session,
            actor=people.sales,
            data=DealCreate(customer_id=pk(customer), title="Service", stage="won"),
        )
        old.deal_id = deal.id
        new = renew_contract(session, actor=people.manager, contract_id=pk(old), number="R-1")
        assert (old.status, new.status, new.renewed_from_id) == ("renewed", "draft", old.id)
        assert (new.customer_id, new.owner_id, new.number) == (pk(customer), old.owner_id, "R-1")
        assert new.deal_id == deal.id
        assert (new.title, new.amount, new.currency, new.terms, new.renewal_notice_days) == (
            old.title,
            old.amount,
            old.currency,
            old.terms,
            old.renewal_notice_days,
        )
        # 2027 ran a whole year; 2028 is a leap year and still runs to its last day.
        assert (new.starts_on, new.ends_on) == (date(2028, 1, 1), date(2028, 12, 31))
        assert find_renewal(session, contract_id=pk(old)) is new
        again = renew_contract(session, actor=people.sales, contract_id=pk(old), number="R-2")
        assert again is new
        (created,) = list_audit(session, entity_type="contract", entity_id=pk(new))
        assert created.changes["renewed_from_id"] == [None, old.id]


def test_renew_keeps_a_term_of_whole_months_in_months_and_others_in_days(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        terms = {  # (old start, old end): new end; a month stays a month, 35 days 35 days
            (date(2027, 1, 1), date(2027, 1, 31)): date(2027, 2, 28),
            (date(2027, 1, 10), date(2027, 2, 14)): date(2027, 3, 22),
        }
        for i, ((starts_on, ends_on), new_end) in enumerate(terms.items()):
            data = contract_data(customer, f"D-{i}", starts_on=starts_on, ends_on=ends_on)
            old = create_contract(session, actor=people.sales, data=data)
            activate_contract(session, actor=people.sales, contract_id=pk(old))
            new = renew_contract(session, actor=people.sales, contract_id=pk(old), number=f"E-{i}")
            assert (new.starts_on, new.ends_on) == (ends_on + timedelta(days=1), new_end)


def test_moves_on_another_salespersons_contract_are_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = moved_through(session, people.sales, customer, "signed", "active")
        with pytest.raises(NotFound):
            renew_contract(
                session, actor=people.other_sales, contract_id=pk(contract), number="X-1"
            )
        with pytest.raises(NotFound):
            terminate_contract(
                session,
                actor=people.teammate,
                contract_id=pk(contract),
                terminated_on=TODAY,
                reason="forged",
            )
        assert contract.status == "active"
