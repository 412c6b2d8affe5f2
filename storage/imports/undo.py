"""Undoing a finished import without undoing anyone's work since.

Each row that created or updated a customer keeps an undo record in `import_row.before`:
what the customer was before the batch's first write to it (`fields`, `phones`, `owner_id`)
and what the row wrote (`wrote`, and the phones it `added`). The undo reads every customer
the batch touched, its row locked, inside its one write transaction, and compares it with
what the batch left, so "changed since" is decided from the data, not from the clock:

- a field the batch changed goes back only while it still holds what the batch wrote;
- only phones the batch added are removed; a phone added since stays;
- a customer the batch created is soft-deleted only while it is exactly as the batch left it
  (values, phones, still marked with this batch) and nothing (deal, note, order, reminder,
  attachment) was attached to it since; otherwise it is kept, and reported as changed;
- the note the batch wrote with the columns that fill no field (`storage.imports.notes`)
  goes with its customer: removed when the customer is removed or restored, else kept;
- a customer that belongs to someone else than at the import (reassigned), or was deleted or
  merged away since, is left alone and reported.

A batch imported before these records existed carries no `wrote`: it cannot tell what
changed since, so its customers are left and reported as changed. An orders import's undo
archives its orders nobody moved on or edited since (`storage.imports.order_apply`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from storage.imports.models import BatchStatus, ImportBatch, ImportRow, RowOutcome
from storage.imports.notes import remove_notes
from storage.imports.order_apply import batch_order_ids, undo_orders
from storage.imports.order_rows import ORDERS, kind_of
from storage.imports.review import ImportNotReady, get_batch
from storage.imports.store import (
    CUSTOMER,
    PHONE,
    UPDATABLE,
    add_audit,
    batch_customer_ids,
    chunks,
    load_state,
    reindex,
)
from storage.models import Attachment, Deal, Interaction, Member, Order, Reminder

BATCH = ImportBatch.__table__  # type: ignore[attr-defined]
BLANK: dict[str, Any] = dict.fromkeys(UPDATABLE) | {"tags": []}  # a created customer's start
ATTACHED = (Deal, Interaction, Order, Reminder, Attachment)


class UndoExpired(Exception):
    """The undo period of the batch is over."""


@dataclass
class UndoSummary:
    file_name: str
    created: int  # customers, or an orders import's orders
    updated: int
    deadline: datetime
    orders: bool = False  # an orders import


@dataclass
class UndoResult:
    """What the undo did, per customer: each one is counted once."""

    file_name: str
    removed: int = 0  # created by the import, untouched since: soft-deleted
    restored: int = 0  # updated by the import: everything it changed is back
    changed: int = 0  # changed by someone since: kept (created) or only partly restored
    reassigned: int = 0  # belongs to someone else now: left
    gone: int = 0  # deleted or merged away since: left
    orders: bool = False  # an orders import: its orders removed, changed or gone


@dataclass
class _Written:
    """What the batch did to one customer, folded from its rows in file order."""

    created: bool = False
    complete: bool = True  # False: rows without an undo record (imported by older code)
    before: dict[str, Any] | None = None
    before_phones: list[str] = field(default_factory=list)
    owner_id: int | None = None
    after: dict[str, Any] = field(default_factory=dict)
    added: list[str] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)  # the notes of unmapped columns it wrote


def list_undoable_batches(
    session: Session, *, actor: Member, now: datetime, undo_period: timedelta, limit: int = 5
) -> list[ImportBatch]:
    """The actor's own finished imports still in their undo period that changed something,
    latest first: what `/import undo` offers to choose from."""
    return list(
        session.execute(
            select(ImportBatch)
            .where(
                col(ImportBatch.member_id) == actor.id,
                col(ImportBatch.status) == BatchStatus.DONE,
                col(ImportBatch.finished_at) >= now - undo_period,
                col(ImportBatch.created_count) + col(ImportBatch.updated_count) > 0,
            )
            .order_by(col(ImportBatch.finished_at).desc(), col(ImportBatch.id).desc())
            .limit(limit)
        ).scalars()
    )


def _undoable(
    session: Session, actor: Member, batch_id: int, now: datetime, undo_period: timedelta
) -> tuple[ImportBatch, UndoSummary]:
    batch = get_batch(session, actor=actor, batch_id=batch_id)
    if batch.status == BatchStatus.UNDONE:
        raise ImportNotReady("undone")
    if batch.status != BatchStatus.DONE or batch.finished_at is None:
        raise ImportNotReady("not_done")
    deadline = batch.finished_at + undo_period
    if now > deadline:
        raise UndoExpired
    if kind_of(batch.settings) == ORDERS:
        made = batch_order_ids(session, batch_id=batch_id)
        return batch, UndoSummary(batch.file_name, len(made), 0, deadline, orders=True)
    created = batch_customer_ids(session, batch_id=batch_id, outcome=RowOutcome.CREATED)
    updated = batch_customer_ids(session, batch_id=batch_id, outcome=RowOutcome.UPDATED)
    updated_only = len(set(updated) - set(created))
    return batch, UndoSummary(batch.file_name, len(created), updated_only, deadline)


def undo_summary(
    session: Session, *, actor: Member, batch_id: int, now: datetime, undo_period: timedelta
) -> UndoSummary:
    """What an undo would touch, for the confirmation; NotFound, UndoExpired or
    ImportNotReady ("undone" once it was undone, "not_done" before it finished)."""
    return _undoable(session, actor, batch_id, now, undo_period)[1]


def undo_batch(
    session: Session, *, actor: Member, batch_id: int, now: datetime, undo_period: timedelta
) -> UndoResult:
    """Undo what nobody changed since (see the module docstring); raises like `undo_summary`.

    The batch row is locked first, so a second undo (a double press, another instance)
    waits for this one and then finds the batch undone.
    """
    session.execute(select(BATCH.c.id).where(BATCH.c.id == batch_id).with_for_update())
    batch, _ = _undoable(session, actor, batch_id, now, undo_period)
    if kind_of(batch.settings) == ORDERS:
        undone = undo_orders(session, actor=actor, batch=batch)
        _mark_undone(session, batch, actor, now)
        return UndoResult(
            batch.file_name,
            removed=undone.removed,
            changed=undone.changed,
            gone=undone.gone,
            orders=True,
        )
    written = _written(session, batch)
    current = load_state(session, written, lock=True)
    own_notes = {note for w in written.values() for note in w.notes}
    attached = _attached(session, [i for i, w in written.items() if w.created], own_notes)
    result = UndoResult(batch.file_name)
    removed: list[int] = []
    notes: list[int] = []  # the batch's notes on customers removed or restored: removed too
    audit: list[dict[str, Any]] = []
    restored: list[dict[str, Any]] = []
    for customer_id, w in sorted(written.items()):
        state = current.get(customer_id)
        if state is None or state["deleted_at"] is not None:
            result.gone += 1
        elif not w.complete:
            result.changed += 1
        elif state["owner_id"] != w.owner_id:
            result.reassigned += 1
        elif w.created:
            untouched = (
                state["import_batch_id"] == batch.id
                and customer_id not in attached
                and {k: state[k] for k in UPDATABLE} == w.after
                and sorted(state["phones"]) == sorted(w.added)
            )
            if untouched:
                removed.append(customer_id)
                notes += w.notes
                result.removed += 1
            else:
                result.changed += 1
        else:
            changes, kept = _restore(session, actor, batch, customer_id, w, state, now)
            if kept:
                result.changed += 1
            else:
                result.restored += 1
                notes += w.notes
            if changes:
                audit.append(_entry(actor, "update", customer_id, changes, now))
                restored.append({"id": customer_id, **state})
    for part in chunks(removed):
        session.execute(
            update(CUSTOMER)
            .where(CUSTOMER.c.id.in_(part), CUSTOMER.c.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, updated_by_id=actor.id)
        )
    deleted = {"deleted_at": [None, now.isoformat()], "import_batch_id": [batch_id, None]}
    audit += [_entry(actor, "delete", customer_id, deleted, now) for customer_id in removed]
    remove_notes(session, notes, now, actor.id)
    note_deleted = {"deleted_at": [None, now.isoformat()]}
    audit += [_entry(actor, "delete", note, note_deleted, now, "interaction") for note in notes]
    reindex(session, restored)
    add_audit(session, audit)
    _mark_undone(session, batch, actor, now)
    return result


def _mark_undone(session: Session, batch: ImportBatch, actor: Member, now: datetime) -> None:
    batch.status = BatchStatus.UNDONE
    batch.undone_at = now
    batch.undone_by_id = actor.id
    session.add(batch)


def _written(session: Session, batch: ImportBatch) -> dict[int, _Written]:
    """Per customer: before the batch, and after its last row (rows applied in file order)."""
    rows = session.execute(
        select(col(ImportRow.customer_id), col(ImportRow.outcome), col(ImportRow.before))
        .where(
            col(ImportRow.batch_id) == batch.id,
            col(ImportRow.outcome).in_((RowOutcome.CREATED, RowOutcome.UPDATED)),
            col(ImportRow.customer_id).is_not(None),
        )
        .order_by(col(ImportRow.row_number))
    )
    found: dict[int, _Written] = {}
    for customer_id, outcome, record in rows:
        w = found.setdefault(customer_id, _Written())
        if record is not None and "note_id" in record:
            w.notes.append(record["note_id"])
            record = {k: v for k, v in record.items() if k != "note_id"} or None
        if outcome == RowOutcome.CREATED:
            w.created, w.after = True, dict(BLANK)
            w.owner_id = (record or {}).get("owner_id", batch.owner_id)
        elif record is None and w.created:
            continue  # folded into the customer created in the same chunk: in its record
        elif record is not None and "fields" in record and not w.created and w.before is None:
            w.before, w.before_phones = record["fields"], record["phones"]
            w.owner_id = record.get("owner_id")
            w.after = {k: w.before[k] for k in UPDATABLE}
        if record is None or "wrote" not in record or (not w.created and w.before is None):
            w.complete = False
            continue
        w.after.update(record["wrote"])
        w.added += [p for p in record["added"] if p not in w.added]
    return found


def _attached(session: Session, ids: list[int], own_notes: set[int]) -> set[int]:
    """Those of `ids` that a deal, note, order, reminder or attachment refers to (the notes
    the batch wrote itself aside)."""
    found: set[int] = set()
    for part in chunks(sorted(ids)):
        for model in ATTACHED:
            column = col(model.customer_id)
            rows = session.execute(select(column, col(model.id)).where(column.in_(part)))
            skip = own_notes if model is Interaction else set()
            found.update(customer_id for customer_id, row_id in rows if row_id not in skip)
    return found


def _restore(
    session: Session,
    actor: Member,
    batch: ImportBatch,
    customer_id: int,
    w: _Written,
    state: dict[str, Any],
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Put back what the batch changed and nobody changed since; (audit changes, whether
    something the batch changed was left because it was changed since)."""
    assert w.before is not None
    values: dict[str, Any] = {}
    kept = False
    for name in UPDATABLE:
        if w.before[name] == w.after[name]:
            continue  # the batch did not change it
        if state[name] == w.after[name]:
            values[name] = w.before[name]
        else:
            kept = True
    phones = [p for p in w.added if p not in w.before_phones and p in state["phones"]]
    changes: dict[str, Any] = {name: [state[name], value] for name, value in values.items()}
    if phones:
        remaining = [p for p in state["phones"] if p not in phones]
        changes["phones"] = [state["phones"], remaining]
        session.execute(
            PHONE.delete().where(PHONE.c.customer_id == customer_id, PHONE.c.e164.in_(phones))
        )
    if changes:
        values |= {"updated_at": now, "updated_by_id": actor.id}
    if state["import_batch_id"] == batch.id:
        values["import_batch_id"] = w.before.get("import_batch_id")
        changes["import_batch_id"] = [batch.id, values["import_batch_id"]]
    if values:
        session.execute(update(CUSTOMER).where(CUSTOMER.c.id == customer_id).values(**values))
        state.update(values)
    return changes, kept


def _entry(
    actor: Member,
    action: str,
    entity_id: int,
    changes: dict[str, Any],
    now: datetime,
    entity_type: str = "customer",
) -> dict[str, Any]:
    return {
        "actor_id": actor.id,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": changes,
        "at": now,
    }
