"""The declared commands, the catalogs and the handlers the application registers agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from telegram.ext import CommandHandler

from bot.app import FEATURES, CrmApplication, build_application, services_of
from bot.config import Config, DatabaseConfig
from handlers.commands import commands_for
from handlers.feature import Command, all_commands
from handlers.i18n import LANGUAGES, Catalogs
from storage.models import Role

COMMANDS = all_commands(FEATURES)


@pytest.fixture
def application(db_url: str) -> Iterator[CrmApplication]:
    app = build_application(Config(database=DatabaseConfig(url=db_url)), token="123:abc")
    yield app
    services_of(app).db.close()


def registered_commands(application: CrmApplication) -> set[str]:
    return {
        name
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
def test_every_command_has_description_in_both_catalogs(
    catalogs: Catalogs, command: Command
) -> None:
    for language in LANGUAGES:
        assert catalogs.messages[language].get(command.description_key, "").strip()


def test_build_application_registers_exactly_the_command_table(
    application: CrmApplication,
) -> None:
    assert registered_commands(application) == {command.name for command in COMMANDS}


def test_commands_for_sales_leaves_out_lead_commands() -> None:
    names = {command.name for command in commands_for(COMMANDS, Role.SALES)}
    assert {"start", "help", "cancel"} <= names
    assert {"invite", "team"}.isdisjoint(names)
