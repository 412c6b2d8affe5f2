"""Who is in which chat: private chats, groups, blocking, and the my_chat_member updates."""

from __future__ import annotations

from typing import Any

from bot.emulator.api_bot import chat_member_json
from bot.emulator.state import Chat, EmulatorState, now


def upsert_user(
    state: EmulatorState,
    user_id: int,
    first_name: str,
    *,
    last_name: str | None,
    username: str | None,
    language_code: str | None,
) -> dict[str, Any]:
    """Create or refresh a user and their private chat with the bot."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    state.users[user_id] = user
    info = private_chat_info(user)
    chat = state.chats.get(user_id)
    if chat is None:
        state.chats[user_id] = Chat(info=info, members={user_id})
    else:
        chat.info = info
    return dict(user)


def private_chat_info(user: dict[str, Any]) -> dict[str, Any]:
    """The chat object of a user's private chat with the bot, as Telegram shows it."""
    info = {k: v for k, v in user.items() if k in ("id", "first_name", "last_name", "username")}
    return {**info, "type": "private"}


def add_group(state: EmulatorState, chat_id: int, title: str) -> dict[str, Any]:
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
    info = {"id": chat_id, "type": kind, "title": title}
    if chat_id in state.chats:
        state.chats[chat_id].info = info
    else:
        state.chats[chat_id] = Chat(info=info, bot_status="left")
    return dict(info)


def set_bot_status(state: EmulatorState, chat: Chat, status: str, by_user_id: int) -> None:
    """Change the bot's membership and queue the my_chat_member update Telegram sends."""
    old = chat_member_json(state, chat.id, state.bot_id)
    chat.bot_status = status
    new = chat_member_json(state, chat.id, state.bot_id)
    state.enqueue(
        "my_chat_member",
        {
            "chat": dict(chat.info),
            "from": state.user(by_user_id),
            "date": now(),
            "old_chat_member": old,
            "new_chat_member": new,
        },
    )


def group(state: EmulatorState, chat_id: int) -> Chat:
    chat = state.chats.get(chat_id)
    if chat is None or chat.is_private:
        raise LookupError(f"unknown group {chat_id}; call add_group first")
    return chat
