"""`/tokens` (admins): the HTTP API's tokens, with their last use; make one, revoke one.

`/tokens` lists every token (live ones with a Revoke button); `/tokens create NAME
[TELEGRAM_ID] [read-only]` makes one acting as that member (default: the admin) and shows its
secret this once; only its hash is kept. Anyone else gets the admins-only answer, as for
`/restore`. `crm-bot token create|list|revoke` does the same from the command line.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from handlers.callback_data import TokenAction
from handlers.context import CrmContext
from handlers.feature import Command, Feature, Route
from handlers.formatting import format_when
from handlers.keyboards import inline_keyboard
from handlers.telegram_helpers import answer_query, button_data, edit_message
from storage.access import NotAllowed, NotFound, may_administer_members
from storage.api_tokens import NameTaken, create_token, list_tokens, revoke_token
from storage.models import Role

READ_ONLY_WORDS = frozenset({"read-only", "readonly", "ro", "只读"})
SHOWN = 30  # tokens listed in one message; a team has a handful


async def tokens(update: Update, context: CrmContext) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    member = context.require_member()
    if not may_administer_members(member):
        await context.bot.send_message(chat_id, context.t("tokens.admins_only"))
        return
    args = list(context.args or [])
    if args and args[0].casefold() == "create":
        # A secret posted in a group is read by everyone in it.
        private = update.effective_chat.type == ChatType.PRIVATE
        text = await _create(context, args[1:]) if private else context.t("tokens.private_only")
        await context.bot.send_message(chat_id, text)
        return
    text, keyboard = await _listing(context)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)


async def _create(context: CrmContext, args: list[str]) -> str:
    member = context.require_member()
    read_only = bool(args) and args[-1].casefold() in READ_ONLY_WORDS
    if read_only:
        args = args[:-1]
    as_id = member.telegram_id
    if len(args) == 2 and args[1].isascii() and args[1].isdigit():
        as_id, args = int(args[1]), args[:1]
    if len(args) != 1:
        return context.t("tokens.usage")
    try:
        created = await context.db.run(
            create_token,
            actor=member,
            name=args[0],
            member_telegram_id=as_id,
            read_only=read_only,
        )
    except NameTaken:
        return context.t("tokens.name_taken", name=args[0])
    except NotFound:
        return context.t("tokens.no_member", telegram_id=as_id)
    except (NotAllowed, ValueError):
        return context.t("tokens.usage")
    return context.t(
        "tokens.created",
        name=created.token.name,
        access=context.t("tokens.read_only" if read_only else "tokens.read_write"),
        secret=created.secret,
    )


async def _listing(context: CrmContext) -> tuple[str, InlineKeyboardMarkup | None]:
    rows = await context.db.read(list_tokens, actor=context.require_member())
    if not rows:
        return context.t("tokens.none"), None
    lines = [context.t("tokens.title", count=len(rows))]
    buttons = []
    for row in rows[:SHOWN]:
        token = row.token
        used = (
            format_when(token.last_used_at, tz=context.tz, lang=context.language)
            if token.last_used_at
            else context.t("tokens.never_used")
        )
        key = "tokens.line_revoked" if token.revoked_at else "tokens.line"
        lines.append(
            context.t(
                key,
                name=token.name,
                member=row.member_name,
                access=context.t("tokens.read_only" if token.read_only else "tokens.read_write"),
                used=used,
            )
        )
        if token.revoked_at is None and token.id is not None:
            label = context.t("tokens.button.revoke", name=token.name)
            buttons.append([(label, TokenAction("revoke", token.id))])
    lines.append(context.t("tokens.hint"))
    return "\n".join(lines), inline_keyboard(buttons)


async def token_button(update: Update, context: CrmContext) -> None:
    query = update.callback_query
    assert query is not None
    action = await button_data(update, context, TokenAction)
    if action is None:
        return
    try:
        revoked = await context.db.run(
            revoke_token, actor=context.require_member(), token_id=action.token_id
        )
    except NotAllowed:
        await answer_query(query, context.t("tokens.admins_only"))
        return
    except NotFound:
        await answer_query(query, context.t("common.not_found"))
        return
    await answer_query(query, context.t("tokens.revoked", name=revoked.name))
    text, keyboard = await _listing(context)
    await edit_message(query, text, keyboard)


FEATURE = Feature(
    name="tokens",
    commands=(Command("tokens", tokens, frozenset({Role.ADMIN})),),
    routes=(Route(TokenAction, token_button),),
)
