"""Import a generated customer spreadsheet end to end and print rows per second and memory.

    python -m bench imports [--rows 100000] [--backend sqlite|postgresql] [--tracemalloc]

The CSV looks like a team's real export from Chinese Excel: GB18030, Chinese headers, Chinese
and English names, phones typed several ways, emails, birthdays in three notations, ~2% bad
rows (no name, bad phone or email) and ~3% repeats of an earlier customer. It goes through
what the chat does: `create_batch`, `review`, `start_batch`, `run_batch` on a fresh database
(SQLite in a temporary folder, or a fresh PostgreSQL schema dropped afterwards). Peak memory
is the process's maximum RSS; `--tracemalloc` adds Python's allocation peak (slower run).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.seed import FIRST, GIVEN, SURNAMES, postgres_schema
from storage import imports
from storage.db import Database
from storage.imports.apply import CHUNK_ROWS
from storage.migrate import upgrade_database
from storage.models import Member, Role

TARGET_ROWS_PER_SECOND = 5000
HEADERS = ["姓名", "手机", "邮箱", "公司", "职位", "地区", "生日", "来源", "标签", "备注"]
CITIES = ("上海", "北京", "深圳", "杭州", "Chengdu", "广州", "Wuhan", "南京")
COMPANIES = ("华为", "Acme Ltd", "腾讯科技", "Globex", "阿里巴巴", "Initech", "小米", "Umbrella")
TITLES = ("经理", "Director", "采购", "CEO", "工程师", "Sales Lead")
SOURCES = ("转介绍", "官网", "展会", "referral", "微信")


def _name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    return f"{rng.choice(FIRST)} {rng.choice(FIRST)}son"


def _phone(i: int, rng: random.Random) -> str:
    digits = f"13{rng.randrange(10)}{i:08d}"
    shape = rng.random()
    if shape < 0.6:
        return digits
    if shape < 0.8:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def _birthday(rng: random.Random) -> str:
    year, month, day = rng.randrange(1950, 2004), rng.randrange(1, 13), rng.randrange(1, 29)
    shape = rng.random()
    if shape < 0.5:
        return f"{year}-{month:02d}-{day:02d}"
    if shape < 0.8:
        return f"{day:02d}/{month:02d}/{year}"
    return "" if shape < 0.9 else f"{year}年{month}月{day}日"


def generate(rows: int, seed: int = 7) -> bytes:
    """The CSV bytes (GB18030) of `rows` customer rows."""
    rng = random.Random(seed)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    written: list[list[str]] = []
    for i in range(rows):
        if written and rng.random() < 0.03:
            row = list(rng.choice(written))
            row[3] = rng.choice(COMPANIES)  # same person, changed company
        else:
            row = [
                _name(rng),
                _phone(i, rng),
                f"user{i}@example{rng.randrange(200)}.com" if rng.random() < 0.7 else "",
                rng.choice(COMPANIES),
                rng.choice(TITLES),
                rng.choice(CITIES),
                _birthday(rng),
                rng.choice(SOURCES),
                rng.choice(("VIP", "重点 回访", "", "expo2025")),
                "需要报价" if rng.random() < 0.2 else "",
            ]
            bad = rng.random()
            if bad < 0.007:
                row[0] = ""
            elif bad < 0.014:
                row[1] = "12345"
            elif bad < 0.02:
                row[2] = "not-an-email"
            written.append(row)
        writer.writerow(row)
    return buffer.getvalue().encode("gb18030")


@contextmanager
def database(backend: str) -> Iterator[Database]:
    if backend == "postgresql":
        with postgres_schema() as url:
            db = Database(url)
            try:
                yield db
            finally:
                db.close()
        return
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        try:
            yield db
        finally:
            db.close()


def line(label: str, value: str, target: str = "") -> None:
    sys.stdout.write(f"{label:<24} {value:>16}   {target}\n")


def run(rows: int, backend: str) -> int:
    content = generate(rows)
    with database(backend) as db:
        upgrade_database(db.engine)

        def add_admin(session: object) -> Member:
            member = Member(telegram_id=1, display_name="Bench admin", role=Role.ADMIN)
            session.add(member)  # type: ignore[attr-defined]
            session.flush()  # type: ignore[attr-defined]
            return member

        admin = db.run_sync(add_admin)  # type: ignore[arg-type]
        assert admin.id is not None
        started = time.perf_counter()
        batch = db.run_sync(
            imports.create_batch,
            actor=admin,
            owner_id=admin.id,
            chat_id=None,
            file_name="customers.csv",
            content=content,
            table=imports.read_sheet(content, "customers.csv", max_rows=rows + 1),
            region="CN",
        )
        assert batch.id is not None
        created = time.perf_counter()
        review = db.read_sync(imports.review, actor=admin, batch_id=batch.id)
        reviewed = time.perf_counter()
        table = db.read_sync(imports.batch_sheet, actor=admin, batch_id=batch.id)
        db.run_sync(imports.start_batch, actor=admin, batch_id=batch.id, table=table)
        chunk_ends: list[float] = [time.perf_counter()]
        cpu = time.process_time()
        done = imports.run_batch(
            db,
            batch_id=batch.id,
            worker="bench",
            progress=lambda _batch: chunk_ends.append(time.perf_counter()),
        )
        run_cpu = time.process_time() - cpu
        finished = time.perf_counter()
    run_seconds = finished - reviewed
    rate = rows / run_seconds
    line("backend", backend)
    line("rows", f"{rows:,}", f"file {len(content) / 1e6:.1f} MB, GB18030")
    line("read + store file", f"{created - started:.2f} s")
    line("review (counts)", f"{reviewed - created:.2f} s")
    line("import run", f"{run_seconds:.2f} s")
    line("run rows/s", f"{rate:,.0f}", f"target: >= {TARGET_ROWS_PER_SECOND:,} rows/s (SQLite)")
    line("end-to-end rows/s", f"{rows / (finished - started):,.0f}")
    line(
        "run CPU",
        f"{run_cpu:.2f} s",
        f"{rows / run_cpu:,.0f} rows per CPU-second (both threads; the rate on an idle core)",
    )
    longest = max(b - a for a, b in zip(chunk_ends, chunk_ends[1:], strict=False))
    line(
        "longest chunk",
        f"{longest * 1000:,.0f} ms",
        f"{CHUNK_ROWS:,} rows a chunk; another member's write waits at most about one chunk",
    )
    line(
        "outcome",
        done.status,
        f"created {done.created_count:,}, updated {done.updated_count:,}, "
        f"skipped {done.skipped_count:,}, rejected {done.rejected_count:,}",
    )
    line(
        "review said",
        "",
        f"rejected {review.rejected:,}, in file {review.duplicates_in_file:,}, "
        f"in db {review.duplicates_in_db:,}",
    )
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line("peak RSS", f"{peak_rss:,.0f} MB")
    if tracemalloc.is_tracing():
        line("tracemalloc peak", f"{tracemalloc.get_traced_memory()[1] / 1e6:,.0f} MB")
    return 0 if done.status == imports.BatchStatus.DONE else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace allocations")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.tracemalloc:
        tracemalloc.start()
    return run(args.rows, args.backend)


if __name__ == "__main__":
    sys.exit(main())
