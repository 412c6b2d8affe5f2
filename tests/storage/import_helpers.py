"""Shared set-up for the import tests: members, uploading a CSV, running it, reading back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.imports import (
    DuplicateMode,
    batch_sheet,
    create_batch,
    read_sheet,
    run_batch,
    set_duplicate_mode,
    start_batch,
)
from storage.imports.models import ImportBatch, ImportRow
from storage.models import Customer, CustomerPhone, Member, Role
from tests.factories import make_member, pk

HEADER = "姓名,手机,邮箱,公司\n"


def add_member(db: Database, role: Role = Role.SALES, manager: Member | None = None) -> Member:
    return db.run_sync(lambda s: make_member(s, role=role, manager=manager))


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(f"{row}\n" for row in rows)).encode("utf-8")


def upload(
    db: Database,
    actor: Member,
    content: bytes,
    *,
    owner: Member | None = None,
    mode: DuplicateMode = DuplicateMode.SKIP,
) -> int:
    batch = db.run_sync(
        create_batch,
        actor=actor,
        owner_id=pk(owner or actor),
        chat_id=None,
        file_name="customers.csv",
        content=content,
        table=read_sheet(content, "customers.csv", max_rows=1000),
        region="CN",
    )
    assert batch.id is not None
    db.run_sync(set_duplicate_mode, actor=actor, batch_id=batch.id, mode=mode)
    return batch.id


def start(db: Database, actor: Member, batch_id: int) -> ImportBatch:
    """Queue the batch as the chat does: its file read first, then the write."""
    table = db.read_sync(batch_sheet, actor=actor, batch_id=batch_id)
    return db.run_sync(start_batch, actor=actor, batch_id=batch_id, table=table)


def import_now(
    db: Database,
    actor: Member,
    content: bytes,
    *,
    owner: Member | None = None,
    mode: DuplicateMode = DuplicateMode.SKIP,
    **run: Any,
) -> ImportBatch:
    batch_id = upload(db, actor, content, owner=owner, mode=mode)
    start(db, actor, batch_id)
    return run_batch(db, batch_id=batch_id, worker="test", **run)


def live_customers(db: Database) -> dict[str, dict[str, Any]]:
    """name -> company, phones, batch of every customer not deleted."""

    def read(session: Session) -> dict[str, dict[str, Any]]:
        found = {}
        for customer in session.exec(select(Customer).where(col(Customer.deleted_at).is_(None))):
            phones = session.exec(
                select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer.id)
            ).all()
            found[customer.name] = {
                "company": customer.company,
                "email": customer.email,
                "phones": sorted(phones),
                "batch": customer.import_batch_id,
                "owner": customer.owner_id,
            }
        return found

    return db.read_sync(read)


def row_outcomes(db: Database, batch_id: int) -> list[tuple[int, str, str | None]]:
    return db.read_sync(
        lambda s: [
            (r.row_number, r.outcome, r.reason)
            for r in s.exec(
                select(ImportRow)
                .where(ImportRow.batch_id == batch_id)
                .order_by(col(ImportRow.row_number))
            )
        ]
    )


TABLES = ("customer", "customer_phone", "customer_search", "audit_entry", "interaction")


def database_state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, for "exactly as before" comparisons."""
    with db.engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
            for table in TABLES
        }


def existing_customer(db: Database, owner: Member, **values: Any) -> int:
    """ "Old Name" at OldCo with +8613800138000, entered in the chat by `owner`."""

    def add(session: Session) -> int:
        data = CustomerCreate(
            name="Old Name", phones=["+8613800138000"], company="OldCo", **values
        )
        customer = create_customer(session, actor=owner, data=data)
        assert customer.id is not None
        return customer.id

    return db.run_sync(add)
