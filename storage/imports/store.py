"""The set-based queries and writes of an import: lookups by key, bulk search keys, restores.

An import touches thousands of customers per chunk, so nothing here loads ORM objects one by
one: lookups are `IN` queries over a chunk's keys and writes are executemany statements.
`restore_updated` and `delete_created` put back everything a failed batch wrote; the undo of a
finished batch (`storage.imports.undo`) reads the records `undo_record` builds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, delete, false, func, insert, select, text, update
from sqlmodel import Session, col

from storage.audit import jsonable
from storage.imports.models import BatchStatus, ImportBatch, ImportRow, RowOutcome
from storage.models import AuditEntry, Customer, CustomerPhone, Interaction, utcnow
from storage.search.index import customer_search, search_keys
from storage.webhooks import record_bulk_changes, record_removed

T = TypeVar("T")
IN_CHUNK = 500  # ids per IN list: far below SQLite's and PostgreSQL's parameter limits
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
PHONE = CustomerPhone.__table__  # type: ignore[attr-defined]
IMPORT_ROW = ImportRow.__table__  # type: ignore[attr-defined]
AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
INTERACTION = Interaction.__table__  # type: ignore[attr-defined]

UPDATABLE = (
    "name", "email", "company", "position", "industry", "region", "gender", "birthday_month",
    "birthday_day", "birthday_year", "source", "category", "tags", "needs",
)  # fmt: skip
"""Customer columns an import can write; `before` keeps these plus the bookkeeping below."""
BOOKKEEPING = ("import_batch_id", "updated_by_id", "updated_at")


@dataclass(frozen=True)
class Existing:
    """A live customer holding a phone or email that a row also has."""

    customer_id: int
    owner_id: int
    import_batch_id: int | None


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def imported_fingerprints(session: Session, fingerprints: Iterable[str]) -> dict[str, int]:
    """fingerprint -> the batch that created or updated a customer from such a row.

    Batches undone or failed (rolled back) do not count: their rows may be imported again.
    """
    found: dict[str, int] = {}
    for part in chunks(sorted(set(fingerprints))):
        rows = session.execute(
            select(col(ImportRow.fingerprint), col(ImportRow.batch_id))
            .join(ImportBatch, col(ImportBatch.id) == col(ImportRow.batch_id))
            .where(
                col(ImportRow.fingerprint).in_(part),
                col(ImportRow.outcome).in_((RowOutcome.CREATED, RowOutcome.UPDATED)),
                col(ImportBatch.status).not_in((BatchStatus.UNDONE, BatchStatus.FAILED)),
            )
        )
        for fingerprint, batch_id in rows:
            found.setdefault(fingerprint, batch_id)
    return found


def existing_by_phone(session: Session, phones: Iterable[str]) -> dict[str, Existing]:
    found: dict[str, Existing] = {}
    for part in chunks(sorted(set(phones))):
        rows = session.execute(
            select(
                col(CustomerPhone.e164),
                col(Customer.id),
                col(Customer.owner_id),
                col(Customer.import_batch_id),
            )
            .join(Customer, col(Customer.id) == col(CustomerPhone.customer_id))
            .where(col(CustomerPhone.e164).in_(part), col(Customer.deleted_at).is_(None))
            .order_by(col(Customer.id))
        )
        for e164, customer_id, owner_id, batch_id in rows:
            found.setdefault(e164, Existing(customer_id, owner_id, batch_id))
    return found


def existing_by_email(session: Session, emails: Iterable[str]) -> dict[str, Existing]:
    """Keyed by the lowercased email, through the indexed `customer_search.email_key`."""
    found: dict[str, Existing] = {}
    for part in chunks(sorted({e.lower() for e in emails})):
        rows = session.execute(
            select(
                customer_search.c.email_key,
                col(Customer.id),
                col(Customer.owner_id),
                col(Customer.import_batch_id),
            )
            .join(Customer, col(Customer.id) == customer_search.c.customer_id)
            .where(customer_search.c.email_key.in_(part), customer_search.c.deleted == false())
            .order_by(col(Customer.id))
        )
        for email_key, customer_id, owner_id, batch_id in rows:
            found.setdefault(email_key, Existing(customer_id, owner_id, batch_id))
    return found


def _keys(customer: dict[str, Any]) -> dict[str, str | None]:
    c = customer
    return search_keys(c["name"], c.get("company"), c.get("email"), c.get("tags"))


def reindex(session: Session, customers: Iterable[dict[str, Any]]) -> None:
    """What `search_index.index_customer` adds after a save, for many customers at once.

    Each dict needs id, name, company, email and tags (the triggers did the rest).
    """
    params = [{"_id": c["id"], **_keys(c)} for c in customers]
    if params:
        session.execute(
            update(customer_search)
            .where(customer_search.c.customer_id == bindparam("_id"))
            .values(
                name_key=bindparam("name_key"),
                search_key=bindparam("search_key"),
                pinyin_key=bindparam("pinyin_key"),
                initials=bindparam("initials"),
            ),
            params,
            execution_options={"synchronize_session": False},
        )


def insert_search_rows(
    session: Session,
    customers: Sequence[dict[str, Any]],
    pinyin: Sequence[tuple[str | None, str | None] | None],
) -> None:
    """SQLite: the complete search rows of customers about to be inserted, written first.

    The insert trigger then finds the row and leaves it (`INSERT OR IGNORE`, migration 0004),
    so FTS5 tokenises each customer once instead of three times (trigger row, then the
    pinyin update's delete and insert). The customer rows do not exist yet: foreign keys are
    checked at commit for this transaction only. `pinyin` is each name's, worked out by the
    normaliser (None: work it out here).
    """
    session.execute(text("PRAGMA defer_foreign_keys = ON"))
    rows = []
    for c, name_pinyin in zip(customers, pinyin, strict=True):
        email = c.get("email")
        keys = search_keys(c["name"], c.get("company"), email, c.get("tags"), name_pinyin)
        email_key = email.translate(_ASCII_LOWER) if email else None
        rows.append(
            {"customer_id": c["id"], "owner_id": c["owner_id"], "deleted": False}
            | {"email_key": email_key, **keys}
        )
    bulk_insert(session, customer_search, rows)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def snapshot(row: dict[str, Any], phones: list[str]) -> dict[str, Any]:
    """A customer's importable values, bookkeeping, phones and owner, as JSON (`undo_record`)."""
    fields = {name: jsonable(row[name]) for name in (*UPDATABLE, *BOOKKEEPING)}
    return {"fields": fields, "phones": phones, "owner_id": row["owner_id"]}


def undo_record(
    before: dict[str, Any] | None, wrote: dict[str, Any], added: list[str]
) -> dict[str, Any]:
    """`ImportRow.before` of a row that created or updated a customer: the customer before the
    batch first wrote to it (`snapshot`, None on later writes) and what this row wrote, so the
    undo can tell what someone changed since (`storage.imports.undo`)."""
    return (before or {}) | {"wrote": {k: jsonable(v) for k, v in wrote.items()}, "added": added}


def load_state(
    session: Session, ids: Iterable[int], *, lock: bool = False
) -> dict[int, dict[str, Any]]:
    """Current values (UPDATABLE, BOOKKEEPING, owner, deleted_at) and phones of the given
    customers; `lock`: their rows stay locked until the transaction ends (the undo)."""
    state: dict[int, dict[str, Any]] = {}
    names = ("id", "owner_id", "deleted_at", *UPDATABLE, *BOOKKEEPING)
    columns = [CUSTOMER.c[name] for name in names]
    for part in chunks(sorted(set(ids))):
        query = select(*columns).where(CUSTOMER.c.id.in_(part))
        for row in session.execute(query.with_for_update() if lock else query).mappings():
            state[row["id"]] = {**row, "phones": []}
        for customer_id, e164 in session.execute(
            select(PHONE.c.customer_id, PHONE.c.e164)
            .where(PHONE.c.customer_id.in_(part))
            .order_by(PHONE.c.id)
        ):
            state[customer_id]["phones"].append(e164)
    return state


def restore_updated(session: Session, *, batch_id: int) -> list[int]:
    """Put every customer this (failed) batch updated back as it was; returns their ids.

    Rows are undone latest first, so a customer updated by several rows ends as before the
    first. Customers the batch created itself have no `before` (they are deleted instead).
    """
    found = session.execute(
        select(col(ImportRow.customer_id), col(ImportRow.before))
        .where(
            col(ImportRow.batch_id) == batch_id,
            col(ImportRow.outcome) == RowOutcome.UPDATED,
            col(ImportRow.before).is_not(None),
        )
        .order_by(col(ImportRow.row_number).desc())
    )
    rows = [
        (customer_id, before) for customer_id, before in found if before and "fields" in before
    ]
    for customer_id, before in rows:
        fields = dict(before["fields"])
        if fields.get("updated_at"):
            fields["updated_at"] = datetime.fromisoformat(fields["updated_at"])
        session.execute(update(CUSTOMER).where(CUSTOMER.c.id == customer_id).values(**fields))
        session.execute(
            delete(PHONE).where(
                PHONE.c.customer_id == customer_id, PHONE.c.e164.not_in(before["phones"])
            )
        )
    ids = sorted({customer_id for customer_id, _ in rows})
    state = load_state(session, ids)
    reindex(session, ({"id": i, **state[i]} for i in ids))
    return ids


def batch_customer_ids(session: Session, *, batch_id: int, outcome: RowOutcome) -> list[int]:
    found = session.execute(
        select(col(ImportRow.customer_id)).where(
            col(ImportRow.batch_id) == batch_id, col(ImportRow.outcome) == outcome
        )
    ).scalars()
    return sorted({customer_id for customer_id in found if customer_id is not None})


def delete_created(session: Session, ids: Sequence[int], *, since: datetime) -> None:
    """Remove customers a failed batch created, with their phones, search rows and audit; a
    webhook receiver that heard of them hears they are gone."""
    record_removed(session, record_type="customer", record_ids=ids)
    for part in chunks(ids):
        session.execute(delete(customer_search).where(customer_search.c.customer_id.in_(part)))
        session.execute(delete(PHONE).where(PHONE.c.customer_id.in_(part)))
        session.execute(
            delete(AUDIT).where(
                AUDIT.c.entity_type == "customer", AUDIT.c.entity_id.in_(part), AUDIT.c.at >= since
            )
        )
        session.execute(delete(CUSTOMER).where(CUSTOMER.c.id.in_(part)))


def batch_note_ids(session: Session, *, batch_id: int) -> list[int]:
    """The notes the batch wrote (`storage.imports.notes`), from its rows' undo records."""
    records = session.execute(
        select(IMPORT_ROW.c.before).where(IMPORT_ROW.c.batch_id == batch_id)
    ).scalars()
    return sorted(r["note_id"] for r in records if r and "note_id" in r)


def delete_notes(session: Session, ids: Sequence[int]) -> None:
    """Erase a failed batch's notes and their audit entries."""
    for part in chunks(ids):
        session.execute(
            delete(AUDIT).where(AUDIT.c.entity_type == "interaction", AUDIT.c.entity_id.in_(part))
        )
        session.execute(delete(INTERACTION).where(INTERACTION.c.id.in_(part)))


def delete_update_audit(session: Session, ids: Sequence[int], *, since: datetime) -> None:
    for part in chunks(ids):
        session.execute(
            delete(AUDIT).where(
                AUDIT.c.entity_type == "customer",
                AUDIT.c.action == "update",
                AUDIT.c.entity_id.in_(part),
                AUDIT.c.at >= since,
            )
        )


def next_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids for `count` new rows of `table`, so one plain executemany inserts them (no
    RETURNING), and an import row can name what it wrote.

    SQLite: max(id) + 1 onwards is safe under the chunk's BEGIN IMMEDIATE write lock.
    PostgreSQL: drawn from the column's sequence, like the default would.
    """
    if session.get_bind().dialect.name == "sqlite":
        top = session.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(top + 1, top + 1 + count))
    drawn = session.execute(
        text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id'))"
            " FROM generate_series(1, :n)"
        ),
        {"n": count},
    )
    return sorted(drawn.scalars())


def add_audit(session: Session, entries: list[dict[str, Any]]) -> None:
    """The entries, and their webhook events (as `record_audit` writes them one at a time)."""
    bulk_insert(session, AUDIT, entries)
    record_bulk_changes(session, entries)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows that share their keys. On SQLite the values go to the driver's
    executemany as SQLAlchemy would store them (UTC text times, JSON text): its per-value
    processing was a third of an import's Python time. PostgreSQL takes the Core insert."""
    if not rows:
        return
    if session.get_bind().dialect.name != "sqlite":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    row_values = itemgetter(*columns, *columns[:1])  # a tuple, even for one column
    conversions = [
        (index, convert)
        for index, name in enumerate(columns)
        if (
            convert := _sqlite_conversion(
                next((r[name] for r in rows if r[name] is not None), None)
            )
        )
    ]
    values = []
    for row in rows:
        cells = list(row_values(row))[: len(columns)]
        for index, convert in conversions:
            if cells[index] is not None:
                cells[index] = convert(cells[index])
        values.append(tuple(cells))
    names = ", ".join(f'"{name}"' for name in columns)
    session.connection().exec_driver_sql(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})',
        values,
    )


