"""Undoing an import undoes only what nobody changed since, and says what it left and why."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update
from sqlmodel import Session, col, select

from storage.customer_changes import (
    archive_customer,
    merge_customers,
    reassign_customer,
    update_customer,
)
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.imports import (
    DuplicateMode,
    ImportNotReady,
    UndoExpired,
    UndoResult,
    cancel_batch,
    get_batch,
    list_undoable_batches,
    undo_batch,
    undo_summary,
)
from storage.imports.models import ImportBatch, ImportRow
from storage.interactions import InteractionCreate, create_interaction
from storage.models import AuditEntry, Customer, Member, Role, utcnow
from tests.factories import pk
from tests.storage.import_helpers import (
    add_member,
    csv_bytes,
    existing_customer,
    import_now,
    live_customers,
    upload,
)

PERIOD = timedelta(hours=72)
FILE = "customers.csv"  # the name `upload` gives every file
OLD_PHONE, NEW_PHONE, LATER_PHONE = "+8613800138000", "+8613900139000", "+8613700137000"
UPDATE = csv_bytes("Old Name,13800138000;13900139000,new@example.com,NewCo")


def undo(db: Database, actor: Member, batch: ImportBatch) -> UndoResult:
    return db.run_sync(
        undo_batch, actor=actor, batch_id=pk(batch), now=utcnow(), undo_period=PERIOD
    )


def edit(db: Database, actor: Member, customer_id: int, **changes: Any) -> None:
    db.run_sync(update_customer, actor=actor, customer_id=customer_id, changes=changes)


def customer_id(db: Database, name: str) -> int:
    def find(session: Session) -> int:
        return pk(session.exec(select(Customer).where(Customer.name == name)).one())

    return db.read_sync(find)


def test_an_email_edited_after_the_import_keeps_the_edit(db: Database) -> None:
    sales = add_member(db)
    old = existing_customer(db, sales, email="old@example.com")
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)
    edit(db, sales, old, email="mine@example.com")
    assert undo(db, sales, done) == UndoResult(FILE, changed=1)
    restored = live_customers(db)["Old Name"]
    assert (restored["email"], restored["company"]) == ("mine@example.com", "OldCo")
    assert restored["phones"] == [OLD_PHONE]


def test_a_phone_added_after_the_import_survives(db: Database) -> None:
    sales = add_member(db)
    old = existing_customer(db, sales)
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)
    edit(db, sales, old, phones=[OLD_PHONE, NEW_PHONE, LATER_PHONE])
    assert undo(db, sales, done) == UndoResult(FILE, restored=1)
    restored = live_customers(db)["Old Name"]
    assert restored["phones"] == sorted([OLD_PHONE, LATER_PHONE])
    assert (restored["email"], restored["company"], restored["batch"]) == (None, "OldCo", None)


@pytest.mark.parametrize("chunk_rows", [1, 10])
def test_several_rows_for_one_customer_are_undone_together(db: Database, chunk_rows: int) -> None:
    """Rows updating one customer in one chunk or across chunks, and a customer created by a
    row and updated by a later one: all are folded into what the batch left."""
    sales = add_member(db)
    existing_customer(db, sales)
    content = csv_bytes(
        "Old Name,13800138000,,NewCo",
        "Old Name,13800138000;13900139000,a@example.com,",
        "Fresh,13600136000,,F",
        "Fresh,13600136000;13500135000,,G",
    )
    done = import_now(db, sales, content, mode=DuplicateMode.UPDATE, chunk_rows=chunk_rows)
    assert (done.created_count, done.updated_count) == (1, 3)
    assert undo(db, sales, done) == UndoResult(FILE, removed=1, restored=1)
    assert live_customers(db) == {
        "Old Name": {
            "company": "OldCo",
            "email": None,
            "phones": [OLD_PHONE],
            "batch": None,
            "owner": pk(sales),
        }
    }


def test_a_created_customer_nobody_touched_is_soft_deleted(db: Database) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Fresh,13600136000,f@example.com,F"))
    fresh = customer_id(db, "Fresh")
    assert undo(db, sales, done) == UndoResult(FILE, removed=1)
    row = db.read_sync(lambda s: s.get(Customer, fresh))
    assert row is not None
    assert row.deleted_at is not None


def test_a_created_customer_edited_or_used_since_is_kept(db: Database) -> None:
    """Deleting it would throw away someone's work: it stays, reported as changed."""
    sales = add_member(db)
    content = csv_bytes("Edited,13600136000,,F", "Noted,13500135000,,F", "Plain,,,F")
    done = import_now(db, sales, content)
    edit(db, sales, customer_id(db, "Edited"), company="Fixed")
    note = InteractionCreate(
        customer_id=customer_id(db, "Noted"),
        kind="call",
        happened_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
        summary="called",
    )
    db.run_sync(create_interaction, actor=sales, data=note)
    assert undo(db, sales, done) == UndoResult(FILE, removed=1, changed=2)
    assert sorted(live_customers(db)) == ["Edited", "Noted"]


