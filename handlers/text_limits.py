"""Telegram's length limits, applied to the HTML the bot sends: the one place that counts.

Telegram refuses a message whose text is over 4,096 characters, or a caption over 1,024, with
"message is too long": the member then gets nothing at all. It counts after parsing the HTML
(tags are free, `&lt;` is one character) and in UTF-16 code units (an emoji such as 😀 is two).
`fit_html` shortens rendered HTML to a limit without cutting inside a tag or an entity and
closes the tags it leaves open; `split_html` cuts it into several messages instead, for texts
whose every word must reach the member. The bot object applies `fit_html` to every text and
caption it sends (bot/telegram_bot.py), so no view can fail; views with long free text shorten
each item first and offer a button to read it whole, so the cut is never where content is lost.
"""

from __future__ import annotations

import html
import re

MAX_TEXT = 4096
MAX_CAPTION = 1024
ELLIPSIS = "…"

_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def html_length(source: str) -> int:
    """The length Telegram counts for `source` sent with parse_mode HTML: the text with its
    tags dropped and its entities read, as `_pieces` splits it. One regex pass, not a Python
    step per character: it runs on every message the bot sends (~0.5 ms a card otherwise)."""
    return utf16_len(_TOKEN.sub(_shown, source))


def _shown(token: re.Match[str]) -> str:
    return "" if token[0].startswith("<") else html.unescape(token[0])


def fit_html(source: str, limit: int = MAX_TEXT) -> str:
    """`source` itself when it fits; otherwise its longest prefix that fits with "…" added,
    cut after a whole line when that keeps at least half of the room."""
    if html_length(source) <= limit:
        return source
    head, _rest = _cut(source, limit - utf16_len(ELLIPSIS))
    return head.text.rstrip() + ELLIPSIS + head.closing


def split_html(source: str, limit: int = MAX_TEXT) -> list[str]:
    """`source` as consecutive messages that each fit, cut between lines where possible; the
    tags open at a cut are closed before it and opened again after it."""
    parts: list[str] = []
    rest = source
    while html_length(rest) > limit:
        head, left = _cut(rest, limit)
        if html_length(head.text) == 0:  # a limit under one character: nothing fits
            break
        parts.append(head.text + head.closing)
        rest = head.reopening + left.lstrip("\n")
    if rest.strip():
        parts.append(rest)
    return parts


class _Head:
    """The part of the source that fits, and the tags open where it ends."""

    def __init__(self, text: str, open_tags: list[tuple[str, str]]) -> None:
        self.text = text
        self.closing = "".join(f"</{name}>" for name, _tag in reversed(open_tags))
        self.reopening = "".join(tag for _name, tag in open_tags)


def _pieces(source: str) -> list[tuple[str, bool]]:
    """Tags, entities and single characters, each with whether it is a tag."""
    pieces: list[tuple[str, bool]] = []
    i = 0
    while i < len(source):
        match = _TOKEN.match(source, i) if source[i] in "<&" else None
        if match is None:
            pieces.append((source[i], False))
            i += 1
        else:
            pieces.append((match[0], match[0].startswith("<")))
            i = match.end()
    return pieces


def _cut(source: str, budget: int) -> tuple[_Head, str]:
    """The longest prefix of `source` counting at most `budget`, and what is left of it."""
    pieces = _pieces(source)
    open_tags: list[tuple[str, str]] = []
    used = 0
    end = 0  # index in `pieces` of the first piece left out
    line_end: tuple[int, list[tuple[str, str]]] | None = None
    for index, (piece, is_tag) in enumerate(pieces):
        if is_tag:
            match = _TOKEN.match(piece)
            assert match is not None
            if match[1]:
                if open_tags:
                    open_tags.pop()
            elif not piece.endswith("/>"):
                open_tags.append((match[2].lower(), piece))
            end = index + 1
            continue
        units = utf16_len(html.unescape(piece))
        if used + units > budget:
            break
        if piece == "\n" and used >= budget // 2:
            line_end = (index, list(open_tags))
        used += units
        end = index + 1
    else:
        return _Head(source, []), ""
    if line_end is not None:
        end, open_tags = line_end
    return _Head("".join(p for p, _ in pieces[:end]), open_tags), "".join(
        p for p, _ in pieces[end:]
    )


def split_blocks(
    blocks: list[str], limit: int = MAX_TEXT, *, separator: str = "\n\n"
) -> list[str]:
    """Blocks joined into as few messages as fit, cut only between blocks: a report whose
    every line matters. A block too long for a message of its own is cut with `split_html`."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        candidate = f"{current}{separator}{block}" if current else block
        if html_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        *whole, current = split_html(block, limit) or [""]
        messages += whole
    if current.strip():
        messages.append(current)
    return messages
