"""Logs never carry the bot token, and the JSON format is one object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.error import InvalidToken

from bot.emulator import BotApiEmulator
from bot.logs import setup_logging

TOKEN = "987654:SECRET-token-for-logs"
NOISY = ("httpx", "httpcore", "apscheduler", "aiohttp.access")
logger = logging.getLogger("tests.logs")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Where setup_logging writes; the root logger is put back afterwards (it is global)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in NOISY}
    yield io.StringIO()
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_setup_logging_redacts_token_in_message(stream: io.StringIO) -> None:
    setup_logging(secrets=[TOKEN], stream=stream)
    logger.warning(f"POST https://api.telegram.org/bot{TOKEN}/getMe failed")
    output = stream.getvalue()
    assert TOKEN not in output
    assert "bot<token>/getMe failed" in output


def test_setup_logging_redacts_token_in_arguments(stream: io.StringIO) -> None:
    setup_logging(secrets=[TOKEN], stream=stream)
    logging.getLogger("httpx").warning('HTTP Request: %s %s "%s"', "POST", f"/bot{TOKEN}/x", 200)
    output = stream.getvalue()
    assert TOKEN not in output
    assert 'POST /bot<token>/x "200"' in output


async def test_setup_logging_redacts_token_in_ptb_invalid_token_traceback(
    stream: io.StringIO,
) -> None:
    setup_logging(secrets=[TOKEN], stream=stream)
    async with BotApiEmulator(token="1:the-right-one", bot_username="crm_test_bot") as emu:
        bot = Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url)
        with pytest.raises(InvalidToken) as raised:
            async with bot:  # shuts the client down again when initialize fails
                pass
    assert TOKEN in str(raised.value)  # PTB quotes it: the reason this filter exists
    try:
        raise raised.value
    except InvalidToken:
        logger.exception("start-up failed")
    output = stream.getvalue()
    assert "Traceback" in output
    assert "InvalidToken: The token `<token>` was rejected" in output
    assert TOKEN not in output


def test_setup_logging_redacts_token_in_json_exception(stream: io.StringIO) -> None:
    setup_logging(fmt="json", secrets=[TOKEN], stream=stream)
    try:
        raise RuntimeError(f"request to /bot{TOKEN}/getUpdates failed")
    except RuntimeError:
        logger.exception("polling failed")
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert "RuntimeError: request to /bot<token>/getUpdates" in entry["exception"]
    assert TOKEN not in line


def test_setup_logging_json_writes_one_object_per_line_with_extras(stream: io.StringIO) -> None:
    setup_logging(fmt="json", secrets=[TOKEN], stream=stream)
    logger.info("handled %s", "update", extra={"update_id": 42, "user_id": 1001})
    logger.warning("多行\nmessage")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "handled update"
    assert (first["update_id"], first["user_id"]) == (42, 1001)
    assert (first["level"], first["logger"]) == ("INFO", "tests.logs")
    assert second["message"] == "多行\nmessage"


def test_setup_logging_text_appends_extras(stream: io.StringIO) -> None:
    setup_logging(secrets=[TOKEN], stream=stream)
    logger.info("handled", extra={"update_id": 42})
    assert "handled {'update_id': 42}" in stream.getvalue()


def test_setup_logging_quiets_http_client(stream: io.StringIO) -> None:
    setup_logging(level="DEBUG", secrets=[TOKEN], stream=stream)
    logging.getLogger("httpx").info("HTTP Request: POST /bot%s/getMe", TOKEN)
    logger.debug("kept")
    assert stream.getvalue().count("\n") == 1
    assert "kept" in stream.getvalue()