def _sqlite_conversion(sample: object) -> Callable[[Any], Any] | None:
    """How a column's values are stored on SQLite, judged by one of them."""
    if isinstance(sample, datetime):
        return _sqlite_time
    if isinstance(sample, list | dict):
        return json.dumps
    return None


@lru_cache(maxsize=16)  # a chunk's rows share one or two timestamps
def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's format


def roll_back(session: Session, *, batch_id: int, error: str) -> ImportBatch:
    """Undo every write of a failed batch and mark it FAILED: the database is as before."""
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    assert batch is not None
    since = batch.started_at or batch.created_at
    updated = restore_updated(session, batch_id=batch_id)
    delete_update_audit(session, updated, since=since)
    delete_notes(session, batch_note_ids(session, batch_id=batch_id))
    created = batch_customer_ids(session, batch_id=batch_id, outcome=RowOutcome.CREATED)
    delete_created(session, created, since=since)
    session.execute(IMPORT_ROW.delete().where(IMPORT_ROW.c.batch_id == batch_id))
    batch.status = BatchStatus.FAILED
    batch.error = error[:2000]
    batch.processed_rows = batch.created_count = batch.updated_count = 0
    batch.skipped_count = batch.rejected_count = 0
    batch.claimed_by = batch.claimed_until = None
    batch.finished_at = utcnow()
    session.add(batch)
    return batch
