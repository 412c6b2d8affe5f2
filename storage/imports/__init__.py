"""A spreadsheet import's life: set up (mapping, date order, duplicate mode), start, undo.

The review and error file live in `storage.imports.review`, the run in
`storage.imports.apply.run_batch`, the undo in `storage.imports.undo`; all are re-exported
here, the one module the chat uses.

A file with an order number and a customer column is an orders import (`settings["kind"]`,
`storage.imports.order_rows.guess_kind`): the same steps, its own columns, rows and run
(`storage.imports.order_apply`).

A batch belongs to the member who uploaded it: only they or an admin can see, change, start
or undo it (anyone else gets `NotFound`, as for any record). The customers go to `owner_id`,
which must be someone the importer may see (sales: themselves; managers: their team).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from storage.access import require_member
from storage.imports.apply import LEASE, run_batch
from storage.imports.files import SheetTable, UnreadableFile, read_sheet
from storage.imports.mapping import DATE_TARGETS, TARGETS, guess_targets
from storage.imports.models import BatchStatus, DuplicateMode, ImportBatch, ImportFile
from storage.imports.order_rows import (
    CUSTOMERS,
    ORDER_TARGETS,
    ORDERS,
    guess_kind,
    kind_of,
    targets_of,
)
from storage.imports.review import (
    ImportNotReady,
    ImportReview,
    PreviewRow,
    batch_sheet,
    get_batch,
    get_draft_review,
    rejected_rows_file,
    review,
    undecided_columns,
)
from storage.imports.rows import quality_settings
from storage.imports.undo import (
    UndoExpired,
    UndoResult,
    UndoSummary,
    list_undoable_batches,
    undo_batch,
    undo_summary,
)
from storage.models import Member, Role, utcnow
from storage.quality.rules import FIELDS, QualityRules

__all__ = [  # the contract the chat side uses, defined here or in the modules named above
    "CUSTOMERS",
    "LEASE",
    "ORDERS",
    "ORDER_TARGETS",
    "REASONS",
    "TARGETS",
    "BatchStatus",
    "DuplicateMode",
    "ImportNotReady",
    "ImportReview",
    "PreviewRow",
    "UndoExpired",
    "UndoResult",
    "UndoSummary",
    "UnreadableFile",
    "batch_sheet",
    "get_batch",
    "kind_of",
    "targets_of",
    "get_draft_review",
    "list_undoable_batches",
    "read_sheet",
    "rejected_rows_file",
    "review",
    "run_batch",
    "undo_batch",
    "undo_summary",
]

REASONS: tuple[str, ...] = (
    "missing_name",
    *(f"missing_{name}" for name in FIELDS["customer"] if name != "name"),  # `[quality]`
    "too_long",
    "bad_phone",
    "bad_email",
    "bad_date",
    "bad_gender",
    "duplicate_in_file",
    "duplicate_in_db",
    "already_imported",
    "empty_row",
)
"""Every `ImportRow.reason`: all but the last four reject a row, those skip it."""


def create_batch(
    session: Session,
    *,
    actor: Member,
    owner_id: int,
    chat_id: int | None,
    file_name: str,
    content: bytes,
    table: SheetTable,
    region: str,
    quality: QualityRules | None = None,
    currency: str = "CNY",
    timezone: str = "UTC",
    note_heading: str = "",
    cancel_reason: str = "",
) -> ImportBatch:
    """Store the file with a first guess of the mapping.

    `table` is `read_sheet(content, ...)`, read by the caller before: parsing is seconds of
    CPU for a big file, and in here it would hold the write lock all that time (every other
    member's write waited for it). `quality` (the team's rules) is kept with the batch: the
    required fields and the standard lists its rows are read with; `currency` is an order
    amount's without a currency of its own. `timezone` is the importer's, for created times
    written without a zone; `note_heading` begins the note of a customers file's columns that
    fill no field, in their language ("Imported from file.xlsx:"); `cancel_reason` is a
    cancelled order's when the file gives none, in their language too."""
    require_member(session, actor=actor, member_id=owner_id)
    kind, targets = guess_kind(table.headers)
    batch = ImportBatch(
        member_id=actor.id,
        owner_id=owner_id,
        chat_id=chat_id,
        file_name=file_name[:255],
        file_sha256=hashlib.sha256(content).hexdigest(),
        total_rows=len(table.rows),
        settings={
            "kind": kind,
            "headers": table.headers,
            "targets": targets if kind == ORDERS else guess_targets(table.headers),
            "dropped": [],  # columns the member left out: not even to the notes
            "date_orders": {},
            "duplicate_mode": DuplicateMode.SKIP.value,
            "encoding": table.encoding,
            "delimiter": table.delimiter,
            "region": region,
            "quality": quality_settings(quality or QualityRules()),
            "currency": currency,
            "timezone": timezone,
            "note_heading": note_heading,
            "cancel_reason": cancel_reason,
        },
    )
    session.add(batch)
    session.flush()
    assert batch.id is not None
    session.add(ImportFile(batch_id=batch.id, content=content))
    return batch


