"""`telegram.mode = "webhook"`: the emulator posts updates to the bot's own HTTP server."""

from __future__ import annotations

import socket

import httpx

from bot.app import build_application, start_application, stop_application
from bot.config import Mode, TelegramConfig, WebhookConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.conftest import ADMIN_ID, TOKEN, make_config
from tests.e2e.helpers import shown
from tests.e2e.user import ScriptedUser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_webhook_mode_answers_and_refuses_requests_without_the_secret(
    emu: BotApiEmulator, db_url: str, catalogs: Catalogs
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    base = make_config(emu, db_url)
    config = base.model_copy(
        update={
            "telegram": TelegramConfig(
                base_url=emu.base_url,
                base_file_url=emu.base_file_url,
                mode=Mode.WEBHOOK,
                webhook=WebhookConfig(
                    listen="127.0.0.1", port=port, url=url, secret_token="s3cret"
                ),
            )
        }
    )
    application = build_application(config, token=TOKEN)
    await start_application(application)
    try:
        admin = ScriptedUser(emu, ADMIN_ID, "Ada")
        await admin.send("/start")
        reply = await admin.reply()
        assert reply.text == shown(catalogs, "en", "start.welcome.admin", name="Ada")
        forged = {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": ADMIN_ID, "type": "private"},
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Ada"},
                "text": "/help",
            },
        }
        async with httpx.AsyncClient() as client:
            refused = await client.post(url, json=forged)
        assert refused.status_code == 403
    finally:
        await stop_application(application)
