"""The buttons of an import's review message: change a column, settle date orders, preview,
choose the duplicate mode, start or cancel.

Every choice is written to the batch row before the message is edited, so the message keeps
working after a restart; a button of a batch that is no longer being set up (started,
cancelled, someone else's) gets one polite answer. Starting hands the batch to the runner
the bot installed (`Services.jobs.launch_import`), which edits this same message into the progress.

    review (20 columns a page, ‹ Prev · n/N · Next ›) --column--> targets
           --pick / Don't import / Back--> review, on that column's page
    review --Continue--> date order (one per ambiguous column) --> preview
    preview --mode--> preview;  --Start--> progress;  --Columns--> review;  --Cancel--> done
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from handlers.callback_data import ImportAction
from handlers.context import CrmContext
from handlers.feature import Feature, Route
from handlers.imports import undo as import_undo
from handlers.imports.views import (
    MODES,
    column_view,
    columns_page,
    columns_view,
    date_view,
    number,
    preview_view,
)
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotFound
from storage.imports import (
    ImportNotReady,
    ImportReview,
    batch_sheet,
    cancel_batch,
    get_draft_review,
    review,
    set_date_order,
    set_duplicate_mode,
    set_target,
    start_batch,
)
from storage.imports.order_rows import ALL_TARGETS

logger = logging.getLogger(__name__)

View = tuple[str, InlineKeyboardMarkup | None]


async def show_review(context: CrmContext, batch_id: int) -> View:
    """The columns view of a fresh upload (sent as a new message by the upload handler)."""
    found = await context.db.read(review, actor=context.require_member(), batch_id=batch_id)
    return columns_view(context.t, found, context.language)


def _next_view(context: CrmContext, found: ImportReview, *, notice: str = "") -> View:
    """After Continue: the first date column still undecided, else the preview."""
    if found.undecided_date_columns:
        return date_view(context.t, found, found.undecided_date_columns[0], context.language)
    translator = context.services.catalogs.translator(context.language)
    return preview_view(translator, found, notice=notice)


async def on_button(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    assert query is not None
    data = await button_data(update, context, ImportAction)
    if data is None:
        return
    if data.action in ("undo", "confirm", "keep"):
        await import_undo.on_button(update, context, data)
        return
    try:
        view = await _apply(context, data)
        started = data.action == "start"
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    except ImportNotReady as problem:
        started, shown = False, await _not_ready(context, data.batch_id, problem.code)
        if shown is None:
            await answer_query(query, context.t("import.no_longer_draft"))
            return
        view = shown
    await answer_query(query)
    await edit_message(query, *view)
    if started:
        assert query.message is not None
        launch = context.services.jobs.launch_import
        assert launch is not None, "bot.import_jobs is not installed"
        launch(data.batch_id, query.message.message_id, context.language)


async def _apply(context: CrmContext, data: ImportAction) -> View:
    """Write the pressed choice to the batch, then build the view that follows it."""
    actor = context.require_member()
    batch_id, t, lang = data.batch_id, context.t, context.language
    change: dict[str, Any] | None = None
    if (
        data.action == "map"
        and data.a is not None
        and data.b is not None
        and data.b < len(ALL_TARGETS)
    ):
        change = {"fn": set_target, "column": data.a, "target": ALL_TARGETS[data.b]}
    elif data.action == "skip" and data.a is not None:
        change = {"fn": set_target, "column": data.a, "target": None, "drop": data.b != 1}
    elif data.action == "date" and data.a is not None and data.b in (0, 1):
        change = {"fn": set_date_order, "column": data.a, "day_first": data.b == 1}
    elif data.action == "mode" and data.a is not None and data.a < len(MODES):
        change = {"fn": set_duplicate_mode, "mode": MODES[data.a]}
    elif data.action == "cancel":
        await context.db.run(cancel_batch, actor=actor, batch_id=batch_id)
        return t("import.cancelled"), None
    elif data.action == "start":
        table = await context.db.read(batch_sheet, actor=actor, batch_id=batch_id)
        batch = await context.db.run(start_batch, actor=actor, batch_id=batch_id, table=table)
        text = t("import.progress", done=number(0, lang), total=number(batch.total_rows, lang))
        return text, None
    if change is not None:
        fn = change.pop("fn")
        await context.db.run(fn, actor=actor, batch_id=batch_id, **change)
    found = await context.db.read(get_draft_review, actor=actor, batch_id=batch_id)
    if data.action == "col" and data.a is not None and data.a < len(found.headers):
        return column_view(t, found, data.a)
    if data.action in ("preview", "date", "mode"):
        return _next_view(context, found)
    page = columns_page(data.a or 0) if data.action in ("map", "skip") else data.a or 0
    return columns_view(t, found, lang, page=page)


async def _not_ready(context: CrmContext, batch_id: int, code: str) -> View | None:
    """Start pressed too early: show what is missing; None when the batch is past set-up."""
    if code not in ("dates_undecided", "no_name_column", "no_order_columns"):
        return None
    try:
        found = await context.db.read(
            get_draft_review, actor=context.require_member(), batch_id=batch_id
        )
    except ImportNotReady:
        return None
    if code in ("no_name_column", "no_order_columns"):
        need = "import.need_name" if code == "no_name_column" else "import.need_order_columns"
        return columns_view(context.t, found, context.language, notice=context.t(need))
    return _next_view(context, found)


FEATURE = Feature(name="import_review", routes=(Route(ImportAction, on_button),))