def find_owner(session: Session, *, reference: str) -> Member | None:
    """An active member by "@username", member id, or else Telegram id (for `crm-bot import`)."""
    reference = reference.strip()
    if reference.startswith("@"):
        query = select(Member).where(func.lower(Member.username) == reference[1:].lower())
        return session.exec(query.where(col(Member.active))).first()
    if not reference.isdigit():
        return None
    number = int(reference)
    columns = (Member.id, Member.telegram_id) if number < 2**31 else (Member.telegram_id,)
    for column in columns:
        found = session.exec(select(Member).where(col(column) == number, col(Member.active)))
        if (member := found.first()) is not None:
            return member
    return None


def _draft(session: Session, actor: Member, batch_id: int) -> ImportBatch:
    batch = get_batch(session, actor=actor, batch_id=batch_id)
    if batch.status != BatchStatus.DRAFT:
        raise ImportNotReady("not_draft")
    return batch


def set_target(
    session: Session,
    *,
    actor: Member,
    batch_id: int,
    column: int,
    target: str | None,
    drop: bool = True,
) -> ImportBatch:
    """Map `column` to `target`, or with None to the customer's note (`drop` False) or nowhere;
    the column that had the target loses it (its values then go to the note)."""
    batch = _draft(session, actor, batch_id)
    settings = dict(batch.settings)
    targets: list[str | None] = list(settings["targets"])
    allowed = targets_of(settings)
    if not 0 <= column < len(targets) or (target is not None and target not in allowed):
        raise ValueError(f"no column {column} or target {target!r}")
    orders = dict(settings["date_orders"])
    for i, old in enumerate(targets):
        if target is not None and old == target:
            targets[i] = None
            orders.pop(str(i), None)
    if target not in DATE_TARGETS:
        orders.pop(str(column), None)
    targets[column] = target
    dropped = [i for i in settings.get("dropped", []) if i != column]
    if target is None and drop:
        dropped.append(column)
    batch.settings = settings | {"targets": targets, "date_orders": orders, "dropped": dropped}
    session.add(batch)
    return batch


def set_date_order(
    session: Session, *, actor: Member, batch_id: int, column: int, day_first: bool
) -> ImportBatch:
    batch = _draft(session, actor, batch_id)
    orders = dict(batch.settings["date_orders"]) | {str(column): day_first}
    batch.settings = dict(batch.settings) | {"date_orders": orders}
    session.add(batch)
    return batch


def set_duplicate_mode(
    session: Session, *, actor: Member, batch_id: int, mode: DuplicateMode
) -> ImportBatch:
    batch = _draft(session, actor, batch_id)
    batch.settings = dict(batch.settings) | {"duplicate_mode": DuplicateMode(mode).value}
    session.add(batch)
    return batch


def start_batch(
    session: Session, *, actor: Member, batch_id: int, table: SheetTable
) -> ImportBatch:
    """DRAFT -> QUEUED once a column is the name (or a first or last name: they are combined)
    and every ambiguous date column is decided.

    `table` is the batch's file, from `batch_sheet` in a read transaction before this one:
    the file never changes, and parsing it here would hold the write lock for seconds."""
    batch = _draft(session, actor, batch_id)
    mapped = set(batch.settings["targets"])
    if kind_of(batch.settings) == ORDERS:
        if not {"number", "customer"} <= mapped or not {"product", "total"} & mapped:
            raise ImportNotReady("no_order_columns")
    elif not {"name", "first_name", "last_name"} & mapped:
        raise ImportNotReady("no_name_column")
    if undecided_columns(table, batch):
        raise ImportNotReady("dates_undecided")
    batch.status = BatchStatus.QUEUED
    session.add(batch)
    return batch


def cancel_batch(session: Session, *, actor: Member, batch_id: int) -> ImportBatch:
    batch = _draft(session, actor, batch_id)
    batch.status = BatchStatus.CANCELLED
    session.execute(delete(ImportFile).where(col(ImportFile.batch_id) == batch_id))
    batch.finished_at = utcnow()
    session.add(batch)
    return batch


def resumable_batches(session: Session, *, now: datetime) -> list[int]:
    """Queued or running batches nobody holds a live lease on: to run at start-up."""
    return list(
        session.exec(
            select(ImportBatch.id)
            .where(
                col(ImportBatch.status).in_((BatchStatus.QUEUED, BatchStatus.RUNNING)),
                (col(ImportBatch.claimed_until).is_(None))
                | (col(ImportBatch.claimed_until) < now),
            )
            .order_by(col(ImportBatch.id))
        ).all()  # type: ignore[arg-type]
    )


def latest_batches(session: Session, *, actor: Member, limit: int = 5) -> list[ImportBatch]:
    """The actor's most recent imports (an admin's: everyone's), newest first."""
    query = select(ImportBatch).where(col(ImportBatch.status) != BatchStatus.CANCELLED)
    if actor.role != Role.ADMIN:
        query = query.where(col(ImportBatch.member_id) == actor.id)
    return list(
        session.exec(
            query.order_by(col(ImportBatch.created_at).desc(), col(ImportBatch.id).desc()).limit(
                limit
            )
        )
    )
