"""`crm-bot import FILE --owner MEMBER`: the chat's spreadsheet import, from a terminal:
customers, or orders for a file with an order number and a customer column (made as the
owner, whose customers they must be).

It runs as an unsaved admin (like `crm-bot export`), through the same storage calls as the
chat: the file is read and mapped, `--map` and the date order adjust the mapping, the rows
are imported in chunks, and rejected rows go to `<name>.errors.csv` beside the file, with the
reason in English. Usage problems (no such owner, unreadable file, unknown header or field,
undecided dates) exit with 2 and one line saying what to change.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handlers.configuration import QualitySettings
from handlers.i18n import Catalogs
from handlers.services import quality_rules
from storage.db import Database
from storage.imports import (
    BatchStatus,
    DuplicateMode,
    ImportNotReady,
    UnreadableFile,
    batch_sheet,
    cancel_batch,
    create_batch,
    find_owner,
    get_batch,
    kind_of,
    read_sheet,
    rejected_rows_file,
    review,
    run_batch,
    set_date_order,
    set_duplicate_mode,
    set_target,
    start_batch,
    targets_of,
)
from storage.imports.mapping import fold
from storage.imports.order_rows import ALL_TARGETS
from storage.models import Member, Role

logger = logging.getLogger(__name__)

EXIT_USAGE = 2
EXIT_FAILED = 1
IGNORE = ("ignore", "none", "-")


class UsageError(Exception):
    """A problem with the command line or the file: one line for the terminal."""


@dataclass(frozen=True)
class ImportRequest:
    path: Path
    owner: str
    mode: str  # a DuplicateMode value
    day_first: bool | None  # None: not given (fine unless a date column is ambiguous)
    mapping: Sequence[str]  # "Header=field" (field "ignore" to leave a column out)
    region: str
    max_rows: int
    max_file_mb: int
    quality: QualitySettings | None = None  # `[quality]`; None: the default rules
    currency: str = "CNY"  # an order amount's without its own (`[locale] currency`)


def error_file_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.errors.csv")


def _column_changes(headers: list[str], mapping: Sequence[str]) -> list[tuple[int, str | None]]:
    changes = []
    folded = [fold(h) for h in headers]
    for item in mapping:
        header, sep, target = item.rpartition("=")
        target = target.strip().lower()
        if not sep or fold(header) not in folded:
            raise UsageError(f"--map {item!r}: no column headed {header!r} in the file")
        if target not in ALL_TARGETS and target not in IGNORE:
            fields = ", ".join(ALL_TARGETS)
            raise UsageError(f"--map {item!r}: field must be one of {fields}, ignore")
        changes.append((folded.index(fold(header)), None if target in IGNORE else target))
    return changes


def _prepare(db: Database, actor: Member, request: ImportRequest) -> int:
    """Store the file as a batch and configure it; its id (a batch left unusable is cancelled)."""
    size = request.path.stat().st_size
    if size > request.max_file_mb * 1024 * 1024:
        raise UsageError(f"{request.path}: larger than imports.max_file_mb")
    owner = db.read_sync(find_owner, reference=request.owner)
    if owner is None or owner.id is None:
        raise UsageError(f"--owner {request.owner}: no active member with that id or username")
    content = request.path.read_bytes()
    try:
        table = read_sheet(content, request.path.name, max_rows=request.max_rows)
    except UnreadableFile as exc:
        over = f", limit {exc.limit}" if exc.limit is not None else ""
        raise UsageError(f"{request.path}: cannot read it as a table ({exc.code}{over})") from exc
    batch = db.run_sync(
        create_batch,
        actor=actor,
        owner_id=owner.id,
        chat_id=None,
        file_name=request.path.name,
        content=content,
        table=table,
        region=request.region,
        quality=quality_rules(request.quality) if request.quality else None,
        currency=request.currency,
    )
    assert batch.id is not None
    try:
        return _configure(db, actor, request, batch.id)
    except UsageError:
        db.run_sync(cancel_batch, actor=actor, batch_id=batch.id)  # drop the stored file
        raise


def _configure(db: Database, actor: Member, request: ImportRequest, batch_id: int) -> int:
    """Apply the command line's mapping, mode and date order, then queue the batch."""
    batch = db.read_sync(get_batch, actor=actor, batch_id=batch_id)
    for column, target in _column_changes(batch.settings["headers"], request.mapping):
        if target is not None and target not in targets_of(batch.settings):
            raise UsageError(f"--map: {target} is not a field of a {kind_of(batch.settings)} file")
        db.run_sync(set_target, actor=actor, batch_id=batch_id, column=column, target=target)
    db.run_sync(
        set_duplicate_mode, actor=actor, batch_id=batch_id, mode=DuplicateMode(request.mode)
    )
    checked = db.read_sync(review, actor=actor, batch_id=batch_id, limit=0)
    if checked.undecided_date_columns and request.day_first is not None:
        for column in checked.undecided_date_columns:
            db.run_sync(
                set_date_order,
                actor=actor,
                batch_id=batch_id,
                column=column,
                day_first=request.day_first,
            )
    _print_mapping(checked.headers, checked.targets, checked.noted_columns)
    try:
        table = db.read_sync(batch_sheet, actor=actor, batch_id=batch_id)
        db.run_sync(start_batch, actor=actor, batch_id=batch_id, table=table)
    except ImportNotReady as exc:
        hints = {
            "no_name_column": "no column is mapped to name (use --map 'Header=name')",
            "no_order_columns": "an orders file needs number, customer and product or total "
            "columns (use --map 'Header=number')",
            "dates_undecided": "dates like 03/04/2025 are ambiguous: add --day-first or "
            "--month-first",
        }
        raise UsageError(hints.get(exc.code, exc.code)) from exc
    return batch_id


