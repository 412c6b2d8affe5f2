"""Running an import: duplicate modes, re-import, resume after a crash, rollback on failure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

import storage.imports.apply
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.imports import (
    LEASE,
    BatchStatus,
    DuplicateMode,
    resumable_batches,
    run_batch,
)
from storage.imports.apply import LeaseLost
from storage.imports.models import ImportBatch
from storage.models import Role, utcnow
from storage.search.find import find_customers
from storage.search.index import customer_search
from tests.storage.import_helpers import (
    add_member,
    csv_bytes,
    database_state,
    existing_customer,
    import_now,
    live_customers,
    row_outcomes,
    start,
    upload,
)

FILE = csv_bytes(
    "张伟,13800138000,zw@example.com,华为",
    "Ada Lovelace,13900139000,,Acme",
    ",13700137000,,NoName",
    "Bad Phone,12345,,X",
    "李娜,+86 137 0013 7001,lina@example.com,腾讯",
)


def test_run_batch_creates_customers_and_records_each_row(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    done = import_now(db, admin, FILE, chunk_rows=2)
    assert done.status == BatchStatus.DONE
    assert (done.created_count, done.updated_count, done.skipped_count) == (3, 0, 0)
    assert done.rejected_count == 2
    assert row_outcomes(db, done.id or 0) == [
        (1, "created", None),
        (2, "created", None),
        (3, "rejected", "missing_name"),
        (4, "rejected", "bad_phone"),
        (5, "created", None),
    ]
    found = live_customers(db)
    assert found["张伟"]["phones"] == ["+8613800138000"]
    assert found["李娜"]["email"] == "lina@example.com"
    assert {c["batch"] for c in found.values()} == {done.id}


def test_imported_customers_are_found_by_search_with_pinyin(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    import_now(db, admin, FILE)
    for query in ("张伟", "zhangwei", "lovelace", "acme"):
        hits = db.read_sync(find_customers, actor=admin, query=query)
        assert hits, query


def test_imported_search_rows_equal_those_of_a_customer_entered_by_hand(db: Database) -> None:
    """The bulk path writes the search row itself (SQLite) or completes the trigger's
    (PostgreSQL): either way the keys must be exactly what manual entry stores."""
    admin = add_member(db, Role.ADMIN)
    header = "姓名,邮箱,公司,标签\n"
    import_now(db, admin, csv_bytes("张伟 Ömer,Zhang.W@Example.com,华为 Tech,vip", header=header))
    by_hand = CustomerCreate(
        name="张伟 Ömer", email="zhang.w@example.com", company="华为 Tech", tags=["vip"]
    )
    db.run_sync(create_customer, actor=admin, data=by_hand)

    def keys(session: Session) -> list[tuple[Any, ...]]:
        columns = [c for c in customer_search.c if c.name != "customer_id"]
        return [tuple(row) for row in session.execute(select(*columns))]

    [imported, entered] = db.read_sync(keys)
    assert imported == entered
    _owner_id, deleted, *text_keys = imported
    assert not deleted
    assert text_keys == [
        "张伟 ömer",
        "zhang.w@example.com",
        "zhangwei",
        "zw",
        "张伟 ömer 华为 tech zhang.w@example.com vip",
    ]
    for query in ("zhangwei", "zw", "华为", "ömer", "example.com"):
        assert len(db.read_sync(find_customers, actor=admin, query=query)) == 2, query


def test_a_big_file_is_normalised_in_another_process_with_the_same_outcome(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage.imports.apply, "PROCESS_FROM_ROWS", 1)
    admin = add_member(db, Role.ADMIN)
    done = import_now(db, admin, FILE, chunk_rows=2)
    assert (done.status, done.created_count, done.rejected_count) == (BatchStatus.DONE, 3, 2)
    assert row_outcomes(db, done.id or 0)[3] == (4, "rejected", "bad_phone")


def test_importing_the_same_file_again_creates_nothing_in_any_mode(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    import_now(db, admin, FILE)
    before = live_customers(db)
    for mode in DuplicateMode:
        again = import_now(db, admin, FILE, mode=mode)
        assert (again.created_count, again.updated_count) == (0, 0), mode
        assert again.skipped_count == 3
        assert {r for _, o, r in row_outcomes(db, again.id or 0) if o == "skipped"} == {
            "already_imported"
        }
    assert live_customers(db) == before


MATCHING = csv_bytes("New Name,138 0013 8000,new@example.com,NewCo")


def test_skip_mode_leaves_a_matching_customer_alone(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin)
    done = import_now(db, admin, MATCHING, mode=DuplicateMode.SKIP)
    assert (done.created_count, done.skipped_count) == (0, 1)
    assert row_outcomes(db, done.id or 0) == [(1, "skipped", "duplicate_in_db")]
    assert list(live_customers(db)) == ["Old Name"]


def test_update_mode_fills_the_matching_customer_with_the_rows_values(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin)
    done = import_now(
        db, admin, csv_bytes("New Name,13800138000;13900139000,,NewCo"), mode=DuplicateMode.UPDATE
    )
    assert (done.created_count, done.updated_count) == (0, 1)
    found = live_customers(db)
    assert found["New Name"]["company"] == "NewCo"
    assert found["New Name"]["phones"] == ["+8613800138000", "+8613900139000"]
    assert found["New Name"]["batch"] == done.id


def test_update_mode_matches_by_email_too(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin, email="Same@Example.com")
    content = csv_bytes("Someone,,same@example.com,EmailCo")
    done = import_now(db, admin, content, mode=DuplicateMode.UPDATE)
    assert done.updated_count == 1
    assert live_customers(db)["Someone"]["company"] == "EmailCo"


def test_create_mode_adds_another_customer_beside_the_match(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin)
    done = import_now(db, admin, MATCHING, mode=DuplicateMode.CREATE)
    assert done.created_count == 1
    assert sorted(live_customers(db)) == ["New Name", "Old Name"]


def test_update_mode_skips_a_match_the_importer_may_not_see(db: Database) -> None:
    sales, colleague = add_member(db), add_member(db)
    existing_customer(db, colleague)
    done = import_now(db, sales, MATCHING, mode=DuplicateMode.UPDATE)
    assert (done.updated_count, done.skipped_count) == (0, 1)
    assert live_customers(db)["Old Name"]["company"] == "OldCo"


TWICE = csv_bytes("First,13800138000,,A", "Second,13800138000,,B", "Third,13900139000,,C")


@pytest.mark.parametrize(
    ("mode", "names", "counts"),
    [
        (DuplicateMode.SKIP, {"First": "A", "Third": "C"}, (2, 0, 1)),
        (DuplicateMode.UPDATE, {"Second": "B", "Third": "C"}, (2, 1, 0)),
        (DuplicateMode.CREATE, {"First": "A", "Second": "B", "Third": "C"}, (3, 0, 0)),
    ],
)
@pytest.mark.parametrize("chunk_rows", [1, 10])
def test_duplicates_within_the_file_follow_the_mode(
    db: Database,
    mode: DuplicateMode,
    names: dict[str, str],
    counts: tuple[int, int, int],
    chunk_rows: int,
) -> None:
    admin = add_member(db, Role.ADMIN)
    done = import_now(db, admin, TWICE, mode=mode, chunk_rows=chunk_rows)
    assert (done.created_count, done.updated_count, done.skipped_count) == counts
    assert {n: c["company"] for n, c in live_customers(db).items()} == names
    if mode == DuplicateMode.SKIP:
        assert row_outcomes(db, done.id or 0)[1] == (2, "skipped", "duplicate_in_file")


def test_identical_rows_in_one_file_become_one_customer_in_every_mode(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    content = csv_bytes("Same,,,Co", "Same,,,Co")
    done = import_now(db, admin, content, mode=DuplicateMode.CREATE)
    assert (done.created_count, done.skipped_count) == (1, 1)


class Crash(KeyboardInterrupt):
    """Stands in for kill -9: not an Exception, so no rollback runs."""


def test_a_run_killed_mid_way_resumes_after_its_lease_and_doubles_nothing(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    batch_id = upload(db, admin, FILE)
    start(db, admin, batch_id)

    def crash(batch: ImportBatch) -> None:
        raise Crash

    with pytest.raises(Crash):
        run_batch(db, batch_id=batch_id, worker="first", progress=crash, chunk_rows=2)
    assert len(live_customers(db)) == 2
    assert db.read_sync(resumable_batches, now=utcnow()) == []
    untouched = run_batch(db, batch_id=batch_id, worker="second", chunk_rows=2)
    assert untouched.status == BatchStatus.RUNNING  # the first worker's lease still holds
    assert db.read_sync(resumable_batches, now=utcnow() + LEASE + timedelta(seconds=1)) == [
        batch_id
    ]

    def expire(session: Session) -> None:
        batch = session.get(ImportBatch, batch_id)
        assert batch is not None
        batch.claimed_until = utcnow() - timedelta(seconds=1)
        session.add(batch)

    db.run_sync(expire)
    done = run_batch(db, batch_id=batch_id, worker="second", chunk_rows=2)
    assert done.status == BatchStatus.DONE
    assert (done.created_count, done.rejected_count, done.processed_rows) == (3, 2, 5)
    assert sorted(live_customers(db)) == ["Ada Lovelace", "张伟", "李娜"]
    assert [n for n, _, _ in row_outcomes(db, batch_id)] == [1, 2, 3, 4, 5]


def test_a_failure_in_a_later_chunk_leaves_the_database_as_before(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin)
    before = database_state(db)
    calls = []
    real = storage.imports.apply.add_audit

    def failing(session: Session, entries: list[dict[str, Any]]) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        real(session, entries)

    monkeypatch.setattr(storage.imports.apply, "add_audit", failing)
    content = csv_bytes("Updated,13800138000,,NewCo", "A,13900139000,,X", "B,13700137000,,Y")
    done = import_now(db, admin, content, mode=DuplicateMode.UPDATE, chunk_rows=2)
    assert done.status == BatchStatus.FAILED
    assert done.error is not None
    assert "disk on fire" in done.error
    assert database_state(db) == before
    assert row_outcomes(db, done.id or 0) == []


def test_a_failure_reported_after_a_chunk_rolls_back_created_and_updated(db: Database) -> None:
    """With the notes of a column no field takes, on the customers updated and created."""
    admin = add_member(db, Role.ADMIN)
    existing_customer(db, admin)
    before = database_state(db)

    def fail_on_second(batch: ImportBatch) -> None:
        if batch.processed_rows > 2:
            raise ValueError("stop")

    content = csv_bytes(
        "Updated,13800138000,,NewCo,m1",
        "A,13900139000,,X,m2",
        "B,13700137000,,Y,m3",
        header="姓名,手机,邮箱,公司,Memo\n",
    )
    done = import_now(
        db, admin, content, mode=DuplicateMode.UPDATE, chunk_rows=2, progress=fail_on_second
    )
    assert done.status == BatchStatus.FAILED
    assert database_state(db) == before
    again = import_now(db, admin, content, mode=DuplicateMode.UPDATE)
    assert (again.created_count, again.updated_count) == (2, 1)  # a failed batch is no "before"


def test_a_run_stopped_by_its_caller_keeps_its_rows_and_resumes_at_once(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    batch_id = upload(db, admin, FILE)
    start(db, admin, batch_id)

    def stop(batch: ImportBatch) -> None:
        raise LeaseLost("shutting down")

    stopped = run_batch(db, batch_id=batch_id, worker="first", progress=stop, chunk_rows=2)
    assert (stopped.status, stopped.processed_rows, stopped.claimed_by) == ("running", 2, None)
    assert db.read_sync(resumable_batches, now=utcnow()) == [batch_id]
    done = run_batch(db, batch_id=batch_id, worker="second", chunk_rows=2)
    assert (done.status, done.created_count, done.rejected_count) == ("done", 3, 2)
