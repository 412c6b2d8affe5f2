"""An import's set-up, review, access, error file and undo."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

import storage
from storage.access import NotFound
from storage.db import Database
from storage.imports import (
    REASONS,
    BatchStatus,
    DuplicateMode,
    ImportNotReady,
    UndoExpired,
    UnreadableFile,
    cancel_batch,
    create_batch,
    get_batch,
    latest_batches,
    read_sheet,
    rejected_rows_file,
    review,
    set_date_order,
    set_target,
    undo_batch,
    undo_summary,
)
from storage.imports.review import file_content
from storage.models import Role, utcnow
from storage.search.find import find_customers
from tests.factories import pk
from tests.storage.import_helpers import (
    add_member,
    csv_bytes,
    existing_customer,
    import_now,
    live_customers,
    start,
    upload,
)

PERIOD = timedelta(hours=72)


def test_create_batch_guesses_the_mapping_and_keeps_the_settings(db: Database) -> None:
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("张伟,13800138000,,华为").decode().encode("gbk"))
    batch = db.read_sync(get_batch, actor=sales, batch_id=batch_id)
    assert batch.status == BatchStatus.DRAFT
    assert batch.total_rows == 1
    assert batch.settings["targets"] == ["name", "phone", "email", "company"]
    assert batch.settings["encoding"] == "gb18030"
    assert batch.settings["duplicate_mode"] == "skip"
    assert batch.settings["region"] == "CN"


def test_create_batch_refuses_an_unreadable_file(db: Database) -> None:
    sales = add_member(db)
    with pytest.raises(UnreadableFile):
        upload(db, sales, b"")


def test_a_salesperson_cannot_import_into_a_colleagues_ownership(db: Database) -> None:
    sales, colleague = add_member(db), add_member(db)
    with pytest.raises(NotFound):
        upload(db, sales, csv_bytes("A,,,"), owner=colleague)


def test_a_manager_can_import_for_their_team(db: Database) -> None:
    manager = add_member(db, Role.MANAGER)
    sales = add_member(db, manager=manager)
    done = import_now(db, manager, csv_bytes("A,,,"), owner=sales)
    assert live_customers(db)["A"]["owner"] == pk(sales)
    assert done.member_id == pk(manager)


def test_someone_else_cannot_see_a_batch_but_an_admin_can(db: Database) -> None:
    sales, stranger, admin = add_member(db), add_member(db), add_member(db, Role.ADMIN)
    batch_id = upload(db, sales, csv_bytes("A,,,"))
    with pytest.raises(NotFound):
        db.read_sync(get_batch, actor=stranger, batch_id=batch_id)
    with pytest.raises(NotFound):
        db.run_sync(set_target, actor=stranger, batch_id=batch_id, column=0, target=None)
    assert db.read_sync(get_batch, actor=admin, batch_id=batch_id).id == batch_id


def test_set_target_moves_a_target_from_the_column_that_had_it(db: Database) -> None:
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("A,13800138000,,Co"))
    batch = db.run_sync(set_target, actor=sales, batch_id=batch_id, column=3, target="name")
    assert batch.settings["targets"] == [None, "phone", "email", "name"]
    batch = db.run_sync(set_target, actor=sales, batch_id=batch_id, column=2, target=None)
    assert batch.settings["targets"] == [None, "phone", None, "name"]
    with pytest.raises(ValueError, match="target"):
        db.run_sync(set_target, actor=sales, batch_id=batch_id, column=9, target="name")


def test_start_batch_needs_a_name_column_and_decided_dates(db: Database) -> None:
    sales = add_member(db)
    content = csv_bytes("A,03/04/1990", header="Name,Birthday\n")
    batch_id = upload(db, sales, content)
    with pytest.raises(ImportNotReady) as caught:
        start(db, sales, batch_id)
    assert caught.value.code == "dates_undecided"
    db.run_sync(set_date_order, actor=sales, batch_id=batch_id, column=1, day_first=True)
    db.run_sync(set_target, actor=sales, batch_id=batch_id, column=0, target=None)
    with pytest.raises(ImportNotReady) as caught:
        start(db, sales, batch_id)
    assert caught.value.code == "no_name_column"
    db.run_sync(set_target, actor=sales, batch_id=batch_id, column=0, target="name")
    assert start(db, sales, batch_id).status == BatchStatus.QUEUED
    with pytest.raises(ImportNotReady) as caught:
        db.run_sync(set_target, actor=sales, batch_id=batch_id, column=0, target=None)
    assert caught.value.code == "not_draft"


def test_review_previews_rows_as_stored_and_counts_what_will_happen(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    import_now(db, admin, csv_bytes("Known,13600136000,,K"))
    content = csv_bytes(
        "张伟,138 0013 8000,ZW@Example.COM,华为",
        "Known,13600136000,,K",
        "Other,13600136000,,Z",
        ",,,nameless",
        "Again,13800138000,,dup",
        "Bad,1,,",
    )
    batch_id = upload(db, admin, content)
    seen = db.read_sync(review, actor=admin, batch_id=batch_id, limit=4)
    assert seen.headers == ["姓名", "手机", "邮箱", "公司"]
    assert seen.samples == ["张伟", "138 0013 8000", "ZW@Example.COM", "华为"]
    assert seen.undecided_date_columns == []
    assert [(p.row_number, p.problem) for p in seen.preview] == [
        (1, None),
        (2, None),
        (3, None),
        (4, "missing_name"),
    ]
    assert seen.preview[0].values == {
        "name": "张伟",
        "phone": "+8613800138000",
        "email": "ZW@example.com",
        "company": "华为",
    }
    assert seen.total_rows == 6
    assert (seen.rejected, seen.already_imported) == (2, 1)
    assert (seen.duplicates_in_db, seen.duplicates_in_file) == (1, 1)


def test_review_without_counts_only_previews(db: Database) -> None:
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("A,1,,", "B,,,", "C,1,,"))
    seen = db.read_sync(review, actor=sales, batch_id=batch_id, limit=2, counts=False)
    assert [(p.row_number, p.problem) for p in seen.preview] == [(1, "bad_phone"), (2, None)]
    assert (seen.counted, seen.rejected, seen.total_rows) == (False, 0, 3)
    assert db.read_sync(review, actor=sales, batch_id=batch_id).rejected == 2


def test_cancel_batch_drops_the_file(db: Database) -> None:
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("A,,,"))
    batch = db.run_sync(cancel_batch, actor=sales, batch_id=batch_id)
    assert batch.status == BatchStatus.CANCELLED
    assert db.read_sync(file_content, batch_id=batch_id) == b""
    assert db.read_sync(latest_batches, actor=sales) == []


def test_latest_batches_lists_the_actors_own_newest_first(db: Database) -> None:
    sales, other = add_member(db), add_member(db)
    first = upload(db, sales, csv_bytes("A,,,"))
    second = upload(db, sales, csv_bytes("B,,,"))
    upload(db, other, csv_bytes("C,,,"))
    assert [b.id for b in db.read_sync(latest_batches, actor=sales)] == [second, first]


def test_rejected_rows_file_has_the_original_cells_a_reason_and_no_formulas(
    db: Database,
) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Good,,,", "=HYPERLINK(1),12345,,", ",,,@evil"))
    content = db.read_sync(
        rejected_rows_file, batch_id=done.id or 0, describe=lambda code: f"<{code}>"
    )
    assert content is not None
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows == [
        ["姓名", "手机", "邮箱", "公司", "reason"],
        ["'=HYPERLINK(1)", "12345", "", "", "<bad_phone>"],
        ["", "", "", "'@evil", "<missing_name>"],
    ]


def test_rejected_rows_file_is_none_when_nothing_was_rejected(db: Database) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("Good,,,"))
    assert db.read_sync(rejected_rows_file, batch_id=done.id or 0, describe=str) is None


def test_reasons_name_every_code_the_import_can_give_a_row() -> None:
    """The chat translates `import.reason.<code>` for each of REASONS: none may be missing."""
    root = Path(storage.__file__).parent / "imports"
    source = "".join((root / name).read_text() for name in ("rows.py", "apply.py"))
    lines = [line for line in source.splitlines() if "reason" in line or "Rejected(" in line]
    given = {code for line in lines for code in re.findall(r'"([a-z_]+)"', line)} - {"reason"}
    assert len(given) >= 8
    assert given <= set(REASONS)
    assert "empty_row" in REASONS


def test_undo_within_the_period_removes_created_and_restores_updated(db: Database) -> None:
    sales = add_member(db)
    existing_customer(db, sales)
    content = csv_bytes("Renamed,13800138000;13900139000,,NewCo", "Fresh,13700137000,,F")
    done = import_now(db, sales, content, mode=DuplicateMode.UPDATE)
    summary = db.read_sync(
        undo_summary, actor=sales, batch_id=done.id or 0, now=utcnow(), undo_period=PERIOD
    )
    assert (summary.created, summary.updated) == (1, 1)
    assert done.finished_at is not None
    assert summary.deadline == done.finished_at + PERIOD
    db.run_sync(undo_batch, actor=sales, batch_id=done.id or 0, now=utcnow(), undo_period=PERIOD)
    assert live_customers(db) == {
        "Old Name": {
            "company": "OldCo",
            "email": None,
            "phones": ["+8613800138000"],
            "batch": None,
            "owner": pk(sales),
        }
    }
    assert db.read_sync(find_customers, actor=sales, query="Fresh") == []
    assert db.read_sync(get_batch, actor=sales, batch_id=done.id or 0).status == "undone"
    with db.engine.connect() as conn:
        deleted = conn.execute(text("SELECT count(*) FROM customer WHERE deleted_at IS NOT NULL"))
        assert deleted.scalar() == 1
    again = import_now(db, sales, content, mode=DuplicateMode.UPDATE)
    assert (again.created_count, again.updated_count) == (1, 1)  # undone rows may come back


def test_undo_after_the_period_is_refused(db: Database) -> None:
    sales = add_member(db)
    done = import_now(db, sales, csv_bytes("A,,,"))
    later = utcnow() + PERIOD + timedelta(minutes=1)
    with pytest.raises(UndoExpired):
        db.run_sync(undo_batch, actor=sales, batch_id=done.id or 0, now=later, undo_period=PERIOD)
    assert "A" in live_customers(db)


def test_undo_by_a_stranger_is_not_found_and_by_an_admin_works(db: Database) -> None:
    sales, stranger, admin = add_member(db), add_member(db), add_member(db, Role.ADMIN)
    done = import_now(db, sales, csv_bytes("A,,,"))
    with pytest.raises(NotFound):
        db.run_sync(
            undo_batch, actor=stranger, batch_id=done.id or 0, now=utcnow(), undo_period=PERIOD
        )
    db.run_sync(undo_batch, actor=admin, batch_id=done.id or 0, now=utcnow(), undo_period=PERIOD)
    assert live_customers(db) == {}


def test_undo_needs_a_finished_import(db: Database) -> None:
    sales = add_member(db)
    batch_id = upload(db, sales, csv_bytes("A,,,"))
    with pytest.raises(ImportNotReady) as caught:
        db.read_sync(
            undo_summary, actor=sales, batch_id=batch_id, now=utcnow(), undo_period=PERIOD
        )
    assert caught.value.code == "not_done"


def test_create_batch_keeps_the_owner_and_chat(db: Database) -> None:
    manager = add_member(db, Role.MANAGER)
    sales = add_member(db, manager=manager)
    batch = db.run_sync(
        create_batch,
        actor=manager,
        owner_id=pk(sales),
        chat_id=-100123,
        file_name="x.csv",
        content=csv_bytes("A,,,"),
        table=read_sheet(csv_bytes("A,,,"), "x.csv", max_rows=5),
        region="US",
    )
    assert (batch.owner_id, batch.chat_id, batch.member_id) == (pk(sales), -100123, pk(manager))
    assert batch.settings["region"] == "US"
