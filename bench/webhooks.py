"""Put N webhook events through the real bot's delivery pass to a local receiver.

    python -m bench webhooks [--count 2000] [--records 500] [--db URL]

The events are queued while the bot is stopped (changes made during downtime), each of
`--records` customers getting count/records events in a row (so order per record holds the
later ones back until the earlier ones arrive), then the bot starts and its ticker posts them
to an aiohttp receiver on 127.0.0.1 that checks every signature. Prints deliveries per
second beside the target (200/s), from the bot's start and from the first delivery on, and
lost, duplicated, out-of-order and unverified counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from aiohttp import web
from sqlmodel import Session
from standardwebhooks import Webhook

from bench.driver import TOKEN, running_crm_bot
from bot.emulator import BotApiEmulator
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import utcnow
from storage.webhook_models import WebhookDelivery, WebhookEvent
from storage.webhooks import RETRY_WINDOW, create_endpoint

TARGET_PER_SECOND = 200


def seed(db: Database, *, url: str, count: int, records: int) -> str:
    """An endpoint for `url` and `count` queued events over `records` customers; its secret."""
    now = utcnow()

    def add(session: Session) -> str:
        endpoint = create_endpoint(session, url=url, events=["customer.updated"])
        assert endpoint.id is not None
        events = [
            WebhookEvent(
                type="customer.updated",
                record_type="customer",
                record_id=i % records,
                payload={"id": i % records, "seq": i},
                created_at=now,
            )
            for i in range(count)
        ]
        session.add_all(events)
        session.flush()
        session.add_all(
            WebhookDelivery(
                endpoint_id=endpoint.id,
                event_id=event.id or 0,
                record_type="customer",
                record_id=event.record_id,
                next_attempt_at=now,
                give_up_at=now + RETRY_WINDOW,
                created_at=now,
            )
            for event in events
        )
        return endpoint.secret

    return db.run_sync(add)


def line(label: str, value: str, target: str) -> None:
    sys.stdout.write(f"{label:<22} {value:>14}   target: {target}\n")


async def run(count: int, records: int, db_url: str) -> int:
    seen: Counter[int] = Counter()
    by_record: dict[int, list[int]] = defaultdict(list)
    arrivals: list[float] = []
    unverified = 0
    everything = asyncio.Event()
    verifier: list[Webhook] = []

    async def receive(request: web.Request) -> web.Response:
        nonlocal unverified
        body = await request.read()
        try:
            document = verifier[0].verify(body, dict(request.headers))
        except Exception:  # noqa: BLE001 - counted and reported
            unverified += 1
            return web.Response(status=400)
        seq, record = document["data"]["seq"], document["data"]["id"]
        seen[seq] += 1
        by_record[record].append(seq)
        arrivals.append(time.monotonic())
        if len(seen) == count:
            everything.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    db = Database(db_url)
    upgrade_database(db.engine)
    verifier.append(Webhook(seed(db, url=url, count=count, records=records)))
    db.close()
    errors: list[BaseException] = []
    async with BotApiEmulator(token=TOKEN, bot_username="crm_bench_bot") as emu:
        started = time.monotonic()
        async with running_crm_bot(emu, db_url, [1], errors):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everything.wait(), timeout=count / 20 + 60)
            await asyncio.sleep(2)  # anything posted twice would show up by now
    await runner.cleanup()
    took = (max(arrivals) if arrivals else started) - started
    rate = len(arrivals) / max(took, 1e-9)
    posting = (max(arrivals) - min(arrivals)) if len(arrivals) > 1 else 0.0
    steady = (len(arrivals) - 1) / posting if posting else 0.0
    out_of_order = sum(1 for seqs in by_record.values() if seqs != sorted(seqs))
    lost = count - len(seen)
    doubled = sum(1 for n in seen.values() if n > 1)
    line("events", str(count), f"{records} records")
    line("delivery time", f"{took:.1f} s", "(from the bot's start)")
    line("mean rate", f"{rate:.0f}/s", f"≥ {TARGET_PER_SECOND}/s")
    line("after the first", f"{steady:.0f}/s", "(the bot's start-up left out)")
    line("lost", str(lost), "0")
    line("duplicated", str(doubled), "0")
    line("records out of order", str(out_of_order), "0")
    line("unverified", str(unverified), "0")
    line("bot errors", str(len(errors)), "0")
    ok = lost == doubled == out_of_order == unverified == len(errors) == 0
    return 0 if ok and rate >= TARGET_PER_SECOND else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench webhooks", description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--db", default=None, help="database URL (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return asyncio.run(run(args.count, args.records, url))


if __name__ == "__main__":
    sys.exit(main())
