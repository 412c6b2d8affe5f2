"""Search benchmark: N customers and the p50/p95 of `/find` queries per backend.

    python -m bench.search --sizes 100000,1000000 --backends sqlite,postgresql --queries 200

The data comes from `bench.seed` (production's triggers, bulk inserts; SQLite cached by
size, PostgreSQL in a fresh schema dropped afterwards; a contract for every 10th customer, an
order for every 4th). The customer kinds time `find_customers`; the `/find` kinds time all
that /find looks up for one query: customers, then contracts and orders by number (and
contract title) and tickets by number (`storage.lookups.find_page`, what /find reads), by a
customer's name, an order number and a contract number."""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.seed import seeded_database
from storage.db import Database
from storage.lookups import find_page
from storage.models import Member
from storage.search.find import find_customers
from storage.search.index import pinyin_keys

TARGET_MS = 50.0


QUERIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "name": lambda row: row["name"],
    "pinyin": lambda row: pinyin_keys(row["name"])[0] or row["name"].split()[-1],
    "phone-suffix": lambda row: row["phone"][-4:],
    "company": lambda row: row["company"].split()[0] + " " + row["company"].split()[1],
}
# What /find looks up for one query, by a customer's name and by record numbers.
FIND_QUERIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "/find name": lambda row: row["name"],
    "/find order": lambda row: row["order"],
    "/find contract": lambda row: row["contract"],
}
FIND_NEEDS = {"/find order": "order", "/find contract": "contract"}


def measure(
    db: Database, actor_id: int, samples: list[dict[str, Any]], n: int
) -> dict[str, list[float]]:
    with db.session(write=False) as session:
        actor = session.get(Member, actor_id)
    assert actor is not None
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    for kind, make in QUERIES.items():
        chinese = [s for s in samples if pinyin_keys(s["name"])[0]]
        pool = chinese if kind == "pinyin" else samples
        times = []
        for _ in range(n):
            query = make(rng.choice(pool))
            start = time.perf_counter()
            db.read_sync(find_customers, actor=actor, query=query, limit=9)
            times.append((time.perf_counter() - start) * 1000)
        timings[kind] = times
    for kind, make in FIND_QUERIES.items():
        pool = [s for s in samples if s.get(FIND_NEEDS.get(kind, "name"))]
        times = []
        for _ in range(n if pool else 0):
            query = make(rng.choice(pool))
            start = time.perf_counter()
            db.read_sync(find_page, actor=actor, query=query, page=0, page_size=8, region="CN")
            times.append((time.perf_counter() - start) * 1000)
        if len(times) > 1:
            timings[kind] = times
    return timings


def run(size: int, backend: str, n: int, workdir: Path) -> None:
    with seeded_database(backend, size, workdir) as (url, seeded):
        db = Database(url)
        print(f"\n{backend}, {size:,} customers (filled in {seeded.seconds:.0f} s)")  # noqa: T201
        for who, actor_id in (("admin", seeded.admin_id), ("sales", seeded.sales_id)):
            for kind, times in measure(db, actor_id, seeded.samples, n).items():
                p50 = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[-1]
                verdict = "ok" if p95 < TARGET_MS else "OVER"
                print(  # noqa: T201
                    f"  {who:5} {kind:15} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"
                    f"   (target p95 < {TARGET_MS:.0f} ms: {verdict})"
                )
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            for backend in args.backends.split(","):
                run(size, backend, args.queries, Path(tmp))


if __name__ == "__main__":
    main()
