"""200 members working at once: updates handled per second, p99 latency and errors.

    python -m bench throughput [--members 200] [--rounds 5] [--customers 100000]
                               [--backend sqlite|postgresql] [--no-limiter]

The members are real (salespeople in the seeded database, see bench/seed.py), each a scripted
user of the Bot API emulator, all typing at once. A round is six updates: /newcustomer, the
name (the draft is saved), /cancel, /find <one of their customers>, /customer <its id>, and
/help. Every reply is checked; an error is a wrong or missing reply, a reply with the bot's
error text, the bot's error handler being reached, or "database is locked" anywhere in the
logs. Target: 0 errors.

The bot is built as in production, so replies go through its AIORateLimiter (Telegram's 30
messages per second per bot): that, not the bot, then bounds the rate. `--no-limiter` takes
the limiter out to show what the bot itself can handle.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.driver import TOKEN, BenchError, Replies, Texts, running_crm_bot
from bench.figures import Figure, percentile, report
from bench.seed import ADMIN_TELEGRAM_ID, Seeded, seeded_database
from bot.emulator import BotApiEmulator

UPDATES_PER_ROUND = 6
LOCKED = "database is locked"


class LockedCounter(logging.Handler):
    """Counts log records that mention SQLite's lock error, in the message or the traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        if LOCKED in text:
            self.count += 1


class Member:
    """One salesperson's script: their own customers to look up, and what went wrong."""

    def __init__(self, telegram_id: int, own: list[dict[str, Any]], seed: int) -> None:
        self.telegram_id = telegram_id
        self.own = own
        self.rng = random.Random(seed)
        self.timings: list[float] = []
        self.errors: list[str] = []

    async def work(self, replies: Replies, texts: Texts, rounds: int) -> None:
        bad = (texts.shown("error.unexpected", reference="")[:30], texts.shown("error.temporary"))
        for i in range(rounds):
            customer = self.rng.choice(self.own)
            script = (
                ("/newcustomer", 2),
                (f"Bench Person {self.telegram_id}-{i}", 1),
                ("/cancel", 1),
                (f"/find {customer['name']}", 1),
                (f"/customer {customer['id']}", 1),
                ("/help", 1),
            )
            for text, count in script:
                try:
                    ms, messages = await replies.exchange(self.telegram_id, text, replies=count)
                except BenchError as error:
                    self.errors.append(str(error))
                    continue
                self.timings.append(ms)
                said = " ".join(m.text for m in messages)
                if any(b and b[:30] in said for b in bad) or LOCKED in said:
                    self.errors.append(f"{text!r} -> {said[:120]!r}")


def members_of(seeded: Seeded, count: int) -> list[Member]:
    by_owner: dict[int, list[dict[str, Any]]] = {}
    for sample in seeded.samples:
        by_owner.setdefault(sample["owner_id"], []).append(sample)
    return [
        # With few customers a member may own none of the samples: they look up a colleague's,
        # which the bot answers with "not found" (still a search and a card lookup).
        Member(telegram_id, by_owner.get(member_id) or seeded.samples, telegram_id)
        for member_id, telegram_id in seeded.sales[:count]
    ]


async def drive(
    url: str, seeded: Seeded, count: int, rounds: int, limiter: bool
) -> tuple[float, list[Member], list[BaseException]]:
    errors: list[BaseException] = []
    members = members_of(seeded, count)
    async with BotApiEmulator(token=TOKEN, bot_username="crm_bench_bot") as emu:
        for member in members:
            emu.add_user(member.telegram_id, f"S{member.telegram_id}")
        emu.add_user(ADMIN_TELEGRAM_ID, "Admin")
        replies = Replies(emu)
        async with running_crm_bot(emu, url, [ADMIN_TELEGRAM_ID], errors, rate_limited=limiter):
            texts = Texts()
            started = time.perf_counter()
            await asyncio.gather(*(m.work(replies, texts, rounds) for m in members))
            elapsed = time.perf_counter() - started
    return elapsed, members, errors


async def run(
    backend: str, customers: int, count: int, rounds: int, limiter: bool
) -> list[Figure]:
    locked = LockedCounter()
    logging.getLogger().addHandler(locked)
    with (
        tempfile.TemporaryDirectory() as folder,
        seeded_database(backend, customers, Path(folder)) as (url, seeded),
    ):
        elapsed, members, handler_errors = await drive(url, seeded, count, rounds, limiter)
    timings = [ms for member in members for ms in member.timings]
    failures = [error for member in members for error in member.errors]
    for failure in failures[:5]:
        logging.getLogger(__name__).warning("failed exchange: %s", failure)
    errors = len(failures) + len(handler_errors) + locked.count
    mode = "Telegram limits" if limiter else "no limiter"
    label = f"throughput {backend}, {mode}"
    return [
        Figure(f"{label}: customers", customers, ""),
        Figure(f"{label}: members working at once", len(members), ""),
        Figure(f"{label}: updates/s", len(timings) / elapsed, "/s"),
        Figure(f"{label}: p50", percentile(timings, 50), "ms"),
        Figure(f"{label}: p99", percentile(timings, 99), "ms"),
        Figure(f"{label}: errors", errors, "", "0", errors == 0),
        Figure(f"{label}: database is locked", locked.count, "", "0", locked.count == 0),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench throughput", description=__doc__)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--no-limiter", action="store_true", help="take out the 30 msg/s AIORateLimiter"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = asyncio.run(
        run(args.backend, args.customers, args.members, args.rounds, not args.no_limiter)
    )
    report(rows)
    return 0 if all(row.ok is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
