"""Editing, deleting, restoring, merging and reassigning customers: access, moves, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound
from storage.audit import list_audit
from storage.contracts import get_contract, list_contracts
from storage.customer_changes import (
    archive_customer,
    list_customer_history,
    list_deleted_customers,
    list_reassign_targets,
    merge_customers,
    reassign_customer,
    restore_customer,
    update_customer,
)
from storage.customers import CustomerCreate, create_customer, list_phones
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import (
    Attachment,
    Contract,
    ContractStatus,
    Customer,
    Deal,
    Interaction,
    Member,
    Order,
    Reminder,
    Role,
    Ticket,
    utcnow,
)
from storage.record_changes import update_deal
from storage.search.find import find_customers
from tests.factories import make_member, pk


@dataclass
class People:
    admin: Member
    manager: Member
    sales: Member
    teammate: Member
    other_sales: Member


def make_people(session: Session) -> People:
    manager = make_member(session, role=Role.MANAGER)
    other_manager = make_member(session, role=Role.MANAGER)
    return People(
        admin=make_member(session, role=Role.ADMIN),
        manager=manager,
        sales=make_member(session, manager=manager),
        teammate=make_member(session, manager=manager),
        other_sales=make_member(session, manager=other_manager),
    )


def add_customer(
    session: Session, owner: Member, name: str = "Zhang Wei", **fields: object
) -> int:
    return pk(create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields)))  # type: ignore[arg-type]


def add_children(session: Session, owner: Member, customer_id: int) -> None:
    now, owner_id = utcnow(), pk(owner)
    session.add(Interaction(customer_id=customer_id, owner_id=owner_id, kind="call",
                            created_by_id=owner_id, summary="called"))  # fmt: skip
    session.add(Deal(customer_id=customer_id, owner_id=owner_id, title="Chairs", stage="lead",
                     created_by_id=owner_id))  # fmt: skip
    session.add(Order(customer_id=customer_id, owner_id=owner_id, number=f"DD-{customer_id}",
                      ordered_on=now.date(), status="paid", created_by_id=owner_id))  # fmt: skip
    session.add(Reminder(member_id=owner_id, customer_id=customer_id, kind="follow_up",
                         due_at=now + timedelta(days=1)))  # fmt: skip
    session.add(Attachment(customer_id=customer_id, kind="photo", telegram_file_id="f",
                           telegram_file_unique_id="u", created_by_id=owner_id))  # fmt: skip
    session.add(Contract(customer_id=customer_id, owner_id=owner_id, number=f"C-{customer_id}",
                         title="Service", status="active", created_by_id=owner_id))  # fmt: skip
    session.add(Ticket(customer_id=customer_id, owner_id=owner_id, assignee_id=owner_id,
                       number=f"GD-{customer_id}", type="repair", priority="normal",
                       description="broken", due_at=now, created_by_id=owner_id))  # fmt: skip
    session.flush()


def test_update_customer_audits_old_and_new_values(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(
            session, people.sales, company="Acme", phones=["+8613800138000"]
        )
        update_customer(
            session,
            actor=people.sales,
            customer_id=customer_id,
            changes={"company": "Globex", "phones": ["+8613900139000"], "name": "Zhang Wei"},
        )
        entry = list_audit(session, entity_type="customer", entity_id=customer_id)[0]
        phones = list_phones(session, customer_id=customer_id)
    assert entry.action == "update"
    assert entry.actor_id == people.sales.id
    assert entry.changes == {
        "company": ["Acme", "Globex"],
        "phones": [["+8613800138000"], ["+8613900139000"]],
    }
    assert phones == ["+8613900139000"]


def test_update_customer_refreshes_search_keys(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, name="Old Name")
        update_customer(
            session, actor=people.sales, customer_id=customer_id, changes={"name": "张伟"}
        )
        found = find_customers(session, actor=people.sales, query="zhangwei", region="CN")
    assert [c.id for c in found] == [customer_id]


def test_update_customer_of_another_team_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.other_sales)
        with pytest.raises(NotFound):
            update_customer(
                session, actor=people.sales, customer_id=customer_id, changes={"name": "X"}
            )


def test_update_customer_without_changes_writes_no_audit(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, email="a@b.co")
        update_customer(
            session, actor=people.sales, customer_id=customer_id, changes={"email": "a@b.co"}
        )
        entries = list_audit(session, entity_type="customer", entity_id=customer_id)
    assert [e.action for e in entries] == ["create"]


def test_archive_hides_and_admin_restore_brings_back(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales, name="Hidden Person")
        archive_customer(session, actor=people.sales, customer_id=customer_id)
        assert find_customers(session, actor=people.sales, query="hidden", region="CN") == []
        with pytest.raises(NotFound):
            list_deleted_customers(session, actor=people.manager)
        with pytest.raises(NotFound):
            restore_customer(session, actor=people.manager, customer_id=customer_id)
        deleted = list_deleted_customers(session, actor=people.admin)
        restore_customer(session, actor=people.admin, customer_id=customer_id)
        found = find_customers(session, actor=people.sales, query="hidden", region="CN")
        actions = [
            (e.action, e.changes["deleted_at"][1] is None)
            for e in list_audit(session, entity_type="customer", entity_id=customer_id)[:2]
        ]
    assert [c.id for c in deleted] == [customer_id]
    assert [c.id for c in found] == [customer_id]
    assert actions == [("restore", True), ("delete", False)]


def test_merge_moves_every_child_row_and_deletes_the_duplicate(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales, phones=["+8613800138000"])
        duplicate = add_customer(
            session,
            people.teammate,
            phones=["+8613800138000", "+8613900139000", "+8613700137000"],
        )
        add_children(session, people.teammate, duplicate)
        merge_customers(
            session, actor=people.manager, survivor_id=survivor, duplicate_id=duplicate
        )
        for model in (Interaction, Deal, Order, Contract, Ticket, Reminder, Attachment):
            rows = session.exec(select(model).where(col(model.customer_id) == survivor)).all()
            assert len(rows) == 1, model
            assert not session.exec(select(model).where(col(model.customer_id) == duplicate)).all()
        assert list_phones(session, customer_id=survivor) == [
            "+8613800138000",
            "+8613900139000",
            "+8613700137000",
        ]
        assert session.get_one(Customer, duplicate).deleted_at is not None
        kept = list_audit(session, entity_type="customer", entity_id=survivor)[0]
        gone = list_audit(session, entity_type="customer", entity_id=duplicate)[0]
    assert kept.action == gone.action == "merge"
    assert kept.changes == {  # the shared phone is not counted as moved
        "merged_from": [None, duplicate],
        "phones": [0, 2],
        **{
            label: [0, 1]
            for label in (
                "notes",
                "deals",
                "orders",
                "contracts",
                "tickets",
                "reminders",
                "attachments",
            )
        },
    }
    assert gone.changes == {"merged_into": [None, survivor], "deleted": [False, True]}
    assert kept.actor_id == gone.actor_id == people.manager.id


def test_merge_hands_what_moved_to_the_survivors_owner(db: Database) -> None:
    """The duplicate's owner (here a manager, who still sees the survivor) keeps none of it:
    the follow-up is the survivor owner's."""
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales)
        duplicate = add_customer(session, people.manager, name="Zhang  Wei")
        add_children(session, people.manager, duplicate)
        merged = merge_customers(
            session, actor=people.admin, survivor_id=survivor, duplicate_id=duplicate
        )
        reminder = session.exec(
            select(Reminder).where(col(Reminder.customer_id) == survivor)
        ).one()
        deal = session.exec(select(Deal).where(col(Deal.customer_id) == survivor)).one()
        contract = session.exec(
            select(Contract).where(col(Contract.customer_id) == survivor)
        ).one()
    assert merged.reminders_moved == 1
    assert contract.owner_id == people.sales.id
    assert (merged.survivor.id, merged.duplicate.id) == (survivor, duplicate)
    assert (merged.old_owner.id, merged.new_owner.id) == (people.manager.id, people.sales.id)
    assert (reminder.member_id, deal.owner_id) == (people.sales.id, people.sales.id)


