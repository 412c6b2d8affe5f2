"""The ticking jobs' plumbing: one pass at a time, only while the application runs, ticks
registered with a generous misfire grace."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.ticker import JOB_KWARGS, Ticker, worker_id


@dataclass
class FakeJobQueue:
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def run_repeating(self, callback: Any, **kwargs: Any) -> None:
        self.jobs.append({"callback": callback, **kwargs})


@dataclass
class FakeApplication:
    """Just what a Ticker uses of PTB's Application."""

    running: bool = True
    job_queue: FakeJobQueue = field(default_factory=FakeJobQueue)
    tracked: list[asyncio.Task[Any]] = field(default_factory=list)

    def create_task(self, coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self.tracked.append(task)
        return task


class Pass:
    """A pass that runs until released, counting how often it started."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.started += 1
        await self.release.wait()
        return self.started


async def test_tick_while_a_pass_runs_starts_no_second() -> None:
    app, work = FakeApplication(), Pass()
    ticker = Ticker(app, "deliver", work)
    ticker.start()
    await asyncio.sleep(0)
    ticker.start()
    await asyncio.sleep(0)
    assert work.started == 1
    work.release.set()
    assert ticker.task is not None
    await ticker.task


async def test_tick_after_a_pass_ended_starts_the_next() -> None:
    app, work = FakeApplication(), Pass()
    work.release.set()
    ticker = Ticker(app, "deliver", work)
    ticker.start()
    assert ticker.task is not None
    await ticker.task
    ticker.start()
    await ticker.task
    assert work.started == 2
    assert app.tracked[0].get_name() == "deliver"  # an application task: stop() awaits it


async def test_stopped_application_starts_no_pass() -> None:
    app, work = FakeApplication(running=False), Pass()
    ticker = Ticker(app, "deliver", work)
    ticker.start()
    await asyncio.sleep(0)
    assert (ticker.task, work.started) == (None, 0)


async def test_before_start_pass_runs_outside_the_application() -> None:
    app, work = FakeApplication(running=False), Pass()
    work.release.set()
    ticker = Ticker(app, "resume-imports", work, before_start=True)
    ticker.start()
    assert ticker.task is not None
    assert await ticker.task == 1
    assert app.tracked == []


async def test_install_registers_a_repeating_tick_that_starts_a_pass() -> None:
    app, work = FakeApplication(), Pass()
    work.release.set()
    ticker = Ticker(app, "notifications", work)
    ticker.install(interval=timedelta(seconds=20), first=timedelta(seconds=2))
    (job,) = app.job_queue.jobs
    assert job["interval"] == timedelta(seconds=20)
    assert job["first"] == timedelta(seconds=2)
    assert job["name"] == "notifications"
    assert job["job_kwargs"] == JOB_KWARGS
    assert JOB_KWARGS["misfire_grace_time"] >= 60
    await job["callback"](object())
    assert ticker.task is not None
    await ticker.task
    assert work.started == 1


def test_worker_ids_differ_per_application() -> None:
    assert worker_id() != worker_id()
