"""A ticket's card: what happened, who handles it, by when, and its whole history, with the
next statuses, Reopen (asks why), Comment, Reassign, the satisfaction score and Delete.

Every press loads the ticket through the access rule again (a forged or stale id gets the
same "not found" as a missing one); a move its status no longer allows is answered, not
applied. A reply to the card adds a comment (`ticket_reply`).

    card --In progress/Waiting/Resolved/Closed--> moved, card redrawn
         (Resolved --> "customer's satisfaction?" 1-5 / not asked --> comment? --> kept)
    card --Reopen--> reason? --> reopened, new due time
    card --Comment (or a reply to the card)--> text --> kept in the history
    card --Reassign--> member buttons --> reassigned; the new and the previous assignee told
    card --📎 Add photos / 🖼 Files--> `handlers.ticket_files`
    card --🗑--> "really?" --Yes--> deleted (an admin sees ♻️ Restore under it; /restore too)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import filters

from handlers.callback_data import TicketAction
from handlers.context import CrmContext
from handlers.customer_card import CardReply
from handlers.customer_pick import picked_id
from handlers.feature import Callback, Feature, OnMessage, Route
from handlers.flows import field_parsers as fp
from handlers.flows.engine import FlowEngine
from handlers.flows.flow import Field, Flow
from handlers.formatting import clip, format_when
from handlers.keyboards import inline_keyboard
from handlers.records.removal import named
from handlers.satisfaction import NOT_ASKED, SCORES
from handlers.telegram_helpers import answer_query, button_data, edit_message, guarded
from handlers.text_limits import fit_html
from storage.access import NotFound, require_ticket
from storage.calls import StorageCall
from storage.models import Member, Ticket, TicketStatus
from storage.reminders import NoticeKind, TicketNotice
from storage.ticket_notices import assignment_notices
from storage.ticket_views import TicketView, find_ticket_by_number, get_ticket_view
from storage.tickets import (
    DONE,
    MOVES,
    TransitionRefused,
    add_comment,
    archive_ticket,
    assignable_for_ticket,
    move_ticket,
    reassign_ticket,
    record_satisfaction,
    reopen_ticket,
    restore_ticket,
)

logger = logging.getLogger(__name__)

REOPEN_FLOW, COMMENT_FLOW, RATE_FLOW = "ticket_reopen", "ticket_comment", "ticket_rate"
HISTORY_LIMIT = 12
PREVIEW = 300
# The card's first line: "🎫 GD-2026-0001 · Repair · High"; a reply to it names the ticket.
CARD_LINE = re.compile(r"^🎫 (\S+) · ")


def sla(context: CrmContext) -> dict[str, timedelta]:
    """`[tickets] sla_hours` as storage takes it."""
    return context.services.config.tickets.sla()


def type_label(context: CrmContext, kind: str) -> str:
    """A type's catalog text; a type added in config without one shows as typed."""
    key = f"ticket.type.{kind}"
    translator = context.translator
    return context.t(key) if translator is not None and translator.has(key) else kind


def status_label(context: CrmContext, status: str) -> str:
    return context.t(f"ticket.status.{status}")


def ticket_card(context: CrmContext, view: TicketView) -> tuple[str, InlineKeyboardMarkup]:
    ticket, lang, tz = view.ticket, context.language, context.tz
    now = context.services.clock()
    overdue = ticket.status not in DONE and ticket.due_at < now
    lines = [
        context.t(
            "ticket.card",
            number=ticket.number,
            type=type_label(context, ticket.type),
            priority=context.t(f"ticket.priority.{ticket.priority}"),
            customer=view.customer_name,
            assignee=view.assignee_name,
            status=status_label(context, ticket.status),
            due=format_when(ticket.due_at, tz=tz, lang=lang, now=now),
        )
    ]
    if overdue:
        lines.append(context.t("ticket.card_overdue"))
    lines.append(clip(ticket.description, PREVIEW))
    if view.files:
        lines.append(context.t("ticket.card_files", count=view.files))
    if ticket.satisfaction_score is not None:
        lines.append(
            context.t(
                "ticket.card_rated",
                score=ticket.satisfaction_score,
                comment=ticket.satisfaction_comment or "—",
            )
        )
    elif ticket.satisfaction_asked is False:
        lines.append(context.t("ticket.card_not_asked"))
    lines += ["", context.t("ticket.history.title")]
    for event in view.history[-HISTORY_LIMIT:]:
        when = format_when(event.at, tz=tz, lang=lang, now=now)
        if event.to_status is None:
            text = context.t("ticket.history.comment", when=when, member=event.member)
        elif event.from_status is None:
            after = status_label(context, event.to_status)
            text = context.t("ticket.history.created", when=when, member=event.member, after=after)
        else:
            text = context.t(
                "ticket.history.move",
                when=when,
                member=event.member,
                before=status_label(context, event.from_status),
                after=status_label(context, event.to_status),
            )
        if event.text:
            text += " — " + clip(event.text, 80)
        lines.append(text)
    return fit_html("\n".join(lines)), _keyboard(context, ticket, view.files)


