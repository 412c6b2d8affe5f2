"""Who sees which command, and their registration in Telegram's command menu.

The command table is what the features declare (`handlers.feature`, listed in `bot/app.py`,
kept in `Services.commands`): it drives `/help`, the per-language default menu and the
per-chat menus of managers and admins, so the three can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from handlers.feature import LEADS, Command
from handlers.i18n import LANGUAGES, Catalogs, Translator
from storage.models import Member, Role

logger = logging.getLogger(__name__)


def commands_for(commands: Iterable[Command], role: Role) -> list[Command]:
    return [command for command in commands if role in command.roles]


def menu(commands: Iterable[Command], t: Translator) -> list[BotCommand]:
    return [BotCommand(command.name, t(command.description_key)) for command in commands]


async def register_default_menus(
    bot: Bot, commands: Iterable[Command], catalogs: Catalogs, default_language: str
) -> None:
    """The menu everyone sees, in each language, plus the no-language fallback."""
    everyone = commands_for(commands, Role.SALES)
    for language in LANGUAGES:
        shown = menu(everyone, catalogs.translator(language))
        await bot.set_my_commands(shown, scope=BotCommandScopeDefault(), language_code=language)
    fallback = menu(everyone, catalogs.translator(default_language))
    await bot.set_my_commands(fallback, scope=BotCommandScopeDefault())


async def register_member_menu(
    bot: Bot, commands: Iterable[Command], member: Member, t: Translator
) -> None:
    """Managers and admins get their extra commands in a menu scoped to their own chat."""
    scope = BotCommandScopeChat(member.telegram_id)
    try:
        if Role(member.role) in LEADS and member.active:
            await bot.set_my_commands(
                menu(commands_for(commands, Role(member.role)), t), scope=scope
            )
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # a menu is a convenience: never fail the user's action on it
        logger.warning("could not set the command menu: %s", exc, extra={"member_id": member.id})
