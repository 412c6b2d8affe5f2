"""The bot object's last guard: no HTML text or caption leaves over Telegram's limits."""

from __future__ import annotations

from bot.emulator.validation import parse_html, utf16_len
from bot.telegram_bot import within_limits


def test_an_html_text_over_the_limit_is_cut_with_its_tags_closed() -> None:
    data = {"chat_id": 1, "text": "<b>" + "😀" * 3000 + "</b>", "parse_mode": "HTML"}
    fitted = within_limits("sendMessage", data)
    assert 4095 <= utf16_len(parse_html(fitted["text"]).text) <= 4096  # 😀 is two units
    assert fitted["text"].endswith("…</b>")


def test_a_caption_is_held_to_1024() -> None:
    data = {"chat_id": 1, "caption": "&lt;" * 2000, "parse_mode": "HTML"}
    assert utf16_len(parse_html(within_limits("sendDocument", data)["caption"]).text) == 1024


def test_what_fits_or_is_not_html_goes_out_unchanged() -> None:
    short = {"chat_id": 1, "text": "<b>hi</b>", "parse_mode": "HTML"}
    query_answer = {"callback_query_id": "1", "text": "x" * 5000}
    assert within_limits("sendMessage", short) == short
    assert within_limits("answerCallbackQuery", query_answer) == query_answer