def _keyboard(context: CrmContext, ticket: Ticket, files: int) -> InlineKeyboardMarkup:
    assert ticket.id is not None
    tid = ticket.id
    moves = [
        (context.t(f"ticket.button.{status}"), TicketAction("move", tid, str(status)))
        for status in MOVES[TicketStatus(ticket.status)]
    ]
    if ticket.status in DONE:
        moves.append((context.t("ticket.button.reopen"), TicketAction("reopen", tid)))
    rows: list[list[Any]] = [moves]
    if ticket.status in DONE and ticket.satisfaction_asked is None:
        rows.append([(context.t("ticket.button.rate"), TicketAction("rate", tid))])
    rows.append(
        [
            (context.t("ticket.button.comment"), TicketAction("comment", tid)),
            (context.t("ticket.button.assign"), TicketAction("assign", tid)),
        ]
    )
    media = [(context.t("ticket_entry.button.attach"), TicketAction("attach", tid))]
    if files:
        media.append(
            (context.t("ticket_entry.button.files", count=files), TicketAction("files", tid))
        )
    rows.append(media)
    rows.append([(context.t("records.button.delete"), TicketAction("delete", tid))])
    keyboard = inline_keyboard(rows)
    assert keyboard is not None
    return keyboard


async def send_ticket(context: CrmContext, chat_id: int, ticket_id: int) -> None:
    view = await context.db.read(
        get_ticket_view, actor=context.require_member(), ticket_id=ticket_id
    )
    text, keyboard = ticket_card(context, view)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def _tell(context: CrmContext, member: Member, notice: TicketNotice, ticket_id: int) -> None:
    """A notice to another member in their own language, with the ticket's open button."""
    t = context.services.catalogs.translator(
        member.language or context.services.config.locale.default_language
    )
    keyboard = inline_keyboard([[(t("ticket.button.open"), TicketAction("open", ticket_id))]])
    try:
        await context.bot.send_message(
            member.telegram_id, notice_text(t, notice), reply_markup=keyboard
        )
    except TelegramError:
        logger.warning("could not tell member %s about a ticket", member.id, exc_info=True)


async def notify_assignment(context: CrmContext, ticket_id: int, previous: int | None) -> None:
    """Tell at once who hears of a ticket just created (`previous` None) or reassigned
    (`storage.ticket_notices` decides who; the API queues the same notices instead)."""
    actor = context.require_member()
    notices = await context.db.read(
        assignment_notices, actor=actor, ticket_id=ticket_id, previous_id=previous
    )
    for notice in notices:
        said = TicketNotice(
            notice.what, notice.ticket.number, actor.display_name, notice.to.display_name
        )
        await _tell(context, notice.member, said, ticket_id)


NOTICE_KEYS = {
    NoticeKind.ASSIGNED: "ticket.notify.assigned",
    NoticeKind.UNASSIGNED: "ticket.notify.unassigned",
    NoticeKind.URGENT: "ticket.notify.urgent",
}


def notice_text(t: Callable[..., str], notice: TicketNotice) -> str:
    """A ticket notice as its reader reads it, sent at once or as a due reminder."""
    return t(NOTICE_KEYS[notice.what], number=notice.number, member=notice.member, to=notice.to)


# --- the small flows: a reopen's reason, a comment, the satisfaction score -------------------


