"""Looking at an import: who may, what it would do (the review), and what it rejected.

The review reads the stored file and normalises every row exactly as the run will, so its
preview shows values as they will be stored and its counts say what the run would reject or
find twice; one pass, then one `IN` query per 500 keys (about 1 s per 10,000 rows of CPU).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from storage.access import NotFound
from storage.export import BOM, defuse
from storage.imports.files import SheetTable, read_sheet
from storage.imports.mapping import ambiguous_date_columns, decided_date_orders
from storage.imports.models import BatchStatus, ImportBatch, ImportFile, ImportRow, RowOutcome
from storage.imports.order_apply import plan_orders, read_rows
from storage.imports.order_rows import ORDERS, kind_of
from storage.imports.owners import load_owners
from storage.imports.rows import Rejected, RowRules, normalise_row, noted_columns, row_rules
from storage.imports.store import existing_by_email, existing_by_phone, imported_fingerprints
from storage.models import Member, Role, utcnow


class ImportNotReady(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "dates_undecided" | "no_name_column" | "not_draft" | "not_done"


@dataclass
class PreviewRow:
    row_number: int  # 1 = the first row under the headers
    values: dict[str, str]  # target -> value as it will be stored
    problem: str | None  # a code from REASONS


@dataclass
class ImportReview:
    batch: ImportBatch
    headers: list[str]
    targets: list[str | None]
    samples: list[str]  # first non-empty value per column
    undecided_date_columns: list[int]
    preview: list[PreviewRow]
    total_rows: int
    duplicates_in_db: int
    duplicates_in_file: int
    already_imported: int
    rejected: int
    counted: bool = True  # False: review(counts=False) left the counts at 0
    orders: int = 0  # an orders import: the orders it would make (`already_imported`: rows
    # of orders that exist, `rejected`: rows rejected; no duplicates in the db or file)
    noted_columns: list[int] = field(default_factory=list)  # their values go to a note
    # (owner name as written, NOT_FOUND / NOT_ALLOWED) -> rows that go to the importer instead
    owner_problems: dict[tuple[str, str], int] = field(default_factory=dict)
    created_unread: int = 0  # rows whose created date cannot be read or is not past

    @property
    def kind(self) -> str:
        return kind_of(self.batch.settings)


def get_batch(session: Session, *, actor: Member, batch_id: int) -> ImportBatch:
    """The batch if the actor imported it or is an admin; NotFound otherwise."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None or (actor.role != Role.ADMIN and batch.member_id != actor.id):
        raise NotFound
    return batch


def file_content(session: Session, *, batch_id: int) -> bytes:
    """The uploaded file; empty once the batch was cancelled."""
    stored = session.get(ImportFile, batch_id)
    return stored.content if stored is not None else b""


def batch_table(session: Session, batch: ImportBatch) -> SheetTable:
    content = file_content(session, batch_id=batch.id or 0)
    return read_sheet(content, batch.file_name, max_rows=max(batch.total_rows, 1))


def batch_sheet(session: Session, *, actor: Member, batch_id: int) -> SheetTable:
    """The batch's file as a table, if the actor may see the batch (for `start_batch`)."""
    return batch_table(session, get_batch(session, actor=actor, batch_id=batch_id))


def undecided_columns(table: SheetTable, batch: ImportBatch) -> list[int]:
    chosen = batch.settings["date_orders"]
    targets = batch.settings["targets"]
    return [c for c in ambiguous_date_columns(table, targets) if str(c) not in chosen]


def review(
    session: Session, *, actor: Member, batch_id: int, limit: int = 5, counts: bool = True
) -> ImportReview:
    """The mapping, a preview of the first rows as stored, and what the import would do.

    Counts are of rows that would be rejected, skipped as already imported, or found twice in
    the file or already in the database (what happens to those depends on the mode). They
    need every row normalised (~1 s of CPU per 10,000 rows); `counts=False` skips them and
    returns in milliseconds, for re-showing the mapping after each change.
    """
    batch = get_batch(session, actor=actor, batch_id=batch_id)
    table = batch_table(session, batch)
    targets = batch.settings["targets"]
    rules = row_rules(
        batch.settings,
        decided_date_orders(table, targets, batch.settings["date_orders"]),
        utcnow().date(),
    )
    if kind_of(batch.settings) == ORDERS:
        return _order_review(session, batch, table, rules, limit=limit, counts=counts)
    preview: list[PreviewRow] = []
    valid: list[tuple[str, list[str]]] = []  # (fingerprint, phones and email): all it needs
    rejected = created_unread = 0
    owners = load_owners(session, batch)
    owner_problems: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(table.rows, start=1):
        if not counts and len(preview) >= limit:
            break
        try:
            values = normalise_row(cells, rules)
        except Rejected as exc:
            rejected += 1
            if len(preview) < limit:
                preview.append(PreviewRow(number, _raw(cells, targets), exc.reason))
            continue
        valid.append((values.fingerprint, values.keys))
        created_unread += values.created_unread
        if (problem := owners.resolve(values.owner)[1]) is not None:
            key = (values.owner, problem)
            owner_problems[key] = owner_problems.get(key, 0) + 1
        if len(preview) < limit:
            preview.append(PreviewRow(number, values.display, None))
    found = _duplicate_counts(session, batch, valid) if counts else (0, 0, 0)
    return ImportReview(
        batch=batch,
        headers=table.headers,
        targets=targets,
        samples=[next((r[i] for r in table.rows if r[i]), "") for i in range(len(table.headers))],
        undecided_date_columns=undecided_columns(table, batch),
        preview=preview,
        total_rows=len(table.rows),
        duplicates_in_db=found[0],
        duplicates_in_file=found[1],
        already_imported=found[2],
        rejected=rejected if counts else 0,
        counted=counts,
        noted_columns=noted_columns(batch.settings),
        owner_problems=owner_problems if counts else {},
        created_unread=created_unread if counts else 0,
    )


