"""Put N due reminders through the real bot and the Bot API emulator with Telegram's limits.

    python -m bench.reminders [--count 10000] [--members 2000] [--fast] [--db URL]

The reminders are written while the bot is stopped (as if they fell due during downtime),
then the bot starts and its ticker delivers them. Prints delivery time, peak rate per
second, lost, duplicated and refused (429) counts, each beside its target. With Telegram's
30 msg/s, 10,000 take about 5.5 minutes; `--fast` raises the emulator's global limit (and the
sender's pace with it) to show that the bot itself is not the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, func, select

from bot import scheduler
from bot.app import build_application, start_application, stop_application
from bot.config import AccessConfig, Config, DatabaseConfig, TelegramConfig
from bot.emulator import BotApiEmulator, BotMessage
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Member, Reminder, utcnow

TOKEN = "123456:BENCH-token"
FIRST_CHAT = 7_000_000
MARKER = re.compile(r"#R(\d+)\b")
TELEGRAM_GLOBAL = 30.0
FAST_GLOBAL = 1000.0


def seed(db: Database, *, count: int, members: int) -> None:
    """`members` members and `count` reminders due in the last hour, spread over them."""
    now = utcnow()

    def add(session: Session) -> None:
        people = [
            Member(telegram_id=FIRST_CHAT + i, display_name=f"Bench {i}") for i in range(members)
        ]
        session.add_all(people)
        session.flush()
        session.add_all(
            Reminder(
                member_id=people[i % members].id or 0,
                kind="follow_up",
                text=f"Bench reminder #R{i}",
                due_at=now - timedelta(seconds=i % 3600),
                exact_time=True,
            )
            for i in range(count)
        )

    db.run_sync(add)


def sent_count(db: Database) -> int:
    return db.read_sync(
        lambda s: s.exec(
            select(func.count()).select_from(Reminder).where(Reminder.status == "sent")
        ).one()
    )


def line(label: str, value: str, target: str) -> None:
    sys.stdout.write(f"{label:<22} {value:>14}   target: {target}\n")


async def run(count: int, members: int, fast: bool, db_url: str) -> int:
    db = Database(db_url)
    upgrade_database(db.engine)
    seed(db, count=count, members=members)
    arrivals: list[float] = []
    markers: Counter[int] = Counter()

    everything = asyncio.Event()

    def record(kind: str, message: BotMessage) -> None:
        if kind == "new" and (found := MARKER.search(message.text or "")):
            arrivals.append(time.monotonic())
            markers[int(found[1])] += 1
            if len(markers) == count:
                everything.set()

    global_limit = FAST_GLOBAL if fast else TELEGRAM_GLOBAL
    async with BotApiEmulator(token=TOKEN, bot_username="crm_bench_bot") as emu:
        for i in range(members):
            emu.add_user(FIRST_CHAT + i, f"Bench {i}")
        emu.enable_rate_limits(per_chat_per_second=1.0, global_per_second=global_limit)
        emu.subscribe(record)
        config = Config(
            telegram=TelegramConfig(base_url=emu.base_url, base_file_url=emu.base_file_url),
            database=DatabaseConfig(url=db_url),
            access=AccessConfig(admins=[1]),
        )
        application = build_application(config, token=TOKEN)
        started = time.monotonic()
        await start_application(application, poll_timeout=1)
        sender = scheduler.state_of(application).sender
        if fast:
            sender.global_interval = 1.0 / (FAST_GLOBAL * 0.95)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(everything.wait(), timeout=count / 5 + 60)
            await asyncio.sleep(2)  # anything sent twice would show up by now
        finally:
            await stop_application(application)
        calls = sum(1 for method, _ in emu.calls if method == "sendMessage")
    delivered_in = (max(arrivals) if arrivals else started) - started
    per_second = Counter(int(at - started) for at in arrivals)
    lost = count - len(markers)
    doubled = sum(1 for n in markers.values() if n > 1)
    in_db = sent_count(db)
    db.close()
    pace = f"≤ {global_limit:.0f}/s (sender paced at {1 / sender.global_interval:.0f}/s)"
    line("reminders", str(count), f"{members} members")
    line("delivery time", f"{delivered_in:.1f} s", f"≈ {count / global_limit:.0f} s at {pace}")
    line("peak rate", f"{max(per_second.values(), default=0)}/s", pace)
    line("mean rate", f"{len(arrivals) / max(delivered_in, 1e-9):.1f}/s", pace)
    line("lost", str(lost), "0")
    line("duplicated", str(doubled), "0")
    line("refused by API (429)", str(calls - sum(markers.values())), "0 (a few are honoured)")
    line("marked sent in DB", str(in_db), str(count))
    return 0 if lost == doubled == 0 and in_db == count else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reminders", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=None, help="default: count / 5")
    parser.add_argument("--fast", action="store_true", help="raise the global limit to 1000/s")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    members = args.members or max(1, args.count // 5)
    with tempfile.TemporaryDirectory() as folder:
        db_url = args.db or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return asyncio.run(run(args.count, members, args.fast, db_url))


if __name__ == "__main__":
    sys.exit(main())
