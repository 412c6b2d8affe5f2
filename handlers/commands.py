"""Which commands exist, who sees them, and their registration in Telegram's command menu.

One table drives `/help`, the per-language default menu and the per-chat menus of managers
and admins, so the three can never disagree (a test checks the menu against this table).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError

from handlers.i18n import LANGUAGES, Catalogs, Translator
from storage.models import Member, Role

logger = logging.getLogger(__name__)

EVERYONE = frozenset(Role)
LEADS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[Role] = EVERYONE

    @property
    def description_key(self) -> str:
        return f"command.{self.name}"


COMMANDS: tuple[Command, ...] = (
    Command("start"),
    Command("newcustomer"),
    Command("newdeal"),
    Command("note"),
    Command("purchase"),
    Command("log"),
    Command("remind"),
    Command("reminders"),
    Command("find"),
    Command("customer"),
    Command("deals"),
    Command("pipeline", LEADS),
    Command("today"),
    Command("week"),
    Command("settings"),
    Command("feed", LEADS),
    Command("restore", frozenset({Role.ADMIN})),
    Command("export"),
    Command("import"),
    Command("report"),
    Command("subscribe"),
    Command("help"),
    Command("cancel"),
    Command("lang"),
    Command("invite", LEADS),
    Command("team", LEADS),
)


def commands_for(role: Role) -> list[Command]:
    return [command for command in COMMANDS if role in command.roles]


def menu(commands: Iterable[Command], t: Translator) -> list[BotCommand]:
    return [BotCommand(command.name, t(command.description_key)) for command in commands]


async def register_default_menus(bot: Bot, catalogs: Catalogs, default_language: str) -> None:
    """The menu everyone sees, in each language, plus the no-language fallback."""
    for language in LANGUAGES:
        commands = menu(commands_for(Role.SALES), catalogs.translator(language))
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
    fallback = menu(commands_for(Role.SALES), catalogs.translator(default_language))
    await bot.set_my_commands(fallback, scope=BotCommandScopeDefault())


async def register_member_menu(bot: Bot, member: Member, t: Translator) -> None:
    """Managers and admins get their extra commands in a menu scoped to their own chat."""
    scope = BotCommandScopeChat(member.telegram_id)
    try:
        if Role(member.role) in LEADS and member.active:
            await bot.set_my_commands(menu(commands_for(Role(member.role)), t), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:  # a menu is a convenience: never fail the user's action on it
        logger.warning("could not set the command menu: %s", exc, extra={"member_id": member.id})