@pytest.mark.parametrize("later", ["survivor", "duplicate"])
def test_merge_keeps_the_later_last_contact_of_the_two(db: Database, later: str) -> None:
    recent, old = utcnow() - timedelta(days=2), utcnow() - timedelta(days=80)
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales)
        duplicate = add_customer(session, people.teammate)
        session.get_one(Customer, survivor).last_contact_at = (
            old if later != "survivor" else recent
        )
        session.get_one(Customer, duplicate).last_contact_at = (
            recent if later != "survivor" else old
        )
        merge_customers(
            session, actor=people.manager, survivor_id=survivor, duplicate_id=duplicate
        )
    with db.session() as session:
        assert session.get_one(Customer, survivor).last_contact_at == recent


@pytest.mark.parametrize("who", ["sales", "other_team"])
def test_merge_refused_for_sales_or_outside_scope(db: Database, who: str) -> None:
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales)
        owner = people.other_sales if who == "other_team" else people.sales
        duplicate = add_customer(session, owner)
        actor = people.manager if who == "other_team" else people.sales
        with pytest.raises(NotFound):
            merge_customers(session, actor=actor, survivor_id=survivor, duplicate_id=duplicate)
        assert session.get_one(Customer, duplicate).deleted_at is None


def test_reassign_moves_pending_reminders_only(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        due = utcnow() + timedelta(days=1)
        pending = Reminder(
            member_id=pk(people.sales), customer_id=customer_id, kind="k", due_at=due
        )
        done = Reminder(member_id=pk(people.sales), customer_id=customer_id, kind="k", due_at=due,
                        status="done")  # fmt: skip
        mine = Reminder(
            member_id=pk(people.manager), customer_id=customer_id, kind="k", due_at=due
        )
        session.add_all([pending, done, mine])
        session.flush()
        result = reassign_customer(
            session,
            actor=people.manager,
            customer_id=customer_id,
            new_owner_id=pk(people.teammate),
        )
        session.refresh(pending)
        session.refresh(done)
        session.refresh(mine)
        entry = list_audit(session, entity_type="customer", entity_id=customer_id)[0]
    assert result.reminders_moved == 1
    assert result.customer.owner_id == people.teammate.id
    assert (pending.member_id, done.member_id, mine.member_id) == (
        people.teammate.id,
        people.sales.id,
        people.manager.id,
    )
    assert (result.old_owner.id, result.new_owner.id) == (people.sales.id, people.teammate.id)
    assert (entry.action, entry.actor_id) == ("reassign", people.manager.id)
    assert entry.changes == {"owner": [people.sales.display_name, people.teammate.display_name]}


def test_reassign_hands_over_the_old_owners_reminders_though_they_still_see_the_customer(
    db: Database,
) -> None:
    """A manager's customer given to their salesperson: the manager still sees it, but the
    follow-up is now the salesperson's."""
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.manager)
        reminder = Reminder(member_id=pk(people.manager), customer_id=customer_id, kind="k",
                            due_at=utcnow() + timedelta(days=1))  # fmt: skip
        session.add(reminder)
        session.flush()
        result = reassign_customer(
            session, actor=people.admin, customer_id=customer_id, new_owner_id=pk(people.sales)
        )
        session.refresh(reminder)
    assert result.reminders_moved == 1
    assert reminder.member_id == people.sales.id


