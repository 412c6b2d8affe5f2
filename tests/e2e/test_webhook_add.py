"""➕ Add endpoint in /webhooks: an admin enters a URL (a bad one is asked again), toggles
event groups, saves, and sees the signing secret once; nothing is saved before Save, /cancel
keeps nothing (in Chinese), and a salesperson's forged Add button starts nothing."""

from __future__ import annotations

from bot.emulator import BotApiEmulator
from handlers.callback_data import WebhookAction, pack
from handlers.i18n import Catalogs
from storage.drafts import CANCELLED
from storage.models import Draft
from storage.webhook_models import WebhookEndpoint
from storage.webhooks import EVENT_TYPES
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_closing import callback_answer
from tests.e2e.user import ScriptedUser

URL = "https://erp.example.com/crm-hook"


async def test_admin_adds_an_endpoint_and_sees_its_secret_once(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    def t(key: str, **params: object) -> str:
        return shown(catalogs, "en", key, **params)

    await admin.send("/webhooks")
    listing = await admin.reply()
    assert listing.text == t("webhooks.none")
    await admin.press(t("webhooks.button.add"), message=listing)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (t("webhook_add.title"), t("webhook_add.ask.url"))
    await admin.send("ftp://erp.example.com")
    assert (await admin.reply()).text == t("webhook_add.bad_url") + "\n\n" + t(
        "webhook_add.ask.url"
    )
    await admin.send(URL)
    events = await admin.reply()
    assert events.text == t("webhook_add.ask.events")
    await admin.send("deal.wonn")  # typed: not an event type
    assert (await admin.reply()).text.startswith(t("webhook_add.bad_events"))
    await admin.press(t("flow.button.back"))  # Back to the URL, which is kept
    assert (await admin.reply()).text.startswith(t("webhook_add.ask.url"))
    await admin.send(URL)
    events = await admin.reply()
    assert t("webhook_add.button.done") not in events.button_labels  # nothing picked yet
    assert {t("webhook_add.all"), "ticket.*", "customer.*", "reminder.*"} <= set(
        events.button_labels
    )
    for label in ("ticket.*", "customer.*", "✅ customer.*"):  # the last unpicks customers
        await admin.press(label, message=events)
        events = await admin.edited(events)
    assert "✅ ticket.*" in events.button_labels
    assert "customer.*" in events.button_labels
    assert rows(db_url, WebhookEndpoint) == []
    assert len(rows(db_url, Draft)) == 1
    await admin.press(t("webhook_add.button.done"), message=events)
    card = await admin.reply()
    assert URL in card.text
    assert "ticket.*" in card.text
    await admin.press(t("flow.button.save"), message=card)
    saved = await admin.reply()
    (endpoint,) = rows(db_url, WebhookEndpoint)
    assert endpoint.events == [e for e in EVENT_TYPES if e.startswith("ticket.")]
    assert endpoint.url == URL
    assert endpoint.created_by_id is not None
    assert saved.text == t("webhook_add.saved", id=endpoint.id, url=URL, secret=endpoint.secret)
    await admin.send("/webhooks")
    listing = await admin.reply()
    assert listing.text == t("webhooks.title", count=1)
    assert endpoint.secret not in admin.transcript().replace(saved.text, "")


async def test_cancel_keeps_nothing_and_a_salesperson_cannot_add(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs, db_url: str
):
    admin = ScriptedUser(emu, ADMIN_ID, "李娜", language_code="zh-hans")
    await admin.send("/webhooks")
    listing = await admin.reply()
    await admin.press(shown(catalogs, "zh", "webhooks.button.add"), message=listing)
    _title, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "zh", "webhook_add.ask.url")
    await admin.send(URL)
    events = await admin.reply()
    await admin.press(shown(catalogs, "zh", "webhook_add.all"), message=events)
    await admin.edited(events)
    await admin.send("/cancel")
    await admin.reply()
    assert rows(db_url, WebhookEndpoint) == []
    seller = await join(emu, admin, 2002, "Mo", shown(catalogs, "zh", "invite.button.sales"))
    await seller.send("/webhooks")
    refusal = await seller.reply()
    answered = await callback_answer(emu, seller.press_data(pack(WebhookAction("add")), refusal))
    assert answered == shown(catalogs, "en", "webhooks.admins_only")
    assert rows(db_url, WebhookEndpoint) == []
    assert [d.flow for d in rows(db_url, Draft)] == [CANCELLED]  # the admin's; none started
