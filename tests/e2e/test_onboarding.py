"""Admins greet, invite, and strangers stay out: the first minutes of a new team."""

from __future__ import annotations

from sqlmodel import select

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Invite, Member, Role
from tests.conftest import RunningBot
from tests.e2e.helpers import first_line, invite_link, join, shown, start_code
from tests.e2e.user import ScriptedUser


async def test_start_greets_configured_admin_as_admin(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/start")
    reply = await admin.reply()
    assert reply.text == shown(catalogs, "en", "start.welcome.admin", name="Ada")


async def test_stranger_is_refused_with_their_id_and_nothing_else(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs
):
    stranger = ScriptedUser(emu, 5005, "Eve")
    refusal = shown(catalogs, "en", "gate.stranger", user_id=5005)
    for text in ("/start", "hello", "/team", "/invite manager", "/help"):
        await stranger.send(text)
        assert (await stranger.reply()).text == refusal


async def test_stranger_pressing_a_forged_button_gets_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs
):
    await admin.send("/team")
    team_list = await admin.reply()
    stranger = ScriptedUser(emu, 5005, "Eve")
    await stranger.send("hi")
    refusal = await stranger.reply()
    data = team_list.buttons[0][0].callback_data
    assert data is not None
    await stranger.press_data(data, refusal)
    assert (await stranger.reply()).text == shown(catalogs, "en", "gate.stranger", user_id=5005)


async def test_invited_salesperson_joins_once(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, running_bot: RunningBot
):
    link = await invite_link(admin, "A salesperson")
    assert "https://t.me/crm_test_bot?start=" in link

    sam = ScriptedUser(emu, 2002, "Sam")
    await sam.send(f"/start {start_code(link)}")
    joined, welcome = await sam.replies(2)
    assert joined.text == shown(catalogs, "en", "start.joined", role="salesperson")
    assert welcome.text == shown(catalogs, "en", "start.welcome.sales", name="Sam")

    eve = ScriptedUser(emu, 5005, "Eve")
    await eve.send(f"/start {start_code(link)}")
    assert (await eve.reply()).text == shown(catalogs, "en", "invite.problem.used", user_id=5005)
    await eve.send("/help")
    assert (await eve.reply()).text == shown(catalogs, "en", "gate.stranger", user_id=5005)


async def test_unknown_invite_code_is_refused(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs
):
    eve = ScriptedUser(emu, 5005, "Eve")
    await eve.send("/start not-a-real-code")
    assert (await eve.reply()).text == shown(
        catalogs, "en", "invite.problem.unknown", user_id=5005
    )


async def test_manager_invites_salesperson_into_own_team(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str, running_bot: RunningBot
):
    mia = await join(emu, admin, 3003, "Mia", "A manager")

    await mia.send("/invite")  # a manager may only invite salespeople: no question asked
    sales_link = (await mia.reply()).text
    assert "joins your team" in sales_link
    sam = ScriptedUser(emu, 2002, "Sam")
    await sam.send(f"/start {start_code(sales_link)}")
    await sam.replies(2)

    await mia.send("/team")
    team = await mia.reply()
    assert team.button_labels == ["Mia · manager", "Sam · salesperson"]
    db = Database(db_url)
    with db.session() as session:
        members = {m.display_name: m for m in session.exec(select(Member))}
        assert members["Sam"].manager_id == members["Mia"].id
    db.close()


async def test_manager_cannot_invite_a_manager(
    emu: BotApiEmulator, admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs
):
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    await mia.send("/invite manager")
    assert (await mia.reply()).text == shown(
        catalogs, "en", "invite.not_allowed", roles="salesperson"
    )


async def test_salesperson_has_no_invite_or_team(
    emu: BotApiEmulator, admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs
):
    sam = await join(emu, admin, 2002, "Sam")
    await sam.send("/invite sales")
    assert (await sam.reply()).text == shown(catalogs, "en", "invite.not_allowed", roles="—")
    await sam.send("/team")
    # a salesperson's /team shows only themselves: no other member is revealed
    assert (await sam.reply()).button_labels == ["Sam · salesperson"]


async def test_invite_with_unknown_role_explains_usage(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/invite boss")
    assert (await admin.reply()).text == shown(catalogs, "en", "invite.usage", given="boss")


async def test_invite_links_are_single_use_codes_in_the_database(admin: ScriptedUser, db_url: str):
    first = await invite_link(admin, "A salesperson")
    second = await invite_link(admin, "A manager")
    assert start_code(first) != start_code(second)
    db = Database(db_url)
    with db.session() as session:
        invites = session.exec(select(Invite).order_by(Invite.id)).all()  # type: ignore[arg-type]
        assert [i.role for i in invites] == [Role.SALES, Role.MANAGER]
        assert all(i.used_at is None for i in invites)
    db.close()


async def test_member_opening_an_invite_leaves_it_unused(admin: ScriptedUser, catalogs: Catalogs):
    link = await invite_link(admin, "A salesperson")
    await admin.send(f"/start {start_code(link)}")
    await admin.reply()
    assert (await admin.reply()).text == shown(catalogs, "en", "start.already_member")
    assert first_line(catalogs, "en", "start.already_member") in admin.transcript()


async def _manager_with_sales_link(emu: BotApiEmulator, admin: ScriptedUser) -> str:
    """Mia joins as a manager and makes a link for a salesperson of her team."""
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    await mia.send("/invite")
    return (await mia.reply()).text


async def _admin_changes_mia(admin: ScriptedUser, button: str) -> None:
    await admin.send("/team")
    team = await admin.reply()
    await admin.press("Mia · manager", message=team)
    card = await admin.edited(team)
    await admin.press(button, message=card)
    await admin.edited(card)


async def _refused_and_unused(emu: BotApiEmulator, link: str, catalogs: Catalogs, db_url: str):
    sam = ScriptedUser(emu, 2002, "Sam")
    await sam.send(f"/start {start_code(link)}")
    assert (await sam.reply()).text == shown(
        catalogs, "en", "invite.problem.withdrawn", user_id=2002
    )
    await sam.send("/help")
    assert (await sam.reply()).text == shown(catalogs, "en", "gate.stranger", user_id=2002)
    db = Database(db_url)
    with db.session() as session:
        invite = session.exec(select(Invite).where(Invite.code == start_code(link))).one()
        assert (invite.used_at, invite.used_by_id) == (None, None)
        assert session.exec(select(Member).where(Member.telegram_id == 2002)).first() is None
    db.close()


async def test_deactivated_managers_invite_link_is_refused(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    link = await _manager_with_sales_link(emu, admin)
    await _admin_changes_mia(admin, "Deactivate")
    await _refused_and_unused(emu, link, catalogs, db_url)


async def test_manager_demoted_to_sales_cannot_be_joined_through_old_link(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    link = await _manager_with_sales_link(emu, admin)
    await _admin_changes_mia(admin, "Make salesperson")
    await _refused_and_unused(emu, link, catalogs, db_url)