def _order_review(
    session: Session,
    batch: ImportBatch,
    table: SheetTable,
    rules: RowRules,
    *,
    limit: int,
    counts: bool,
) -> ImportReview:
    """An orders file's review: every row read and looked up as the importer (the customer,
    the contract, whether the number exists), or only the first `limit` rows without counts."""
    importer = session.get_one(Member, batch.member_id or batch.owner_id)
    rows = table.rows if counts else table.rows[:limit]
    currency = batch.settings.get("currency", "CNY")
    plan = plan_orders(session, actor=importer, rows=rows, rules=rules, currency=currency)
    readable = dict(read_rows(rows[:limit], rules, currency)[0])
    preview = [
        PreviewRow(
            number,
            readable[number].display if number in readable else _raw(cells, rules.targets),
            plan.reasons.get(number),
        )
        for number, cells in enumerate(rows[:limit], start=1)
        if any(cells)
    ]
    return ImportReview(
        batch=batch,
        headers=table.headers,
        targets=list(rules.targets),
        samples=[next((r[i] for r in table.rows if r[i]), "") for i in range(len(table.headers))],
        undecided_date_columns=undecided_columns(table, batch),
        preview=preview,
        total_rows=len(table.rows),
        duplicates_in_db=0,
        duplicates_in_file=0,
        already_imported=plan.existing if counts else 0,
        rejected=plan.rejected if counts else 0,
        counted=counts,
        orders=len(plan.orders) if counts else 0,
    )


def get_draft_review(session: Session, *, actor: Member, batch_id: int) -> ImportReview:
    """The review of a batch still being set up (a cancelled one no longer keeps its file)."""
    if get_batch(session, actor=actor, batch_id=batch_id).status != BatchStatus.DRAFT:
        raise ImportNotReady("not_draft")
    return review(session, actor=actor, batch_id=batch_id)


def _raw(cells: Sequence[str], targets: Sequence[str | None]) -> dict[str, str]:
    return {t: cells[i] for i, t in enumerate(targets) if t is not None and cells[i]}


def _duplicate_counts(
    session: Session, batch: ImportBatch, valid: list[tuple[str, list[str]]]
) -> tuple[int, int, int]:
    """(in the database, earlier in the file, imported before) for the valid rows."""
    imported = imported_fingerprints(session, [fp for fp, _ in valid])
    imported = {fp: b for fp, b in imported.items() if b != batch.id}
    keys = [k for _, ks in valid for k in ks]
    in_db = set(existing_by_phone(session, [k for k in keys if k.startswith("+")]))
    in_db |= set(existing_by_email(session, [k for k in keys if "@" in k]))
    seen: set[str] = set()
    db_count = file_count = before = 0
    for fingerprint, row_keys in valid:
        if fingerprint in imported:
            before += 1
            continue  # the run skips it before looking at its phone or email
        if fingerprint in seen or any(k in seen for k in row_keys):
            file_count += 1
        elif any(k in in_db for k in row_keys):
            db_count += 1
        seen.add(fingerprint)
        seen.update(row_keys)
    return db_count, file_count, before


def rejected_rows_file(
    session: Session, *, batch_id: int, describe: Callable[[str], str]
) -> bytes | None:
    """The rejected rows as they were in the file, plus a "reason" column; None if none.

    CSV with a BOM (Excel reads the Chinese), every cell defused against formula injection.
    """
    rows = session.exec(
        select(ImportRow.row_number, ImportRow.reason)
        .where(col(ImportRow.batch_id) == batch_id, col(ImportRow.outcome) == RowOutcome.REJECTED)
        .order_by(col(ImportRow.row_number))
    ).all()
    if not rows:
        return None
    batch = session.get(ImportBatch, batch_id)
    assert batch is not None
    table = batch_table(session, batch)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([defuse(h) for h in [*table.headers, "reason"]])
    for number, reason in rows:
        cells = [*table.rows[number - 1], describe(reason or "")]
        writer.writerow([defuse(c) for c in cells])
    return (BOM + buffer.getvalue()).encode("utf-8")
