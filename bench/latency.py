"""Per-update latency of our bot against the python-telegram-bot floor, in the same run.

    python -m bench latency [--customers 1000000] [--samples 500] [--blocks 5] [--backend sqlite]

The floor is PTB's smallest bot (an Application with one MessageHandler that echoes the text,
default settings) polling a fresh Bot API emulator. Our bot, built by `build_application`
over a database with `--customers` customers (see bench/seed.py), answers as the admin
types, one update at a time:
  entry   the name step of /newcustomer (the draft is saved, the phone prompt arrives)
  search  /find <the name of a seeded customer> (the results page arrives)
  card    /customer <id of a seeded customer> (the card arrives)
  card with orders  the same for a customer with an order (and every other one a contract)
  find order  /find <a seeded order number> (the results page with the order arrives)
Latency is from the emulator accepting the user's message to the bot's reply reaching it
(bench/driver.py: the emulator's own parsing of the reply is not the bot's time; its p50 and
p99 are printed beside, for both bots).
The two take turns in `--blocks` blocks (floor, ours, floor, ours, ...), each bot started
afresh and warmed up for its block and stopped after it, so a slow spell of the machine
falls on both alike and neither runs beside the other; each gets `--samples` samples per
kind in all, so p99 is not one unlucky sample. Every reply is checked to be the expected
one. Every timed message follows a pause (`PAUSE_S`), for both bots: replies stay under
Telegram's 30 messages a second, which our bot's rate limiter enforces (the echo bot has
none), and each bot is idle when the message arrives. The target is p99 at most twice the
floor's p99.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.driver import TOKEN, BenchError, Replies, Texts, running_crm_bot, running_echo_bot
from bench.figures import Figure, percentile, report
from bench.seed import ADMIN_TELEGRAM_ID, Seeded, seeded_database
from bot.emulator import BotApiEmulator

TARGET_RATIO = 2.0
# Before every timed message, for both bots: our bot's AIORateLimiter keeps to Telegram's 30
# messages a second, so back-to-back samples (an entry sample is four messages) would time the
# limiter, not the update; and the bot finishes the previous update (marks it handled) first,
# as the echo bot does. The throughput benchmark is where load and the limit show.
PAUSE_S = 0.15
USER_ID = ADMIN_TELEGRAM_ID

Step = Callable[[int], Awaitable[float]]


async def _sample(step: Step, samples: int, warmup: int) -> list[float]:
    """Warm up, then time `samples` steps, a pause apart (see PAUSE_S)."""
    timings = []
    for i in range(warmup + samples):
        ms = await step(i)
        if i >= warmup:
            timings.append(ms)
        await asyncio.sleep(PAUSE_S)
    return timings


async def floor_latencies(samples: int, warmup: int, handling: list[float]) -> list[float]:
    """The echo bot's per-update latency on its own emulator (and, into `handling`, the
    emulator's own time on each reply)."""
    async with BotApiEmulator(token=TOKEN, bot_username="echo_bench_bot") as emu:
        emu.add_user(USER_ID, "Bench")
        replies = Replies(emu, handling)
        async with running_echo_bot(emu):

            async def echo(i: int) -> float:
                ms, (reply,) = await replies.exchange(USER_ID, f"hello {i}")
                if reply.text != f"hello {i}":
                    raise BenchError(f"the echo bot answered {reply.text!r}")
                return ms

            return await _sample(echo, samples, warmup)


def crm_steps(
    replies: Replies, seeded: Seeded, texts: Texts, rng: random.Random
) -> dict[str, Step]:
    """The measured exchanges; each checks the reply is the one the step expects."""
    ask_phone = texts.shown("customer.ask.phones").splitlines()[0]

    async def entry(i: int) -> float:
        await replies.exchange(USER_ID, "/newcustomer", replies=2)
        await asyncio.sleep(PAUSE_S)  # like every floor sample: the bot idle before it
        ms, (reply,) = await replies.exchange(USER_ID, f"Bench Person {i}")
        if not reply.text.startswith(ask_phone):
            raise BenchError(f"after the name the bot said {reply.text!r}")
        await replies.exchange(USER_ID, "/cancel")
        return ms

    async def search(_i: int) -> float:
        name = rng.choice(seeded.samples)["name"]
        ms, (reply,) = await replies.exchange(USER_ID, f"/find {name}")
        if not any(name in label for label in reply.button_labels):
            raise BenchError(f"/find {name} answered {reply.text!r} {reply.button_labels}")
        return ms

    async def card(_i: int) -> float:
        customer = rng.choice(seeded.samples)
        ms, (reply,) = await replies.exchange(USER_ID, f"/customer {customer['id']}")
        if customer["name"] not in reply.text:
            raise BenchError(f"/customer {customer['id']} answered {reply.text!r}")
        return ms

    ordering = [s for s in seeded.samples if s.get("order")] or seeded.samples

    async def card_with_orders(_i: int) -> float:
        customer = rng.choice(ordering)
        ms, (reply,) = await replies.exchange(USER_ID, f"/customer {customer['id']}")
        if (customer.get("order") or customer["name"]) not in reply.text:
            raise BenchError(f"/customer {customer['id']} answered {reply.text!r}")
        return ms

    async def find_order(_i: int) -> float:
        number = rng.choice(ordering).get("order") or "DD-"
        ms, (reply,) = await replies.exchange(USER_ID, f"/find {number}")
        if not any(number in label for label in reply.button_labels):
            raise BenchError(f"/find {number} answered {reply.text!r} {reply.button_labels}")
        return ms

    return {
        "entry": entry,
        "search": search,
        "card": card,
        "card with orders": card_with_orders,
        "find order": find_order,
    }


