"""Language, help, command menus, /cancel, /team administration, and the error handler."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlmodel import select
from telegram import Update
from telegram.ext import CommandHandler

from bot.app import FEATURES
from bot.emulator import BotApiEmulator
from handlers.callback_data import TeamAction, pack
from handlers.commands import commands_for
from handlers.context import CrmContext
from handlers.feature import all_commands
from handlers.i18n import Catalogs
from storage.db import Database
from storage.drafts import save_draft
from storage.models import Member, Role
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, join, shown
from tests.e2e.user import ScriptedUser

COMMANDS = all_commands(FEATURES)
SALES_MENU = [c.name for c in commands_for(COMMANDS, Role.SALES)]


async def test_lang_switches_replies_to_chinese_and_back(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/lang")
    choose = await admin.reply()
    await admin.press("中文", message=choose)
    assert (await admin.edited(choose)).text == shown(catalogs, "zh", "lang.set")
    await admin.send("/start")
    assert (await admin.reply()).text == shown(catalogs, "zh", "start.welcome.admin", name="Ada")
    await admin.send("/lang")
    choose = await admin.reply()
    await admin.press("English", message=choose)
    assert (await admin.edited(choose)).text == shown(catalogs, "en", "lang.set")


async def test_language_follows_telegram_language_code(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    li = await join(emu, admin, 2002, "Li", language_code="zh-hans")
    await li.send("/start")
    assert (await li.reply()).text == shown(catalogs, "zh", "start.welcome.sales", name="Li")


async def test_help_lists_each_command_of_the_role_once(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    await admin.send("/help")
    text = (await admin.reply()).text
    for command in COMMANDS:
        assert text.count(f"/{command.name} — ") == 1
    sam = await join(emu, admin, 2002, "Sam")
    await sam.send("/help")
    text = (await sam.reply()).text
    assert "/invite" not in text
    assert "/team" not in text


async def test_command_menus_are_registered_per_language_and_role(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    for language in ("en", "zh", ""):
        menu = emu.commands[("default", language)]
        assert [c["command"] for c in menu] == SALES_MENU
    assert emu.commands[("default", "zh")][SALES_MENU.index("help")]["description"] == shown(
        catalogs, "zh", "command.help"
    )
    await admin.send("/start")
    await admin.reply()
    assert chat_menu(emu, admin.chat_id) == [c.name for c in COMMANDS]


def chat_menu(emu: BotApiEmulator, chat_id: int) -> list[str]:
    return [c["command"] for c in emu.commands.get((f"chat:{chat_id}", ""), [])]


async def test_cancel_with_nothing_in_progress(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/cancel")
    assert (await admin.reply()).text == shown(catalogs, "en", "cancel.nothing")


async def test_cancel_discards_the_draft(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    await admin.send("/start")
    await admin.reply()
    db = Database(db_url)
    member = db.run_sync(lambda s: s.exec(select(Member)).one())
    db.run_sync(
        save_draft,
        member_id=member.id,
        chat_id=admin.chat_id,
        flow="customer",
        step="customer.phone",
        data={"name": "Zhang Wei"},
        history=[],
        update_id=1,
    )
    await admin.send("/cancel")
    assert (await admin.reply()).text == shown(catalogs, "en", "cancel.done")
    await admin.send("/cancel")
    assert (await admin.reply()).text == shown(catalogs, "en", "cancel.nothing")
    db.close()


async def test_admin_deactivates_member_who_is_then_a_stranger(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
):
    sam = await join(emu, admin, 2002, "Sam")
    await admin.send("/team")
    team = await admin.reply()
    await admin.press("Sam · salesperson", message=team)
    card = await admin.edited(team)
    assert "Telegram id: 2002" in card.text
    await admin.press("Deactivate", message=card)
    card = await admin.edited(card)
    assert "Status: deactivated" in card.text
    await sam.send("/help")
    assert (await sam.reply()).text == shown(catalogs, "en", "gate.stranger", user_id=2002)
    await admin.press("Reactivate", message=card)
    assert "Status: active" in (await admin.edited(card)).text
    await sam.send("/start")
    assert (await sam.reply()).text == shown(catalogs, "en", "start.welcome.sales", name="Sam")


async def test_admin_promotes_salesperson_to_manager(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    await admin.send("/team")
    team = await admin.reply()
    await admin.press("Sam · salesperson", message=team)
    card = await admin.edited(team)
    await admin.press("Make manager", message=card)
    assert "Role: manager" in (await admin.edited(card)).text
    assert chat_menu(emu, sam.chat_id)[-1] == "team"
    await sam.send("/help")
    assert "/team" in (await sam.reply()).text


async def test_admin_cannot_demote_themselves(admin: ScriptedUser):
    await admin.send("/team")
    team = await admin.reply()
    await admin.press("Ada · admin", message=team)
    card = await admin.edited(team)
    assert card.button_labels == ["« Back to team"]


async def test_forged_team_callback_from_salesperson_reveals_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    db = Database(db_url)
    admin_id = db.run_sync(lambda s: s.exec(select(Member).where(Member.role == "admin")).one().id)
    db.close()
    await sam.send("/team")
    own = await sam.reply()
    before = len(emu.bot_messages(sam.chat_id))
    earlier = set(emu.callback_answers)
    for forged in (
        pack(TeamAction("open", admin_id)),
        pack(TeamAction("role", admin_id, "sales")),
        "v1:team:open:99999999",
        "garbage",
        "v1:team:role:1:root",
    ):
        await sam.press_data(forged, own)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 5)
    answers = [a.get("text") for i, a in emu.callback_answers.items() if i not in earlier]
    assert set(answers) <= {
        shown(catalogs, "en", "common.not_found"),
        shown(catalogs, "en", "common.stale_button"),
        shown(catalogs, "en", "team.not_allowed"),
    }
    assert len(emu.bot_messages(sam.chat_id)) == before
    assert "Ada" not in sam.transcript()


async def test_unexpected_error_is_logged_and_user_told_plainly(
    emu: BotApiEmulator, running_bot: RunningBot, admin: ScriptedUser, catalogs: Catalogs
):
    async def boom(_update: Update, _context: object) -> None:
        raise RuntimeError("a bug")

    assert running_bot.application is not None
    running_bot.application.add_handler(CommandHandler("boom", boom), group=-1)
    await admin.send("/boom")
    reply = await admin.reply()
    update_id = int(reply.text.rsplit(" ", 1)[-1].strip(").）"))
    assert reply.text == shown(catalogs, "en", "error.unexpected", reference=update_id)
    await eventually(lambda: running_bot.errors)
    assert [type(e) for e in running_bot.errors] == [RuntimeError]
    running_bot.errors.clear()


async def test_statement_the_database_refuses_is_a_bug_with_a_reference_in_the_log(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    caplog: pytest.LogCaptureFixture,
):
    """SQLite raises OperationalError for "no such column" too: that is no outage."""

    async def buggy_query(_update: Update, context: CrmContext) -> None:
        await context.db.read(lambda session: session.execute(text("SELECT nope FROM member")))

    assert running_bot.application is not None
    running_bot.application.add_handler(CommandHandler("buggy", buggy_query), group=-1)
    await admin.send("/buggy")
    reply = await admin.reply()
    reference = int(reply.text.rsplit(" ", 1)[-1].strip(").）"))
    assert reply.text == shown(catalogs, "en", "error.unexpected", reference=reference)
    await eventually(lambda: running_bot.errors)
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert str(reference) in logged.getMessage()
    running_bot.errors.clear()
