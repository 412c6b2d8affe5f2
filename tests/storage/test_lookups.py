"""The chat's composed searches: /find pages, inline matches with phones, a named customer."""

from __future__ import annotations

from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.lookups import (
    find_customer_named,
    find_customer_page,
    find_customers_with_phones,
    find_records,
)
from storage.models import Member
from tests.factories import make_customer, make_member, pk
from tests.storage.test_access import make_team
from tests.storage.test_orders import new_order
from tests.storage.test_tickets import new_ticket


def a_member_with(db: Database, *customers: CustomerCreate) -> Member:
    with db.session() as session:
        member = make_member(session)
        for data in customers:
            create_customer(session, actor=member, data=data)
        return member


def test_find_customer_page_says_whether_another_page_follows(db: Database) -> None:
    member = a_member_with(db, *(CustomerCreate(name=f"Acme buyer {i}") for i in range(5)))
    first, more = db.read_sync(
        find_customer_page, actor=member, query="Acme", page=0, page_size=3, region="CN"
    )
    last, after_last = db.read_sync(
        find_customer_page, actor=member, query="Acme", page=1, page_size=3, region="CN"
    )
    assert (len(first), more, len(last), after_last) == (3, True, 2, False)
    assert not {c.id for c in first} & {c.id for c in last}


def test_find_customers_with_phones_lists_each_customers_phones(db: Database) -> None:
    member = a_member_with(db, CustomerCreate(name="Li Na", phones=["+8613800138000"]))
    found = db.read_sync(
        find_customers_with_phones, actor=member, query="Li Na", limit=5, region="CN"
    )
    assert [(c.name, phones) for c, phones in found] == [("Li Na", ["+8613800138000"])]


def test_find_customers_with_phones_lists_recent_customers_for_a_blank_query(
    db: Database,
) -> None:
    member = a_member_with(db, CustomerCreate(name="Li Na"), CustomerCreate(name="Wang Fang"))
    found = db.read_sync(find_customers_with_phones, actor=member, query=" ", limit=5, region="CN")
    assert sorted(c.name for c, _ in found) == ["Li Na", "Wang Fang"]


def test_find_customer_named_finds_a_latin_name_word(db: Database) -> None:
    member = a_member_with(db, CustomerCreate(name="Zhang Wei"), CustomerCreate(name="Li Na"))
    found = db.read_sync(find_customer_named, actor=member, text="call Zhang about the quote")
    assert found is not None
    assert found.name == "Zhang Wei"


def test_find_customer_named_finds_a_chinese_name_inside_the_text(db: Database) -> None:
    member = a_member_with(db, CustomerCreate(name="王伟"))
    found = db.read_sync(find_customer_named, actor=member, text="给王伟打电话")
    assert found is not None
    assert found.name == "王伟"


def test_find_customer_named_gives_none_when_two_match(db: Database) -> None:
    member = a_member_with(db, CustomerCreate(name="Zhang Wei"), CustomerCreate(name="Zhang Li"))
    assert db.read_sync(find_customer_named, actor=member, text="call Zhang") is None


def test_find_customer_named_ignores_other_members_customers(db: Database) -> None:
    a_member_with(db, CustomerCreate(name="Zhang Wei"))
    stranger = a_member_with(db)
    assert db.read_sync(find_customer_named, actor=stranger, text="call Zhang") is None


def test_records_found_by_number_follow_the_rule_of_deals(db: Database) -> None:
    """An order or ticket left with another team's salesperson on one's own customer is not
    found by its number, as its card would refuse it; the admin finds both; the other
    salesperson finds the ticket assigned to them, not the order (the customer is not
    theirs)."""
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.sales_a, customer, number="DD-7")
        ticket = new_ticket(session, team.sales_a, customer)
        order.owner_id = ticket.owner_id = ticket.assignee_id = pk(team.sales_b)
        session.flush()
        people = (("sales", team.sales_a), ("other", team.sales_b), ("admin", team.admin))
        numbers = ("dd-7", ticket.number)
        found = {}
        for who, actor in people:
            records = [find_records(session, actor=actor, query=n) for n in numbers]
            found[who] = [len(records[0].orders), len(records[1].tickets)]
    assert found == {"sales": [0, 0], "other": [0, 1], "admin": [1, 1]}
