"""Finding contracts by number or title (`storage.contract_lookups`), through the access rule."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from storage.customer_changes import reassign_customer
from storage.db import Database
from storage.lookups import find_records
from storage.models import Contract, ContractStatus, Member, utcnow
from tests.factories import make_customer, pk
from tests.storage.test_customer_changes import make_people


def add(session: Session, owner: Member, number: str, title: str = "Forklift service") -> int:
    customer = make_customer(session, owner=owner, name="Zhang Wei")
    contract = Contract(
        customer_id=pk(customer),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        number=number,
        title=title,
        status=ContractStatus.ACTIVE,
        ends_on=date(2027, 12, 31),
    )
    session.add(contract)
    session.flush()
    return pk(contract)


def numbers(session: Session, actor: Member, query: str) -> list[str]:
    return [c.number for c, _ in find_records(session, actor=actor, query=query).contracts]


def test_number_exact_any_case_then_prefix_then_title(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        add(session, people.sales, "HT-2027-0010")
        add(session, people.sales, "HT-2027-001")
        add(session, people.sales, "XS-9", title="Service ht-2027-001 annex")
        add(session, people.sales, "合同-7", title="叉车维保")
        assert numbers(session, people.sales, "ht-2027-001") == [
            "HT-2027-001",
            "HT-2027-0010",
            "XS-9",
        ]
        assert numbers(session, people.sales, "叉车") == ["合同-7"]
        assert numbers(session, people.sales, "合同-7") == ["合同-7"]
        assert numbers(session, people.sales, "%") == []  # a wildcard is a character
        assert numbers(session, people.sales, "   ") == []

    db.run_sync(scenario)


def test_a_contract_named_by_number_and_title_is_listed_once_and_five_at_most(
    db: Database,
) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        add(session, people.sales, "HT-7", title="HT-7 annex")
        assert numbers(session, people.sales, "HT-7") == ["HT-7"]
        for n in range(7):
            add(session, people.sales, f"PL-{n}", title="pump service")
        assert numbers(session, people.sales, "pump") == [f"PL-{n}" for n in (6, 5, 4, 3, 2)]
        for n in range(3):
            add(session, people.sales, f"PUMP-{n}", title="valves")
        assert numbers(session, people.sales, "pump") == [
            "PUMP-2",
            "PUMP-1",
            "PUMP-0",
            "PL-6",
            "PL-5",
        ]

    db.run_sync(scenario)


def test_another_salespersons_number_finds_nothing_as_an_unknown_one(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        add(session, people.sales, "HT-1")
        deleted = add(session, people.sales, "HT-2")
        session.get_one(Contract, deleted).deleted_at = utcnow()
        assert numbers(session, people.other_sales, "HT-1") == []
        assert numbers(session, people.other_sales, "HT-404") == []
        assert numbers(session, people.teammate, "HT-1") == []
        assert numbers(session, people.manager, "HT-1") == ["HT-1"]
        assert numbers(session, people.admin, "HT") == ["HT-1"]  # the deleted one is gone

    db.run_sync(scenario)


def test_a_reassignment_moves_what_each_side_finds_both_ways(db: Database) -> None:
    def scenario(session: Session) -> None:
        people = make_people(session)
        contract_id = add(session, people.sales, "HT-1")
        customer_id = session.get_one(Contract, contract_id).customer_id
        reassign_customer(
            session,
            actor=people.admin,
            customer_id=customer_id,
            new_owner_id=pk(people.other_sales),
        )
        assert numbers(session, people.sales, "HT-1") == []
        assert numbers(session, people.other_sales, "HT-1") == ["HT-1"]
        assert numbers(session, people.manager, "HT-1") == []
        reassign_customer(
            session, actor=people.admin, customer_id=customer_id, new_owner_id=pk(people.sales)
        )
        assert numbers(session, people.sales, "HT-1") == ["HT-1"]
        assert numbers(session, people.other_sales, "HT-1") == []

    db.run_sync(scenario)


def test_a_contract_left_with_its_old_owner_is_out_of_their_reach(db: Database) -> None:
    """The rule of deals: the customer must be in scope too, not only the contract's owner."""

    def scenario(session: Session) -> None:
        people = make_people(session)
        contract_id = add(session, people.sales, "HT-1")
        contract = session.get_one(Contract, contract_id)
        contract.status = ContractStatus.EXPIRED  # a closed one is not handed over on main
        customer_id = contract.customer_id
        session.flush()
        reassign_customer(
            session,
            actor=people.admin,
            customer_id=customer_id,
            new_owner_id=pk(people.other_sales),
        )
        session.get_one(Contract, contract_id).owner_id = pk(people.sales)
        session.flush()
        assert numbers(session, people.sales, "HT-1") == []

    db.run_sync(scenario)


def test_a_contract_of_someone_else_on_ones_own_customer_is_not_found(db: Database) -> None:
    """Both halves of the rule: the customer in scope is not enough, the owner must be too."""

    def scenario(session: Session) -> None:
        people = make_people(session)
        contract = session.get_one(Contract, add(session, people.other_sales, "HT-1"))
        contract.owner_id = pk(people.sales)
        session.flush()
        assert numbers(session, people.other_sales, "HT-1") == []
        assert numbers(session, people.sales, "HT-1") == []
        assert numbers(session, people.admin, "HT-1") == ["HT-1"]

    db.run_sync(scenario)


def test_titles_are_found_inside_in_any_case_and_follow_edits_and_deletes(db: Database) -> None:
    """Titles come from the trigram index (FTS5 over spaced titles / pg_trgm), kept in step
    with the contract table: a new title is found and the old one no longer, a deleted row
    is gone, and quotes or wildcards in the query are characters, not syntax."""

    def scenario(session: Session) -> None:
        people = make_people(session)
        pump = session.get_one(Contract, add(session, people.sales, "C-1", "Pump MAINTENANCE"))
        add(session, people.sales, "C-2", 'Boiler "A" 维保合同 100%')
        gone = session.get_one(Contract, add(session, people.sales, "C-3", "Chiller maintenance"))
        assert numbers(session, people.sales, "maintenance") == ["C-3", "C-1"]
        assert numbers(session, people.sales, "UMP MAIN") == ["C-1"]
        assert numbers(session, people.sales, "维保合同") == ["C-2"]
        assert numbers(session, people.sales, "维保") == ["C-2"]  # two characters, indexed too
        assert numbers(session, people.sales, "mp") == ["C-1"]
        assert numbers(session, people.sales, '"A"') == ["C-2"]
        assert numbers(session, people.sales, "100%") == ["C-2"]
        assert numbers(session, people.sales, "0%x") == []
        pump.title = "Pump overhaul"
        session.delete(gone)
        session.flush()
        assert numbers(session, people.sales, "maintenance") == []
        assert numbers(session, people.sales, "overhaul") == ["C-1"]
        assert numbers(session, people.other_sales, "overhaul") == []

    db.run_sync(scenario)
