"""The background passes the features declare (`handlers.feature.Job`), by name.

A feature says which job it needs and how often; the pass itself lives here in bot/, because
it sends through the bot's paced `Sender` and keeps worker leases, which handlers do not reach
(the layers contract). tests/bot/test_features.py checks that every declared job has exactly
one runner and every runner a declaration.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from typing import Any

from bot import contract_jobs, digest_jobs, import_jobs, scheduler, webhook_jobs
from bot.ticker import TICKERS_KEY, Ticker
from handlers.feature import Job
from handlers.webhooks import DELIVER_JOB as WEBHOOK_JOB

Runner = Callable[[Any], Coroutine[Any, Any, object]]

RUNNERS: dict[str, Runner] = {
    scheduler.DELIVER_JOB: scheduler.deliver_due,
    scheduler.PLAN_JOB: scheduler.plan_due_nudges,
    digest_jobs.JOB: digest_jobs.run_pass,
    import_jobs.JOB: import_jobs.resume,
    contract_jobs.JOB: contract_jobs.run_pass,
    WEBHOOK_JOB: webhook_jobs.run_pass,
}


def install(application: Any, jobs: Iterable[Job]) -> None:
    """What the passes share first (the sender, the import launcher, the webhooks' HTTP
    client), then one ticker per declared job; a job that runs at start starts its first
    pass now."""
    scheduler.install(application)
    digest_jobs.install(application)
    import_jobs.install(application)
    webhook_jobs.install(application)
    tickers: dict[str, Ticker] = {}
    for job in jobs:
        work = partial(RUNNERS[job.name], application)
        ticker = Ticker(application, job.name, work, before_start=job.at_start)
        if job.at_start:
            ticker.start()
        ticker.install(interval=job.every, first=job.first)
        tickers[job.name] = ticker
    application.bot_data[TICKERS_KEY] = tickers
