"""Background imports: one asyncio task per running batch, resumed after a restart.

The chat side (`handlers.imports.review`) starts a batch by calling the launcher installed as
`Services.jobs.launch_import`. Batches left QUEUED or RUNNING by a stop or a crash are
launched again at start-up and by the `resume-imports` ticker (a crashed worker's lease runs
out after `storage.imports.apply.LEASE`); `run_batch` is resumable, rows already applied are
known. The database is the record: a task only drives `handlers.imports.run.run_and_report`
and is forgotten when it ends.

On shutdown running imports get `SHUTDOWN_GRACE` to finish (and report); then they are asked
to stop after the chunk in flight (the import thread cannot be interrupted inside a chunk),
and what they wrote stays for the resume.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.ticker import TICKERS_KEY, Ticker, worker_id
from handlers.context import SERVICES_KEY
from handlers.imports.run import run_and_report
from handlers.services import Services
from storage.imports import resumable_batches

logger = logging.getLogger(__name__)

STATE_KEY = "import_jobs"
JOB = "resume-imports"  # declared by `handlers.imports`, run at start and on its ticker
SHUTDOWN_GRACE = 10.0  # seconds


@dataclass
class ImportJobs:
    worker: str
    stop: threading.Event = field(default_factory=threading.Event)
    tasks: dict[int, asyncio.Task[Any]] = field(default_factory=dict)


def install(application: Any) -> None:
    """Make the launcher available to the handlers (`resume` is the job's pass)."""
    state = ImportJobs(worker=worker_id())
    application.bot_data[STATE_KEY] = state
    services: Services = application.bot_data[SERVICES_KEY]
    services.jobs.launch_import = lambda batch_id, message_id, language: launch(
        application, batch_id, message_id, language
    )


def launch(
    application: Any, batch_id: int, message_id: int | None, language: str | None = None
) -> None:
    """Run `batch_id` in the background unless this process already runs it."""
    state = state_of(application)
    if batch_id in state.tasks or state.stop.is_set():
        return
    services: Services = application.bot_data[SERVICES_KEY]
    task = asyncio.create_task(
        run_and_report(
            services,
            application.bot,
            batch_id=batch_id,
            worker=state.worker,
            message_id=message_id,
            language=language,
            stop=state.stop,
        ),
        name=f"import-{batch_id}",
    )
    state.tasks[batch_id] = task
    task.add_done_callback(lambda done: _forget(state, batch_id, done))


def state_of(application: Any) -> ImportJobs:
    state: ImportJobs = application.bot_data[STATE_KEY]
    return state


async def resume(application: Any) -> None:
    """Launch the batches left queued or running by a stop or a crash."""
    services: Services = application.bot_data[SERVICES_KEY]
    for batch_id in await services.db.read(resumable_batches, now=services.clock()):
        if batch_id not in state_of(application).tasks:
            logger.info("resuming import %s", batch_id)
            launch(application, batch_id, None)


def _forget(state: ImportJobs, batch_id: int, task: asyncio.Task[Any]) -> None:
    if state.tasks.get(batch_id) is task:
        del state.tasks[batch_id]
    if not task.cancelled() and task.exception() is not None:
        logger.error("import task %s failed", batch_id, exc_info=task.exception())


async def shutdown(application: Any) -> None:
    """Let running imports finish (bounded), then stop the rest between two chunks."""
    state: ImportJobs | None = application.bot_data.get(STATE_KEY)
    if state is None:
        return
    tickers: dict[str, Ticker] = application.bot_data.get(TICKERS_KEY, {})
    resuming = tickers.get(JOB)
    if resuming is not None and resuming.task is not None:
        await resuming.task
    tasks = list(state.tasks.values())
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
    state.stop.set()
    if pending:
        logger.info("stopping %d running imports: they resume at the next start", len(pending))
        await asyncio.wait(pending)
