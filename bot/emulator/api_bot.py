"""Bot API methods about the bot itself: identity, webhook, commands, queries and chats."""

from __future__ import annotations

import logging
from typing import Any

from bot.emulator.api_messages import Handler
from bot.emulator.state import EmulatorState, Webhook
from bot.emulator.validation import (
    MAX_INLINE_RESULTS,
    QUERY_TOO_OLD,
    ApiError,
    bad_request,
    validate_commands,
)

logger = logging.getLogger(__name__)


def get_me(state: EmulatorState, _params: dict[str, Any]) -> dict[str, Any]:
    return {
        **state.bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": True,
        "supports_inline_queries": True,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def accept(_state: EmulatorState, _params: dict[str, Any]) -> bool:
    """Methods whose effect the emulator does not model (logOut, close, setChatMenuButton)."""
    return True


def set_webhook(state: EmulatorState, params: dict[str, Any]) -> bool:
    url = params.get("url") or ""
    if not url:
        return delete_webhook(state, params)
    if not str(url).startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if params.get("drop_pending_updates"):
        state.drop_pending()
    if params.get("allowed_updates") is not None:
        state.allowed_updates = frozenset(params["allowed_updates"])
    state.webhook = Webhook(
        url=str(url),
        secret_token=params.get("secret_token"),
        max_connections=int(params.get("max_connections") or 40),
    )
    state.changed()
    logger.debug("webhook set to %s", url)
    return True


def delete_webhook(state: EmulatorState, params: dict[str, Any]) -> bool:
    if params.get("drop_pending_updates"):
        state.drop_pending()
    state.webhook = None
    state.changed()
    return True


def get_webhook_info(state: EmulatorState, _params: dict[str, Any]) -> dict[str, Any]:
    hook = state.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": state.pending_update_count,
    }
    if hook:
        info["max_connections"] = hook.max_connections
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if state.allowed_updates is not None:
            info["allowed_updates"] = sorted(state.allowed_updates)
    return info


def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = str(scope["type"])
    if "chat_id" in scope:  # chat scopes are per chat: "chat:1001"
        kind = f"{kind}:{scope['chat_id']}"
    if "user_id" in scope:
        kind = f"{kind}:{scope['user_id']}"
    return kind, str(params.get("language_code") or "")


def set_my_commands(state: EmulatorState, params: dict[str, Any]) -> bool:
    commands = validate_commands(params.get("commands"))
    state.commands[_commands_key(params)] = commands
    return True


def get_my_commands(state: EmulatorState, params: dict[str, Any]) -> list[dict[str, Any]]:
    return state.commands.get(_commands_key(params), [])


def delete_my_commands(state: EmulatorState, params: dict[str, Any]) -> bool:
    state.commands.pop(_commands_key(params), None)
    return True


def answer_callback_query(state: EmulatorState, params: dict[str, Any]) -> bool:
    query_id = str(params.get("callback_query_id", ""))
    if query_id not in state.callback_queries or query_id in state.callback_answers:
        raise ApiError(400, QUERY_TOO_OLD)
    if len(str(params.get("text") or "")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    state.callback_answers[query_id] = dict(params)
    state.changed()
    return True


def answer_inline_query(state: EmulatorState, params: dict[str, Any]) -> bool:
    query_id = str(params.get("inline_query_id", ""))
    if query_id not in state.inline_queries or query_id in state.inline_answers:
        raise ApiError(400, QUERY_TOO_OLD)
    results = params.get("results")
    if not isinstance(results, list):
        raise bad_request("can't parse InlineQueryResult JSON object")
    if len(results) > MAX_INLINE_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    ids = [str(result.get("id", "")) for result in results]
    if len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    if any(not result_id or len(result_id.encode()) > 64 for result_id in ids):
        raise bad_request("RESULT_ID_INVALID")
    state.inline_answers[query_id] = dict(params)
    state.changed()
    return True


def get_chat(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    chat = state.chat(params.get("chat_id"))
    return {
        **chat.info,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


def _member(user: dict[str, Any], status: str) -> dict[str, Any]:
    member: dict[str, Any] = {"user": user, "status": status}
    if status == "kicked":
        member["until_date"] = 0
    return member


def chat_member_json(state: EmulatorState, chat_id: int, user_id: int) -> dict[str, Any]:
    """ChatMember for a user (or the bot) as Telegram would describe it."""
    chat = state.chats[chat_id]
    if user_id == state.bot_id:
        return _member(state.bot_user, chat.bot_status)
    user = state.users[user_id]
    if chat.is_private:
        return _member(user, "member" if user_id == chat_id else "left")
    return _member(user, "member" if user_id in chat.members else "left")


def get_chat_member(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    chat = state.chat(params.get("chat_id"))
    try:
        user_id = int(params.get("user_id", ""))
    except (TypeError, ValueError):
        raise bad_request("invalid user_id specified") from None
    if user_id != state.bot_id and user_id not in state.users:
        raise bad_request("user not found")
    return chat_member_json(state, chat.id, user_id)


def leave_chat(state: EmulatorState, params: dict[str, Any]) -> bool:
    chat = state.chat(params.get("chat_id"))
    if chat.is_private:
        raise bad_request("chat member status can't be changed in private chats")
    chat.bot_status = "left"
    return True


def get_chat_menu_button(_state: EmulatorState, _params: dict[str, Any]) -> dict[str, Any]:
    return {"type": "commands"}


HANDLERS: dict[str, Handler] = {
    "getme": get_me,
    "logout": accept,
    "close": accept,
    "setwebhook": set_webhook,
    "deletewebhook": delete_webhook,
    "getwebhookinfo": get_webhook_info,
    "setmycommands": set_my_commands,
    "getmycommands": get_my_commands,
    "deletemycommands": delete_my_commands,
    "answercallbackquery": answer_callback_query,
    "answerinlinequery": answer_inline_query,
    "getchat": get_chat,
    "getchatmember": get_chat_member,
    "leavechat": leave_chat,
    "setchatmenubutton": accept,
    "getchatmenubutton": get_chat_menu_button,
}
