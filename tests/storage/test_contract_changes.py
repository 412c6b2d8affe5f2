"""Contracts after entry: files, the card's view, renewal with the confirmed data, edits,
soft delete and restore, history; each through the access rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.contract_changes import (
    EditRefused,
    add_contract_files,
    archive_contract,
    list_contract_history,
    list_deleted_contracts,
    restore_contract,
    update_contract,
)
from storage.contract_views import (
    customer_contracts,
    deals_to_contract,
    get_contract_view,
    list_contract_files,
)
from storage.contracts import (
    DuplicateNumber,
    activate_contract,
    create_contract,
    get_contract,
    renew_contract,
    terminate_contract,
)
from storage.customer_card import read_customer_card
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.interactions import AttachmentRef
from storage.models import Contract, ContractStatus, Customer, Deal, Member
from tests.factories import make_customer, pk
from tests.storage.test_contracts import contract_data
from tests.storage.test_customer_changes import People, make_people


def won_deal(session: Session, actor: Member, customer: Customer, title: str) -> Deal:
    data = DealCreate(customer_id=pk(customer), title=title, stage="won")
    return create_deal(session, actor=actor, data=data)


def sales_contract(session: Session, people: People) -> Contract:
    """A contract of the salesperson's own customer."""
    customer = make_customer(session, owner=people.sales)
    return create_contract(session, actor=people.sales, data=contract_data(customer))


FILES = (AttachmentRef("document", "f-1", "u-1"), AttachmentRef("photo", "f-2", "u-2"))


