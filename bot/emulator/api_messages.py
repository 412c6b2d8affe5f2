"""Bot API methods that write, edit and delete messages and serve files."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from bot.emulator.messages import BotMessage
from bot.emulator.state import Chat, EmulatorState, StoredFile, Upload
from bot.emulator.validation import (
    NOT_MODIFIED,
    bad_request,
    parse_text,
    validate_reply_markup,
)

logger = logging.getLogger(__name__)

Handler = Callable[[EmulatorState, dict[str, Any]], Any]
MAX_DOWNLOAD = 20 * 1024 * 1024
_PHOTO_SIZES = ((90, 90), (320, 320), (800, 800))


def _reply_to(chat: Chat, params: dict[str, Any]) -> dict[str, Any] | None:
    reply = params.get("reply_parameters") or {}
    message_id = reply.get("message_id") or params.get("reply_to_message_id")
    allow = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
    if not message_id:
        return None
    target = chat.messages.get(int(message_id))
    if target is None or target.deleted:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    raw = copy.deepcopy(target.raw)
    raw.pop("reply_to_message", None)
    return raw


def _text_body(parsed_text: str, entities: list[dict[str, Any]], key: str) -> dict[str, Any]:
    body: dict[str, Any] = {key: parsed_text}
    if entities:
        body["entities" if key == "text" else "caption_entities"] = entities
    return body


def _html(value: Any, parse_mode: Any) -> str | None:
    return value if isinstance(parse_mode, str) and parse_mode.lower() == "html" else None


def _post_from_bot(
    state: EmulatorState,
    params: dict[str, Any],
    body: dict[str, Any],
    *,
    html: str | None,
) -> dict[str, Any]:
    chat = state.writable_chat(params.get("chat_id"))
    markup = validate_reply_markup(params.get("reply_markup"))
    reply = _reply_to(chat, params)
    if reply:
        body["reply_to_message"] = reply
    msg = state.post(chat, body, sender=state.bot_user, html=html, markup=markup)
    return msg.raw


def send_message(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    state.writable_chat(params.get("chat_id"))
    parsed = parse_text(params.get("text"), params.get("parse_mode"))
    entities = params.get("entities") or parsed.entities
    body = _text_body(parsed.text, entities, "text")
    if params.get("link_preview_options"):
        body["link_preview_options"] = params["link_preview_options"]
    html = _html(params.get("text"), params.get("parse_mode"))
    return _post_from_bot(state, params, body, html=html)


def _media(state: EmulatorState, value: Any, kind: str, *, folder: str, ext: str) -> StoredFile:
    """A file from an upload, an earlier file_id, or a URL (stored empty)."""
    if isinstance(value, Upload):
        name = value.filename or f"file.{ext}"
        extension = name.rsplit(".", 1)[-1] if "." in name else ext
        return state.store_file(
            value.content,
            folder=folder,
            extension=extension,
            file_name=name,
            mime=value.content_type,
        )
    if isinstance(value, str) and value in state.files:
        return state.files[value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        name = value.rsplit("/", 1)[-1] or f"file.{ext}"
        return state.store_file(b"", folder=folder, extension=ext, file_name=name, mime=None)
    if value is None:
        raise bad_request(f"there is no {kind} in the request")
    raise bad_request("wrong file identifier/HTTP URL specified")


def _caption_body(params: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    if params.get("caption") in (None, ""):
        return {}, None
    parsed = parse_text(params["caption"], params.get("parse_mode"), caption=True)
    entities = params.get("caption_entities") or parsed.entities
    body = _text_body(parsed.text, entities, "caption")
    return body, _html(params["caption"], params.get("parse_mode"))


def document_json(stored: StoredFile) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
    }
    if stored.file_name:
        doc["file_name"] = stored.file_name
    if stored.mime_type:
        doc["mime_type"] = stored.mime_type
    return doc


def photo_json(stored: StoredFile) -> list[dict[str, Any]]:
    """Telegram's PhotoSize list; every size points at the same stored bytes."""
    return [
        {
            "file_id": stored.file_id if (w, h) == _PHOTO_SIZES[-1] else f"{stored.file_id}_{w}",
            "file_unique_id": f"{stored.file_unique_id}{w}",
            "width": w,
            "height": h,
            "file_size": len(stored.content),
        }
        for w, h in _PHOTO_SIZES
    ]


