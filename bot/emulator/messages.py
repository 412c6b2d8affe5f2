"""Readable snapshots of chat messages, so tests and the console never dig through raw JSON."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as the user sees it and what pressing it does."""

    label: str
    callback_data: str | None = None
    url: str | None = None
    switch_inline_query: str | None = None
    switch_inline_query_current_chat: str | None = None


@dataclass(frozen=True)
class FileInfo:
    """Metadata of a document, photo or voice note attached to a message."""

    file_id: str
    file_unique_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int = 0
    caption: str | None = None


@dataclass(frozen=True)
class BotMessage:
    """An immutable snapshot of one message; an edit produces a new snapshot with version + 1."""

    message_id: int
    chat_id: int
    from_bot: bool
    text: str = ""
    html: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    remove_keyboard: bool = False
    force_reply: bool = False
    document: FileInfo | None = None
    photo: FileInfo | None = None
    voice: FileInfo | None = None
    caption: str | None = None
    reply_to_message_id: int | None = None
    version: int = 0
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def button_labels(self) -> list[str]:
        """Every inline button label, row by row, for assertions and transcripts."""
        return [button.label for row in self.buttons for button in row]

    def find_button(self, label: str) -> Button | None:
        """The button whose label equals `label`, else the first one containing it."""
        flat = [button for row in self.buttons for button in row]
        for button in flat:
            if button.label == label:
                return button
        for button in flat:
            if label in button.label:
                return button
        return None


def parse_buttons(markup: dict[str, Any] | None) -> list[list[Button]]:
    """Turn a validated inline_keyboard markup into Button rows."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [
            Button(
                label=str(button.get("text", "")),
                callback_data=button.get("callback_data"),
                url=button.get("url"),
                switch_inline_query=button.get("switch_inline_query"),
                switch_inline_query_current_chat=button.get("switch_inline_query_current_chat"),
            )
            for button in row
        ]
        for row in markup["inline_keyboard"]
    ]


def parse_reply_keyboard(markup: dict[str, Any] | None) -> list[list[str]] | None:
    """Labels of a reply keyboard, or None when the markup is not one."""
    if not markup or "keyboard" not in markup:
        return None
    return [
        [button if isinstance(button, str) else str(button.get("text", "")) for button in row]
        for row in markup["keyboard"]
    ]


def _file_info(obj: dict[str, Any] | None, caption: str | None) -> FileInfo | None:
    if not obj:
        return None
    return FileInfo(
        file_id=obj["file_id"],
        file_unique_id=obj["file_unique_id"],
        file_name=obj.get("file_name"),
        mime_type=obj.get("mime_type"),
        size=int(obj.get("file_size", 0)),
        caption=caption,
    )


def snapshot(
    raw: dict[str, Any],
    *,
    from_bot: bool,
    html: str | None = None,
    markup: dict[str, Any] | None = None,
    version: int = 0,
) -> BotMessage:
    """Build a BotMessage from a message in Telegram's JSON shape plus the markup that was sent.

    The markup is passed separately because Telegram only echoes inline keyboards in the
    message JSON, while tests also want to see reply keyboards and keyboard removal.
    """
    caption = raw.get("caption")
    photo_sizes = raw.get("photo") or []
    reply_to = raw.get("reply_to_message")
    return BotMessage(
        message_id=raw["message_id"],
        chat_id=raw["chat"]["id"],
        from_bot=from_bot,
        text=raw.get("text") or caption or "",
        html=html,
        buttons=parse_buttons(markup),
        reply_keyboard=parse_reply_keyboard(markup),
        remove_keyboard=bool(markup and markup.get("remove_keyboard")),
        force_reply=bool(markup and markup.get("force_reply")),
        document=_file_info(raw.get("document"), caption),
        photo=_file_info(photo_sizes[-1] if photo_sizes else None, caption),
        voice=_file_info(raw.get("voice"), caption),
        caption=caption,
        reply_to_message_id=reply_to["message_id"] if reply_to else None,
        version=version,
        raw=copy.deepcopy(raw),
    )
