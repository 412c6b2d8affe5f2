"""Runs a confirmed import: chunk by chunk, resumable, and all-or-nothing on failure.

The worker leases the batch (`claimed_by`/`claimed_until`, renewed every chunk), so a second
instance, or the same bot after a restart, leaves it alone until the lease runs out. Rows are
normalised outside any transaction; each chunk then writes its customers, phones, search keys,
audit entries, `import_row` records and the batch's counters in one short transaction, so a
kill -9 loses at most the chunk in flight and the run resumes after `processed_rows`.

Duplicates are looked for among all live customers, like manual entry (a salesperson learns
that a colleague already has the customer), by normalised phone and email. UPDATE only
touches a customer the importer may see; a match owned by anyone else is skipped. A row whose
fingerprint a batch not undone already imported is skipped in every mode, so importing a file
twice creates nothing. An orders file runs its own way (`storage.imports.order_apply`) under
the same lease, finish and roll-back. Any exception rolls back everything the batch wrote
(status FAILED, `error` set) and `run_batch` returns the failed batch rather than raising.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from storage.db import Database
from storage.imports.files import read_sheet
from storage.imports.mapping import decided_date_orders
from storage.imports.models import BatchStatus, DuplicateMode, ImportBatch, RowOutcome
from storage.imports.notes import Note, write_notes
from storage.imports.order_apply import roll_back_orders, run_orders
from storage.imports.order_rows import ORDERS, kind_of
from storage.imports.owners import Owners, load_owners
from storage.imports.review import file_content
from storage.imports.rows import Rejected, RowRules, RowValues, normalise_row, row_rules
from storage.imports.store import (
    CUSTOMER,
    IMPORT_ROW,
    PHONE,
    UPDATABLE,
    Existing,
    add_audit,
    bulk_insert,
    existing_by_email,
    existing_by_phone,
    imported_fingerprints,
    insert_search_rows,
    load_state,
    next_ids,
    reindex,
    roll_back,
    snapshot,
    undo_record,
)
from storage.models import utcnow
from storage.search.index import pinyin_keys

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
PROCESS_FROM_ROWS = 10_000
# Rows per write transaction: another member's write waits at most about one chunk
# (~0.3 s on SQLite; `Database` queues writers fairly); fewer, larger chunks commit less.
CHUNK_ROWS = 1500
Prepared = list[tuple[int, RowValues | str]]  # (row_number, values or rejection reason)


class LeaseLost(Exception):
    """Stop the run, keeping what is written: raised when another worker took the batch over,
    and by a `progress` callback whose process is shutting down (the lease is then released
    so the next start resumes at once)."""


def run_batch(
    db: Database,
    *,
    batch_id: int,
    worker: str,
    progress: Callable[[ImportBatch], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> ImportBatch:
    """Import a QUEUED batch (or resume a RUNNING one whose lease expired); synchronous."""
    batch = db.run_sync(_claim, batch_id=batch_id, worker=worker)
    if batch is None:
        return db.read_sync(_get, batch_id=batch_id)
    try:
        content = db.read_sync(file_content, batch_id=batch_id)
        table = read_sheet(content, batch.file_name, max_rows=10**9)
        settings = batch.settings
        rules = row_rules(
            settings,
            decided_date_orders(table, settings["targets"], settings["date_orders"]),
            utcnow().date(),
        )
        if kind_of(settings) == ORDERS:
            run_orders(
                db,
                batch=batch,
                rows=table.rows,
                rules=rules,
                worker=worker,
                locked=_locked,
                progress=progress,
            )
            return db.run_sync(_finish, batch_id=batch_id, worker=worker)
        start = batch.processed_rows
        with _normaliser(len(table.rows) - start) as pool:
            # The next chunk is normalised while this one is written.
            def prepare(start: int) -> Future[Prepared] | None:
                if start >= len(table.rows):
                    return None
                return pool.submit(_prepare, table.rows[start : start + chunk_rows], start, rules)

            # The first chunk is normalised here while the normaliser starts (a process
            # takes about a second to import what it needs).
            ahead = prepare(start + chunk_rows)
            prepared = _prepare(table.rows[start : start + chunk_rows], start, rules)
            while prepared:
                batch = db.run_sync(_apply_chunk, batch_id=batch_id, worker=worker, rows=prepared)
                if progress is not None:
                    progress(batch)
                if ahead is None:
                    break
                prepared = ahead.result()
                ahead = prepare(prepared[-1][0])
        return db.run_sync(_finish, batch_id=batch_id, worker=worker)
    except LeaseLost:
        logger.warning("import %s: stopped (lease lost, or the caller is stopping)", batch_id)
        return db.run_sync(_release, batch_id=batch_id, worker=worker)
    except Exception as exc:
        logger.exception("import %s failed; rolling back what it wrote", batch_id)
        return db.run_sync(_roll_back, batch_id=batch_id, error=f"{type(exc).__name__}: {exc}")


def _roll_back(session: Session, *, batch_id: int, error: str) -> ImportBatch:
    """Everything the failed batch wrote undone: its orders, then its customers and rows."""
    batch = _get(session, batch_id=batch_id)
    if kind_of(batch.settings) == ORDERS:
        since = batch.started_at or batch.created_at
        roll_back_orders(session, batch_id=batch_id, since=since)
    return roll_back(session, batch_id=batch_id, error=error)


def _normaliser(rows: int) -> Executor:
    """Where chunks are normalised: a process of its own for a big file, so parsing phones,
    emails and dates runs on another core instead of taking turns with the writes for the
    GIL (~1.5x the rows per second); a thread for a small file, where starting a process
    (~1 s of imports) would cost more than it saves."""
    if rows < PROCESS_FROM_ROWS:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="import")
    # spawn, not fork: the bot's process has threads (the event loop's, the database's).
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def _get(session: Session, *, batch_id: int) -> ImportBatch:
    batch = session.get(ImportBatch, batch_id)
    assert batch is not None
    return batch


def _claim(session: Session, *, batch_id: int, worker: str) -> ImportBatch | None:
    batch = session.get(ImportBatch, batch_id, with_for_update=True)
    now = utcnow()
    if batch is None or batch.status not in (BatchStatus.QUEUED, BatchStatus.RUNNING):
        return None
    if batch.claimed_by not in (None, worker) and (batch.claimed_until or now) > now:
        return None
    batch.status = BatchStatus.RUNNING
    batch.claimed_by = worker
    batch.claimed_until = now + LEASE
    batch.started_at = batch.started_at or now
    return batch


def _release(session: Session, *, batch_id: int, worker: str) -> ImportBatch:
    """Give up our lease (if it is still ours) so `resumable_batches` offers the batch."""
    batch = _get(session, batch_id=batch_id)
    if batch.status == BatchStatus.RUNNING and batch.claimed_by == worker:
        batch.claimed_by = batch.claimed_until = None
        session.add(batch)
    return batch


def _prepare(rows: Sequence[list[str]], start: int, rules: RowRules) -> Prepared:
    """Normalise a chunk (CPU only, before the write transaction opens), and work out each
    name's pinyin for its search keys here rather than in the writer."""
    prepared: Prepared = []
    for offset, cells in enumerate(rows):
        number = start + offset + 1
        if not any(cells):
            prepared.append((number, "empty_row"))
            continue
        try:
            values = normalise_row(cells, rules)
        except Rejected as rejected:
            prepared.append((number, rejected.reason))
            continue
        prepared.append((number, replace(values, pinyin=pinyin_keys(values.fields["name"]))))
    return prepared