def test_files_are_kept_with_the_contract_and_read_through_the_rule(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = create_contract(
            session, actor=people.sales, data=contract_data(customer), files=FILES
        )
        files = list_contract_files(session, actor=people.manager, contract_id=pk(contract))
        assert [(f.kind, f.telegram_file_id, f.customer_id) for f in files] == [
            ("document", "f-1", customer.id),
            ("photo", "f-2", customer.id),
        ]
        with pytest.raises(NotFound):
            list_contract_files(session, actor=people.other_sales, contract_id=pk(contract))


def test_files_added_later_join_the_contracts_through_the_rule_and_are_audited(
    db: Database,
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        contract = create_contract(
            session, actor=people.sales, data=contract_data(customer), files=FILES[:1]
        )
        with pytest.raises(NotFound):
            add_contract_files(
                session, actor=people.other_sales, contract_id=pk(contract), files=FILES[1:]
            )
        add_contract_files(session, actor=people.manager, contract_id=pk(contract), files=())
        add_contract_files(session, actor=people.manager, contract_id=pk(contract), files=FILES)
        files = list_contract_files(session, actor=people.sales, contract_id=pk(contract))
        assert [(f.telegram_file_id, f.customer_id) for f in files] == [
            ("f-1", customer.id),
            ("f-1", customer.id),
            ("f-2", customer.id),
        ]
        history = list_contract_history(
            session, actor=people.sales, contract_id=pk(contract), limit=10
        )
        assert [e.changes for e in history if e.action == "update"] == [{"files": [1, 3]}]


def test_renewal_with_confirmed_data_links_both_and_keeps_the_customer(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        other = make_customer(session, owner=people.sales)
        old = create_contract(session, actor=people.sales, data=contract_data(customer))
        activate_contract(session, actor=people.sales, contract_id=pk(old))
        data = replace(contract_data(other, "R-9"), amount=Decimal("150000"))
        new = renew_contract(
            session, actor=people.sales, contract_id=pk(old), data=data, files=FILES[:1]
        )
        assert (old.status, new.renewed_from_id, new.customer_id) == (
            "renewed",
            old.id,
            pk(customer),
        )
        assert (new.number, new.amount) == ("R-9", Decimal("150000.00"))
        view = get_contract_view(session, actor=people.sales, contract_id=pk(new))
        assert (view.renewed_from.number if view.renewed_from else None, view.files) == (
            "HT-2026-0001",
            1,
        )
        before = get_contract_view(session, actor=people.sales, contract_id=pk(old))
        assert before.renewed_by is not None
        assert before.renewed_by.number == "R-9"


def test_card_view_hides_a_deal_the_reader_may_not_see(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        deal = won_deal(session, people.sales, customer, "Service")
        contract = create_contract(
            session, actor=people.sales, data=contract_data(customer, deal_id=deal.id)
        )
        assert (
            get_contract_view(session, actor=people.sales, contract_id=pk(contract)).deal_title
            == "Service"
        )
        deal.owner_id = pk(people.other_sales)
        session.flush()
        assert (
            get_contract_view(session, actor=people.sales, contract_id=pk(contract)).deal_title
            is None
        )
        assert deals_to_contract(session, actor=people.sales, customer_id=pk(customer)) == []


def test_update_audits_changes_and_refuses_a_term_that_ends_before_it_starts(
    db: Database,
) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = sales_contract(session, people)
        update_contract(
            session, actor=people.manager, contract_id=pk(contract), changes={"title": "New"}
        )
        with pytest.raises(EditRefused):
            update_contract(
                session,
                actor=people.sales,
                contract_id=pk(contract),
                changes={"ends_on": date(2026, 1, 1)},
            )
        with pytest.raises(EditRefused):
            update_contract(
                session, actor=people.sales, contract_id=pk(contract), changes={"signed_on": None}
            )
        with pytest.raises(NotFound):
            update_contract(
                session, actor=people.other_sales, contract_id=pk(contract), changes={"title": "X"}
            )
        history = list_contract_history(
            session, actor=people.sales, contract_id=pk(contract), limit=10
        )
        assert [h.action for h in history] == ["update", "create"]
        assert history[0].changes == {"title": ["Forklift service 2027", "New"]}
        assert history[0].actor_name == people.manager.display_name


def test_archive_hides_and_only_an_admin_restores(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = sales_contract(session, people)
        with pytest.raises(NotFound):
            archive_contract(session, actor=people.other_sales, contract_id=pk(contract))
        archive_contract(session, actor=people.sales, contract_id=pk(contract))
        with pytest.raises(NotFound):
            get_contract_view(session, actor=people.sales, contract_id=pk(contract))
        for member in (people.sales, people.manager):
            with pytest.raises(NotFound):
                restore_contract(session, actor=member, contract_id=pk(contract))
            with pytest.raises(NotFound):
                list_deleted_contracts(session, actor=member)
        assert list_deleted_contracts(session, actor=people.admin) == [contract]
        restore_contract(session, actor=people.admin, contract_id=pk(contract))
        assert (
            get_contract_view(session, actor=people.sales, contract_id=pk(contract)).contract
            is contract
        )
        with pytest.raises(NotFound):  # no longer deleted
            restore_contract(session, actor=people.admin, contract_id=pk(contract))


def test_customer_contracts_lists_those_in_force_and_totals_what_was_signed(
    db: Database,
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer = make_customer(session, owner=people.sales)
        made = {}
        for number, status, currency in (
            ("D-1", ContractStatus.DRAFT, "CNY"),
            ("S-1", ContractStatus.SIGNED, "CNY"),
            ("A-1", ContractStatus.ACTIVE, "USD"),
            ("T-1", ContractStatus.SIGNED, "CNY"),
        ):
            data = replace(contract_data(customer, number), status=status, currency=currency)
            if status == ContractStatus.DRAFT:
                data = replace(data, signed_on=None)
            made[number] = create_contract(session, actor=people.sales, data=data)
        terminate_contract(
            session,
            actor=people.sales,
            contract_id=pk(made["T-1"]),
            terminated_on=date(2027, 2, 1),
            reason="",
        )
        made["A-1"].owner_id = pk(people.other_sales)  # left with someone out of scope
        session.flush()
        seen = read_customer_card(session, actor=people.sales, customer_id=pk(customer)).contracts
        assert [c.number for c in seen.in_force] == ["S-1"]
        assert seen.totals == {"CNY": Decimal("240000.00")}
        assert (seen.in_force_count, seen.count) == (1, 3)
        everything = customer_contracts(session, actor=people.admin, customer=customer)
        assert [c.number for c in everything.in_force] == ["A-1", "S-1"]
        assert everything.totals == {"CNY": Decimal("240000.00"), "USD": Decimal("120000.00")}
        with pytest.raises(NotFound):
            read_customer_card(session, actor=people.other_sales, customer_id=pk(customer))


def test_number_customer_and_deal_are_edited_through_the_rule_and_audited(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        first = make_customer(session, owner=people.sales)
        second = make_customer(session, owner=people.sales)
        foreign = make_customer(session, owner=people.other_sales)
        deal = won_deal(session, people.sales, first, "Service")
        later = won_deal(session, people.sales, second, "Spares")
        taken = create_contract(session, actor=people.sales, data=contract_data(first, "HT-9"))
        contract = create_contract(
            session, actor=people.sales, data=contract_data(first, deal_id=deal.id), files=FILES
        )

        def edit(**changes: object) -> None:
            update_contract(session, actor=people.sales, contract_id=pk(contract), changes=changes)

        with pytest.raises(DuplicateNumber):
            edit(number=" HT-9 ")
        with pytest.raises(DuplicateNumber):
            edit(number="ht-9")
        with pytest.raises(NotFound):  # another salesperson's customer: as if there were none
            edit(customer_id=pk(foreign))
        with pytest.raises(NotFound):  # a deal of another customer
            edit(deal_id=pk(later))
        edit(number=" HT-2026-0002 ")
        edit(customer_id=pk(second))  # the first customer's deal is let go, the files follow
        assert (contract.number, contract.customer_id, contract.deal_id) == (
            "HT-2026-0002",
            pk(second),
            None,
        )
        files = list_contract_files(session, actor=people.sales, contract_id=pk(contract))
        assert {f.customer_id for f in files} == {pk(second)}
        edit(deal_id=pk(later))
        assert contract.deal_id == later.id
        history = list_contract_history(
            session, actor=people.sales, contract_id=pk(contract), limit=10
        )
        assert [h.changes for h in history[:3]] == [
            {"deal_id": [None, later.id]},
            {"customer_id": [pk(first), pk(second)], "deal_id": [deal.id, None]},
            {"number": ["HT-2026-0001", "HT-2026-0002"]},
        ]
        assert taken.number == "HT-9"
        edit(number="ht-2026-0002")  # its own number in another case is no clash
        assert contract.number == "ht-2026-0002"


def test_a_contract_moved_to_another_owners_customer_goes_to_that_owner(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        contract = sales_contract(session, people)
        foreign = make_customer(session, owner=people.other_sales)
        update_contract(
            session,
            actor=people.admin,
            contract_id=pk(contract),
            changes={"customer_id": pk(foreign)},
        )
        assert (contract.customer_id, contract.owner_id) == (pk(foreign), pk(people.other_sales))
        with pytest.raises(NotFound):  # out of the former owner's reach, like a reassign
            get_contract(session, actor=people.sales, contract_id=pk(contract))
