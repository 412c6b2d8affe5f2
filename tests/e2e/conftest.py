"""Fixtures the end-to-end tests share on top of `tests/conftest.py`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot import digest_jobs, scheduler
from storage.db import Database
from tests.e2e.helpers import retime

HOUR = timedelta(hours=1)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """The test's database, for seeding rows and reading back what the bot stored."""
    db = Database(db_url)
    yield db
    db.close()


@pytest.fixture
def parked_tickers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reminders and digests are delivered when the test says so (`deliver_due`, `run_pass`),
    never by a ticker firing mid-test."""
    retime(monkeypatch, scheduler.DELIVER_JOB, scheduler.PLAN_JOB, digest_jobs.JOB, every=HOUR)


@pytest.fixture
def nothing_cut(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test when the bot had to shorten a text to Telegram's limit on its way out
    (`bot.telegram_bot.within_limits` logs each cut): a view at its limits pages or splits,
    so the member loses nothing. The emulator refuses what would still be too long."""
    caplog.set_level(logging.WARNING, logger="bot.telegram_bot")
    yield
    cuts = [
        record.getMessage()
        for record in caplog.records
        if record.name == "bot.telegram_bot" and "cut to" in record.getMessage()
    ]
    assert cuts == []