def _locked(session: Session, batch_id: int, worker: str) -> ImportBatch:
    """The batch row, locked, without its file (read once per run, not once per chunk)."""
    batch = session.exec(
        select(ImportBatch).where(col(ImportBatch.id) == batch_id).with_for_update()
    ).first()
    if batch is None or batch.status != BatchStatus.RUNNING or batch.claimed_by != worker:
        raise LeaseLost
    return batch


@dataclass
class _Chunk:
    """What one chunk will write, gathered row by row before any statement runs."""

    batch: ImportBatch
    mode: DuplicateMode
    owners: Owners
    imported: dict[str, int]
    by_key: dict[str, Existing | int]  # phone/email -> existing customer or new row index
    state: dict[int, dict[str, Any]]
    new: list[dict[str, Any]] = field(default_factory=list)
    new_phones: list[list[str]] = field(default_factory=list)
    new_pinyin: list[tuple[str | None, str | None] | None] = field(default_factory=list)
    new_history: list[dict[str, Any]] = field(default_factory=list)  # owner_id, created_at
    notes: list[Note] = field(default_factory=list)
    updated: dict[int, list[str]] = field(default_factory=dict)  # id -> phones to add
    rows: list[dict[str, Any]] = field(default_factory=list)  # import_row values
    counts: dict[str, int] = field(default_factory=dict)

    def outcome(
        self, number: int, values: RowValues | None, outcome: RowOutcome, **kw: Any
    ) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        fingerprint = values.fingerprint if values is not None else ""
        if values is not None and values.extras and outcome != RowOutcome.SKIPPED:
            self.notes.append(Note(len(self.rows), values.extras))
        self.rows.append(
            {
                "batch_id": self.batch.id,
                "row_number": number,
                "fingerprint": fingerprint,
                "outcome": outcome,
                "customer_id": kw.get("customer_id"),
                "before": kw.get("before"),
                "reason": kw.get("reason"),
                "_new": kw.get("new"),
            }
        )


