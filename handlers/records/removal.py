"""Delete (soft) and restore of a saved customer, deal or note: the two buttons the three
record kinds share (customers.py, deals.py, notes.py), as edit.py shares their edit.

    record --🗑--> "really?" --Yes--> archived; the question becomes "deleted"
                           --No, keep it--> nothing changes; the question becomes "kept"
    /restore (admins) --♻️--> restored -> "restored"

What differs between the kinds (the storage calls, the keyword they take the id by, the
texts) is a `RecordRemoval`. Every id in a button is untrusted: each press goes through
storage with the actor, and a missing, deleted or foreign record gets the same "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update

from handlers.callback_data import CallbackData
from handlers.context import CrmContext
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import edit_message, guarded
from storage.models import Role

CONFIRMED = "1"  # the value of the "Yes" button under the question
KEPT = "0"  # the value of its "No, keep it" button

# A text about a record: the context, what the storage call returned, the record's id.
Text = Callable[[CrmContext, Any, int], str]


@dataclass(frozen=True)
class RecordRemoval:
    """What one record kind's delete and restore are made of; the pressing is shared."""

    id_key: str  # the keyword the storage functions take the record's id by
    load: Callable[..., Any]  # reads the record for the question
    archive: Callable[..., Any]  # storage soft delete (it writes the history)
    restore: Callable[..., Any]  # storage restore, admins only
    confirm: Text  # the question
    deleted: Text
    kept: Text  # the answer to "No, keep it"
    restored: Text
    # The kind's button data (`CustomerAction`, ...): action, record id, value.
    button: Callable[[str, int, str], CallbackData]
    # Whether "deleted" carries a Restore button for an admin (who alone may restore).
    restore_button: bool = False

    async def on_delete(
        self, update: Update, context: CrmContext, record_id: int, value: str
    ) -> None:
        """First press asks; the "Yes" button (value `CONFIRMED`) archives, "No, keep it"
        (value `KEPT`) leaves the record and says so (read through the access rule too)."""
        query = update.callback_query
        assert query is not None
        assert update.effective_chat is not None
        ids = {"actor": context.require_member(), self.id_key: record_id}
        confirmed = value == CONFIRMED
        call = (
            context.db.run(self.archive, **ids) if confirmed else context.db.read(self.load, **ids)
        )
        record = await guarded(update, context, call)
        if record is None:
            return
        if confirmed or value == KEPT:
            answer = self.deleted if confirmed else self.kept
            undo = None
            if confirmed and self.restore_button and context.require_member().role == Role.ADMIN:
                restore = (
                    context.t("records.button.restore"),
                    self.button("restore", record_id, ""),
                )
                undo = inline_keyboard([[restore]])
            await edit_message(query, answer(context, record, record_id), undo)
            return
        yes = (context.t("records.delete.yes"), self.button("delete", record_id, CONFIRMED))
        no = (context.t("records.delete.no"), self.button("delete", record_id, KEPT))
        await context.bot.send_message(
            update.effective_chat.id,
            self.confirm(context, record, record_id),
            reply_markup=inline_keyboard([[yes, no]]),
        )

    async def on_restore(self, update: Update, context: CrmContext, record_id: int) -> None:
        assert update.effective_chat is not None
        ids = {"actor": context.require_member(), self.id_key: record_id}
        record = await guarded(update, context, context.db.run(self.restore, **ids))
        if record is not None:
            await context.bot.send_message(
                update.effective_chat.id, self.restored(context, record, record_id)
            )


def named(
    id_key: str,
    calls: tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]],
    *,
    confirm: str,
    attr: str,
    button: Callable[[str, int, str], CallbackData],
    restore_button: bool = False,
) -> RecordRemoval:
    """A kind whose texts name the record by its `attr` (a customer's name, a deal's title):
    `calls` are its load, archive and restore; `confirm` is its question's catalog key."""

    def text(key: str) -> Text:
        return lambda context, record, _id: context.t(key, name=getattr(record, attr))

    load, archive, restore = calls
    return RecordRemoval(
        id_key,
        load,
        archive,
        restore,
        confirm=text(confirm),
        deleted=text("records.delete.done"),
        kept=text("records.delete.kept"),
        restored=text("records.restore.done"),
        button=button,
        restore_button=restore_button,
    )
