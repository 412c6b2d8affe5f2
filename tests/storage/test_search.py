"""`find_customers` on both backends: every key, the short-query paths, scope and order."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Customer, Member, Role, utcnow
from storage.search import walk as search_walk
from storage.search.find import (
    MAX_SAVED_SEARCH_ID,
    find_customers,
    get_saved_search,
    new_search_id,
    save_search,
)
from storage.search.index import index_customer
from tests.factories import make_member, pk


def add(session: Session, owner: Member, name: str, **fields: object) -> Customer:
    customer = create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields))  # type: ignore[arg-type]
    index_customer(session, customer_id=pk(customer))
    return customer


def names(db: Database, actor: Member, query: str, **kw: int) -> list[str]:
    return [c.name for c in db.read_sync(find_customers, actor=actor, query=query, **kw)]


@pytest.fixture
def team(db: Database) -> dict[str, Member]:
    with db.session() as s:
        admin = make_member(s, role=Role.ADMIN)
        manager = make_member(s, role=Role.MANAGER)
        sales = make_member(s, manager=manager)
        other = make_member(s)
        add(s, sales, "张伟", company="Acme Trading", phones=["+8613800138000"])
        add(s, sales, "王伟明", email="wang.wm@Example.cn", tags=["大客户", "vip"])
        add(s, sales, "Grace Hopper", company="Navy Yard")
        add(s, other, "李王伟", company="Acme Foods", phones=["+16502530000"])
        add(s, other, "Gone Customer", company="Acme").deleted_at = utcnow()
    return {"admin": admin, "manager": manager, "sales": sales, "other": other}


def test_find_two_character_chinese_inside_names(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "王伟") == ["王伟明", "李王伟"]


def test_find_ignores_control_and_bidi_characters_in_the_query(
    db: Database, team: dict[str, Member]
):
    assert names(db, team["admin"], "\u200f王\x07伟明\u202c") == ["王伟明"]
    assert names(db, team["admin"], "Gr\x1bace\u2066") == ["Grace Hopper"]
    assert names(db, team["admin"], "\x07\u202e") == []


def test_find_three_character_chinese(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "王伟明") == ["王伟明"]


def test_find_by_pinyin_full_spaced_and_initials(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "zhangwei") == ["张伟"]
    assert names(db, team["admin"], "Zhang Wei") == ["张伟"]
    assert names(db, team["admin"], "zw") == ["张伟"]
    assert names(db, team["admin"], "wangwei") == ["王伟明", "李王伟"]  # prefix first


def test_find_latin_name_typed_without_spaces(db: Database, team: dict[str, Member]):
    """As pinyin does for 张伟: "gracehopper" finds "Grace Hopper" (issue 16)."""
    with db.session() as s:
        add(s, team["sales"], "Zhang-Wei O'Neil")
    assert names(db, team["admin"], "gracehopper") == ["Grace Hopper"]
    assert names(db, team["admin"], "GraceHop") == ["Grace Hopper"]
    assert names(db, team["admin"], "zhangweioneil") == ["Zhang-Wei O'Neil"]
    assert names(db, team["admin"], "acehopp") == ["Grace Hopper"]  # inside the joined name
    assert names(db, team["sales"], "zhangwei") == ["张伟", "Zhang-Wei O'Neil"]


@pytest.mark.parametrize("query", ["138-0013-8000", "+86 138 0013 8000", "13800138000", "8000"])
def test_find_by_phone_in_any_format(db: Database, team: dict[str, Member], query: str):
    assert names(db, team["admin"], query) == ["张伟"]


def test_find_by_email_tag_and_company(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "WANG.WM@example.cn") == ["王伟明"]
    assert names(db, team["admin"], "example") == ["王伟明"]
    assert names(db, team["admin"], "大客户") == ["王伟明"]
    assert names(db, team["admin"], "vip") == ["王伟明"]
    assert sorted(names(db, team["admin"], "acme")) == ["张伟", "李王伟"]


def test_find_short_latin_query_by_prefix(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "gr") == ["Grace Hopper"]


def test_find_scope_sales_own_manager_team_admin_all(db: Database, team: dict[str, Member]):
    assert names(db, team["sales"], "王伟") == ["王伟明"]
    assert names(db, team["other"], "王伟") == ["李王伟"]
    assert names(db, team["manager"], "王伟") == ["王伟明"]
    assert sorted(names(db, team["admin"], "acme")) == ["张伟", "李王伟"]
    assert names(db, team["sales"], "6502530000") == []
    # Inside a key, not at its start or end (a salesperson's own rows are walked on SQLite)
    assert names(db, team["sales"], "acme") == ["张伟"]
    assert names(db, team["sales"], "hopp") == ["Grace Hopper"]
    assert names(db, team["other"], "hopp") == []


def test_a_page_of_substring_matches_holds_only_what_the_actor_may_see(
    db: Database, team: dict[str, Member]
):
    # Others' matches sort first: a tier that let them in would fill the page with rows the
    # reload through the access rule then drops, and the actor's own match would be lost.
    with db.session() as s:
        for i in range(10):
            add(s, team["other"], f"Aa Theirs {i}", company="Zenith Works")
        add(s, team["sales"], "Zz Mine", company="Zenith Works")
    assert names(db, team["sales"], "enith", limit=3) == ["Zz Mine"]
    assert names(db, team["manager"], "enith", limit=3) == ["Zz Mine"]


def test_find_excludes_deleted(db: Database, team: dict[str, Member]):
    assert names(db, team["admin"], "gone") == []


def test_find_best_match_first(db: Database, team: dict[str, Member]):
    with db.session() as s:
        add(s, team["admin"], "Mia Acmeson")
        add(s, team["admin"], "Acme")
    found = names(db, team["admin"], "acme")
    assert found[0] == "Acme"  # whole name, then the substring matches
    assert set(found[1:]) == {"Mia Acmeson", "张伟", "李王伟"}


def test_find_pages_do_not_overlap(db: Database, team: dict[str, Member]):
    with db.session() as s:
        for i in range(11):
            add(s, team["sales"], f"Page Person {i:02}")
    first = names(db, team["sales"], "page", limit=8)
    second = names(db, team["sales"], "page", limit=8, offset=8)
    assert len(first) == 8
    assert len(second) == 3
    assert not set(first) & set(second)


@pytest.mark.parametrize(
    ("before", "after", "gone", "found"),
    [
        ("Old Name", "刘芳", "old", "liufang"),
        ("Mark Evans", "Marcus Evans", "markevans", "marcusevans"),
    ],
)
def test_rename_keeps_search_in_step(
    db: Database, team: dict[str, Member], before: str, after: str, gone: str, found: str
):
    with db.session() as s:
        customer = add(s, team["sales"], before)
    assert names(db, team["sales"], gone) == [before]
    with db.session() as s:
        row = s.get(Customer, pk(customer))
        assert row is not None
        row.name = after
        s.flush()
        index_customer(s, customer_id=pk(customer))
    assert names(db, team["sales"], gone) == []
    assert names(db, team["sales"], found) == [after]


def test_saved_search_is_the_members_own(db: Database, team: dict[str, Member]):
    search_id = new_search_id()
    assert db.run_sync(save_search, actor=team["sales"], query="acme", search_id=search_id)
    assert db.read_sync(get_saved_search, actor=team["sales"], search_id=search_id) == "acme"
    with pytest.raises(NotFound):
        db.read_sync(get_saved_search, actor=team["other"], search_id=search_id)


def test_a_taken_search_id_keeps_the_first_query(db: Database, team: dict[str, Member]):
    assert db.run_sync(
        save_search, actor=team["sales"], query="acme", search_id=MAX_SAVED_SEARCH_ID
    )
    assert not db.run_sync(
        save_search, actor=team["other"], query="globex", search_id=MAX_SAVED_SEARCH_ID
    )
    found = db.read_sync(get_saved_search, actor=team["sales"], search_id=MAX_SAVED_SEARCH_ID)
    assert found == "acme"


@pytest.mark.parametrize(("probe", "walk"), [(1, 3), (2, 5), (6, 9), (8, 20), (1000, 10000)])
def test_find_substring_pages_in_name_order_walked_or_indexed(
    db: Database, team: dict[str, Member], monkeypatch: pytest.MonkeyPatch, probe: int, walk: int
):
    # Tiny windows send PostgreSQL's substring tier down each path (walk, walk on, index; a
    # manager's search always the index), window edges falling between same-name customers.
    monkeypatch.setattr(search_walk, "PROBE_ROWS", probe)
    monkeypatch.setattr(search_walk, "WALK_ROWS", walk)
    with db.session() as s:
        own = [
            add(s, team["sales"], f"Person {i // 2:02}", company="Orbit" if i % 3 else "Other")
            for i in range(12)
        ]
        theirs = add(s, team["other"], "Person 99", company="Orbit")
        matching = sorted((c for c in own if c.company == "Orbit"), key=lambda c: (c.name, pk(c)))
        own_ids = [pk(c) for c in matching]
    expected = {"sales": own_ids, "manager": own_ids, "admin": [*own_ids, pk(theirs)]}
    for role, ids in expected.items():
        found = [
            pk(c)
            for offset in range(0, 12, 3)
            for c in db.read_sync(
                find_customers, actor=team[role], query="orbit", limit=3, offset=offset
            )
        ]
        assert found == ids