def test_customers_reassigned_deleted_or_merged_since_are_left(db: Database) -> None:
    manager = add_member(db, Role.MANAGER)
    sales = add_member(db, manager=manager)
    other = add_member(db, manager=manager)
    old = existing_customer(db, sales)
    content = csv_bytes(
        "Old Name,13800138000,,NewCo", "Moved,13600136000,,M", "Gone,13500135000,,G", "Dup,,,D"
    )
    done = import_now(db, manager, content, owner=sales, mode=DuplicateMode.UPDATE)
    for name in ("Moved", "Old Name"):
        db.run_sync(
            reassign_customer,
            actor=manager,
            customer_id=customer_id(db, name),
            new_owner_id=pk(other),
        )
    db.run_sync(archive_customer, actor=manager, customer_id=customer_id(db, "Gone"))
    db.run_sync(
        merge_customers, actor=manager, survivor_id=old, duplicate_id=customer_id(db, "Dup")
    )
    assert undo(db, manager, done) == UndoResult(FILE, reassigned=2, gone=2)
    found = live_customers(db)
    assert sorted(found) == ["Moved", "Old Name"]
    assert {c["owner"] for c in found.values()} == {pk(other)}
    assert found["Old Name"]["company"] == "NewCo"  # the new owner's now: left as it is


def test_undo_twice_is_refused(db: Database) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Fresh,,,F"))
    undo(db, sales, done)
    with pytest.raises(ImportNotReady) as caught:
        undo(db, sales, done)
    assert caught.value.code == "undone"


def test_undoable_imports_are_the_members_own_recent_ones_that_changed_something(
    db: Database,
) -> None:
    sales, admin = add_member(db), add_member(db, Role.ADMIN)
    first = import_now(db, sales, csv_bytes("A,,,"))
    import_now(db, sales, csv_bytes("A,,,"))  # already imported: changes nothing
    import_now(db, admin, csv_bytes("B,,,"))
    last = import_now(db, sales, csv_bytes("C,,,"))
    undo(db, sales, first)

    def listed(actor: Member, now: datetime) -> list[int]:
        found = db.read_sync(list_undoable_batches, actor=actor, now=now, undo_period=PERIOD)
        return [pk(b) for b in found]

    assert listed(sales, utcnow()) == [pk(last)]
    assert listed(sales, utcnow() + PERIOD + timedelta(minutes=1)) == []
    second = import_now(db, sales, csv_bytes("D,,,"))
    assert listed(sales, utcnow()) == [pk(second), pk(last)]


def test_an_import_without_undo_records_leaves_its_customers(db: Database) -> None:
    """Rows written before the records existed cannot say what changed since: nothing is
    put back or removed on a guess."""
    sales = add_member(db)
    existing_customer(db, sales)
    done = import_now(db, sales, UPDATE + b"Fresh,13600136000,,F\n", mode=DuplicateMode.UPDATE)

    def forget(session: Session) -> None:
        session.execute(
            update(ImportRow).where(col(ImportRow.batch_id) == done.id).values(before=None)
        )

    db.run_sync(forget)
    assert undo(db, sales, done) == UndoResult(FILE, changed=2)
    assert sorted(live_customers(db)) == ["Fresh", "Old Name"]
    assert live_customers(db)["Old Name"]["company"] == "NewCo"


@pytest.fixture
def second(db: Database) -> Iterator[Database]:
    """Another instance of the bot: its own engine and pool on the same database."""
    other = Database(db.url)
    yield other
    other.close()