def _print_mapping(headers: list[str], targets: list[str | None], noted: list[int]) -> None:
    """Each column and where it goes: a field, each customer's note, or nowhere."""
    for index, (header, target) in enumerate(zip(headers, targets, strict=True)):
        where = target or ("note" if index in noted else "ignored")
        sys.stdout.write(f"  {header or '(no header)'} -> {where}\n")


def import_file(database_url: str, request: ImportRequest) -> int:
    """Import one file; the exit code (0 done, 1 failed and rolled back, 2 usage)."""
    if not request.path.is_file():
        sys.stderr.write(f"import error: {request.path}: no such file\n")
        return EXIT_USAGE
    actor = Member(telegram_id=0, display_name="crm-bot import", role=Role.ADMIN)
    db = Database(database_url)
    try:
        batch_id = _prepare(db, actor, request)
        done = run_batch(db, batch_id=batch_id, worker=f"cli-{os.getpid()}")
        sys.stdout.write(
            f"{done.status}: {done.created_count} created, {done.updated_count} updated, "
            f"{done.skipped_count} skipped, {done.rejected_count} rejected "
            f"(batch {batch_id}, {done.total_rows} rows)\n"
        )
        if done.status != BatchStatus.DONE:
            sys.stderr.write(f"import failed and was rolled back: {done.error}\n")
            return EXIT_FAILED
        _write_errors(db, batch_id, error_file_path(request.path))
        return 0
    except UsageError as exc:
        sys.stderr.write(f"import error: {exc}\n")
        return EXIT_USAGE
    finally:
        db.close()


def _write_errors(db: Database, batch_id: int, target: Path) -> None:
    t = Catalogs().translator("en")

    def describe(code: str) -> str:
        key = f"import.reason.{code}"
        return t(key) if t.has(key) else code

    content = db.read_sync(rejected_rows_file, batch_id=batch_id, describe=describe)
    if content is not None:
        target.write_bytes(content)
        sys.stdout.write(f"rejected rows with reasons: {target}\n")
