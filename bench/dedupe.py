"""Duplicate clusters benchmark: all clusters of a base of N customers, with planted duplicates.

    python -m bench dedupe --customers 1000000 [--planted 0.02]

The base comes from `bench.seed` (cached SQLite file, a private copy per run). Then a share of
it is copied back in as planted duplicates, one per original, of several kinds (below), the
way they arrive in a real CRM. `find_clusters` runs as the admin over everything; printed:
wall time (target < 60 s), recall of the planted pairs (target >= 99 %), and the false
positives: clusters holding no planted pair, which in this synthetic base are mostly real
coincidences (two random customers with the same random phone, or the same common name at
the same one of ~6,800 companies).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.figures import Figure, record
from bench.seed import insert_rows, seeded_database
from storage.db import Database
from storage.models import Member
from storage.quality.clusters import find_clusters
from storage.search.index import pinyin_keys

TARGET_SECONDS = 60.0
TARGET_RECALL = 0.99
# Characters of the seeded names and a homophone each (same pinyin, another character).
_PAIRS = (
    "张章 王汪 李理 陈沉 杨阳 黄皇 周舟 徐许 林琳 伟玮 芳方 娜纳 敏民 静晶 丽莉 军君 洋阳 勇永"
    " 艳燕 杰洁 涛韬 明鸣 平萍 刚钢 华花 兰蓝 红宏 鹏朋 飞菲 文雯 辉晖 斌彬 浩皓 凯楷 健建"
    " 俊骏 帆凡 宁凝 龙隆 欣新 佳家 怡宜 晨辰 婷庭 颖影 慧惠 超潮 霞侠 宇玉 磊蕾"
)
HOMOPHONES = {a: b for pair in _PAIRS.split() for a, b in (pair, pair[::-1])}
SUFFIXES = (" Co., Ltd.", " Inc.", " LLC", " 有限公司", " Ltd")


def _typo(name: str, rng: random.Random) -> str:
    """One slip of the keyboard in a Latin name: a doubled, dropped or swapped letter."""
    i = rng.randrange(1, len(name) - 1)
    return rng.choice((name[:i] + name[i] + name[i:], name[:i] + name[i + 1 :]))


def _homophone(name: str, rng: random.Random) -> str | None:
    positions = [i for i, ch in enumerate(name) if ch in HOMOPHONES]
    if not positions:
        return None
    i = rng.choice(positions)
    changed = name[:i] + HOMOPHONES[name[i]] + name[i + 1 :]
    return changed if pinyin_keys(changed)[0] == pinyin_keys(name)[0] else None


# Each kind makes a duplicate of an original row (None: this original does not suit it).
KINDS: dict[str, Callable[[dict[str, Any], random.Random], dict[str, Any] | None]] = {
    "same phone, name retyped": lambda row, _rng: {
        **row,
        "name": row["name"].upper() if row["name"].isascii() else row["name"] + " ",
        "email": None,
        "company": None,
    },
    "same email, other case": lambda row, _rng: (
        {
            **row,
            "email": row["email"].upper(),
            "phone": None,
        }
        if row["email"]
        else None
    ),
    "name typo, company suffix": lambda row, rng: (
        {
            **row,
            "name": _typo(row["name"], rng),
            "company": row["company"] + rng.choice(SUFFIXES),
            "email": None,
            "phone": None,
        }
        if row["name"].isascii()
        else None
    ),
    "homophone, same company": lambda row, rng: (
        {**row, "name": changed, "email": None, "phone": None}
        if (changed := _homophone(row["name"], rng))
        else None
    ),
    "name spacing, company case": lambda row, _rng: {
        **row,
        "name": row["name"].replace(" ", "") if " " in row["name"] else " ".join(row["name"]),
        "company": row["company"].upper(),
        "email": None,
        "phone": None,
    },
}


def plant(db: Database, size: int, share: float, rng: random.Random) -> dict[int, int]:
    """Copy `share` of the base back in as duplicates; {duplicate id: original id}."""
    wanted = int(size * share)
    with db.engine.connect() as conn:
        originals = [
            dict(row._mapping)
            for row in conn.execute(
                text(
                    "SELECT c.id, c.owner_id, c.name, c.email, c.company, c.tags,"
                    " c.created_at AS now, p.e164 AS phone FROM customer c"
                    " JOIN customer_phone p ON p.customer_id = c.id"
                    " WHERE c.id IN (SELECT id FROM customer ORDER BY random() LIMIT :n)"
                ),
                {"n": wanted * 2},
            )
        ]
    planted: dict[int, int] = {}
    rows: list[dict[str, Any]] = []
    next_id = size + 1_000
    kinds = list(KINDS.values())
    for original in originals:
        if len(rows) == wanted:
            break
        duplicate = rng.choice(kinds)(original, rng)
        if duplicate is None:
            continue
        if duplicate["phone"] is None:  # a number of its own that no one else has
            duplicate["phone"] = f"+86139{next_id:08d}"
        duplicate.update(id=next_id, created_by_id=original["owner_id"])
        planted[next_id] = original["id"]
        rows.append(duplicate)
        next_id += 1
    for start in range(0, len(rows), 20_000):
        insert_rows(db, rows[start : start + 20_000])
    return planted


def measure(db: Database, admin_id: int, planted: dict[int, int]) -> dict[str, Any]:
    with db.session(write=False) as session:
        admin = session.get_one(Member, admin_id)
        started = time.perf_counter()
        clusters = find_clusters(session, actor=admin)
        seconds = time.perf_counter() - started
    cluster_of = {cid: i for i, c in enumerate(clusters) for cid in c.customer_ids}
    found = sum(
        1
        for dup, orig in planted.items()
        if dup in cluster_of and cluster_of[dup] == cluster_of.get(orig)
    )
    with_planted = {cluster_of[dup] for dup in planted if dup in cluster_of}
    why = Counter(
        "+".join(sorted(c.reasons)) for i, c in enumerate(clusters) if i not in with_planted
    )
    flagged = sum(len(c.customer_ids) for c in clusters)
    involved = {cid for pair in planted.items() for cid in pair}
    return {
        "seconds": seconds,
        "clusters": len(clusters),
        "recall": found / max(len(planted), 1),
        "false_clusters": len(clusters) - len(with_planted),
        "false_customers": sum(1 for cid in cluster_of if cid not in involved),
        "flagged": flagged,
        "false_reasons": ", ".join(f"{reason} {n:,}" for reason, n in why.most_common()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dedupe", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--planted", type=float, default=0.02)
    args = parser.parse_args(argv)
    rng = random.Random(19)
    with (
        tempfile.TemporaryDirectory() as folder,
        seeded_database("sqlite", args.customers, Path(folder)) as (url, seeded),
    ):
        db = Database(url)
        try:
            planted = plant(db, args.customers, args.planted, rng)
            result = measure(db, seeded.admin_id, planted)
        finally:
            db.close()
    total = args.customers + len(planted)
    sys.stdout.write(
        f"sqlite, {total:,} customers ({len(planted):,} planted duplicates)\n"
        f"wall time      {result['seconds']:.1f} s (target < {TARGET_SECONDS:.0f} s)\n"
        f"recall         {result['recall']:.2%} of planted pairs"
        f" (target >= {TARGET_RECALL:.0%})\n"
        f"clusters       {result['clusters']:,} ({result['flagged']:,} customers)\n"
        f"false positive {result['false_clusters']:,} clusters without a planted pair"
        f" ({result['false_clusters'] / max(result['clusters'], 1):.2%} of clusters;"
        f" {result['false_customers']:,} customers, "
        f"{result['false_customers'] / total:.3%} of the base)\n"
        f"false by why   {result['false_reasons'] or '-'}\n"
    )
    label = f"dedupe sqlite {total:,} ({len(planted):,} planted)"
    seconds, recall = result["seconds"], 100 * result["recall"]
    record(
        [
            Figure(
                f"{label}: wall time",
                seconds,
                "s",
                f"< {TARGET_SECONDS:g} s",
                seconds < TARGET_SECONDS,
            ),
            Figure(
                f"{label}: recall",
                recall,
                "%",
                f">= {TARGET_RECALL:.0%}",
                recall >= 100 * TARGET_RECALL,
            ),
            Figure(f"{label}: clusters", result["clusters"], ""),
            Figure(f"{label}: clusters without a planted pair", result["false_clusters"], ""),
            Figure(
                f"{label}: customers falsely flagged",
                100 * result["false_customers"] / total,
                "% of the base",
            ),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