def test_a_second_undo_at_the_same_time_waits_for_the_first_and_is_refused(
    db: Database, second: Database
) -> None:
    """The first undo holds its transaction open; the second (another instance) must wait
    for it, then find the batch undone, instead of undoing it again."""
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Fresh,,,F"))
    undone, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def first(session: Session) -> UndoResult:
        result = undo_batch(
            session, actor=sales, batch_id=pk(done), now=utcnow(), undo_period=PERIOD
        )
        if not db.is_sqlite:
            outcome["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar()
        undone.set()
        release.wait(timeout=30)
        return result

    def run_first() -> None:
        outcome["first"] = db.run_sync(first)

    def run_second() -> None:
        with pytest.raises(ImportNotReady) as refused:
            undo(second, sales, done)
        outcome["second"] = refused.value.code

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    threads[0].start()
    assert undone.wait(timeout=30)
    threads[1].start()
    if not db.is_sqlite:  # SQLite: BEGIN IMMEDIATE makes the second wait; nothing to watch
        waiting_for = text(
            "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
        )
        deadline = time.monotonic() + 10
        while not db.read_sync(lambda s: s.execute(waiting_for, {"pid": outcome["pid"]}).scalar()):
            assert time.monotonic() < deadline, "the second undo never waited for the first"
            release.wait(timeout=0.01)
    release.set()
    for thread in threads:
        thread.join()
    assert (outcome["first"], outcome["second"]) == (UndoResult(FILE, removed=1), "undone")


def test_undoing_a_later_import_leaves_the_earlier_ones_work_and_mark(db: Database) -> None:
    """Only the undone batch's rows count; a customer created by an earlier import and updated
    by the undone one is marked with the earlier batch again, so that one can still undo it."""
    sales = add_member(db)
    first = import_now(db, sales, csv_bytes("Fresh,13600136000,,F", "Kept,13500135000,,K"))
    second = import_now(
        db, sales, csv_bytes("Fresh,13600136000,f@example.com,G"), mode=DuplicateMode.UPDATE
    )
    assert undo(db, sales, second) == UndoResult(FILE, restored=1)
    after_second = live_customers(db)
    assert (after_second["Fresh"]["company"], after_second["Fresh"]["batch"]) == ("F", pk(first))
    assert after_second["Kept"]["batch"] == pk(first)
    assert undo(db, sales, first) == UndoResult(FILE, removed=2)
    assert live_customers(db) == {}


def test_undo_removes_the_phone_from_the_imported_customer_only(db: Database) -> None:
    """Another customer entered since with the same phone keeps it."""
    sales = add_member(db)
    existing_customer(db, sales)
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)

    def add_other(session: Session) -> None:
        create_customer(
            session, actor=sales, data=CustomerCreate(name="Other", phones=[NEW_PHONE])
        )

    db.run_sync(add_other)
    assert undo(db, sales, done) == UndoResult(FILE, restored=1)
    customers = live_customers(db)
    assert (customers["Old Name"]["phones"], customers["Other"]["phones"]) == (
        [OLD_PHONE],
        [NEW_PHONE],
    )


def undo_entry(db: Database, customer: int) -> AuditEntry:
    """The audit entry the undo wrote for `customer` (its latest)."""
    entry = db.read_sync(
        lambda s: s.exec(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "customer", AuditEntry.entity_id == customer)
            .order_by(col(AuditEntry.id).desc())
        ).first()
    )
    assert entry is not None
    return entry


def undo_audit(db: Database, customer: int) -> dict[str, Any]:
    """The changes the undo wrote to the audit for `customer`."""
    return undo_entry(db, customer).changes


def test_the_undo_audits_each_value_it_put_back(db: Database) -> None:
    sales = add_member(db)
    old = existing_customer(db, sales)
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)
    edit(db, sales, old, phones=[OLD_PHONE, NEW_PHONE, LATER_PHONE])
    undo(db, sales, done)
    changes = undo_audit(db, old)
    phones_before, phones_after = changes.pop("phones")
    assert (sorted(phones_before), sorted(phones_after)) == (
        sorted([OLD_PHONE, NEW_PHONE, LATER_PHONE]),
        sorted([OLD_PHONE, LATER_PHONE]),
    )
    assert changes == {
        "email": ["new@example.com", None],
        "company": ["NewCo", "OldCo"],
        "import_batch_id": [pk(done), None],
    }


def test_a_phone_the_import_added_and_someone_removed_since_is_no_change(db: Database) -> None:
    sales = add_member(db)
    old = existing_customer(db, sales)
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)
    edit(db, sales, old, phones=[OLD_PHONE])
    assert undo(db, sales, done) == UndoResult(FILE, restored=1)
    assert "phones" not in undo_audit(db, old)
    assert live_customers(db)["Old Name"]["phones"] == [OLD_PHONE]


