"""What the ticking jobs share (reminder delivery, nudge planning, notifications, import resume).

The database is the record and the JobQueue only a ticker: PTB's JobQueue forgets its jobs on
restart and skips one that misfires (docs/stack-facts.md), so a tick never carries work of its
own. It starts one pass that reads what is due from the database, unless the previous pass
is still running (a burst of reminders or a big import can outlast many ticks).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

TICKERS_KEY = "tickers"  # bot_data: the declared jobs' tickers by name (`bot.jobs.install`)
# A generous grace: a tick due while the loop was busy still runs, late, rather than never.
JOB_KWARGS: dict[str, Any] = {"misfire_grace_time": 60, "coalesce": True, "max_instances": 1}


def worker_id() -> str:
    """Unique per running application: host, process and a random part (tests run two
    applications in one process). Leases in the database name their holder with it."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Ticker:
    """Runs `work` as one background pass at a time, started by a tick or by `start()`.

    A pass is an application task (`Application.stop()` waits for it) and starts only while
    the application runs. `before_start=True` is for passes that also run during start-up
    (import resume): a plain asyncio task, which the job module's own shutdown awaits.
    """

    def __init__(
        self,
        application: Any,
        name: str,
        work: Callable[[], Coroutine[Any, Any, object]],
        *,
        before_start: bool = False,
    ) -> None:
        self.application = application
        self.name = name
        self.work = work
        self.before_start = before_start
        self.task: asyncio.Task[Any] | None = None

    def install(self, *, interval: timedelta, first: timedelta) -> None:
        """Tick every `interval`, the first time after `first`."""
        job_queue = self.application.job_queue
        assert job_queue is not None
        job_queue.run_repeating(
            self._tick, interval=interval, first=first, name=self.name, job_kwargs=JOB_KWARGS
        )

    async def _tick(self, context: Any) -> None:  # noqa: ARG002 (PTB's job signature)
        self.start()

    def start(self) -> None:
        """Start a pass unless one is still running (or the application is not running)."""
        if self.task is not None and not self.task.done():
            return
        if self.before_start:
            self.task = asyncio.create_task(self.work(), name=self.name)
        elif self.application.running:
            self.task = self.application.create_task(self.work(), name=self.name)


def start_pass(application: Any, name: str) -> None:
    """Start the named job's pass now (a closed deal's notice) unless one is running."""
    tickers: dict[str, Ticker] = application.bot_data[TICKERS_KEY]
    tickers[name].start()
