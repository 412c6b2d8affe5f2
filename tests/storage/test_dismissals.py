"""Not a duplicate, remembered: a dismissed cluster stays out of /dedupe's clusters and of the
review queue until one of its customers changes; /dedupe's saved search survives a restart;
migration 0019 gives the customers already there their normalised company key."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from storage.access import NotFound
from storage.audit import list_audit
from storage.customer_changes import update_customer
from storage.customers import find_duplicates
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Customer, Member, Role
from storage.quality.clusters import find_clusters
from storage.quality.dismissals import dismiss_cluster
from storage.quality.runs import get_dedupe_run, save_dedupe_state, start_dedupe_run
from storage.review_items import ReviewRules
from storage.reviews import list_review_queue
from tests.factories import make_member
from tests.storage.test_clusters import add
from tests.storage.test_migration_hand_over import add_customer, add_member

PHONE = "+8613800138000"
TODAY = date(2026, 12, 7)


def duplicate_pairs(session: Session, actor: Member) -> set[tuple[int, int | None]]:
    items = list_review_queue(session, actor=actor, rules=ReviewRules(("name",)), today=TODAY)
    return {(i.key.record_id, i.key.other_id) for i in items if i.key.kind == "duplicate"}


def test_a_dismissed_cluster_stays_out_until_one_customer_changes(db: Database) -> None:
    with db.session() as session:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        stranger = make_member(session, role=Role.MANAGER)
        a = add(session, sales, "Zhang Wei", phones=[PHONE])
        b = add(session, sales, "Zhang Wei", phones=[PHONE], email="zw@acme.cn")
        c = add(session, sales, "Wei Zhang", email="ZW@acme.cn")
        for outsider, ids in ((sales, [a, b]), (stranger, [a, b]), (manager, [a])):
            with pytest.raises(NotFound):  # a salesperson, another team, a single customer
                dismiss_cluster(session, actor=outsider, customer_ids=ids)
        assert [cl.customer_ids for cl in find_clusters(session, actor=manager)] == [(a, b, c)]
        assert duplicate_pairs(session, manager) == {(b, a), (c, b)}
        assert dismiss_cluster(session, actor=manager, customer_ids=[a, b, c]) == 3
    with db.session() as session:  # remembered: another transaction, as after a restart
        manager = session.get_one(Member, manager.id)
        assert find_clusters(session, actor=manager) == []
        assert duplicate_pairs(session, manager) == set()
        audited = list_audit(session, entity_type="customer", entity_id=c)
        assert {tuple(e.changes["other_id"]) for e in audited if e.action == "review"} == {
            (None, a),
            (None, b),
        }
        update_customer(session, actor=manager, customer_id=c, changes={"position": "CEO"})
    with db.session() as session:  # c changed: its pairs are back, a-b stays dismissed
        manager = session.get_one(Member, manager.id)
        assert [cl.customer_ids for cl in find_clusters(session, actor=manager)] == [(b, c)]
        assert duplicate_pairs(session, manager) == {(c, b)}


def test_a_saved_search_survives_a_restart(db_url: str) -> None:
    first = Database(db_url)
    try:
        with first.session() as session:
            manager = make_member(session, role=Role.MANAGER)
            start_dedupe_run(session, actor=manager, clusters=[[1, 2], [3, 4, 5]])
            save_dedupe_state(session, actor=manager, state={"at": 1, "ids": [3, 4, 5]})
    finally:
        first.close()
    again = Database(db_url)
    try:
        with again.session() as session:
            manager = session.get_one(Member, manager.id)
            run = get_dedupe_run(session, actor=manager)
            assert run is not None
            assert (run.clusters, run.state) == ([[1, 2], [3, 4, 5]], {"at": 1, "ids": [3, 4, 5]})
            start_dedupe_run(session, actor=manager, clusters=[[6, 7]])  # a new search
        with again.session() as session:
            run = get_dedupe_run(session, actor=session.get_one(Member, manager.id))
            assert run is not None
            assert (run.clusters, run.state) == ([[6, 7]], {})
    finally:
        again.close()


def test_upgrade_to_0019_keys_the_companies_already_there(blank_db_url: str) -> None:
    database = Database(blank_db_url)
    try:
        upgrade_database(database.engine, revision="0018")
        with database.engine.begin() as connection:
            owner = add_member(connection, "admin")
            customer = add_customer(connection, owner)
            connection.execute(
                update(Customer).where(Customer.id == customer).values(company="上海华为有限公司")
            )
        upgrade_database(database.engine)
        with database.session() as session:
            admin = session.exec(select(Member).where(Member.id == owner)).one()
            found = find_duplicates(
                session, actor=admin, phones=[], email=None, name="Li Wei", company="上海华为"
            )
        assert [m.customer_id for m in found] == [customer]
    finally:
        database.close()
