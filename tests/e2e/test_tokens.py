"""`/tokens` in the chat (admins: list with last use, create shown once, revoke; anyone else:
the admins-only answer), a customer created through the API on the card in the chat, and a
ticket given through the API told in its assignee's chat by the bot's delivery pass."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi.testclient import TestClient

from bot import scheduler
from bot.api.app import create_app
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.api_tokens import authenticate
from storage.db import Database
from storage.members import get_member_by_telegram_id
from tests.api.conftest import api_config
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.user import ScriptedUser

SECRET = re.compile(r"crm_[\w-]{40,}")


def caller_of(db_url: str, secret: str) -> object:
    db = Database(db_url)
    try:
        return db.read_sync(authenticate, secret=secret)
    finally:
        db.close()


async def test_admin_creates_lists_and_revokes_a_token(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/tokens")
    assert (await admin.reply()).text == shown(catalogs, "en", "tokens.none")
    await admin.send("/tokens create erp read-only")
    created = (await admin.reply()).text
    secret = SECRET.search(created)
    assert secret is not None
    assert shown(catalogs, "en", "tokens.read_only") in created
    caller = caller_of(db_url, secret[0])
    assert caller is not None
    assert caller.read_only  # type: ignore[attr-defined]
    await admin.send("/tokens")
    listing = await admin.reply()
    assert secret[0] not in listing.text
    assert "erp" in listing.text
    assert shown(catalogs, "en", "tokens.never_used") in listing.text
    await admin.press(shown(catalogs, "en", "tokens.button.revoke", name="erp"), message=listing)
    edited = await admin.edited(listing)
    assert edited.button_labels == []
    assert "(revoked)" in edited.text
    assert caller_of(db_url, secret[0]) is None


async def test_create_with_a_bad_name_or_member_explains(
    admin: ScriptedUser, catalogs: Catalogs
) -> None:
    await admin.send("/tokens create")
    assert (await admin.reply()).text == shown(catalogs, "en", "tokens.usage")
    await admin.send("/tokens create shop 42")
    assert (await admin.reply()).text == shown(catalogs, "en", "tokens.no_member", telegram_id=42)
    await admin.send("/tokens create shop")
    await admin.reply()
    await admin.send("/tokens create shop")
    assert (await admin.reply()).text == shown(catalogs, "en", "tokens.name_taken", name="shop")


async def test_non_admins_get_the_admins_only_answer_in_their_language(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
) -> None:
    sales = await join(emu, admin, 2002, "Sam")
    await sales.send("/tokens create mine")
    assert (await sales.reply()).text == shown(catalogs, "en", "tokens.admins_only")
    manager = await join(emu, admin, 2003, "李娜", "A manager", language_code="zh")
    await manager.send("/tokens")
    assert (await manager.reply()).text == shown(catalogs, "zh", "tokens.admins_only")


async def test_customer_created_through_the_api_is_on_the_card_in_the_chat(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/tokens create erp")
    secret = SECRET.search((await admin.reply()).text)
    assert secret is not None
    db = Database(db_url)
    try:
        with TestClient(create_app(api_config(db_url), db, catalogs=catalogs)) as client:
            made = await asyncio.to_thread(
                client.post,
                "/customers",
                headers={"Authorization": f"Bearer {secret[0]}"},
                json={"name": "Zhang Wei", "phones": ["138 0013 8000"], "company": "Acme"},
            )
    finally:
        db.close()
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    await admin.send(f"/customer {customer_id}")
    card = (await admin.reply()).text
    assert card.startswith("Zhang Wei")
    assert f"#{customer_id}" in card.splitlines()[0]
    assert "Acme" in card
    assert "138 0013 8000" in card


@pytest.mark.usefixtures("parked_tickers")
async def test_ticket_given_through_the_api_reaches_its_assignee_once(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    running_bot: RunningBot,
    catalogs: Catalogs,
    db_url: str,
) -> None:
    """The API has no bot: the notice is a reminder written with the ticket, which the bot's
    delivery pass sends once, with the ticket's open button."""
    sam = await join(emu, admin, 2002, "Sam")
    await admin.send("/tokens create erp")
    secret = SECRET.search((await admin.reply()).text)
    assert secret is not None
    db = Database(db_url)
    try:
        sam_id = db.read_sync(get_member_by_telegram_id, telegram_id=2002).id
        headers = {"Authorization": f"Bearer {secret[0]}"}
        with TestClient(create_app(api_config(db_url), db, catalogs=catalogs)) as client:
            customer = await asyncio.to_thread(
                client.post, "/customers", headers=headers, json={"name": "Zhang Wei"}
            )
            body = {
                "customer_id": customer.json()["id"],
                "type": "repair",
                "description": "Pump leaks",
                "assignee_id": sam_id,
            }
            made = await asyncio.to_thread(client.post, "/tickets", headers=headers, json=body)
    finally:
        db.close()
    assert made.status_code == 201, made.text
    assert running_bot.application is not None
    assert await scheduler.deliver_due(running_bot.application) == 1
    told = await sam.reply()
    number = made.json()["number"]
    assert told.text == shown(
        catalogs, "en", "ticket.notify.assigned", member="Ada", number=number
    )
    assert shown(catalogs, "en", "ticket.button.open") in told.button_labels
    assert await scheduler.deliver_due(running_bot.application) == 0


async def test_create_in_a_group_is_refused_so_no_one_else_reads_the_token(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    group = -100_777
    emu.add_group(group, "Sales team")
    emu.add_bot_to_group(group, by_user_id=ADMIN_ID)
    await emu.send_text(ADMIN_ID, "/tokens create erp", chat_id=group)
    reply = await emu.wait_for_bot_message(group, timeout=10)
    assert reply.text == shown(catalogs, "en", "tokens.private_only")
    assert SECRET.search(reply.text) is None
    await admin.send("/tokens")
    assert (await admin.reply()).text == shown(catalogs, "en", "tokens.none")
