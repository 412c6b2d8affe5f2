"""Message bodies a Telegram client would produce for what a user sends."""

from __future__ import annotations

import re
from typing import Any

from bot.emulator.api_messages import document_json, photo_json
from bot.emulator.state import EmulatorState, now

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


def text_body(text: str) -> dict[str, Any]:
    """A text message; a leading /command gets the bot_command entity Telegram adds."""
    body: dict[str, Any] = {"text": text}
    command = _COMMAND_RE.match(text)
    if command:
        length = len(command[0].encode("utf-16-le")) // 2
        body["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return body


def contact_body(
    phone_number: str,
    first_name: str,
    *,
    last_name: str | None,
    contact_user_id: int | None,
    forwarded: bool,
) -> dict[str, Any]:
    contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
    if last_name:
        contact["last_name"] = last_name
    if contact_user_id is not None:
        contact["user_id"] = contact_user_id
    body: dict[str, Any] = {"contact": contact}
    if forwarded:
        body["forward_origin"] = {
            "type": "hidden_user",
            "sender_user_name": first_name,
            "date": now(),
        }
    return body


def _with_caption(body: dict[str, Any], caption: str | None) -> dict[str, Any]:
    if caption:
        body["caption"] = caption
    return body


def document_body(
    state: EmulatorState, filename: str, content: bytes, mime_type: str, caption: str | None
) -> dict[str, Any]:
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    stored = state.store_file(
        content, folder="documents", extension=extension, file_name=filename, mime=mime_type
    )
    return _with_caption({"document": document_json(stored)}, caption)


def photo_body(state: EmulatorState, content: bytes, caption: str | None) -> dict[str, Any]:
    stored = state.store_file(
        content, folder="photos", extension="jpg", file_name=None, mime="image/jpeg"
    )
    return _with_caption({"photo": photo_json(stored)}, caption)


def voice_body(state: EmulatorState, content: bytes, duration: int) -> dict[str, Any]:
    stored = state.store_file(
        content, folder="voice", extension="oga", file_name=None, mime="audio/ogg"
    )
    return {"voice": {**document_json(stored), "duration": duration}}


def sticker_body(state: EmulatorState) -> dict[str, Any]:
    stored = state.store_file(
        b"RIFF-sticker", folder="stickers", extension="webp", file_name=None, mime="image/webp"
    )
    sticker = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "\N{THUMBS UP SIGN}",
        "file_size": len(stored.content),
    }
    return {"sticker": sticker}
