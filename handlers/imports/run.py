"""Running a queued import off the event loop and telling the member how it went.

`storage.imports.run_batch` is synchronous, CPU-heavy (docs/stack-facts.md: ~5k rows/s), so it runs
in a thread; after each chunk it calls back from that thread, and the callback hands a
progress edit to the event loop (`handlers.progress`), at most every `PROGRESS_INTERVAL`
seconds and never more than one at a time. The loop itself only waits, so every other chat
is answered while a big file is imported.

The end is one new message (so the member is notified) with the counts and an Undo button
showing the deadline in the member's timezone, plus the rejected rows as a CSV document with
the reasons in the member's language. A failed import says plainly that nothing was changed
(run_batch rolled everything back). `bot.import_jobs` calls `run_and_report` for a batch
started from the chat and for every batch a restart interrupted.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from pathlib import PurePath
from zoneinfo import ZoneInfo

from telegram import Bot, InputFile

from handlers.callback_data import ImportAction
from handlers.formatting import format_when
from handlers.i18n import Translator
from handlers.imports.views import number
from handlers.keyboards import inline_keyboard
from handlers.progress import LiveMessage
from handlers.services import Services
from storage.access import require_member
from storage.imports import (
    BatchStatus,
    get_batch,
    rejected_rows_file,
    run_batch,
    undo_summary,
)
from storage.imports.apply import LeaseLost
from storage.imports.models import ImportBatch
from storage.imports.order_rows import ORDERS, kind_of
from storage.models import Member, Role

logger = logging.getLogger(__name__)

# Background work has no Telegram user behind it; an unsaved admin reads any batch.
SYSTEM = Member(telegram_id=0, display_name="import runner", role=Role.ADMIN)


class Progress(LiveMessage):
    """Called from the import's thread after each chunk; edits the message from the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        bot: Bot,
        chat_id: int,
        message_id: int,
        t: Translator,
        stop: threading.Event,
    ) -> None:
        super().__init__(loop, bot, chat_id, message_id)
        self.t, self.stop = t, stop

    def __call__(self, batch: ImportBatch) -> None:
        if self.stop.is_set():  # shutting down: leave the batch, written up to here, as it is
            raise LeaseLost("the bot is stopping")
        self.show(progress_text(self.t, batch.processed_rows, batch.total_rows))


def progress_text(t: Translator, done: int, total: int) -> str:
    return t("import.progress", done=number(done, t.language), total=number(total, t.language))


async def run_and_report(
    services: Services,
    bot: Bot,
    *,
    batch_id: int,
    worker: str,
    message_id: int | None,
    language: str | None = None,
    stop: threading.Event | None = None,
) -> ImportBatch | None:
    """Run the batch to its end and report it; None when another worker holds it or `stop`
    was set (the run then ends after the chunk in flight, and is resumed later).

    `language` is the one the member used when pressing Start; a batch resumed after a
    restart reports in the member's saved language (else the team's).
    """
    batch = await services.db.read(get_batch, actor=SYSTEM, batch_id=batch_id)
    member = await _importer(services, batch)
    t = services.catalogs.translator(
        language or member.language or services.config.locale.default_language
    )
    chat_id = batch.chat_id or member.telegram_id
    message_id = message_id or batch.progress_message_id
    if message_id is None:
        sent = await bot.send_message(
            chat_id, progress_text(t, batch.processed_rows, batch.total_rows)
        )
        message_id = sent.message_id
    loop = asyncio.get_running_loop()
    progress = Progress(loop, bot, chat_id, message_id, t, stop or threading.Event())
    try:
        batch = await asyncio.to_thread(
            run_batch,
            services.db,
            batch_id=batch_id,
            worker=worker,
            progress=progress,
        )
    except Exception:
        logger.exception("import %s failed", batch_id)
        await bot.send_message(chat_id, t("import.failed", file=batch.file_name))
        return None
    if batch.status == BatchStatus.FAILED:
        failed = "import.failed_orders" if kind_of(batch.settings) == ORDERS else "import.failed"
        await bot.send_message(chat_id, t(failed, file=batch.file_name))
        return batch
    if batch.status != BatchStatus.DONE:
        return None  # stopped, or another worker holds the lease and reports it
    await progress.edit(progress_text(t, batch.total_rows, batch.total_rows))
    await report_done(services, bot, batch, member, t, chat_id)
    return batch


async def _importer(services: Services, batch: ImportBatch) -> Member:
    assert batch.member_id is not None
    return await services.db.read(require_member, actor=SYSTEM, member_id=batch.member_id)


async def report_done(
    services: Services, bot: Bot, batch: ImportBatch, member: Member, t: Translator, chat_id: int
) -> None:
    """The counts with an Undo button, then the rejected rows as a CSV when there are any."""
    assert batch.id is not None
    lang = t.language
    tz = ZoneInfo(member.timezone or services.config.locale.timezone)
    summary = await services.db.read(
        undo_summary,
        actor=member,
        batch_id=batch.id,
        now=services.clock(),
        undo_period=timedelta(hours=services.config.imports.undo_hours),
    )
    text = t(
        "import.done_orders" if kind_of(batch.settings) == ORDERS else "import.done",
        file=batch.file_name,
        created=number(batch.created_count, lang),
        updated=number(batch.updated_count, lang),
        skipped=number(batch.skipped_count, lang),
        rejected=number(batch.rejected_count, lang),
        deadline=format_when(summary.deadline, tz=tz, lang=lang),
    )
    keyboard = inline_keyboard([[(t("import.button.undo"), ImportAction("undo", batch.id))]])
    await bot.send_message(chat_id, text, reply_markup=keyboard)
    if not batch.rejected_count:
        return
    content = await services.db.read(
        rejected_rows_file, batch_id=batch.id, describe=lambda code: t(f"import.reason.{code}")
    )
    if content:
        name = f"{PurePath(batch.file_name).stem}-rejected.csv"
        await bot.send_document(
            chat_id,
            document=InputFile(content, filename=name),
            caption=t("import.rejected_file", count=batch.rejected_count),
        )
