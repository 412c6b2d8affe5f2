"""The HTTP API's latency at scale: GET /customers/{id} and POST /customers, and a page of the
customer list for a salesperson, a manager and an admin.

    python -m bench api [--customers 1000000] [--samples 500]

On a copy of the cached seeded SQLite file (bench/seed.py), the API app (`create_app`) is
called in-process through FastAPI's TestClient with a salesperson's token: each GET is one of
their own customers, each create a new customer with a new phone (so the duplicate check runs
and finds nothing). The times are the app's and the database's (routing, authentication,
the access rule, the transaction), without a network hop. Prints p50 and p99 beside the
target (GET p99 < 20 ms).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from bench.figures import percentile
from bench.seed import ADMIN_TELEGRAM_ID, MANAGER_TELEGRAM_IDS, cached_sqlite
from bot.api.app import create_app
from bot.config import ApiConfig, Config, DatabaseConfig
from storage.api_tokens import create_token
from storage.db import Database

TARGET_GET_P99_MS = 20.0


def timed(call: object, count: int) -> list[float]:
    """`call(i)` `count` times; each one's milliseconds (a non-2xx answer stops the run)."""
    times = []
    for i in range(count):
        started = time.perf_counter()
        response = call(i)  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
        if not 200 <= response.status_code < 300:
            raise SystemExit(f"{response.status_code}: {response.text[:300]}")
    return times


def line(label: str, value: str, target: str = "") -> None:
    sys.stdout.write(f"{label:<28} {value:>12}   {target}\n")


def run(customers: int, samples: int, workdir: Path) -> int:
    url, seeded = cached_sqlite(customers, workdir)
    owners = Counter(s["owner_id"] for s in seeded.samples)
    member_id, telegram_id = max(seeded.sales, key=lambda pair: owners[pair[0]])
    own = [s["id"] for s in seeded.samples if s["owner_id"] == member_id]
    if not own:
        raise SystemExit("no seeded sample belongs to a salesperson")
    db = Database(url)

    def bearer(member_telegram_id: int) -> dict[str, str]:
        made = db.run_sync(
            create_token,
            actor=None,
            name=f"bench-{member_telegram_id}",
            member_telegram_id=member_telegram_id,
        )
        return {"Authorization": f"Bearer {made.secret}"}

    config = Config(database=DatabaseConfig(url=url), api=ApiConfig(rate_per_minute=100_000))
    rng = random.Random(7)
    headers = bearer(telegram_id)
    # A list page sorts nothing with the order's indexes (0020); without them every customer
    # in the token's scope. A manager's scope is their team's, an admin's everyone's.
    lists = {
        "salesperson": headers,
        "manager": bearer(MANAGER_TELEGRAM_IDS[0]),
        "admin": bearer(ADMIN_TELEGRAM_ID),
    }
    with TestClient(create_app(config, db)) as client:
        for i in range(20):  # warm-up: imports, prepared statements, the page cache
            client.get(f"/customers/{own[i % len(own)]}", headers=headers)
        gets = timed(
            lambda _i: client.get(f"/customers/{rng.choice(own)}", headers=headers), samples
        )
        creates = timed(
            lambda i: client.post(
                "/customers",
                headers=headers,
                json={"name": f"Bench {i}", "phones": [f"+86139{i:08d}"]},
            ),
            samples,
        )
        pages = {
            who: timed(lambda _i, h=h: client.get("/customers?limit=50", headers=h), samples // 5)
            for who, h in lists.items()
        }
    db.close()
    line("customers", f"{customers:,}", f"{samples} calls each, in-process (TestClient)")
    line("GET /customers/{id} p50", f"{percentile(gets, 50):.1f} ms")
    get_p99 = percentile(gets, 99)
    line("GET /customers/{id} p99", f"{get_p99:.1f} ms", f"target: < {TARGET_GET_P99_MS:.0f} ms")
    line("POST /customers p50", f"{percentile(creates, 50):.1f} ms")
    line("POST /customers p99", f"{percentile(creates, 99):.1f} ms")
    for who, times in pages.items():
        label = f"GET /customers?limit=50, {who}"
        line(label, f"p50 {percentile(times, 50):.1f} / p99 {percentile(times, 99):.1f} ms")
    return 0 if get_p99 < TARGET_GET_P99_MS else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench api", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        return run(args.customers, args.samples, Path(folder))


if __name__ == "__main__":
    sys.exit(main())
