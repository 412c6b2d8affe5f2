"""Who is calling: `Authorization: Bearer <token>`, checked per request, and each token's
rate limit.

No token, an unknown one and a revoked one are the same 401 (nothing says which). A token
acts as its member; a read-only one gets 403 on any write. The rate limit is a token bucket
per token in this process (`[api] rate_per_minute`): a burst of that many calls, refilled
evenly over the minute; beyond it 429 with `Retry-After` in whole seconds. Several API
processes each count their own calls.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.api.problems import Problem
from bot.config import Config
from handlers.i18n import Catalogs
from storage.api_tokens import Caller, authenticate, needs_touch, touch_token
from storage.db import Database
from storage.models import utcnow


class RateLimiter:
    """A token bucket per API token: `per_minute` calls at once, refilled at per_minute/60 s."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = time.monotonic
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: int) -> float:
        """0 if the call may go on, else the seconds until it may."""
        with self._lock:
            now = self._clock()
            level, at = self._buckets.get(key, (self.capacity, now))
            level = min(self.capacity, level + (now - at) * self.rate)
            if level < 1:
                self._buckets[key] = (level, now)
                return (1 - level) / self.rate
            self._buckets[key] = (level - 1, now)
            return 0.0


@dataclass
class ApiState:
    """What every request needs, made once by `create_app`."""

    config: Config
    db: Database
    catalogs: Catalogs
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.api.rate_per_minute)


def state_of(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


_bearer = HTTPBearer(auto_error=False, description="An API token (`crm-bot token create`).")


def unauthorized() -> Problem:
    return Problem(
        401,
        "Unauthorized",
        "Send a valid API token as `Authorization: Bearer <token>`.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def current_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    state = state_of(request)
    if credentials is None or not credentials.credentials:
        raise unauthorized()
    caller = state.db.read_sync(authenticate, secret=credentials.credentials)
    if caller is None:
        raise unauthorized()
    wait = state.limiter.take(caller.token_id)
    if wait > 0:
        raise Problem(
            429,
            "Too Many Requests",
            f"This token may make {state.config.api.rate_per_minute} calls a minute.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    now = utcnow()
    if needs_touch(caller, now=now):
        state.db.run_sync(touch_token, token_id=caller.token_id, now=now)
    return caller


def writing_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if caller.read_only:
        raise Problem(403, "Forbidden", "This token is read-only.")
    return caller


Reader = Annotated[Caller, Depends(current_caller)]
Writer = Annotated[Caller, Depends(writing_caller)]
