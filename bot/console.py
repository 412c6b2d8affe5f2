"""`crm-bot console`: the real bot, offline, in a terminal chat.

The bot runs exactly as in production, but against the built-in Bot API emulator on
loopback and an embedded SQLite file, so a newcomer can try every flow with no token. You
type messages; buttons are numbered and you pick one by typing its number (`:press` reaches
an earlier message's, `:reply` answers a message). The first user is an admin; `:as` switches
to another person (a salesperson you invited, a stranger). What Telegram would show besides
messages is printed too: a button's pop-up notice, and where a file the bot sent was saved.
The people the emulated Telegram knows are kept next to the database, so the bot still
reaches them after a restart, as it would in Telegram.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Awaitable
from pathlib import Path
from typing import TextIO

from bot.app import build_application, start_application, stop_application
from bot.config import AccessConfig, Config, DatabaseConfig, LocaleConfig, TelegramConfig
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import supported_language

CONSOLE_TOKEN = "100000:console-offline-token"
CONSOLE_BOT = "crm_console_bot"
ADMIN_ID = 1001
REPLY_WAIT_S = 10.0
QUIET_S = 0.3

HELP = """\
Type a message or a /command and press Enter. Buttons are shown as [1] [2] ...: type the
number to press it on the latest message (other numbers are sent as text). Console commands:
  :as ID [NAME] [LANG] act as another Telegram user (e.g. :as 2002 Alice, :as 3003 李娜 zh);
                       :as 1001 = you; without NAME a known user keeps their name
  :press MSG N         press button N of the earlier message (msg MSG)
  :reply MSG TEXT      reply to message MSG (e.g. to a customer card: adds a note)
  :contact PHONE NAME  share a contact card        :location LAT LON  share a location
  :file PATH           upload a file               :users             who is who
  :say TEXT            send TEXT as it is (e.g. :say 2 when buttons 1-3 are shown)
  :help                this text                   :quit              leave (Ctrl-D too)
