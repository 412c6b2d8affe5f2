"""Review queue benchmark: `/review` over a base of N customers with planted duplicates.

    python -m bench review_queue --customers 20000 [--planted 0.02] [--repeat 3]

The base is `bench.seed`'s (cached SQLite file, a private copy per run) with duplicates
planted as `bench.dedupe` plants them. `list_review_queue` runs as the admin (everything) and
as one manager (a team of the seed's ten), `--repeat` times each; printed (`bench.figures`,
so `python -m bench` gathers them): the first wall time (a fresh process) and the best of
the others, and the items by kind. The manager's duplicates are blocked from the team's own
phones, emails and companies; the seed's ~6,800 companies are everyone's, so a team's
company blocks still hold most of the base (the worst case for that blocking). The queue
is computed on every /review, Approve and Next, so it must stay well under a second at a
team's size.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bench.dedupe import plant
from bench.figures import Figure, report
from bench.seed import seeded_database
from storage.db import Database
from storage.models import Member, Role
from storage.review_items import ReviewRules
from storage.reviews import list_review_queue

TARGET_SECONDS = 1.0


def measure(db: Database, member_id: int, repeat: int) -> tuple[list[float], Counter[str]]:
    """`repeat` queue computations for the member: each one's seconds, and the items by kind."""
    seconds, kinds = [], Counter[str]()
    with db.session(write=False) as session:
        member = session.get_one(Member, member_id)
        for _ in range(repeat):
            started = time.perf_counter()
            items = list_review_queue(
                session, actor=member, rules=ReviewRules(), today=datetime.now(UTC).date()
            )
            seconds.append(time.perf_counter() - started)
            kinds = Counter(item.key.kind for item in items)
    return seconds, kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench review_queue", description=__doc__)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--planted", type=float, default=0.02)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as folder,
        seeded_database("sqlite", args.customers, Path(folder)) as (url, seeded),
    ):
        db = Database(url)
        try:
            planted = plant(db, args.customers, args.planted, random.Random(19))
            with db.session(write=False) as session:
                manager = session.exec(select(Member.id).where(Member.role == Role.MANAGER))
                manager_id = manager.first()
            assert manager_id is not None
            results = {
                "admin": measure(db, seeded.admin_id, args.repeat),
                "manager": measure(db, manager_id, args.repeat),
            }
        finally:
            db.close()
    total = args.customers + len(planted)
    label = f"review queue sqlite {total:,} ({len(planted):,} planted)"
    figures = [Figure(f"{label}: customers", total, "")]
    for who, (seconds, kinds) in results.items():
        target = f"< {TARGET_SECONDS:g} s" if who == "manager" else ""
        best = min(seconds[1:], default=seconds[0])
        figures += [
            Figure(f"{label}: {who} first", seconds[0], "s", target, _ok(who, seconds[0])),
            Figure(f"{label}: {who} again", best, "s", target, _ok(who, best)),
        ]
        figures += [
            Figure(f"{label}: {who} {kind} items", n, "") for kind, n in sorted(kinds.items())
        ]
    report(figures)
    return 0


def _ok(who: str, seconds: float) -> bool | None:
    """The target is a manager's (a team); the admin's whole base is shown, not judged."""
    return seconds < TARGET_SECONDS if who == "manager" else None