def _never(_values: dict[str, Any]) -> bool:
    return False


def _rated(values: dict[str, Any]) -> bool:
    return values.get("score") not in (None, NOT_ASKED)


def _ticket_id(values: dict[str, Any]) -> int:
    return picked_id(values["ticket"])


async def _after_small(context: CrmContext, chat_id: int, ticket_id: int | None) -> None:
    if ticket_id is None:
        await context.bot.send_message(chat_id, context.t("ticket.refused"))
        return
    await send_ticket(context, chat_id, ticket_id)


def _or_none(call: StorageCall[int | None]) -> StorageCall[int | None]:
    """The ticket's id, or None when storage refused (a status moved meanwhile, gone)."""
    return call.or_if_refused(None, TransitionRefused, ValueError).or_if_missing(None)


def _save_reopen(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> Any:
    call = StorageCall(
        reopen_ticket,
        actor=context.require_member(),
        ticket_id=_ticket_id(values),
        reason=values["reason"],
        sla=sla(context),
        now=context.services.clock(),
    )
    return (
        call.returning(lambda t: t.id).or_if_refused(None, TransitionRefused).or_if_missing(None)
    )


def _save_comment(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> Any:
    call = StorageCall(
        add_comment,
        actor=context.require_member(),
        ticket_id=_ticket_id(values),
        text=values["text"],
    )
    return (
        call.returning(lambda c: c.ticket_id).or_if_refused(None, ValueError).or_if_missing(None)
    )


def _save_rating(context: CrmContext, values: dict[str, Any], _a: list[list[str]]) -> Any:
    score = values.get("score")
    call = StorageCall(
        record_satisfaction,
        actor=context.require_member(),
        ticket_id=_ticket_id(values),
        score=None if score in (None, NOT_ASKED) else int(score),
        comment=values.get("comment"),
    )
    return (
        call.returning(lambda t: t.id).or_if_refused(None, TransitionRefused).or_if_missing(None)
    )


FLOWS = (
    Flow(
        name=REOPEN_FLOW,
        fields=(
            Field("ticket", when=_never),
            Field("reason", parse=fp.text("reason"), required=True),
        ),
        save=_save_reopen,
        after_save=_after_small,
    ),
    Flow(
        name=COMMENT_FLOW,
        fields=(
            Field("ticket", when=_never),
            Field("text", parse=fp.text("notes"), required=True),
        ),
        save=_save_comment,
        after_save=_after_small,
        confirm=False,
    ),
    Flow(
        name=RATE_FLOW,
        fields=(
            Field("ticket", when=_never),
            Field(
                "score",
                choices=SCORES,
                required=True,
            ),
            Field("comment", parse=fp.optional_text("notes"), when=_rated),
        ),
        save=_save_rating,
        after_save=_after_small,
    ),
)

REMOVAL = named(
    "ticket_id",
    (require_ticket, archive_ticket, restore_ticket),
    confirm="ticket.delete.confirm",
    attr="number",
    button=lambda action, ticket_id, value: TicketAction(action, ticket_id, value),
    restore_button=True,
)


# --- the buttons ------------------------------------------------------------------------------


def bind(engine: FlowEngine) -> dict[str, Callback]:
    async def ticket_button(update: Update, context: CrmContext) -> None:
        action = await button_data(update, context, TicketAction)
        if action is None:
            return
        if action.action == "delete":
            await REMOVAL.on_delete(update, context, action.ticket_id, action.value)
            return
        if action.action == "restore":
            await REMOVAL.on_restore(update, context, action.ticket_id)
            return
        load = context.db.read(
            get_ticket_view, actor=context.require_member(), ticket_id=action.ticket_id
        )
        view = await guarded(update, context, load, answer=action.action not in ("move", "assign"))
        if view is None:
            return
        chosen = {"ticket": {"id": str(action.ticket_id), "label": view.ticket.number}}
        if action.action == "move":
            await _move(update, context, engine, view, action.value)
        elif action.action == "assign":
            await _assign(update, context, view, action.value)
        elif action.action == "reopen" and view.ticket.status in DONE:
            await engine.start(update, context, REOPEN_FLOW, values=chosen)
        elif action.action == "comment":
            await engine.start(update, context, COMMENT_FLOW, values=chosen)
        elif action.action == "rate" and view.ticket.status in DONE:
            await engine.start(update, context, RATE_FLOW, values=chosen)
        elif action.action == "open":
            assert update.effective_chat is not None
            text, keyboard = ticket_card(context, view)
            await context.bot.send_message(update.effective_chat.id, text, reply_markup=keyboard)
        else:
            await _tell_refused(update, context)

    async def ticket_reply(update: Update, context: CrmContext) -> None:
        """A reply to a ticket's card: the text is a comment on that ticket."""
        message = update.effective_message
        assert message is not None
        assert message.reply_to_message is not None
        found = CARD_LINE.search(message.reply_to_message.text or "")
        if found is None or not message.text:
            return
        actor = context.require_member()
        try:
            ticket = await context.db.read(find_ticket_by_number, actor=actor, number=found[1])
            assert ticket.id is not None
            await context.db.run(add_comment, actor=actor, ticket_id=ticket.id, text=message.text)
        except (NotFound, ValueError):
            await message.reply_text(context.t("common.not_found"))
            return
        await message.reply_text(context.t("ticket.commented", number=ticket.number))
        await send_ticket(context, message.chat_id, ticket.id)

    return {"ticket_button": ticket_button, "ticket_reply": ticket_reply}


async def _tell_refused(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, context.t("ticket.refused"))


async def _move(
    update: Update, context: CrmContext, engine: FlowEngine, view: TicketView, value: str
) -> None:
    """One move; a status the ticket no longer allows (old, or forged) is refused with a
    word. Resolved asks for the customer's satisfaction at once."""
    query = update.callback_query
    assert query is not None
    assert view.ticket.id is not None
    if value not in {str(s) for s in TicketStatus}:
        await answer_query(query, context.t("common.stale_button"))
        return
    status = TicketStatus(value)
    try:
        await context.db.run(
            move_ticket, actor=context.require_member(), ticket_id=view.ticket.id, status=status
        )
    except TransitionRefused:
        await answer_query(query, context.t("ticket.refused"))
        return
    await answer_query(query, context.t("ticket.moved", status=status_label(context, status)))
    fresh = await context.db.read(
        get_ticket_view, actor=context.require_member(), ticket_id=view.ticket.id
    )
    text, keyboard = ticket_card(context, fresh)
    await edit_message(query, text, keyboard)
    if status == TicketStatus.RESOLVED and fresh.ticket.satisfaction_asked is None:
        chosen = {"ticket": {"id": str(view.ticket.id), "label": view.ticket.number}}
        await engine.start(update, context, RATE_FLOW, values=chosen)


async def _assign(update: Update, context: CrmContext, view: TicketView, value: str) -> None:
    """Without a member: the members the actor may pick, as buttons. With one: reassigned,
    both members told (a member the actor may not pick is "not found")."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    ticket, actor = view.ticket, context.require_member()
    assert ticket.id is not None
    if not value:
        await answer_query(query)
        found = await context.db.read(assignable_for_ticket, actor=actor, ticket_id=ticket.id)
        rows = [[(m.display_name, TicketAction("assign", ticket.id, str(m.id)))] for m in found]
        await context.bot.send_message(
            update.effective_chat.id,
            context.t("ticket.assign.pick", number=ticket.number),
            reply_markup=inline_keyboard(rows),
        )
        return
    try:
        _, previous = await context.db.run(
            reassign_ticket,
            actor=actor,
            ticket_id=ticket.id,
            assignee_id=int(value),
            sla=sla(context),
        )
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query, context.t("ticket.assign.done"))
    await send_ticket(context, update.effective_chat.id, ticket.id)
    await notify_assignment(context, ticket.id, previous=previous)


FEATURE = Feature(
    name="ticket_card",
    messages=(
        OnMessage(
            filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & CardReply(CARD_LINE),
            "ticket_reply",
        ),
    ),
    routes=(
        Route(
            TicketAction,
            "ticket_button",
            ("open", "move", "reopen", "comment", "assign", "rate", "delete", "restore"),
        ),
    ),
    flows=FLOWS,
    bind=bind,
)