Opening an invite link: paste it (https://t.me/...?start=CODE) as the user who opens it.
Files the bot sends (charts, exports) are saved in a folder next to the database.
"""

_START_LINK = re.compile(r"https://t\.me/\w+\?start=([\w-]+)")


class ConsoleChat:
    """Prints what the bot says to the current user and turns typed lines into user actions."""

    def __init__(self, emu: BotApiEmulator, out: TextIO, files: Path) -> None:
        self.emu = emu
        self.out = out
        self.files = files  # where files the bot sends are saved
        self.user_id = ADMIN_ID
        self._buttons: list[tuple[int, str]] = []  # the latest keyboard's (message, data)
        self._activity = asyncio.Event()
        self._unseen: dict[int, list[BotMessage]] = {}  # sent to others, shown on `:as`
        if emu.user(ADMIN_ID) is None:
            emu.add_user(ADMIN_ID, "Admin", language_code=None)
        emu.subscribe(self._on_bot_event)

    def name(self, user_id: int) -> str:
        if user_id == ADMIN_ID:
            return "You (admin)"
        user = self.emu.user(user_id)
        return str(user["first_name"]) if user else f"User {user_id}"

    def _on_bot_event(self, kind: str, message: BotMessage) -> None:
        if kind == "new" and message.chat_id != self.user_id:
            self._unseen.setdefault(message.chat_id, []).append(message)
        if message.chat_id != self.user_id or kind == "delete":
            return
        self._activity.set()
        self._show(message, edited=kind == "edit")

    def _show(self, message: BotMessage, *, edited: bool) -> None:
        where = f"msg {message.message_id}, edited" if edited else f"msg {message.message_id}"
        self.out.write(f"bot ({where}): {message.text or message.caption or ''}\n")
        if message.document or message.photo:
            self.out.write(f"     (file saved: {self._save_file(message)})\n")
        if message.buttons:
            self._buttons = [(message.message_id, data) for data in _button_data(message)]
            labels = []
            number = 0
            for row in message.buttons:
                for button in row:
                    if button.callback_data is None:
                        labels.append(f"({button.label})")
                        continue
                    number += 1
                    labels.append(f"[{number}] {button.label}")
            self.out.write("     " + "   ".join(labels) + "\n")
        self.out.flush()

    def _save_file(self, message: BotMessage) -> Path:
        """A file the bot sent, as Telegram would let the user download it."""
        info = message.document or message.photo
        assert info is not None
        content = self.emu.file_content(info.file_id)
        photo = "photo.png" if content.startswith(b"\x89PNG") else "photo.jpg"
        name = info.file_name or (photo if message.photo else "file")
        path = self.files / f"{message.chat_id}-{message.message_id}-{Path(name).name}"
        self.files.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":say "):
            line = line.removeprefix(":say ")
        elif line.startswith(":"):
            return await self._meta(line)
        if line.isdigit() and 1 <= int(line) <= len(self._buttons):
            await self._press(*self._buttons[int(line) - 1])
            return True
        if link := _START_LINK.search(line):
            line = f"/start {link[1]}"
        await self._acting(self.emu.send_text(self.user_id, line))
        return True

    async def _press(self, message_id: int, data: str) -> None:
        """Press a button; the pop-up notice Telegram would show is printed when it comes."""
        self._activity.clear()
        query_id = await self.emu.press_button(self.user_id, message_id, data)
        notice = asyncio.create_task(self._popup(query_id))
        try:
            await self._quiet()
        finally:
            notice.cancel()

    async def _popup(self, query_id: str) -> None:
        answer = await self.emu.wait_for_callback_answer(query_id, REPLY_WAIT_S)
        if answer.get("text"):
            kind = "alert" if answer.get("show_alert") else "pop-up"
            self.out.write(f"bot ({kind}): {answer['text']}\n")
            self.out.flush()
            self._activity.set()

    async def _acting(self, action: Awaitable[object]) -> None:
        """Do the action, then wait until the bot has answered and gone quiet."""
        self._activity.clear()
        await action
        await self._quiet()

    async def _quiet(self) -> None:
        try:
            await asyncio.wait_for(self._activity.wait(), REPLY_WAIT_S)
        except TimeoutError:
            self.out.write("(no reply)\n")
            return
        while True:
            self._activity.clear()
            try:
                await asyncio.wait_for(self._activity.wait(), QUIET_S)
            except TimeoutError:
                return

    async def _meta(self, line: str) -> bool:
        command, *rest = line.split()
        if command == ":quit":
            return False
        if command == ":as" and rest and rest[0].isdigit():
            self._switch(int(rest[0]), rest[1:])
        elif command == ":users":
            for user_id in self.emu.state.users:
                self.out.write(f"  {user_id}: {self.name(user_id)}\n")
        elif command in (":press", ":reply") and len(rest) >= 2 and rest[0].isdigit():
            await self._on_earlier(command, int(rest[0]), line.split(maxsplit=2)[2])
        elif command in (":contact", ":location", ":file"):
            await self._share(command, rest)
        else:
            self.out.write(HELP)
        return True

    def _switch(self, user_id: int, words: list[str]) -> None:
        """Become `user_id`; a last word the bot speaks (en, zh) is their Telegram language.
        A known user keeps the name and language not given."""
        language = words.pop() if words and _is_language(words[-1]) else None
        known = self.emu.user(user_id) or {}
        name = " ".join(words) or known.get("first_name") or f"User {user_id}"
        self.user_id = user_id
        self.emu.add_user(user_id, name, language_code=language or known.get("language_code"))
        self._buttons = []
        self.out.write(f"(you are now {self.name(user_id)}, Telegram id {user_id})\n")
        for message in self._unseen.pop(user_id, []):  # what their Telegram shows them now
            self._show(message, edited=False)

    async def _on_earlier(self, command: str, message_id: int, argument: str) -> None:
        """`:press MSG N` and `:reply MSG TEXT` on a message of the current user's chat."""
        found = [m for m in self.emu.messages(self.user_id) if m.message_id == message_id]
        if not found or found[0].deleted:
            self.out.write(f"(no message {message_id} here)\n")
            return
        if command == ":reply":
            reply = self.emu.send_text(self.user_id, argument, reply_to_message_id=message_id)
            await self._acting(reply)
            return
        data = _button_data(found[0])
        if not argument.isdigit() or not 1 <= int(argument) <= len(data):
            self.out.write(f"(message {message_id} has no button {argument})\n")
            return
        await self._press(message_id, data[int(argument) - 1])

    async def _share(self, command: str, rest: list[str]) -> None:
        try:
            if command == ":contact":
                action = self.emu.send_contact(self.user_id, rest[0], " ".join(rest[1:]) or "?")
            elif command == ":location":
                action = self.emu.send_location(self.user_id, float(rest[0]), float(rest[1]))
            else:
                path = Path(rest[0])
                content = await asyncio.to_thread(path.read_bytes)
                action = self.emu.send_document(self.user_id, path.name, content)
        except (IndexError, ValueError, OSError) as exc:
            self.out.write(f"(could not do that: {exc}; :help shows the usage)\n")
            return
        await self._acting(action)


def _button_data(message: BotMessage) -> list[str]:
    """The data of a message's pressable buttons, in the order they are numbered."""
    return [b.callback_data for row in message.buttons for b in row if b.callback_data]


def _is_language(word: str) -> bool:
    return word == word.lower() and supported_language(word) is not None


async def _read_lines(stream: TextIO) -> asyncio.Queue[str | None]:
    """Lines from stdin without blocking the event loop (works for a terminal and a pipe)."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def pump() -> None:
        for line in stream:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return queue


def console_config(emu: BotApiEmulator, db_path: Path, language: str) -> Config:
    return Config(
        telegram=TelegramConfig(base_url=emu.base_url, base_file_url=emu.base_file_url),
        database=DatabaseConfig(url=f"sqlite:///{db_path.resolve()}"),
        access=AccessConfig(admins=[ADMIN_ID]),
        locale=LocaleConfig(default_language=language),
    )


async def run_console(
    *, db_path: Path, language: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    async with BotApiEmulator(token=CONSOLE_TOKEN, bot_username=CONSOLE_BOT) as emu:
        application = build_application(
            console_config(emu, db_path, language), token=CONSOLE_TOKEN
        )
        await start_application(application, poll_timeout=1)
        people = db_path.with_name(db_path.name + ".telegram.json")
        emu.load_people(people)
        chat = ConsoleChat(emu, stdout, db_path.with_name(db_path.stem + "-files"))
        stdout.write(f"CRM bot console: data in {db_path}. You are the admin.\n{HELP}\n")
        stdout.flush()
        lines = await _read_lines(stdin)
        echo = not stdin.isatty()
        try:
            await chat.handle("/start")
            while (line := await lines.get()) is not None:
                if echo:
                    stdout.write(f"{chat.name(chat.user_id)} > {line.strip()}\n")
                if not await chat.handle(line):
                    break
                emu.save_people(people)
        finally:
            emu.save_people(people)
            await stop_application(application)
    return 0
