"""Answers to members survive a bad moment of the Bot API: what is retried and what is not."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot import api_retry
from bot.api_retry import RetryingRateLimiter


class FlakyCall:
    """Raises the given errors in turn, then answers True."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *_args: Any, **_kwargs: Any) -> bool:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return True


@pytest.fixture
async def limiter(monkeypatch: pytest.MonkeyPatch) -> RetryingRateLimiter:
    monkeypatch.setattr(api_retry, "FIRST_DELAY_S", 0.0)
    limiter = RetryingRateLimiter(max_retries=0)
    await limiter.initialize()
    return limiter


async def run(limiter: RetryingRateLimiter, call: FlakyCall, endpoint: str) -> object:
    return await limiter.process_request(call, (), {}, endpoint, {"chat_id": 1}, None)


async def test_server_errors_are_retried_until_the_call_goes_through(
    limiter: RetryingRateLimiter,
) -> None:
    call = FlakyCall(NetworkError("Bad Gateway"), NetworkError("Internal Server Error"))
    assert await run(limiter, call, "sendMessage") is True
    assert call.calls == 3


async def test_gives_up_after_the_last_attempt(limiter: RetryingRateLimiter) -> None:
    call = FlakyCall(*(NetworkError("Bad Gateway") for _ in range(api_retry.ATTEMPTS)))
    with pytest.raises(NetworkError):
        await run(limiter, call, "sendMessage")
    assert call.calls == api_retry.ATTEMPTS


async def test_a_timed_out_send_is_not_sent_again(limiter: RetryingRateLimiter) -> None:
    call = FlakyCall(TimedOut())
    with pytest.raises(TimedOut):
        await run(limiter, call, "sendMessage")
    assert call.calls == 1


async def test_a_timed_out_edit_is_repeated(limiter: RetryingRateLimiter) -> None:
    call = FlakyCall(TimedOut())
    assert await run(limiter, call, "editMessageText") is True
    assert call.calls == 2


async def test_bad_requests_are_not_retried(limiter: RetryingRateLimiter) -> None:
    call = FlakyCall(BadRequest("message is too long"))
    with pytest.raises(BadRequest):
        await run(limiter, call, "sendMessage")
    assert call.calls == 1
