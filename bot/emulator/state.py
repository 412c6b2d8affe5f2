"""What the emulated Telegram remembers: users, chats, messages, files and the update queue."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.emulator.messages import BotMessage, snapshot
from bot.emulator.validation import ApiError, bad_request

logger = logging.getLogger(__name__)

T = TypeVar("T")
Subscriber = Callable[[str, BotMessage], None]
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class Chat:
    """One chat and its history; the bot's membership decides whether it may post there."""

    info: dict[str, Any]
    messages: dict[int, BotMessage] = field(default_factory=dict)
    next_message_id: int = 1
    bot_status: str = "member"  # "member" | "left" | "kicked"
    members: set[int] = field(default_factory=set)

    @property
    def id(self) -> int:
        return int(self.info["id"])

    @property
    def is_private(self) -> bool:
        return bool(self.info["type"] == "private")


@dataclass
class StoredFile:
    """An uploaded file: bytes kept in memory, reachable by file_id and by download path."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None

    def as_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content: bytes
    content_type: str | None


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


def now() -> int:
    return int(time.time())


class EmulatorState:
    """Everything the Bot API handlers read and change, plus the wake-ups long polls wait on."""

    def __init__(self, token: str, bot_username: str, bot_first_name: str) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self.allowed_updates: frozenset[str] | None = None
        self.webhook: Webhook | None = None
        self.webhook_targets: list[str] = []
        self.subscribers: list[Subscriber] = []
        # When the Bot API call being answered had reached the emulator whole (perf_counter):
        # subscribers that time the bot (bench/driver.py) stop its clock there, before the
        # emulator's own parsing and checks, which are Telegram's work, not the bot's.
        self.call_received_at: float | None = None
        self._history: dict[int, dict[str, Any]] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._forced: set[int] = set()
        # Telegram's update ids only grow, across restarts too: start from the clock (ms) so a
        # new emulator session never reuses an id an earlier one gave to a persistent bot.
        self._update_ids = itertools.count(int(time.time() * 1000) - 1_700_000_000_000)
        self._file_ids = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self.poll_generation = 0

    # --- identities -------------------------------------------------------------------------

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def new_id(self) -> str:
        """A fresh opaque id for callback and inline queries."""
        return f"{self.bot_id}{next(self._ids):08d}"

    def user(self, user_id: int) -> dict[str, Any]:
        try:
            return self.users[user_id]
        except KeyError:
            raise LookupError(f"unknown user {user_id}; call add_user first") from None

    def chat(self, chat_id: Any) -> Chat:
        """The chat for a Bot API call, or Telegram's "chat not found"."""
        try:
            return self.chats[int(chat_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request("chat not found") from None

    def writable_chat(self, chat_id: Any) -> Chat:
        """A chat the bot may post in, else the 403 Telegram answers."""
        chat = self.chat(chat_id)
        if chat.is_private and chat.bot_status == "kicked":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not chat.is_private and chat.bot_status == "kicked":
            raise ApiError(403, "Forbidden: bot was kicked from the group chat")
        if not chat.is_private and chat.bot_status == "left":
            raise ApiError(403, "Forbidden: bot is not a member of the group chat")
        return chat

    # --- messages ---------------------------------------------------------------------------

    def message(self, chat: Chat, message_id: Any, missing: str) -> BotMessage:
        try:
            found = chat.messages[int(message_id)]
        except (KeyError, TypeError, ValueError):
            raise bad_request(missing) from None
        if found.deleted:
            raise bad_request(missing)
        return found

    def post(
        self,
        chat: Chat,
        body: dict[str, Any],
        *,
        sender: dict[str, Any],
        html: str | None = None,
        markup: dict[str, Any] | None = None,
    ) -> BotMessage:
        """Store a new message from `sender` and tell subscribers if the bot wrote it."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        raw: dict[str, Any] = {
            "message_id": message_id,
            "from": sender,
            "chat": dict(chat.info),
            "date": now(),
            **body,
        }
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        msg = snapshot(raw, from_bot=sender["id"] == self.bot_id, html=html, markup=markup)
        chat.messages[message_id] = msg
        self._notify("new", msg)
        return msg

    def replace(
        self,
        msg: BotMessage,
        raw: dict[str, Any],
        *,
        html: str | None,
        markup: dict[str, Any] | None,
    ) -> BotMessage:
        """Store an edited snapshot with version + 1; the markup replaces the old one."""
        raw["edit_date"] = now()
        raw.pop("reply_markup", None)
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        new = snapshot(
            raw, from_bot=msg.from_bot, html=html, markup=markup, version=msg.version + 1
        )
        self.chats[msg.chat_id].messages[msg.message_id] = new
        self._notify("edit", new)
        return new

    def delete(self, msg: BotMessage) -> None:
        gone = dataclasses.replace(msg, deleted=True)
        self.chats[msg.chat_id].messages[msg.message_id] = gone
        self._notify("delete", gone)

    def _notify(self, kind: str, msg: BotMessage) -> None:
        self.changed()
        if not msg.from_bot:
            return
        for callback in list(self.subscribers):
            try:
                callback(kind, msg)
            except Exception:
                logger.exception("emulator subscriber failed on %s", kind)

    # --- files ------------------------------------------------------------------------------

    def store_file(
        self,
        content: bytes,
        *,
        folder: str,
        extension: str,
        file_name: str | None,
        mime: str | None,
    ) -> StoredFile:
        number = next(self._file_ids)
        unique = uuid.uuid4().hex[:16]
        stored = StoredFile(
            file_id=f"BQACAg{number:06d}{unique}",
            file_unique_id=f"AgAD{unique}",
            file_path=f"{folder}/file_{number}.{extension}",
            content=content,
            file_name=file_name,
            mime_type=mime,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    # --- updates ----------------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update unless the bot's allowed_updates excludes its type."""
        allowed = self.allowed_updates
        if (allowed and kind not in allowed) or (not allowed and kind in DEFAULT_EXCLUDED_UPDATES):
            logger.debug("dropping %s update: not in allowed_updates", kind)
            return None
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        self._history[update_id] = update
        self._pending[update_id] = update
        self.changed()
        return update_id

    def history(self) -> list[dict[str, Any]]:
        """Every update ever enqueued, oldest first (for tests that re-deliver one)."""
        return [copy.deepcopy(update) for _, update in sorted(self._history.items())]

    def redeliver(self, update_id: int) -> None:
        """Put a confirmed update back; the next getUpdates returns it whatever its offset."""
        if update_id not in self._history:
            raise LookupError(f"unknown update {update_id}")
        self._pending[update_id] = self._history[update_id]
        self._forced.add(update_id)
        self.changed()

    def drop_pending(self) -> None:
        self._pending.clear()
        self._forced.clear()
        self.changed()

    @property
    def pending_update_count(self) -> int:
        return len(self._pending)

    def take_updates(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """getUpdates' queue semantics: an offset confirms every update below it."""
        if offset < 0:
            keep = sorted(self._pending)[offset:]
            offset = keep[0] if keep else 0
        confirmed = [u for u in self._pending if u < offset and u not in self._forced]
        for update_id in confirmed:
            del self._pending[update_id]
        ids = sorted(u for u in self._pending if u >= offset or u in self._forced)[:limit]
        self._forced.difference_update(ids)
        if confirmed:
            self.changed()
        return [self._pending[u] for u in ids]

    def next_for_webhook(self) -> dict[str, Any] | None:
        if not self._pending:
            return None
        return self._pending[min(self._pending)]

    def confirm(self, update_id: int) -> None:
        self._pending.pop(update_id, None)
        self._forced.discard(update_id)
        self.changed()

    # --- waiting ----------------------------------------------------------------------------

    def changed(self) -> None:
        """Wake everything waiting for the emulator's state to change."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_changed(self, seconds: float) -> None:
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return

    async def wait_for(self, probe: Callable[[], T | None], within: float, what: str) -> T:
        """Return probe()'s first non-None value, re-checking after every state change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found = probe()
            if found is not None:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {within}s waiting for {what}")
            await self.wait_changed(remaining)
