"""/webhooks in the chat: admins list the endpoints with their state, open one for its last
deliveries (status, code, time), re-send a given-up delivery, turn an endpoint off and on;
anyone else is refused, and forged buttons change nothing. English and Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.emulator import BotApiEmulator
from handlers.callback_data import WebhookAction, pack
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import utcnow
from storage.webhook_models import WebhookDelivery, WebhookEndpoint
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import eventually, join, retime, rows, shown
from tests.e2e.test_deal_closing import callback_answer
from tests.e2e.test_webhooks import add_customers, subscribe
from tests.e2e.user import ScriptedUser

URL = "http://127.0.0.1:9/erp-hook"


@pytest.fixture(autouse=True)
def parked(monkeypatch: pytest.MonkeyPatch) -> None:
    """No delivery pass runs by itself: the deliveries stay as each test sets them."""
    retime(monkeypatch, "deliver-webhooks", every=timedelta(hours=1))


def give_up(db_url: str) -> int:
    """Mark the only delivery given up after a 503, as a day of failures leaves it."""
    db = Database(db_url)
    db.run_sync(
        lambda s: s.execute(
            update(WebhookDelivery).values(
                status="dead", attempts=20, last_status_code=503, last_attempt_at=utcnow()
            )
        )
    )
    db.close()
    (delivery,) = rows(db_url, WebhookDelivery)
    assert delivery.id is not None
    return delivery.id


async def test_no_endpoint_says_how_to_add_one(admin: ScriptedUser, catalogs: Catalogs):
    await admin.send("/webhooks")
    assert (await admin.reply()).text == shown(catalogs, "en", "webhooks.none")


async def test_admin_opens_an_endpoint_and_resends_a_given_up_delivery(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, emu: BotApiEmulator
):
    await admin.send("/start")
    await admin.reply()
    subscribe(db_url, URL, "customer.created")
    add_customers(db_url, admin, "Li")
    delivery_id = give_up(db_url)
    await admin.send("/webhooks")
    listing = await admin.reply()
    assert listing.text == shown(catalogs, "en", "webhooks.title", count=1)
    label, add = listing.button_labels
    assert add == shown(catalogs, "en", "webhooks.button.add")
    assert label.startswith("🟢 #")
    assert "127.0.0.1:9/erp-hook" in label
    await admin.press(label, message=listing)
    card = await admin.edited(listing)
    lines = card.text.splitlines()
    assert lines[1] == URL
    assert lines[2] == shown(catalogs, "en", "webhooks.state.on")
    assert lines[3] == shown(catalogs, "en", "webhooks.events", events="customer.created")
    assert lines[-1].startswith(f"❌ #{delivery_id} customer.created (customer ")
    assert "given up, HTTP 503" in lines[-1]
    resend = shown(catalogs, "en", "webhooks.button.resend", id=delivery_id)
    answered = await callback_answer(emu, admin.press(resend, message=card))
    assert answered == shown(catalogs, "en", "webhooks.resent")
    (delivery,) = rows(db_url, WebhookDelivery)
    assert delivery.status == "failed"
    assert abs(delivery.next_attempt_at - utcnow()) < timedelta(minutes=1)
    assert delivery.give_up_at - utcnow() > timedelta(hours=23)


async def test_admin_turns_an_endpoint_off_and_on(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, emu: BotApiEmulator
):
    subscribe(db_url, URL, "deal.won")
    await admin.send("/webhooks")
    listing = await admin.reply()
    await admin.press(listing.button_labels[0], message=listing)
    card = await admin.edited(listing)
    assert shown(catalogs, "en", "webhooks.no_history") in card.text
    turn_off = shown(catalogs, "en", "webhooks.button.disable")
    answered = await callback_answer(emu, admin.press(turn_off, message=card))
    assert answered == shown(catalogs, "en", "webhooks.disabled")
    await eventually(lambda: not rows(db_url, WebhookEndpoint)[0].enabled)
    card = await admin.edited(card)
    assert shown(catalogs, "en", "webhooks.state.off") in card.text.splitlines()
    await admin.press(shown(catalogs, "en", "webhooks.button.enable"), message=card)
    card = await admin.edited(card)
    assert shown(catalogs, "en", "webhooks.state.on") in card.text.splitlines()
    assert rows(db_url, WebhookEndpoint)[0].enabled
    await admin.press(shown(catalogs, "en", "webhooks.button.back"), message=card)
    assert (await admin.edited(card)).text == shown(catalogs, "en", "webhooks.title", count=1)


async def test_chinese_admin_sees_the_list_and_card_in_chinese(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    admin = ScriptedUser(emu, ADMIN_ID, "李娜", language_code="zh-hans")
    subscribe(db_url, URL, "deal.won")
    await admin.send("/webhooks")
    listing = await admin.reply()
    assert listing.text == shown(catalogs, "zh", "webhooks.title", count=1)
    await admin.press(listing.button_labels[0], message=listing)
    card = await admin.edited(listing)
    assert shown(catalogs, "zh", "webhooks.state.on") in card.text.splitlines()
    assert shown(catalogs, "zh", "webhooks.button.disable") in card.button_labels


async def test_non_admins_are_refused_and_forged_buttons_change_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    manager = await join(emu, admin, 2002, "Mo", role_label="A manager")
    subscribe(db_url, URL, "customer.created")
    add_customers(db_url, admin, "Li")
    delivery_id = give_up(db_url)
    (endpoint,) = rows(db_url, WebhookEndpoint)
    await manager.send("/webhooks")
    refusal = await manager.reply()
    assert refusal.text == shown(catalogs, "en", "webhooks.admins_only")
    assert refusal.button_labels == []
    for forged in (
        WebhookAction("disable", endpoint.id or 0),
        WebhookAction("resend", delivery_id),
        WebhookAction("open", endpoint.id or 0),
        WebhookAction("list"),
    ):
        answered = await callback_answer(emu, manager.press_data(pack(forged), refusal))
        assert answered == shown(catalogs, "en", "common.not_found")
    await admin.send("/webhooks")
    listing = await admin.reply()
    for unknown in (WebhookAction("open", 999), WebhookAction("resend", 999)):
        answered = await callback_answer(emu, admin.press_data(pack(unknown), listing))
        assert answered == shown(catalogs, "en", "common.not_found")
    (still,) = rows(db_url, WebhookEndpoint)
    assert still.enabled
    assert rows(db_url, WebhookDelivery)[0].status == "dead"
