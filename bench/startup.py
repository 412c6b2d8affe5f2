"""Start-up time and resident memory of `python -m bot run` with N customers in the database.

    python -m bench startup [--customers 1000000] [--runs 3] [--backend sqlite|postgresql]

The bot runs as its own process, exactly as `crm-bot run` (a config file pointing at a Bot
API emulator served by this script, and at the seeded database, see bench/seed.py). Timed
from the process start to (a) its first getUpdates and (b) the answer to a /help sent the
moment the process was started. Memory is read from /proc/<pid>/status after the answer and
a search and a card: VmRSS (resident now) and VmHWM (peak resident).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.driver import TOKEN, BenchError, Replies
from bench.figures import Figure, report
from bench.seed import ADMIN_TELEGRAM_ID, Seeded, seeded_database
from bot.emulator import BotApiEmulator

TARGET_START_S = 10.0
TARGET_RSS_MB = 256.0
CONFIG = """\
[telegram]
token = "{token}"
base_url = "{base_url}"
base_file_url = "{base_file_url}"

[database]
url = "{url}"

[access]
admins = [{admin}]

[logging]
level = "WARNING"
"""


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    found: dict[str, float] = {}
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = row.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


async def one_start(
    url: str, seeded: Seeded, folder: Path
) -> tuple[float, float, dict[str, float]]:
    """(seconds to the first getUpdates, seconds to the /help answer, memory) of one start."""
    async with BotApiEmulator(token=TOKEN, bot_username="crm_bench_bot") as emu:
        emu.add_user(ADMIN_TELEGRAM_ID, "Admin")
        replies = Replies(emu)
        config = folder / "config.toml"
        config.write_text(
            CONFIG.format(
                token=TOKEN,
                base_url=emu.base_url,
                base_file_url=emu.base_file_url,
                url=url,
                admin=ADMIN_TELEGRAM_ID,
            )
        )
        env = {**os.environ, "CRM_CONFIG": str(config)}
        env.pop("CRM_DATABASE_URL", None)
        env.pop("CRM_BOT_TOKEN", None)
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
        )
        first_poll: float | None = None

        def polled() -> bool | None:
            return True if any(m == "getUpdates" for m, _ in emu.calls) else None

        async def watch_polls() -> None:
            nonlocal first_poll
            await emu.state.wait_for(polled, 120, "the bot's first getUpdates")
            first_poll = time.perf_counter() - started

        watcher = asyncio.create_task(watch_polls())
        try:
            answer_ms, _ = await replies.exchange(ADMIN_TELEGRAM_ID, "/help")
            answered = answer_ms / 1000
            await watcher
            sample = seeded.samples[0]
            await replies.exchange(ADMIN_TELEGRAM_ID, f"/find {sample['name']}")
            await replies.exchange(ADMIN_TELEGRAM_ID, f"/customer {sample['id']}")
            memory = memory_mb(process.pid)
        except BenchError:
            process.kill()
            _, stderr = await process.communicate()
            raise BenchError(
                f"the bot did not answer; it said: {stderr.decode()[-2000:]}"
            ) from None
        finally:
            watcher.cancel()
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                await process.communicate()
    assert first_poll is not None
    return first_poll, answered, memory


async def run(backend: str, customers: int, runs: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with seeded_database(backend, customers, folder) as (url, seeded):
            starts = [await one_start(url, seeded, folder) for _ in range(runs)]
    polls, answers, memories = zip(*starts, strict=True)
    label = f"start-up {backend}"
    rss = max(m["VmRSS"] for m in memories)
    hwm = max(m["VmHWM"] for m in memories)
    return [
        Figure(f"{label}: customers", customers, ""),
        Figure(f"{label}: to first getUpdates", statistics.median(polls), "s"),
        Figure(
            f"{label}: to first answer (median)",
            statistics.median(answers),
            "s",
            f"<= {TARGET_START_S:g} s",
            statistics.median(answers) <= TARGET_START_S,
        ),
        Figure(f"{label}: to first answer (first run)", answers[0], "s"),
        Figure(f"{label}: VmRSS", rss, "MB", f"<= {TARGET_RSS_MB:g} MB", rss <= TARGET_RSS_MB),
        Figure(f"{label}: VmHWM (peak)", hwm, "MB"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rows = asyncio.run(run(args.backend, args.customers, args.runs))
    report(rows)
    return 0 if all(row.ok is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
