"""`Database.run_best_effort`: a write the member can do without never reaches the error
handler when the database refuses it; anything else (a bug) still does."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlmodel import Session

from storage.db import Database


def _refused(session: Session) -> int:
    session.execute(text("SELECT * FROM no_such_table"))
    return 1


def _written(session: Session, *, value: int) -> int:
    return int(session.execute(text("SELECT :v"), {"v": value}).scalar_one())


def _buggy(_session: Session) -> int:
    raise ValueError("a bug")


async def test_run_best_effort_returns_the_result(db: Database) -> None:
    assert await db.run_best_effort(_written, value=5) == 5


async def test_run_best_effort_logs_a_refused_write_and_returns_none(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="storage.db"):
        assert await db.run_best_effort(_refused) is None
    assert "best-effort _refused failed" in caplog.text


async def test_run_best_effort_lets_other_errors_through(db: Database) -> None:
    with pytest.raises(ValueError, match="a bug"):
        await db.run_best_effort(_buggy)
