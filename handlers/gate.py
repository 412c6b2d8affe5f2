"""The gate: runs first for every update and decides who may go on.

Registered members (and admins named in the config) pass with `context.member` and the
translator set. Strangers get one polite message with their Telegram id and nothing else;
the only thing they may do is open an invite link (`/start <code>`).
"""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from handlers.context import CrmContext
from handlers.i18n import resolve_language, supported_language
from storage.drafts import member_and_draft
from storage.members import (
    TelegramProfile,
    get_active_member,
    get_member_by_telegram_id,
    is_current,
    set_reachable,
)
from storage.models import Member

logger = logging.getLogger(__name__)

GATE_GROUP = -10


def profile_of(update: Update) -> TelegramProfile | None:
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    return TelegramProfile(
        telegram_id=user.id,
        display_name=user.full_name,
        username=user.username,
        # Only a language the bot speaks: it becomes the member's until they pick one, so
        # reminders and digests, sent with no Telegram update at hand, use it too.
        language_code=supported_language(user.language_code),
    )


def is_invite_start(update: Update) -> bool:
    message = update.message
    return bool(
        message
        and message.chat.type == ChatType.PRIVATE
        and message.text
        and message.text.startswith("/start ")
    )


def wants_draft(update: Update) -> bool:
    """A private message that is not a command: most likely an answer to an open entry,
    whose draft the flow engine reads next (`handlers.flows.engine.on_message`)."""
    message = update.message
    return bool(
        message
        and message.chat.type == ChatType.PRIVATE
        and not (message.text or "").startswith("/")
    )


async def _active_member(
    update: Update, context: CrmContext, profile: TelegramProfile, admin_ids: frozenset[int]
) -> Member | None:
    """The member (from `storage.member_cache`, else read, with the draft an answer needs);
    write only when something must change (an admin from the config to register or
    re-promote, a new name or username)."""
    cache = context.services.members
    member = cache.get(profile.telegram_id)
    if member is None:
        generation = cache.generation
        if wants_draft(update):
            member, draft = await context.db.read(
                member_and_draft, telegram_id=profile.telegram_id
            )
            context.prefetch_draft(draft)
        else:
            member = await context.db.read(
                get_member_by_telegram_id, telegram_id=profile.telegram_id
            )
        cache.put(profile.telegram_id, member, generation)
    if not is_current(member, profile=profile, admin_ids=admin_ids):
        context.take_prefetched_draft()  # the member may be new or changed: read it again
        return await context.db.run(get_active_member, profile=profile, admin_ids=admin_ids)
    return member if member is not None and member.active else None


async def gate(update: Update, context: CrmContext) -> None:
    profile = profile_of(update)
    if profile is None:
        raise ApplicationHandlerStop
    services = context.services
    # If this fails (the database is away), the error handler tells the member and ends the
    # update: nothing after the gate runs without knowing who writes.
    member = await _active_member(update, context, profile, services.admin_ids)
    language = resolve_language(
        member.language if member else None,
        profile.language_code,
        services.config.locale.default_language,
    )
    context.member = member
    context.translator = services.catalogs.translator(language)
    context.remember_language(language)
    if update.my_chat_member is not None:
        await _note_membership(update.my_chat_member, context)
        if update.my_chat_member.chat.type == ChatType.PRIVATE:
            raise ApplicationHandlerStop
        return  # the bot added to / removed from a group: the team feed handles it
    if member is not None and member.unreachable_at is not None:
        await context.db.run(set_reachable, member_id=context.member_id, reachable=True)
    if member is not None or is_invite_start(update):
        return
    await refuse_stranger(update, context, profile.telegram_id)
    raise ApplicationHandlerStop


async def refuse_stranger(update: Update, context: CrmContext, telegram_id: int) -> None:
    """Say who they are and how to get in; reveal nothing about the CRM."""
    logger.info("refused stranger", extra={"user_id": telegram_id})
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        await context.bot.send_message(chat.id, context.t("gate.stranger", user_id=telegram_id))


async def _note_membership(change: ChatMemberUpdated, context: CrmContext) -> None:
    """A member blocking (or unblocking) the bot in their private chat."""
    if context.member is None or change.chat.type != ChatType.PRIVATE:
        return
    blocked = change.new_chat_member.status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    await context.db.run(set_reachable, member_id=context.member_id, reachable=not blocked)
    logger.info(
        "member %s the bot",
        "blocked" if blocked else "unblocked",
        extra={"member_id": context.member.id},
    )


def build_handlers() -> list[BaseHandler[Update, CrmContext, None]]:
    """Register in GATE_GROUP, before every flow."""
    return [TypeHandler(Update, gate)]
