"""The note an import leaves on a customer with the file's columns that fill no field.

Another CRM's export has columns this one has no field for ("Lead Status", "Annual Revenue",
"部门"); dropping them silently loses what the team knew. A row's non-empty values of those
columns become one note on its customer: "Imported from contacts.xlsx: Lead Status: New;
Annual Revenue: 5M". The note's id goes into the row's undo record (`note_id`), so the undo
removes it with the customer (`storage.imports.undo`) and a failed run deletes it.

Its kind is `IMPORTED_KIND`, not one of the kinds a member logs: it is history, not a contact, so
it does not move the customer's last contact nor count as anyone's activity in the reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from storage.imports.models import ImportBatch
from storage.imports.store import INTERACTION, bulk_insert, chunks, next_ids
from storage.interactions import IMPORTED_KIND
from storage.parsing import MAX_LENGTHS


@dataclass(frozen=True)
class Note:
    row: int  # index of the import row (in the chunk's list) the note is for
    extras: tuple[tuple[str, str], ...]  # (header, value)


def heading(file_name: str) -> str:
    """The note's first words when the batch has none in the importer's language (the CLI)."""
    return f"Imported from {file_name}:"


def note_text(batch: ImportBatch, extras: Iterable[tuple[str, str]]) -> str:
    first = batch.settings.get("note_heading") or heading(batch.file_name)
    text = f"{first} " + "; ".join(f"{header}: {value}" for header, value in extras)
    limit = MAX_LENGTHS["summary"]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_notes(
    session: Session,
    batch: ImportBatch,
    rows: Sequence[dict[str, Any]],
    notes: Sequence[Note],
    now: datetime,
) -> list[dict[str, Any]]:
    """Insert the chunk's notes, name each in its import row's undo record, and return their
    audit entries. `rows` are the chunk's import rows, customer ids filled in."""
    if not notes:
        return []
    by = batch.member_id or batch.owner_id
    ids = next_ids(session, INTERACTION, len(notes))
    params = []
    for note_id, note in zip(ids, notes, strict=True):
        row = rows[note.row]
        params.append(
            {
                "id": note_id,
                "customer_id": row["customer_id"],
                "owner_id": by,
                "kind": IMPORTED_KIND,
                "happened_at": now,
                "summary": note_text(batch, note.extras),
                "created_by_id": by,
                "created_at": now,
                "updated_at": now,
            }
        )
        row["before"] = (row["before"] or {}) | {"note_id": note_id}
    bulk_insert(session, INTERACTION, params)
    return [
        {
            "actor_id": batch.member_id,
            "action": "create",
            "entity_type": "interaction",
            "entity_id": p["id"],
            "changes": {k: [None, p[k]] for k in ("customer_id", "kind", "summary")},
            "at": now,
        }
        for p in params
    ]


def remove_notes(
    session: Session, ids: Sequence[int], now: datetime, actor_id: int | None
) -> None:
    """Soft-delete the import's notes, as the undo soft-deletes its customers."""
    for part in chunks(sorted(ids)):
        session.execute(
            update(INTERACTION)
            .where(INTERACTION.c.id.in_(part), INTERACTION.c.deleted_at.is_(None))
            .values(deleted_at=now, updated_at=now, updated_by_id=actor_id)
        )
