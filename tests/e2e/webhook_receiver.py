"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it records every POST, can fail
the first ones or answer slowly, and checks signatures as an integrator would, with
`standardwebhooks.Webhook(secret).verify`."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.body)
        return found

    def verified(self, secret: str) -> dict[str, Any]:
        """The body, once its signature checks out with `secret` (raises otherwise)."""
        found: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return found


@dataclass
class Receiver:
    """`fail_first` POSTs are answered 503; each waits `delay` seconds before answering."""

    fail_first: int = 0
    delay: float = 0.0
    attempts: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        received = Received(
            {k.lower(): v for k, v in request.headers.items()}, await request.read()
        )
        self.attempts.append(received)
        number = len(self.attempts)
        if self.delay:
            await asyncio.sleep(self.delay)
        if number <= self.fail_first:
            return web.Response(status=503, text="not now")
        self.accepted.append(received)
        return web.Response(status=204)