def add_customer(db: Database, owner: Member, name: str, phone: str) -> int:
    def add(session: Session) -> int:
        data = CustomerCreate(name=name, phones=[phone], company="OldCo")
        return pk(create_customer(session, actor=owner, data=data))

    return db.run_sync(add)


def test_each_customer_is_counted_once_under_what_the_undo_did(db: Database) -> None:
    """Two of each: a count set to 1 instead of added to would still say 1 for one."""
    sales = add_member(db)
    names = ("Ann", "Bob", "Cat", "Dan")
    ids = {n: add_customer(db, sales, n, f"+86138001380{i:02d}") for i, n in enumerate(names)}
    rows = [f"{n},138001380{i:02d},,NewCo" for i, n in enumerate(names)]
    content = csv_bytes(*rows, "Eve,13600136001,,E", "Fay,13600136002,,F")
    done = import_now(db, sales, content, mode=DuplicateMode.UPDATE)
    for name in ("Cat", "Dan"):
        edit(db, sales, ids[name], email=f"{name.lower()}@example.com", company="Theirs")
    assert undo(db, sales, done) == UndoResult(FILE, removed=2, restored=2, changed=2)
    companies = {name: c["company"] for name, c in live_customers(db).items()}
    assert companies == {"Ann": "OldCo", "Bob": "OldCo", "Cat": "Theirs", "Dan": "Theirs"}


def test_the_undo_records_who_removed_or_put_back_what_and_when(db: Database) -> None:
    """The removed customer, the audit and the batch all say who undid it, and when."""
    sales = add_member(db)
    old = existing_customer(db, sales)
    done = import_now(db, sales, UPDATE + b"Fresh,13600136000,,F\n", mode=DuplicateMode.UPDATE)
    fresh = customer_id(db, "Fresh")
    at = utcnow()
    result = db.run_sync(undo_batch, actor=sales, batch_id=pk(done), now=at, undo_period=PERIOD)
    assert result == UndoResult(FILE, removed=1, restored=1)
    removed = db.read_sync(lambda s: s.get_one(Customer, fresh))
    assert (removed.deleted_at, removed.updated_at, removed.updated_by_id) == (at, at, pk(sales))
    put_back = db.read_sync(lambda s: s.get_one(Customer, old))
    assert (put_back.updated_at, put_back.updated_by_id) == (at, pk(sales))
    deleted = undo_entry(db, fresh)
    assert (deleted.actor_id, deleted.action, deleted.at) == (pk(sales), "delete", at)
    assert deleted.changes == {
        "deleted_at": [None, at.isoformat()],
        "import_batch_id": [pk(done), None],
    }
    updated = undo_entry(db, old)
    assert (updated.actor_id, updated.action, updated.at) == (pk(sales), "update", at)
    batch = db.read_sync(get_batch, actor=sales, batch_id=pk(done))
    assert (batch.status, batch.undone_at, batch.undone_by_id) == ("undone", at, pk(sales))


def test_undo_is_open_until_the_deadline_itself(db: Database) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Fresh,,,F"))
    assert done.finished_at is not None
    deadline = done.finished_at + PERIOD
    with pytest.raises(UndoExpired):
        db.run_sync(
            undo_batch,
            actor=sales,
            batch_id=pk(done),
            now=deadline + timedelta(microseconds=1),
            undo_period=PERIOD,
        )
    summary = db.read_sync(
        undo_summary, actor=sales, batch_id=pk(done), now=deadline, undo_period=PERIOD
    )
    assert (summary.file_name, summary.created, summary.deadline) == (FILE, 1, deadline)
    result = db.run_sync(
        undo_batch, actor=sales, batch_id=pk(done), now=deadline, undo_period=PERIOD
    )
    assert result == UndoResult(FILE, removed=1)


def test_a_cancelled_import_has_nothing_to_undo(db: Database) -> None:
    """Cancelled, it has a finish time but wrote nothing: refused, not marked undone."""
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("Fresh,,,F"))
    db.run_sync(cancel_batch, actor=sales, batch_id=batch_id)
    with pytest.raises(ImportNotReady) as caught:
        db.run_sync(undo_batch, actor=sales, batch_id=batch_id, now=utcnow(), undo_period=PERIOD)
    assert caught.value.code == "not_done"
    assert db.read_sync(get_batch, actor=sales, batch_id=batch_id).status == "cancelled"


