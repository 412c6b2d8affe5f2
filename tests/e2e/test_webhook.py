"""`telegram.mode = "webhook"`: the emulator posts updates to the bot's own HTTP server."""

from __future__ import annotations

import httpx

from bot.app import build_application, start_application, stop_application
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.conftest import ADMIN_ID, TOKEN
from tests.e2e.helpers import forged_update, free_port, shown, webhook_config
from tests.e2e.user import ScriptedUser


async def test_webhook_mode_answers_and_refuses_requests_without_the_secret(
    emu: BotApiEmulator, db_url: str, catalogs: Catalogs
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    config = webhook_config(emu, db_url, port=port, url=url, secret="s3cret")
    application = build_application(config, token=TOKEN)
    await start_application(application)
    try:
        admin = ScriptedUser(emu, ADMIN_ID, "Ada")
        await admin.send("/start")
        reply = await admin.reply()
        assert reply.text == shown(catalogs, "en", "start.welcome.admin", name="Ada")
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, json=forged_update(1))
        assert refused.status_code == 403
    finally:
        await stop_application(application)
