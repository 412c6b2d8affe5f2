"""A scripted Telegram user for end-to-end tests: sends, presses and reads like a person would.

Every failed wait raises AssertionError carrying the chat transcript, so a failing test
explains itself.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn

from bot.emulator import BotApiEmulator, BotMessage

logger = logging.getLogger(__name__)


class ScriptedUser:
    """One user in their private chat with the bot, with a cursor over the bot's replies."""

    def __init__(
        self,
        emu: BotApiEmulator,
        user_id: int,
        first_name: str = "Test",
        *,
        language_code: str | None = "en",
        username: str | None = None,
    ) -> None:
        self.emu = emu
        self.user_id = user_id
        self.chat_id = user_id
        self.user = emu.add_user(
            user_id, first_name, username=username, language_code=language_code
        )
        self._cursor = 0
        # what the person did, for the effort measures (tests/e2e/test_effort.py)
        self.typed = 0
        self.pressed = 0

    # --- acting ---------------------------------------------------------------------------

    async def send(self, text: str) -> None:
        self.typed += 1
        await self.emu.send_text(self.user_id, text)

    async def share_contact(
        self,
        phone_number: str,
        first_name: str,
        *,
        last_name: str | None = None,
        contact_user_id: int | None = None,
    ) -> None:
        self.typed += 1
        await self.emu.send_contact(
            self.user_id,
            phone_number,
            first_name,
            last_name=last_name,
            contact_user_id=contact_user_id,
        )

    async def share_location(self, latitude: float, longitude: float) -> None:
        await self.emu.send_location(self.user_id, latitude, longitude)

    async def upload_document(
        self,
        filename: str,
        content: bytes,
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
        reply_to: BotMessage | None = None,
    ) -> None:
        await self.emu.send_document(
            self.user_id,
            filename,
            content,
            mime_type=mime_type,
            caption=caption,
            reply_to_message_id=reply_to.message_id if reply_to is not None else None,
        )

    async def upload_photo(
        self, content: bytes, *, caption: str | None = None, reply_to: BotMessage | None = None
    ) -> None:
        await self.emu.send_photo(
            self.user_id,
            content,
            caption=caption,
            reply_to_message_id=reply_to.message_id if reply_to is not None else None,
        )

    async def send_voice(self, content: bytes = b"OggS-voice", *, duration: int = 3) -> None:
        await self.emu.send_voice(self.user_id, content, duration=duration)

    async def send_sticker(self) -> None:
        await self.emu.send_sticker(self.user_id)

    async def press(self, label: str, *, message: BotMessage | None = None) -> None:
        """Press the inline button labelled `label` (exact match first, then substring)."""
        candidates = [self._current(message)] if message else self._newest_first()
        for candidate in candidates:
            button = candidate.find_button(label)
            if button is None:
                continue
            if button.callback_data is None:
                self._fail(f"button {label!r} has no callback data (url or inline switch)")
            self.pressed += 1
            await self.emu.press_button(
                self.user_id, candidate.message_id, button.callback_data, chat_id=self.chat_id
            )
            return
        available = [f"#{m.message_id}: {' | '.join(m.button_labels)}" for m in candidates]
        self._fail(f"no button labelled {label!r}; available: {available or 'none'}")

    async def press_data(self, callback_data: str, message: BotMessage) -> None:
        """Press with arbitrary data, as a forged or stale client would."""
        await self.emu.press_button(
            self.user_id, message.message_id, callback_data, chat_id=self.chat_id
        )

    async def inline(self, query: str, timeout: float = 10.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Type an inline query and wait for the bot's answerInlineQuery results."""
        query_id = await self.emu.inline_query(self.user_id, query)
        try:
            answer = await self.emu.state.wait_for(
                lambda: self.emu.inline_answers.get(query_id), timeout, "an inline answer"
            )
        except TimeoutError as error:
            self._fail(str(error))
        return list(answer["results"])

    # --- reading --------------------------------------------------------------------------

    async def reply(self, timeout: float = 10.0) -> BotMessage:  # noqa: ASYNC109
        """The next new bot message this user has not consumed yet."""
        try:
            msg = await self.emu.wait_for_bot_message(
                self.chat_id, after_message_id=self._cursor, timeout=timeout
            )
        except TimeoutError as error:
            self._fail(str(error))
        self._cursor = msg.message_id
        return msg

    async def replies(self, n: int, timeout: float = 10.0) -> list[BotMessage]:  # noqa: ASYNC109
        return [await self.reply(timeout) for _ in range(n)]

    async def edited(self, message: BotMessage, timeout: float = 10.0) -> BotMessage:  # noqa: ASYNC109
        """The message after its next edit."""
        try:
            return await self.emu.wait_for_edit(
                self.chat_id, message.message_id, after_version=message.version, timeout=timeout
            )
        except TimeoutError as error:
            self._fail(str(error))

    @property
    def last_bot_message(self) -> BotMessage | None:
        bot_messages = self.emu.bot_messages(self.chat_id)
        return bot_messages[-1] if bot_messages else None

    def transcript(self) -> str:
        """The chat as readable lines: "> user text" and "< bot text [buttons: A | B]"."""
        return "\n".join(_line(msg) for msg in self.emu.messages(self.chat_id)) or "(empty chat)"

    # --- helpers --------------------------------------------------------------------------

    def _current(self, message: BotMessage) -> BotMessage:
        """The latest snapshot of `message`: a real user sees the edited keyboard."""
        for msg in self.emu.messages(self.chat_id):
            if msg.message_id == message.message_id:
                return msg
        return message

    def _newest_first(self) -> list[BotMessage]:
        return [
            msg
            for msg in reversed(self.emu.bot_messages(self.chat_id))
            if msg.buttons and not msg.deleted
        ]

    def _fail(self, reason: str) -> NoReturn:
        raise AssertionError(
            f"{reason}\n--- transcript of chat {self.chat_id} ---\n{self.transcript()}"
        )


def _describe(msg: BotMessage) -> str:
    raw = msg.raw
    if msg.document:
        return f"[document {msg.document.file_name}] {msg.caption or ''}".strip()
    if msg.photo:
        return f"[photo] {msg.caption or ''}".strip()
    if msg.voice:
        return "[voice]"
    if "contact" in raw:
        return f"[contact {raw['contact']['phone_number']} {raw['contact']['first_name']}]"
    if "location" in raw:
        return f"[location {raw['location']['latitude']}, {raw['location']['longitude']}]"
    if "sticker" in raw:
        return "[sticker]"
    return msg.text


def _line(msg: BotMessage) -> str:
    prefix = "<" if msg.from_bot else ">"
    parts = [f"{prefix} {_describe(msg)}"]
    if msg.buttons:
        parts.append(f"[buttons: {' | '.join(msg.button_labels)}]")
    if msg.reply_keyboard:
        parts.append(
            f"[keyboard: {' | '.join(label for row in msg.reply_keyboard for label in row)}]"
        )
    if msg.version:
        parts.append("(edited)")
    if msg.deleted:
        parts.append("(deleted)")
    return " ".join(parts)
