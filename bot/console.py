"""`crm-bot console`: the real bot, offline, in a terminal chat.

The bot runs exactly as in production, but against the built-in Bot API emulator on
loopback and an embedded SQLite file, so a newcomer can try every flow with no token. You
type messages; buttons are numbered and you pick one by typing its number. The first user
is an admin; `:as` switches to another person (a salesperson you invited, a stranger).
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

CONSOLE_TOKEN = "100000:console-offline-token"
CONSOLE_BOT = "crm_console_bot"
ADMIN_ID = 1001
REPLY_WAIT_S = 10.0
QUIET_S = 0.3

HELP = """\
Type a message or a /command and press Enter. Buttons are shown as [1] [2] ...: type the
number to press it (other numbers are sent as text). Console commands:
  :as ID [NAME]        act as another Telegram user (e.g. :as 2002 Alice); :as 1001 = you
  :contact PHONE NAME  share a contact card        :location LAT LON  share a location
  :file PATH           upload a file               :users             who is who
  :say TEXT            send TEXT as it is (e.g. :say 2 when buttons 1-3 are shown)
  :help                this text                   :quit              leave (Ctrl-D too)
Opening an invite link: paste it (https://t.me/...?start=CODE) as the user who opens it.
"""

_START_LINK = re.compile(r"https://t\.me/\w+\?start=([\w-]+)")


class ConsoleChat:
    """Prints what the bot says to the current user and turns typed lines into user actions."""

    def __init__(self, emu: BotApiEmulator, out: TextIO) -> None:
        self.emu = emu
        self.out = out
        self.user_id = ADMIN_ID
        self.names: dict[int, str] = {ADMIN_ID: "You (admin)"}
        self._buttons: list[tuple[int, str]] = []  # (message_id, callback_data) by number
        self._activity = asyncio.Event()
        emu.add_user(ADMIN_ID, "Admin", language_code=None)
        emu.subscribe(self._on_bot_event)

    def _on_bot_event(self, kind: str, message: BotMessage) -> None:
        if message.chat_id != self.user_id or kind == "delete":
            return
        self._activity.set()
        self._show(message, edited=kind == "edit")

    def _show(self, message: BotMessage, *, edited: bool) -> None:
        prefix = "bot (edited)" if edited else "bot"
        self.out.write(f"{prefix}: {message.text or message.caption or ''}\n")
        if message.buttons:
            self._buttons = []
            for row in message.buttons:
                labels = []
                for button in row:
                    if button.callback_data is None:
                        labels.append(f"({button.label})")
                        continue
                    self._buttons.append((message.message_id, button.callback_data))
                    labels.append(f"[{len(self._buttons)}] {button.label}")
                self.out.write("     " + "   ".join(labels) + "\n")
        self.out.flush()

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
            message_id, data = self._buttons[int(line) - 1]
            await self._acting(self.emu.press_button(self.user_id, message_id, data))
            return True
        if link := _START_LINK.search(line):
            line = f"/start {link[1]}"
        await self._acting(self.emu.send_text(self.user_id, line))
        return True

    async def _acting(self, action: Awaitable[object]) -> None:
        """Do the action, then wait until the bot has answered and gone quiet."""
        self._activity.clear()
        await action
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
            self.user_id = int(rest[0])
            name = " ".join(rest[1:]) or self.names.get(self.user_id, f"User {self.user_id}")
            self.names[self.user_id] = name
            self.emu.add_user(self.user_id, name.split(" (")[0], language_code=None)
            self._buttons = []
            self.out.write(f"(you are now {name}, Telegram id {self.user_id})\n")
        elif command == ":users":
            for user_id, name in self.names.items():
                self.out.write(f"  {user_id}: {name}\n")
        elif command in (":contact", ":location", ":file"):
            await self._share(command, rest)
        else:
            self.out.write(HELP)
        return True

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
        chat = ConsoleChat(emu, stdout)
        stdout.write(f"CRM bot console: data in {db_path}. You are the admin.\n{HELP}\n")
        stdout.flush()
        lines = await _read_lines(stdin)
        echo = not stdin.isatty()
        try:
            await chat.handle("/start")
            while (line := await lines.get()) is not None:
                if echo:
                    stdout.write(f"{chat.names[chat.user_id]} > {line.strip()}\n")
                if not await chat.handle(line):
                    break
        finally:
            await stop_application(application)
    return 0
