"""Injected failures and Telegram's flood limits, so tests can check how the bot copes."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from bot.emulator.validation import ApiError

logger = logging.getLogger(__name__)


@dataclass
class _FailRule:
    method: str
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass
class _DelayRule:
    method: str
    seconds: float
    times: int


def _matches(rule_method: str, method: str) -> bool:
    return rule_method == "*" or rule_method.lower() == method.lower()


class Faults:
    """Switches a test flips to make the next calls of a method fail or hang."""

    def __init__(self) -> None:
        self._fails: list[_FailRule] = []
        self._delays: list[_DelayRule] = []

    def fail(
        self,
        method: str,
        *,
        error_code: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` ("*" for any) with this error."""
        self._fails.append(_FailRule(method, error_code, description, retry_after, times))

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Sleep before answering the next `times` calls; the call still takes effect after."""
        self._delays.append(_DelayRule(method, seconds, times))

    def clear(self) -> None:
        self._fails.clear()
        self._delays.clear()

    def take_failure(self, method: str) -> ApiError | None:
        """The error for this call if a rule matches, consuming one of its uses."""
        for rule in self._fails:
            if _matches(rule.method, method):
                rule.times -= 1
                if rule.times <= 0:
                    self._fails.remove(rule)
                logger.debug("fault: %s answers %s", method, rule.error_code)
                return ApiError(rule.error_code, rule.description, rule.retry_after)
        return None

    def take_delay(self, method: str) -> float:
        for rule in self._delays:
            if _matches(rule.method, method):
                rule.times -= 1
                if rule.times <= 0:
                    self._delays.remove(rule)
                return rule.seconds
        return 0.0


RATE_LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendmediagroup",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)


class RateLimiter:
    """Telegram's flood control: about one message per second per chat, 30 per second overall."""

    def __init__(self, per_chat_per_second: float, global_per_second: float) -> None:
        self.per_chat_interval = 1.0 / per_chat_per_second
        self.global_per_second = global_per_second
        self._last_per_chat: dict[int, float] = {}
        self._recent: deque[float] = deque()

    def check(self, chat_id: int) -> None:
        """Record one send to `chat_id` or raise the 429 Telegram would answer."""
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_per_second:
            raise _too_many(1.0 - (now - self._recent[0]))
        last = self._last_per_chat.get(chat_id)
        if last is not None and now - last < self.per_chat_interval:
            raise _too_many(self.per_chat_interval - (now - last))
        self._last_per_chat[chat_id] = now
        self._recent.append(now)


def _too_many(wait: float) -> ApiError:
    seconds = max(1, math.ceil(wait))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
