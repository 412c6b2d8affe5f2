"""BotApiEmulator: a local Telegram Bot API that the real bot talks to over loopback.

Tests and the offline console act as Telegram users through its methods; the bot cannot tell
the difference from api.telegram.org, limits and error answers included.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.emulator import membership, people_file, user_content
from bot.emulator.faults import Faults, RateLimiter
from bot.emulator.messages import BotMessage
from bot.emulator.server import ApiServer
from bot.emulator.state import Chat, EmulatorState, Subscriber
from bot.emulator.webhook import WebhookDelivery

logger = logging.getLogger(__name__)


class BotApiEmulator:
    """An in-process Telegram: serve the Bot API on `host:port` and play the users."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "crm_test_bot",
        bot_first_name: str = "CRM Bot",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.state = EmulatorState(token, bot_username, bot_first_name)
        self.faults = Faults()
        self._server = ApiServer(self.state, self.faults)
        self._webhook = WebhookDelivery(self.state, self._server.stopping)
        self._runner: web.AppRunner | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._server.stopping.clear()
        self._runner = web.AppRunner(self._server.make_app(), shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._webhook.start()
        logger.info("Bot API emulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """End long polls and webhook delivery, then close the server."""
        self._server.stopping.set()
        self.state.changed()
        await self._webhook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- what the bot and tests read --------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def bot_id(self) -> int:
        return self.state.bot_id

    @property
    def bot_username(self) -> str:
        return self.state.bot_username

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        return self.state.commands

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        return self.state.calls

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        return self.state.callback_answers

    @property
    def inline_answers(self) -> dict[str, dict[str, Any]]:
        return self.state.inline_answers

    @property
    def pending_update_count(self) -> int:
        return self.state.pending_update_count

    def messages(self, chat_id: int) -> list[BotMessage]:
        chat = self.state.chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def bot_messages(self, chat_id: int) -> list[BotMessage]:
        return [msg for msg in self.messages(chat_id) if msg.from_bot]

    def subscribe(self, callback: Subscriber) -> None:
        """Call `callback("new" | "edit" | "delete", message)` on every bot-side change."""
        self.state.subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        self.state.subscribers.remove(callback)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        *,
        after_message_id: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 - the public API takes a plain timeout
    ) -> BotMessage:
        """The first bot message (new, not edited) with an id above `after_message_id`."""

        def probe() -> BotMessage | None:
            return next(
                (
                    msg
                    for msg in self.messages(chat_id)
                    if msg.from_bot and msg.message_id > after_message_id
                ),
                None,
            )

        what = f"a bot message in chat {chat_id} after #{after_message_id}"
        return await self.state.wait_for(probe, timeout, what)

    async def wait_for_edit(
        self,
        chat_id: int,
        message_id: int,
        *,
        after_version: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - the public API takes a plain timeout
    ) -> BotMessage:
        def probe() -> BotMessage | None:
            chat = self.state.chats.get(chat_id)
            msg = chat.messages.get(message_id) if chat else None
            return msg if msg and msg.version > after_version else None

        what = f"an edit of message #{message_id} in chat {chat_id}"
        return await self.state.wait_for(probe, timeout, what)

    async def wait_for_callback_answer(
        self,
        query_id: str,
        timeout: float = 10.0,  # noqa: ASYNC109 - the public API takes a plain timeout
    ) -> dict[str, Any]:
        """The bot's answerCallbackQuery for a press: its text and show_alert, if any."""
        return await self.state.wait_for(
            lambda: self.state.callback_answers.get(query_id), timeout, "the button's answer"
        )

    async def wait_until_confirmed(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Until the bot has confirmed (by offset or a webhook 200) every queued update."""
        await self.state.wait_for(
            lambda: True if self.state.pending_update_count == 0 else None,
            timeout,
            "the bot to confirm every update",
        )

    # --- switches ---------------------------------------------------------------------------

    def update_history(self) -> list[dict[str, Any]]:
        """Every update enqueued so far, oldest first, in Telegram's JSON shape."""
        return self.state.history()

    def redeliver(self, update_id: int) -> None:
        self.state.redeliver(update_id)

    def set_webhook_targets(self, urls: list[str]) -> None:
        """Deliver webhook updates round-robin to these URLs instead of the registered one."""
        self.state.webhook_targets = list(urls)

    def enable_rate_limits(
        self, per_chat_per_second: float = 1.0, global_per_second: float = 30.0
    ) -> None:
        self._server.rate_limiter = RateLimiter(per_chat_per_second, global_per_second)

    def disable_rate_limits(self) -> None:
        self._server.rate_limiter = None

    # --- people and chats -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        return membership.upsert_user(
            self.state,
            user_id,
            first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to them now fail with 403."""
        chat = self._private_chat(user_id)
        if chat.bot_status != "kicked":
            membership.set_bot_status(self.state, chat, "kicked", user_id)

    def unblock(self, user_id: int) -> None:
        chat = self._private_chat(user_id)
        if chat.bot_status == "kicked":
            membership.set_bot_status(self.state, chat, "member", user_id)

    def add_group(self, chat_id: int, title: str) -> dict[str, Any]:
        return membership.add_group(self.state, chat_id, title)

    def add_bot_to_group(self, chat_id: int, by_user_id: int) -> None:
        chat = membership.group(self.state, chat_id)
        chat.members.add(by_user_id)
        membership.set_bot_status(self.state, chat, "member", by_user_id)

    def remove_bot_from_group(self, chat_id: int, by_user_id: int) -> None:
        chat = membership.group(self.state, chat_id)
        membership.set_bot_status(self.state, chat, "kicked", by_user_id)

    def user(self, user_id: int) -> dict[str, Any] | None:
        """A known user as Telegram sends it, or None."""
        user = self.state.users.get(user_id)
        return dict(user) if user else None

    def save_people(self, path: Path) -> None:
        """Keep the users and private chats in `path`, for `load_people` after a restart."""
        people_file.save(self.state, path)

    def load_people(self, path: Path) -> None:
        people_file.load(self.state, path)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file the bot or a user sent."""
        return self.state.files[file_id].content

    def _private_chat(self, user_id: int) -> Chat:
        self.state.user(user_id)
        return self.state.chats[user_id]

    # --- acting as a user -------------------------------------------------------------------

    def _user_post(
        self,
        user_id: int,
        body: dict[str, Any],
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a user's message and queue its update if the bot is in the chat."""
        user = self.state.user(user_id)
        target = user_id if chat_id is None else chat_id
        chat = self.state.chats.get(target)
        if chat is None:
            raise LookupError(f"unknown chat {target}")
        if chat.is_private and chat.id != user_id:
            raise ValueError("a user can only write in their own private chat with the bot")
        if chat.is_private and chat.bot_status == "kicked":
            raise RuntimeError(f"user {user_id} has blocked the bot; call unblock first")
        chat.members.add(user_id)
        if reply_to_message_id is not None:
            replied = chat.messages.get(reply_to_message_id)
            if replied is None:
                raise LookupError(f"no message #{reply_to_message_id} in chat {target}")
            reply_raw = copy.deepcopy(replied.raw)
            reply_raw.pop("reply_to_message", None)
            body["reply_to_message"] = reply_raw
        msg = self.state.post(chat, body, sender=user)
        if chat.bot_status == "member":
            self.state.enqueue("message", copy.deepcopy(msg.raw))
        return copy.deepcopy(msg.raw)

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        return self._user_post(
            user_id,
            user_content.text_body(text),
            chat_id=chat_id,
            reply_to_message_id=reply_to_message_id,
        )

    async def send_contact(
        self,
        user_id: int,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        contact_user_id: int | None = None,
        forwarded: bool = False,
    ) -> dict[str, Any]:
        body = user_content.contact_body(
            phone_number,
            first_name,
            last_name=last_name,
            contact_user_id=contact_user_id,
            forwarded=forwarded,
        )
        return self._user_post(user_id, body)

    async def send_location(
        self, user_id: int, latitude: float, longitude: float
    ) -> dict[str, Any]:
        return self._user_post(
            user_id, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        body = user_content.document_body(self.state, filename, content, mime_type, caption)
        return self._user_post(user_id, body, reply_to_message_id=reply_to_message_id)

    async def send_photo(
        self,
        user_id: int,
        content: bytes,
        *,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        return self._user_post(
            user_id,
            user_content.photo_body(self.state, content, caption),
            reply_to_message_id=reply_to_message_id,
        )

    async def send_voice(
        self, user_id: int, content: bytes, *, duration: int = 3
    ) -> dict[str, Any]:
        return self._user_post(user_id, user_content.voice_body(self.state, content, duration))

    async def send_sticker(self, user_id: int) -> dict[str, Any]:
        return self._user_post(user_id, user_content.sticker_body(self.state))

    async def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> str:
        """Press an inline button; the data is not checked against the keyboard (forgeable)."""
        user = self.state.user(user_id)
        target = user_id if chat_id is None else chat_id
        chat = self.state.chats.get(target)
        msg = chat.messages.get(message_id) if chat else None
        if msg is None or msg.deleted:
            raise LookupError(f"no message #{message_id} in chat {target} to press a button on")
        query_id = self.state.new_id()
        query = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(msg.raw),
            "chat_instance": str(abs(target) * 7919 + self.bot_id),
            "data": callback_data,
        }
        self.state.callback_queries[query_id] = query
        self.state.enqueue("callback_query", query)
        return query_id

    async def inline_query(self, user_id: int, query: str, *, offset: str = "") -> str:
        user = self.state.user(user_id)
        query_id = self.state.new_id()
        payload = {
            "id": query_id,
            "from": user,
            "query": query,
            "offset": offset,
            "chat_type": "sender",
        }
        self.state.inline_queries[query_id] = payload
        self.state.enqueue("inline_query", payload)
        return query_id
