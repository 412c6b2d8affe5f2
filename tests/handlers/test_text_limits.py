"""Fitting rendered HTML into Telegram's limits, checked against the emulator's HTML parser
(what Telegram would store) as the oracle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.emulator.validation import parse_html, utf16_len
from handlers.text_limits import (
    ELLIPSIS,
    MAX_TEXT,
    fit_html,
    html_length,
    split_blocks,
    split_html,
)

PIECES = st.sampled_from(
    [
        "word ",
        "张伟",
        "😀",
        "\n",
        "&lt;",
        "&amp;",
        "&#128512;",
        "<b>bold</b>",
        "<i>a <b>nested</b> one</i>",
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        "<b>",
        "</b>",
    ]
)


def _balanced(pieces: list[str]) -> str:
    """Joined pieces with the lone <b> and </b> paired up, as a valid message."""
    out, depth = [], 0
    for piece in pieces:
        if piece == "</b>" and depth == 0:
            continue
        depth += {"<b>": 1, "</b>": -1}.get(piece, 0)
        out.append(piece)
    return "".join(out) + "</b>" * depth


def test_html_length_counts_like_telegram() -> None:
    source = "<b>Zhang</b> &lt;3 😀 &#128512;"
    assert html_length(source) == utf16_len(parse_html(source).text) == 14


@given(st.lists(PIECES, max_size=200))
def test_html_length_is_what_the_parser_keeps(pieces: list[str]) -> None:
    """The one-pass count agrees with the emulator's parser on any mix of text, tags and
    entities (the oracle of this file)."""
    source = _balanced(pieces)
    assert html_length(source) == utf16_len(parse_html(source).text)


def test_fit_keeps_a_text_that_fits() -> None:
    source = "<b>" + "x" * MAX_TEXT + "</b>"
    assert fit_html(source) == source


def test_fit_cuts_between_tags_and_entities_and_closes_what_is_open() -> None:
    source = "<b>" + "&lt;" * 10 + "</b><i>" + "😀" * 10 + "</i>"
    fitted = fit_html(source, 15)
    assert fitted == "<b>" + "&lt;" * 10 + "</b><i>" + "😀" * 2 + ELLIPSIS + "</i>"
    assert utf16_len(parse_html(fitted).text) == 15


def test_fit_prefers_a_line_break_in_the_second_half() -> None:
    fitted = fit_html("first line\nsecond line that goes on", 20)
    assert fitted == "first line" + ELLIPSIS


@given(st.lists(PIECES, max_size=400), st.sampled_from([10, 64, 1024, MAX_TEXT]))
def test_fitted_text_is_valid_html_within_the_limit(pieces: list[str], limit: int) -> None:
    source = _balanced(pieces)
    fitted = parse_html(fit_html(source, limit)).text
    assert utf16_len(fitted) <= limit
    whole = parse_html(source).text
    if utf16_len(whole) > limit:
        assert fitted.endswith(ELLIPSIS)
        assert whole.startswith(fitted.removesuffix(ELLIPSIS))


@given(st.lists(PIECES, max_size=400), st.sampled_from([10, 64, 1024]))
def test_split_parts_fit_and_keep_every_character(pieces: list[str], limit: int) -> None:
    source = _balanced(pieces)
    parts = [parse_html(part).text for part in split_html(source, limit)]
    assert all(utf16_len(part) <= limit for part in parts)
    # Whitespace at a cut may go (a message of spaces alone is refused by Telegram).
    assert "".join("".join(parts).split()) == "".join(parse_html(source).text.split())


def test_split_blocks_cuts_only_between_blocks_counting_like_telegram() -> None:
    block = "<b>name</b> " + "😀" * 1000  # 2,005 of Telegram's units, 1,005 characters
    messages = split_blocks([block] * 5)
    assert messages == ["\n\n".join([block] * 2), "\n\n".join([block] * 2), block]


def test_split_blocks_splits_a_block_too_long_for_one_message() -> None:
    messages = split_blocks(["head", "x" * (MAX_TEXT + 10), "tail"])
    assert [html_length(m) for m in messages] == [4, MAX_TEXT, 10 + 2 + 4]


@given(
    st.lists(st.lists(PIECES, max_size=60).map(_balanced), max_size=40),
    st.sampled_from([64, 1024, MAX_TEXT]),
)
def test_split_blocks_fit_and_keep_every_block(blocks: list[str], limit: int) -> None:
    messages = split_blocks(blocks, limit, separator="\n")
    assert all(html_length(message) <= limit for message in messages)
    kept = "".join(parse_html(message).text for message in messages)
    given_text = "".join(parse_html(block).text for block in blocks)
    assert "".join(kept.split()) == "".join(given_text.split())  # spaces at a cut may go
