"""Two instances claiming from one inbox at the same moment (two threads, two engines, one
database): every update is taken by exactly one of them, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from storage.db import Database
from storage.inbox import claim_stale, claim_update, record_received

LEASE = timedelta(seconds=30)
UPDATES = 600


@pytest.fixture
def second(db: Database) -> Iterator[Database]:
    """A second instance: its own engine and pool on the same database."""
    other = Database(db.url)
    yield other
    other.close()


def race(
    work: Callable[[Database, str], list[int]], first: Database, second: Database
) -> list[int]:
    """Run `work` for both instances at once; every id either of them took."""
    start = threading.Barrier(2)
    taken: dict[str, list[int]] = {}

    def run(database: Database, worker: str) -> None:
        start.wait()
        taken[worker] = work(database, worker)

    threads = [
        threading.Thread(target=run, args=(database, worker))
        for database, worker in ((first, "a"), (second, "b"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(taken) == {"a", "b"}, "a claimer thread failed"
    return taken["a"] + taken["b"]


def test_two_instances_replaying_take_each_stale_update_once(
    db: Database, second: Database
) -> None:
    db.run_sync(record_received, updates=[(i, f'{{"update_id": {i}}}') for i in range(UPDATES)])

    def replay(database: Database, worker: str) -> list[int]:
        mine: list[int] = []
        while batch := database.run_sync(claim_stale, worker=worker, lease=LEASE, limit=20):
            mine += [update_id for update_id, _ in batch]
        return mine

    ids = race(replay, db, second)
    duplicates = [update_id for update_id, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    assert sorted(ids) == list(range(UPDATES))


def test_two_instances_claiming_the_same_updates_handle_each_once(
    db: Database, second: Database
) -> None:
    def claim_all(database: Database, worker: str) -> list[int]:
        return [
            update_id
            for update_id in range(UPDATES)
            if database.run_sync(
                claim_update,
                update_id=update_id,
                payload=f'{{"update_id": {update_id}}}',
                worker=worker,
                lease=LEASE,
            )
        ]

    ids = race(claim_all, db, second)
    duplicates = [update_id for update_id, n in Counter(ids).items() if n > 1]
    assert duplicates == []
    assert sorted(ids) == list(range(UPDATES))
