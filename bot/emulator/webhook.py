"""Webhook delivery: POST each update in order until an instance answers 200, like Telegram."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from bot.emulator.state import EmulatorState

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.05
MAX_RETRY_DELAY = 1.0
REQUEST_TIMEOUT = 10.0


class WebhookDelivery:
    """One background task delivering pending updates to the webhook, round-robin over targets.

    Targets default to the webhook URL; `set_webhook_targets` stands in for a load balancer
    spreading one public URL over several bot instances.
    """

    def __init__(self, state: EmulatorState, stopping: asyncio.Event) -> None:
        self.state = state
        self.stopping = stopping
        self._next_target = 0
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT))
        self._task = asyncio.create_task(self._run(), name="emulator-webhook-delivery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                logger.debug("webhook delivery stopped")
            self._task = None
        if self._session:
            await self._session.close()
            self._session = None

    def _target(self) -> str | None:
        hook = self.state.webhook
        if hook is None:
            return None
        targets = self.state.webhook_targets or [hook.url]
        url = targets[self._next_target % len(targets)]
        self._next_target += 1
        return url

    async def _run(self) -> None:
        delay = FIRST_RETRY_DELAY
        while not self.stopping.is_set():
            update = self.state.next_for_webhook() if self.state.webhook else None
            if update is None:
                await self.state.wait_changed(1.0)
                continue
            if await self._deliver(update):
                self.state.confirm(update["update_id"])
                delay = FIRST_RETRY_DELAY
            else:
                await self.state.wait_changed(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _deliver(self, update: dict[str, object]) -> bool:
        hook = self.state.webhook
        url = self._target()
        if hook is None or url is None or self._session is None:
            return False
        headers = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with self._session.post(url, json=update, headers=headers) as response:
                await response.read()
                if response.status == 200:
                    return True
                error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        logger.debug("webhook delivery of %s failed: %s", update["update_id"], error)
        hook.last_error_date = int(time.time())
        hook.last_error_message = error
        return False