@pytest.mark.parametrize("target", ["inactive", "current_owner"])
def test_reassign_to_an_inactive_member_or_the_current_owner_is_not_found(
    db: Database, target: str
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        new_owner = people.sales
        if target == "inactive":
            new_owner = make_member(session, manager=people.manager, active=False)
        with pytest.raises(NotFound):
            reassign_customer(
                session, actor=people.manager, customer_id=customer_id, new_owner_id=pk(new_owner)
            )


def test_reassign_outside_scope_or_by_sales_is_not_found(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        with pytest.raises(NotFound):
            reassign_customer(
                session,
                actor=people.manager,
                customer_id=customer_id,
                new_owner_id=pk(people.other_sales),
            )
        with pytest.raises(NotFound):
            reassign_customer(
                session,
                actor=people.sales,
                customer_id=customer_id,
                new_owner_id=pk(people.teammate),
            )
        targets = list_reassign_targets(session, actor=people.manager, customer_id=customer_id)
        assert session.get_one(Customer, customer_id).owner_id == people.sales.id
    assert {m.id for m in targets} == {people.manager.id, people.teammate.id}


def test_history_lists_entries_newest_first_with_actor_names(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        update_customer(
            session, actor=people.manager, customer_id=customer_id, changes={"region": "华东"}
        )
        history = list_customer_history(
            session, actor=people.sales, customer_id=customer_id, limit=10
        )
        with pytest.raises(NotFound):
            list_customer_history(
                session, actor=people.other_sales, customer_id=customer_id, limit=10
            )
    assert [(h.action, h.actor_name) for h in history] == [
        ("update", people.manager.display_name),
        ("create", people.sales.display_name),
    ]
    assert history[0].changes == {"region": [None, "华东"]}


def test_history_includes_the_customers_deals_and_notes(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        other_id = add_customer(session, people.sales)
        deal = create_deal(
            session,
            actor=people.sales,
            data=DealCreate(customer_id=customer_id, title="50 chairs", stage="lead"),
        )
        create_deal(  # another customer's deal stays out of this history
            session,
            actor=people.sales,
            data=DealCreate(customer_id=other_id, title="Desks", stage="lead"),
        )
        update_deal(session, actor=people.sales, deal_id=pk(deal), changes={"title": "60 chairs"})
        note = create_interaction(
            session,
            actor=people.sales,
            data=InteractionCreate(customer_id=customer_id, kind="call", happened_at=utcnow()),
        )
        history = list_customer_history(
            session, actor=people.sales, customer_id=customer_id, limit=10
        )
    assert [(h.entity_type, h.entity_id, h.action) for h in history] == [
        ("interaction", pk(note), "create"),
        ("deal", pk(deal), "update"),
        ("deal", pk(deal), "create"),
        ("customer", customer_id, "create"),
    ]
    assert history[1].changes == {"title": ["50 chairs", "60 chairs"]}


def test_reassign_to_another_team_hands_over_deals_orders_and_lost_reminders(
    db: Database,
) -> None:
    """The old owner's sent reminder and the old manager's own one both move (neither may see
    the customer any more); a finished one stays where it was."""
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        add_children(session, people.sales, customer_id)
        due = utcnow() - timedelta(hours=1)
        sent = Reminder(member_id=pk(people.sales), customer_id=customer_id, kind="k",
                        due_at=due, status="sent")  # fmt: skip
        managers = Reminder(member_id=pk(people.manager), customer_id=customer_id, kind="k",
                            due_at=due)  # fmt: skip
        done = Reminder(member_id=pk(people.manager), customer_id=customer_id, kind="k",
                        due_at=due, status="done")  # fmt: skip
        session.add_all([sent, managers, done])
        session.flush()
        result = reassign_customer(
            session,
            actor=people.admin,
            customer_id=customer_id,
            new_owner_id=pk(people.other_sales),
        )
        owners = {
            model.__name__: set(
                session.exec(select(model.owner_id).where(col(model.customer_id) == customer_id))
            )
            for model in (Deal, Order, Contract)
        }
        members = [session.get_one(Reminder, r.id).member_id for r in (sent, managers, done)]
    new = people.other_sales.id
    assert owners == {"Deal": {new}, "Order": {new}, "Contract": {new}}
    assert members == [new, new, people.manager.id]
    assert result.reminders_moved == 3  # with add_children's pending one


def test_hand_over_moves_only_this_customers_records_and_stamps_what_it_moved(
    db: Database,
) -> None:
    """Another customer's deals, orders and reminders stay as they were, and so does a
    deal the new owner already had; what moved carries the time it moved."""
    long_ago = utcnow() - timedelta(days=400)
    with db.session() as session:
        people = make_people(session)
        new, old = pk(people.other_sales), pk(people.sales)
        moving = add_customer(session, people.sales)
        staying = add_customer(session, people.sales, name="Li Na")
        for customer_id in (moving, staying):
            add_children(session, people.sales, customer_id)
        theirs = Deal(customer_id=moving, owner_id=new, title="Own", stage="lead",
                      created_by_id=new)  # fmt: skip
        session.add(theirs)
        for model in (Deal, Order, Contract, Reminder):
            for row in session.exec(select(model)):
                row.updated_at = long_ago
        session.flush()
        result = reassign_customer(
            session, actor=people.admin, customer_id=moving, new_owner_id=new
        )
        session.expire_all()
        rows = {
            (
                model.__name__,
                row.customer_id,
                getattr(row, "owner_id", None) or row.member_id,
            ): row.updated_at > long_ago
            for model in (Deal, Order, Contract, Reminder)
            for row in session.exec(select(model)).all()
            if not (model is Deal and row.title == "Own")
        }
        own_deal = session.get_one(Deal, theirs.id)
    assert result.reminders_moved == 1
    assert rows == {
        ("Deal", moving, new): True,
        ("Order", moving, new): True,
        ("Contract", moving, new): True,
        ("Reminder", moving, new): True,
        ("Deal", staying, old): False,
        ("Order", staying, old): False,
        ("Contract", staying, old): False,
        ("Reminder", staying, old): False,
    }
    assert own_deal.updated_at == long_ago


def test_merge_of_two_customers_of_one_owner_moves_no_reminder_to_anyone(db: Database) -> None:
    """The owner's reminders come along with the notes but stay the owner's: none changed
    hands, so none is counted (or announced) as handed over."""
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales)
        duplicate = add_customer(session, people.sales, name="Zhang  Wei")
        add_children(session, people.sales, duplicate)
        merged = merge_customers(
            session, actor=people.manager, survivor_id=survivor, duplicate_id=duplicate
        )
        reminder = session.exec(
            select(Reminder).where(col(Reminder.customer_id) == survivor)
        ).one()
        owner = pk(people.sales)
    assert merged.reminders_moved == 0
    assert reminder.member_id == owner


def test_reassign_hands_over_every_live_contract_and_leaves_deleted_ones(db: Database) -> None:
    """Closed contracts go too, so the new owner reads the account's whole contract history
    (a contract needs its owner in scope, like a deal); a deleted one stays with who held it.
    The old owner reaches none of them any more."""
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        owner_id = pk(people.sales)
        contracts = {
            status: Contract(
                customer_id=customer_id,
                owner_id=owner_id,
                number=f"S-{status}",
                title=status,
                status=status,
                created_by_id=owner_id,
            )  # fmt: skip
            for status in ContractStatus
        }
        deleted = Contract(customer_id=customer_id, owner_id=owner_id, number="S-gone",
                           title="gone", created_by_id=owner_id, deleted_at=utcnow())  # fmt: skip
        session.add_all([*contracts.values(), deleted])
        session.flush()
        reassign_customer(
            session, actor=people.admin, customer_id=customer_id, new_owner_id=pk(people.teammate)
        )
        session.expire_all()
        owners = {status: c.owner_id for status, c in contracts.items()}
        listed = list_contracts(session, actor=people.teammate, customer_id=customer_id)
        expired = get_contract(
            session, actor=people.teammate, contract_id=pk(contracts[ContractStatus.EXPIRED])
        )
        with pytest.raises(NotFound):
            get_contract(session, actor=people.sales, contract_id=pk(contracts["active"]))
        left = deleted.owner_id
    assert owners == dict.fromkeys(owners, people.teammate.id)
    assert expired.status == "expired"
    assert len(listed) == len(ContractStatus)
    assert left == people.sales.id


def test_merge_hands_closed_contracts_to_the_survivors_owner(db: Database) -> None:
    with db.session() as session:
        people = make_people(session)
        survivor = add_customer(session, people.sales)
        duplicate = add_customer(session, people.teammate, name="Zhang  Wei")
        teammate_id = pk(people.teammate)
        closed = Contract(customer_id=duplicate, owner_id=teammate_id, number="T-1",
                          title="old", status=ContractStatus.TERMINATED,
                          created_by_id=teammate_id)  # fmt: skip
        session.add(closed)
        session.flush()
        merge_customers(session, actor=people.admin, survivor_id=survivor, duplicate_id=duplicate)
        session.expire_all()
        assert closed.owner_id == people.sales.id
        assert get_contract(session, actor=people.sales, contract_id=pk(closed)).id == closed.id


def test_archive_hides_the_customers_contracts_and_restore_brings_them_back(
    db: Database,
) -> None:
    with db.session() as session:
        people = make_people(session)
        customer_id = add_customer(session, people.sales)
        add_children(session, people.sales, customer_id)
        contract_id = pk(session.exec(select(Contract)).one())
        archive_customer(session, actor=people.sales, customer_id=customer_id)
        for reader in (people.sales, people.manager, people.admin):
            with pytest.raises(NotFound):
                get_contract(session, actor=reader, contract_id=contract_id)
            with pytest.raises(NotFound):
                list_contracts(session, actor=reader, customer_id=customer_id)
        restore_customer(session, actor=people.admin, customer_id=customer_id)
        assert get_contract(session, actor=people.sales, contract_id=contract_id).id == contract_id
        listed = list_contracts(session, actor=people.manager, customer_id=customer_id)
        assert [c.id for c in listed] == [contract_id]
