"""Telegram's limits and HTML parse mode, so a bot that passes here does not fail in production."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_TEXT = 4096
MAX_INLINE_BUTTONS = 100  # Telegram: "reply markup is too long" past this
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_RESULTS = 50

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"

_ACTION_FIELDS = (
    "url",
    "callback_data",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "pay",
    "callback_game",
    "copy_text",
)
_ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR_RE = re.compile(
    r"([a-zA-Z][a-zA-Z0-9-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_ENTITY_RE = re.compile(r"&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([a-zA-Z]+));")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


class ApiError(Exception):
    """A Bot API error answer: the HTTP status doubles as Telegram's error_code."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass
class ParsedText:
    """Text as Telegram stores it: plain characters plus entities with UTF-16 offsets."""

    text: str
    entities: list[dict[str, Any]]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entity_error(detail: str) -> ApiError:
    return bad_request(f"can't parse entities: {detail}")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _attrs(raw: str) -> dict[str, str]:
    return {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _ATTR_RE.finditer(raw)}


def _entity_for(
    tag: str, attrs: dict[str, str], offset: int, length: int
) -> dict[str, Any] | None:
    kind = _ENTITY_OF_TAG[tag]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if tag == "a":
        href = attrs.get("href")
        if not href:
            return None
        match = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if match:
            entity.update(type="text_mention", user={"id": int(match[1]), "is_bot": False})
            entity["user"]["first_name"] = ""
        else:
            entity["url"] = href
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "code" and attrs.get("class", "").startswith("language-"):
        entity["language"] = attrs["class"].removeprefix("language-")
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


def parse_html(source: str) -> ParsedText:
    """Parse Telegram's HTML subset, raising Telegram's "can't parse entities" errors."""
    out: list[str] = []
    position = 0  # in UTF-16 code units of the plain text
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            match = _TAG_RE.match(source, i)
            if not match:
                name = re.match(r"</?([^\s<>]*)", source[i:])
                tag = name[1] if name else ""
                raise _entity_error(
                    f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, i)}'
                )
            closing, tag, raw_attrs = match[1] == "/", match[2].lower(), match[3]
            attrs = _attrs(raw_attrs)
            if tag not in _ENTITY_OF_TAG or (
                tag == "span" and not closing and attrs.get("class") != "tg-spoiler"
            ):
                kind = "end" if closing else "start"
                raise _entity_error(
                    f'Unsupported {kind} tag "{tag}" at byte offset {_byte_offset(source, i)}'
                )
            if closing:
                if not stack:
                    raise _entity_error(
                        f"Unexpected end tag at byte offset {_byte_offset(source, i)}"
                    )
                open_tag, open_attrs, start = stack.pop()
                if open_tag != tag:
                    raise _entity_error(
                        f"Unmatched end tag at byte offset {_byte_offset(source, i)}, "
                        f'expected "</{open_tag}>", found "</{tag}>"'
                    )
                if position > start:
                    entity = _entity_for(tag, open_attrs, start, position - start)
                    if entity and tag == "pre":
                        _fold_code_into_pre(entity, entities)
                    if entity:
                        entities.append(entity)
            else:
                stack.append((tag, attrs, position))
            i = match.end()
            continue
        if char == "&":
            match = _ENTITY_RE.match(source, i)
            decoded = _decode_entity(match) if match else None
            if match is None or decoded is None:
                raise _entity_error(
                    f'Character "&" at byte offset {_byte_offset(source, i)} '
                    'must be escaped as "&amp;"'
                )
            char = decoded
            i = match.end()
        else:
            i += 1
        out.append(char)
        position += utf16_len(char)
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _fold_code_into_pre(pre: dict[str, Any], entities: list[dict[str, Any]]) -> None:
    """<pre><code class="language-x"> is one pre entity with a language, as in Telegram."""
    if not entities:
        return
    inner = entities[-1]
    if inner["type"] == "code" and (inner["offset"], inner["length"]) == (
        pre["offset"],
        pre["length"],
    ):
        entities.pop()
        language = str(inner.pop("language", ""))
        if language:
            pre["language"] = language


def _decode_entity(match: re.Match[str]) -> str | None:
    if match[1]:
        code = int(match[1])
    elif match[2]:
        code = int(match[2], 16)
    else:
        return _NAMED_ENTITIES.get(match[3].lower())
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return None


def parse_text(text: Any, parse_mode: Any, *, caption: bool = False) -> ParsedText:
    """Apply parse_mode and Telegram's length limits to a message text or caption.

    Markdown parse modes are accepted but stored as sent (not parsed): the bot uses HTML.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        text = str(text)
    mode = (parse_mode or "").lower() if isinstance(parse_mode, str) else ""
    if mode and mode not in ("html", "markdown", "markdownv2"):
        raise bad_request("unsupported parse_mode")
    parsed = parse_html(text) if mode == "html" else ParsedText(text, [])
    # Telegram counts the limits as it counts entity offsets, in UTF-16 code units: an emoji
    # outside the Basic Multilingual Plane takes two.
    if caption:
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
    else:
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if utf16_len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
    return parsed


def validate_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Check a reply_markup object the way Telegram does; return it normalised or None."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("field inline_keyboard must be an Array of Arrays")
        if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        for row in rows:
            for button in row:
                _validate_inline_button(button)
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("field keyboard must be an Array of Arrays")
        for row in rows:
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                if not label:
                    raise bad_request("BUTTON_TEXT_EMPTY")
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _validate_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not button.get("text"):
        raise bad_request("can't parse inline keyboard button: Text is empty")
    actions = [name for name in _ACTION_FIELDS if name in button]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(str(data).encode("utf-8"))
        if not isinstance(data, str) or size == 0 or size > MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")


def validate_commands(commands: Any) -> list[dict[str, str]]:
    """Check setMyCommands' list: 1-32 lowercase characters, description 1-256."""
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    checked: list[dict[str, str]] = []
    for command in commands:
        if not isinstance(command, dict):
            raise bad_request("can't parse BotCommand JSON object")
        name = str(command.get("command", "")).lstrip("/")
        description = str(command.get("description", ""))
        if not _COMMAND_RE.match(name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": name, "description": description})
    return checked
