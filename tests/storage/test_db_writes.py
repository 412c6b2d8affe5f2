"""Writers take turns fairly: a writer that commits and begins again at once (an import's
chunks) must not keep another member's write waiting on SQLite's polling busy handler."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import text

from storage.db import Database, FairLock


def test_fair_lock_serves_waiters_in_arrival_order() -> None:
    lock = FairLock()
    order: list[int] = []
    lock.__enter__()
    threads = []
    for n in range(5):
        thread = threading.Thread(target=lambda n=n: _take(lock, order, n))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # each one queued before the next starts
    lock.__exit__(None, None, None)
    for thread in threads:
        thread.join(timeout=5)
    assert order == [0, 1, 2, 3, 4]


def _take(lock: FairLock, order: list[int], n: int) -> None:
    with lock:
        order.append(n)


def test_a_write_waits_about_one_transaction_behind_a_busy_writer(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fair.sqlite3'}")
    with db.session() as session:
        session.execute(text("CREATE TABLE t (n INTEGER)"))
    stop = threading.Event()

    def busy_writer() -> None:  # back-to-back 50 ms transactions, like an import's chunks
        while not stop.is_set():
            with db.session() as session:
                session.execute(text("INSERT INTO t VALUES (1)"))
                time.sleep(0.05)

    writer = threading.Thread(target=busy_writer)
    writer.start()
    try:
        time.sleep(0.1)
        waits = []
        for _ in range(10):
            started = time.perf_counter()
            with db.session() as session:
                session.execute(text("INSERT INTO t VALUES (2)"))
            waits.append(time.perf_counter() - started)
    finally:
        stop.set()
        writer.join()
        db.close()
    # Without the queue SQLite's busy handler polled and a wait here took seconds.
    assert max(waits) < 0.5, waits