def _apply_chunk(session: Session, *, batch_id: int, worker: str, rows: Prepared) -> ImportBatch:
    batch = _locked(session, batch_id, worker)
    if batch.processed_rows != rows[0][0] - 1:
        raise LeaseLost  # someone else moved the batch on meanwhile
    valid = [v for _, v in rows if isinstance(v, RowValues)]
    by_key: dict[str, Existing | int] = {}
    by_key.update(
        existing_by_email(session, [v.fields["email"] for v in valid if "email" in v.fields])
    )
    by_key.update(existing_by_phone(session, [p for v in valid for p in v.phones]))
    existing = {m.customer_id for m in by_key.values() if isinstance(m, Existing)}
    chunk = _Chunk(
        batch=batch,
        mode=DuplicateMode(batch.settings["duplicate_mode"]),
        owners=load_owners(session, batch),
        imported=imported_fingerprints(session, [v.fingerprint for v in valid]),
        by_key=by_key,
        state=load_state(session, existing)
        if batch.settings["duplicate_mode"] == "update"
        else {},
    )
    for number, values in rows:
        if isinstance(values, str):
            outcome = RowOutcome.SKIPPED if values == "empty_row" else RowOutcome.REJECTED
            chunk.outcome(number, None, outcome, reason=values)
        else:
            _decide(chunk, number, values)
    _write(session, chunk)
    now = utcnow()
    batch.processed_rows += len(rows)
    batch.created_count += chunk.counts.get(RowOutcome.CREATED, 0)
    batch.updated_count += chunk.counts.get(RowOutcome.UPDATED, 0)
    batch.skipped_count += chunk.counts.get(RowOutcome.SKIPPED, 0)
    batch.rejected_count += chunk.counts.get(RowOutcome.REJECTED, 0)
    batch.claimed_until = now + LEASE
    session.add(batch)
    return batch


def _decide(chunk: _Chunk, number: int, values: RowValues) -> None:
    """Create, update or skip one valid row, recording its keys for the rows after it."""
    seen_in = chunk.imported.get(values.fingerprint)
    if seen_in is not None:
        reason = "duplicate_in_file" if seen_in == chunk.batch.id else "already_imported"
        chunk.outcome(number, values, RowOutcome.SKIPPED, reason=reason)
        return
    chunk.imported[values.fingerprint] = chunk.batch.id or 0
    keys = values.keys
    match = next((chunk.by_key[k] for k in keys if k in chunk.by_key), None)
    in_file = isinstance(match, int) or (
        isinstance(match, Existing) and match.import_batch_id == chunk.batch.id
    )
    if match is None or chunk.mode == DuplicateMode.CREATE:
        index = len(chunk.new)
        chunk.new.append(dict(values.fields))
        chunk.new_phones.append(list(values.phones))
        chunk.new_pinyin.append(values.pinyin)
        owner_id, _problem = chunk.owners.resolve(values.owner)  # the review counted it
        chunk.new_history.append({"owner_id": owner_id, "created_at": values.created})
        for key in keys:
            chunk.by_key.setdefault(key, index)
        chunk.outcome(number, values, RowOutcome.CREATED, new=index)
    elif chunk.mode == DuplicateMode.SKIP or (
        isinstance(match, Existing)
        and chunk.owners.allowed is not None
        and match.owner_id not in chunk.owners.allowed
    ):
        reason = "duplicate_in_file" if in_file else "duplicate_in_db"
        chunk.outcome(number, values, RowOutcome.SKIPPED, reason=reason)
    elif isinstance(match, int):
        chunk.new[match].update(values.fields)
        if "name" in values.fields:
            chunk.new_pinyin[match] = values.pinyin
        phones = chunk.new_phones[match]
        phones.extend(p for p in values.phones if p not in phones)
        chunk.outcome(number, values, RowOutcome.UPDATED, new=match)
    else:
        state = chunk.state[match.customer_id]
        before = None if in_file else snapshot(state, list(state["phones"]))
        state.update(values.fields)
        added = [p for p in values.phones if p not in state["phones"]]
        state["phones"].extend(added)
        chunk.updated.setdefault(match.customer_id, []).extend(added)
        for key in keys:
            chunk.by_key.setdefault(key, match)
        record = undo_record(before, values.fields, added)
        chunk.outcome(
            number, values, RowOutcome.UPDATED, customer_id=match.customer_id, before=record
        )


