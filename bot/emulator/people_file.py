"""The people an emulated Telegram knew, kept in a JSON file across emulator restarts.

Telegram remembers every user and private chat; an emulator restarted empty would answer
"chat not found" to the bot's first message to a member it knew (a big-deal notice, a
reminder) and keep failing. The console keeps this file next to its database. Only who is who
is kept (users, their private chats, whether they blocked the bot, the next message id);
messages and files are not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.emulator.membership import private_chat_info
from bot.emulator.state import Chat, EmulatorState


def save(state: EmulatorState, path: Path) -> None:
    chats = {
        str(chat.id): {"bot_status": chat.bot_status, "next_message_id": chat.next_message_id}
        for chat in state.chats.values()
        if chat.is_private
    }
    data = {"users": list(state.users.values()), "private_chats": chats}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(path)


def load(state: EmulatorState, path: Path) -> None:
    """Add the users and private chats saved in `path`, if it exists."""
    if not path.exists():
        return
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    chats = data.get("private_chats", {})
    for user in data.get("users", []):
        user_id = int(user["id"])
        state.users[user_id] = dict(user)
        saved = chats.get(str(user_id), {})
        state.chats[user_id] = Chat(
            info=private_chat_info(user),
            members={user_id},
            bot_status=saved.get("bot_status", "member"),
            next_message_id=int(saved.get("next_message_id", 1)),
        )
