"""Photos and files added to a ticket after entry, and sent back from its card.

"📎 Add photos" on the card collects photos or files as the entry's files step does (the
size limit of `handlers.contract_fields.signed_file`; Done saves them); a photo sent as a
reply to the card is added at once, and so is a document (a spreadsheet replying to a card
is the ticket's file, not an import: `handlers.imports.upload` leaves such replies alone).
Either way a ticket holds at most `[tickets] max_files` in all, as at entry: more is refused
with how many it has. "🖼 Files (n)" sends them back.

    card --📎 Add photos--> photos/files ... --Done--> added, card again
    card <--reply with a photo or a file-- added, card again
    card --🖼 Files (3)--> the photos and files, by their Telegram file ids
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import filters

from handlers import contract_fields as cf
from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.customer_card import CardReply
from handlers.customer_pick import picked_id
from handlers.feature import Callback, Feature, OnMessage, Route
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow, error_text
from handlers.telegram_helpers import answer_query, button_data, guarded
from handlers.ticket_card import CARD_LINE, send_ticket
from storage.access import NotFound
from storage.calls import StorageCall
from storage.interactions import AttachmentRef
from storage.ticket_views import find_ticket_by_number, get_ticket_view, list_ticket_files
from storage.tickets import TooManyFiles, add_files

FLOW_NAME = "ticket_files"
FULL = "full"


def _max_files(context: CrmContext) -> int:
    return context.services.config.tickets.max_files


def _room(context: CrmContext, values: dict[str, Any]) -> int:
    """How many more the ticket takes: what it held when the entry began is `held`."""
    return max(_max_files(context) - int(values.get("held") or 0), 0)


def _never(_values: dict[str, Any]) -> bool:
    return False


def _adding(context: CrmContext, ticket_id: int, files: list[AttachmentRef]) -> StorageCall[Any]:
    """Add `files`: the ticket's id and how many it has now, FULL when that would be too many
    (files were added meanwhile), None when it is gone."""
    call = StorageCall(
        add_files,
        actor=context.require_member(),
        ticket_id=ticket_id,
        files=files,
        limit=_max_files(context),
    )
    shaped = call.returning(lambda count: (ticket_id, count))
    return shaped.or_if_refused(FULL, TooManyFiles).or_if_missing(None)


def _save(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> StorageCall[Any]:
    refs = [AttachmentRef(k, f, u) for k, f, u, _ in values.get("files") or []]
    return _adding(context, picked_id(values["ticket"]), refs)


async def _after_save(
    context: CrmContext, chat_id: int, saved: tuple[int, int] | str | None
) -> None:
    if saved is None or saved == FULL:
        key = "common.not_found" if saved is None else "ticket_entry.files.too_many"
        await context.bot.send_message(chat_id, context.t(key, max=_max_files(context)))
        return
    assert isinstance(saved, tuple)
    ticket_id, count = saved
    await context.bot.send_message(chat_id, context.t("ticket_entry.files.added", count=count))
    await send_ticket(context, chat_id, ticket_id)


FLOW = Flow(
    name=FLOW_NAME,
    fields=(
        Field("ticket", when=_never),
        Field("held", when=_never),
        Field(
            "files",
            parse=cf.not_a_file,
            attach=cf.signed_file,
            max_items=_room,
            required=True,
            skip_label="contract.button.files_done",
            show=cf.show_files,
        ),
    ),
    save=_save,
    after_save=_after_save,
    confirm=False,
)


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def files_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, TicketAction)
        if action is None:
            return
        assert update.effective_chat is not None
        chat_id = update.effective_chat.id
        actor = context.require_member()
        if action.action == "files":
            load = context.db.read(list_ticket_files, actor=actor, ticket_id=action.ticket_id)
            found = await guarded(update, context, load)
            for item in found or []:
                if item.kind == "photo":
                    await context.bot.send_photo(chat_id, item.telegram_file_id)
                else:
                    await context.bot.send_document(chat_id, item.telegram_file_id)
            return
        view = await guarded(
            update,
            context,
            context.db.read(get_ticket_view, actor=actor, ticket_id=action.ticket_id),
            answer=False,
        )
        if view is None:
            return
        query = update.callback_query
        assert query is not None
        if view.files >= _max_files(context):
            full = context.t("ticket_entry.files.full", count=view.files)
            await answer_query(query, full)
            await context.bot.send_message(chat_id, full)
            return
        await answer_query(query)
        chosen = {
            "ticket": {"id": str(action.ticket_id), "label": view.ticket.number},
            "held": view.files,
        }
        await engine.start(update, context, FLOW_NAME, values=chosen)

    async def photo_reply(update: Update, context: CrmContext) -> None:
        """A photo or a document replying to a ticket's card: added to that ticket, within the
        limit."""
        message = update.effective_message
        assert message is not None
        assert message.reply_to_message is not None
        found = CARD_LINE.search(message.reply_to_message.text or "")
        item = cf.signed_file(message, context)
        if found is None or item is None:
            return
        if not isinstance(item, list):
            await message.reply_text(error_text(context, item))
            return
        actor = context.require_member()
        try:
            ticket = await context.db.read(find_ticket_by_number, actor=actor, number=found[1])
            assert ticket.id is not None
            count = await context.db.run(
                add_files,
                actor=actor,
                ticket_id=ticket.id,
                files=[AttachmentRef(*item[:3])],
                limit=_max_files(context),
            )
        except NotFound:
            await message.reply_text(context.t("common.not_found"))
            return
        except TooManyFiles as full:
            await message.reply_text(context.t("ticket_entry.files.full", count=full.held))
            return
        await message.reply_text(context.t("ticket_entry.files.added", count=count))
        await send_ticket(context, message.chat_id, ticket.id)

    return {"ticket_files_button": files_button, "ticket_photo_reply": photo_reply}


FEATURE = Feature(
    name="ticket_files",
    routes=(Route(TicketAction, "ticket_files_button", ("attach", "files")),),
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE
            & (filters.PHOTO | filters.Document.ALL)
            & CardReply(CARD_LINE),
            "ticket_photo_reply",
        ),
    ),
    flows=(FLOW,),
    bind=bind,
)