def send_document(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    state.writable_chat(params.get("chat_id"))
    body, html = _caption_body(params)
    stored = _media(state, params.get("document"), "document", folder="documents", ext="bin")
    body["document"] = document_json(stored)
    return _post_from_bot(state, params, body, html=html)


def send_photo(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    state.writable_chat(params.get("chat_id"))
    body, html = _caption_body(params)
    value = params.get("photo")
    if isinstance(value, str) and value.rsplit("_", 1)[0] in state.files:
        value = value.rsplit("_", 1)[0]
    stored = _media(state, value, "photo", folder="photos", ext="jpg")
    body["photo"] = photo_json(stored)
    return _post_from_bot(state, params, body, html=html)


def send_media_group(state: EmulatorState, params: dict[str, Any]) -> list[dict[str, Any]]:
    """An album of 2-10 photos: one message each, sharing a `media_group_id`."""
    state.writable_chat(params.get("chat_id"))
    media = params.get("media")
    if not isinstance(media, list) or not 2 <= len(media) <= 10:
        raise bad_request("media must include 2-10 items")
    group_id = f"album{len(state.files)}"
    sent = []
    for item in media:
        if not isinstance(item, dict) or item.get("type") != "photo":
            raise bad_request("only photo albums are emulated")
        value = item.get("media")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        body, html = _caption_body(item)
        body["photo"] = photo_json(_media(state, value, "photo", folder="photos", ext="jpg"))
        body["media_group_id"] = group_id
        sent.append(_post_from_bot(state, params, body, html=html))
    return sent


def send_chat_action(state: EmulatorState, params: dict[str, Any]) -> bool:
    state.writable_chat(params.get("chat_id"))
    return True


def _editable(state: EmulatorState, params: dict[str, Any]) -> BotMessage:
    chat = state.writable_chat(params.get("chat_id"))
    msg = state.message(chat, params.get("message_id"), "message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return msg


def _apply_edit(
    state: EmulatorState,
    msg: BotMessage,
    content: dict[str, Any],
    markup: dict[str, Any] | None,
    html: str | None,
) -> dict[str, Any]:
    """Replace content keys and the keyboard, refusing an edit that changes nothing."""
    old_markup = msg.raw.get("reply_markup")
    new_markup = markup if markup and "inline_keyboard" in markup else None
    same_content = all(msg.raw.get(key) == value for key, value in content.items())
    if same_content and old_markup == new_markup:
        raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
    raw = copy.deepcopy(msg.raw)
    for key, value in content.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    if html is None and content.keys() & {"text", "caption"}:
        html_value = None
    else:
        html_value = html if html is not None else msg.html
    return state.replace(msg, raw, html=html_value, markup=new_markup).raw


def edit_message_text(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any] | bool:
    if params.get("inline_message_id"):
        parse_text(params.get("text"), params.get("parse_mode"))
        return True
    msg = _editable(state, params)
    if "text" not in msg.raw:
        raise bad_request("there is no text in the message to edit")
    parsed = parse_text(params.get("text"), params.get("parse_mode"))
    markup = validate_reply_markup(params.get("reply_markup"))
    content = {"text": parsed.text, "entities": params.get("entities") or parsed.entities or None}
    html = _html(params.get("text"), params.get("parse_mode"))
    return _apply_edit(state, msg, content, markup, html)


def edit_message_caption(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any] | bool:
    if params.get("inline_message_id"):
        return True
    msg = _editable(state, params)
    if "text" in msg.raw:
        raise bad_request("there is no caption in the message to edit")
    body, html = _caption_body(params)
    content = {"caption": body.get("caption"), "caption_entities": body.get("caption_entities")}
    markup = validate_reply_markup(params.get("reply_markup"))
    return _apply_edit(state, msg, content, markup, html)


def edit_message_reply_markup(
    state: EmulatorState, params: dict[str, Any]
) -> dict[str, Any] | bool:
    if params.get("inline_message_id"):
        return True
    msg = _editable(state, params)
    markup = validate_reply_markup(params.get("reply_markup"))
    return _apply_edit(state, msg, {}, markup, None)


def delete_message(state: EmulatorState, params: dict[str, Any]) -> bool:
    chat = state.chat(params.get("chat_id"))
    msg = state.message(chat, params.get("message_id"), "message to delete not found")
    state.delete(msg)
    return True


def get_file(state: EmulatorState, params: dict[str, Any]) -> dict[str, Any]:
    file_id = params.get("file_id")
    if isinstance(file_id, str) and file_id not in state.files:
        file_id = file_id.rsplit("_", 1)[0]
    stored = state.files.get(file_id) if isinstance(file_id, str) else None
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.content) > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    return stored.as_file()


HANDLERS: dict[str, Handler] = {
    "sendmessage": send_message,
    "senddocument": send_document,
    "sendphoto": send_photo,
    "sendmediagroup": send_media_group,
    "sendchataction": send_chat_action,
    "editmessagetext": edit_message_text,
    "editmessagecaption": edit_message_caption,
    "editmessagereplymarkup": edit_message_reply_markup,
    "deletemessage": delete_message,
    "getfile": get_file,
}