def test_a_row_folded_into_a_created_customer_does_not_end_the_fold(db: Database) -> None:
    """A row updating a customer created earlier in the same chunk has no record of its
    own; the rows after it still count."""
    sales = add_member(db)
    existing_customer(db, sales)
    content = csv_bytes(
        "Fresh,13600136000,,F", "Fresh,13600136000;13500135000,,G", "Old Name,13800138000,,NewCo"
    )
    done = import_now(db, sales, content, mode=DuplicateMode.UPDATE)
    assert undo(db, sales, done) == UndoResult(FILE, removed=1, restored=1)
    assert live_customers(db)["Old Name"]["company"] == "OldCo"


def test_rows_are_folded_in_file_order_whatever_order_they_are_stored_in(db: Database) -> None:
    """Two rows updating one customer, stored last row first: the fold follows the row
    numbers, not the order the database happens to return them in."""
    sales = add_member(db)
    existing_customer(db, sales)
    content = csv_bytes("Old Name,13800138000,,NewCo", "Old Name,13800138000,b@example.com,Newer")
    done = import_now(db, sales, content, mode=DuplicateMode.UPDATE)

    def store_reversed(session: Session) -> None:
        rows = session.exec(
            select(ImportRow).where(ImportRow.batch_id == done.id).order_by(col(ImportRow.id))
        ).all()
        copies = [row.model_dump(exclude={"id"}) for row in rows]
        for row in rows:
            session.delete(row)
        session.flush()
        for copy in reversed(copies):
            session.add(ImportRow(**copy))

    db.run_sync(store_reversed)
    assert undo(db, sales, done) == UndoResult(FILE, restored=1)
    restored = live_customers(db)["Old Name"]
    assert (restored["company"], restored["email"]) == ("OldCo", None)


def test_undo_records_of_older_code_without_what_they_wrote_leave_the_customers(
    db: Database,
) -> None:
    """A record with the values before but not what the row wrote cannot tell what changed
    since either."""
    sales = add_member(db)
    existing_customer(db, sales)
    done = import_now(db, sales, UPDATE + b"Fresh,13600136000,,F\n", mode=DuplicateMode.UPDATE)

    def forget_what_was_written(session: Session) -> None:
        for row in session.exec(select(ImportRow).where(ImportRow.batch_id == done.id)):
            if row.before is not None:
                row.before = {k: v for k, v in row.before.items() if k not in ("wrote", "added")}
                session.add(row)

    db.run_sync(forget_what_was_written)
    assert undo(db, sales, done) == UndoResult(FILE, changed=2)
    assert live_customers(db)["Old Name"]["company"] == "NewCo"


def test_an_edit_committed_while_the_undo_waits_is_kept(db: Database, second: Database) -> None:
    """Someone's edit holds the customer's row when the undo starts: the undo waits for it
    and then keeps the edit (PostgreSQL row lock; SQLite lets one writer in at a time)."""
    if db.is_sqlite:
        pytest.skip("SQLite: one write transaction at a time, nothing to interleave")
    sales = add_member(db)
    old = existing_customer(db, sales)
    done = import_now(db, sales, UPDATE, mode=DuplicateMode.UPDATE)
    editing, release = threading.Event(), threading.Event()
    outcome: dict[str, Any] = {}

    def slow_edit(session: Session) -> None:
        update_customer(session, actor=sales, customer_id=old, changes={"email": "mine@x.com"})
        session.flush()
        outcome["pid"] = session.execute(text("SELECT pg_backend_pid()")).scalar()
        editing.set()
        release.wait(timeout=30)

    def run_undo() -> None:
        outcome["undo"] = undo(second, sales, done)

    threads = [
        threading.Thread(target=db.run_sync, args=(slow_edit,)),
        threading.Thread(target=run_undo),
    ]
    threads[0].start()
    assert editing.wait(timeout=30)
    threads[1].start()
    waiting_for = text(
        "SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"
    )
    deadline = time.monotonic() + 10
    while not db.read_sync(lambda s: s.execute(waiting_for, {"pid": outcome["pid"]}).scalar()):
        assert time.monotonic() < deadline, "the undo never waited for the edit"
        release.wait(timeout=0.01)
    release.set()
    for thread in threads:
        thread.join()
    assert outcome["undo"] == UndoResult(FILE, changed=1)
    assert live_customers(db)["Old Name"]["email"] == "mine@x.com"