async def crm_latencies(
    url: str, seeded: Seeded, samples: int, warmup: int, rng: random.Random, handling: list[float]
) -> dict[str, list[float]]:
    errors: list[BaseException] = []
    async with BotApiEmulator(token=TOKEN, bot_username="crm_bench_bot") as emu:
        emu.add_user(USER_ID, "Admin")
        replies = Replies(emu, handling)
        async with running_crm_bot(emu, url, [USER_ID], errors):
            await replies.exchange(USER_ID, "/help")  # the admin is registered on first contact
            steps = crm_steps(replies, seeded, Texts(), rng)
            timings = {kind: await _sample(step, samples, warmup) for kind, step in steps.items()}
    if errors:
        raise BenchError(f"the bot's error handler was reached: {errors[:3]!r}")
    return timings


@dataclass
class Gathered:
    """Every sample of a run: the floor's and ours per kind, and the emulator's own time on
    each reply of either bot (not in the latencies)."""

    floor: list[float] = field(default_factory=list)
    ours: dict[str, list[float]] = field(default_factory=dict)
    floor_handling: list[float] = field(default_factory=list)
    our_handling: list[float] = field(default_factory=list)


async def alternating(
    url: str, seeded: Seeded, samples: int, warmup: int, blocks: int
) -> Gathered:
    """The floor's samples and ours per kind, gathered in alternating blocks."""
    rng = random.Random(42)
    got = Gathered()
    for block in range(blocks):
        size = samples // blocks + (block < samples % blocks)
        got.floor += await floor_latencies(size, warmup, got.floor_handling)
        timings = await crm_latencies(url, seeded, size, warmup, rng, got.our_handling)
        for kind, times in timings.items():
            got.ours.setdefault(kind, []).extend(times)
    return got


def figures(got: Gathered) -> list[Figure]:
    floor_p50, floor_p99 = percentile(got.floor, 50), percentile(got.floor, 99)
    rows = [
        Figure("latency floor (PTB echo) p50", floor_p50, "ms"),
        Figure("latency floor (PTB echo) p99", floor_p99, "ms"),
    ]
    for name, handling in (("echo", got.floor_handling), ("our", got.our_handling)):
        rows += [
            Figure(
                f"emulator's handling of {name} replies p50 (not counted)",
                percentile(handling, 50),
                "ms",
            ),
            Figure(
                f"emulator's handling of {name} replies p99 (not counted)",
                percentile(handling, 99),
                "ms",
            ),
        ]
    target = f"p99 <= {TARGET_RATIO:g}x floor at {1_000_000:,} customers"
    for kind, times in got.ours.items():
        p99 = percentile(times, 99)
        ratio = p99 / floor_p99
        rows += [
            Figure(f"latency {kind} p50", percentile(times, 50), "ms"),
            Figure(f"latency {kind} p50 / floor p50", percentile(times, 50) / floor_p50, "x"),
            Figure(f"latency {kind} p99", p99, "ms"),
            Figure(
                f"latency {kind} p99 / floor p99",
                ratio,
                "x",
                target,
                ratio <= TARGET_RATIO,
            ),
        ]
    return rows


async def run(
    backend: str, customers: int, samples: int, warmup: int, blocks: int
) -> list[Figure]:
    with (
        tempfile.TemporaryDirectory() as folder,
        seeded_database(backend, customers, Path(folder)) as (url, seeded),
    ):
        got = await alternating(url, seeded, samples, warmup, blocks)
    return [
        Figure(f"latency run: customers ({backend})", customers, ""),
        Figure("latency samples per kind (and floor)", samples, ""),
        *figures(got),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench latency", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=10, help="per block and kind")
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    blocks = max(1, min(args.blocks, args.samples))
    rows = asyncio.run(run(args.backend, args.customers, args.samples, args.warmup, blocks))
    report(rows)
    return 0 if all(row.ok is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