def _write(session: Session, chunk: _Chunk) -> None:
    batch, now = chunk.batch, utcnow()
    by = batch.member_id or batch.owner_id
    ids: list[int] = []
    if chunk.new:
        blank = dict.fromkeys(UPDATABLE) | {"tags": []}
        params = [
            blank
            | row
            | {
                "owner_id": history["owner_id"],
                "created_by_id": by,
                "updated_by_id": None,
                "created_at": history["created_at"] or now,
                "updated_at": now,
                "import_batch_id": batch.id,
            }
            for row, history in zip(chunk.new, chunk.new_history, strict=True)
        ]
        ids = next_ids(session, CUSTOMER, len(params))
        for customer_id, row in zip(ids, params, strict=True):
            row["id"] = customer_id
        sqlite = session.get_bind().dialect.name == "sqlite"
        if sqlite:
            insert_search_rows(session, params, chunk.new_pinyin)
        bulk_insert(session, CUSTOMER, params)
        pairs = zip(ids, chunk.new_phones, strict=True)
        phones = [{"customer_id": i, "e164": p} for i, ps in pairs for p in ps]
        if phones:
            bulk_insert(session, PHONE, phones)
        if not sqlite:
            reindex(session, params)
    for customer_id, added in chunk.updated.items():
        state = chunk.state[customer_id]
        values = {name: state[name] for name in UPDATABLE}
        session.execute(
            CUSTOMER.update()
            .where(CUSTOMER.c.id == customer_id)
            .values(**values, import_batch_id=batch.id, updated_by_id=by, updated_at=now)
        )
        if added:
            session.execute(
                insert(PHONE), [{"customer_id": customer_id, "e164": p} for p in added]
            )
    if chunk.updated:
        reindex(session, ({"id": i, **chunk.state[i]} for i in chunk.updated))
    for row in chunk.rows:
        new = row.pop("_new")
        if new is not None:
            row["customer_id"] = ids[new]
            if row["outcome"] == RowOutcome.CREATED:  # as merged with later rows of the chunk
                record = undo_record(None, chunk.new[new], chunk.new_phones[new])
                row["before"] = record | {"owner_id": chunk.new_history[new]["owner_id"]}
    notes = write_notes(session, batch, chunk.rows, chunk.notes, now)
    bulk_insert(session, IMPORT_ROW, chunk.rows)
    add_audit(session, _audit_entries(chunk, ids, now) + notes)


def _audit_entries(chunk: _Chunk, ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """One "create" or "update" entry per customer, marked with the batch, like manual entry."""
    actor = chunk.batch.member_id
    entries = [
        {
            "actor_id": actor,
            "action": "create",
            "entity_type": "customer",
            "entity_id": customer_id,
            "changes": {k: [None, v] for k, v in row.items() if v not in (None, [], "")}
            | {"import_batch_id": [None, chunk.batch.id]},
            "at": now,
        }
        for customer_id, row in zip(ids, chunk.new, strict=True)
    ]
    entries += [
        {
            "actor_id": actor,
            "action": "update",
            "entity_type": "customer",
            "entity_id": customer_id,
            "changes": {"import_batch_id": [None, chunk.batch.id]},
            "at": now,
        }
        for customer_id in chunk.updated
    ]
    return entries


def _finish(session: Session, *, batch_id: int, worker: str) -> ImportBatch:
    batch = _locked(session, batch_id, worker)
    batch.status = BatchStatus.DONE
    batch.finished_at = utcnow()
    batch.claimed_by = batch.claimed_until = None
    session.add(batch)
    return batch
