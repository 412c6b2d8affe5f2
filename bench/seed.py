"""Bulk seeding for the benchmarks: members and N customers, the way production stores them.

    python -m bench seed --customers 1000000 [--backend sqlite|postgresql]

Migrations run first (`storage.migrate`), then customers and phones go in with Core
executemany in large transactions, through the same triggers as production (so the search
keys and the full-text index are built the real way); pinyin is added in bulk too, as
`index_customer` would. The members: one admin, 10 managers and 200 salespeople who own the
customers. A seeded SQLite file is cached under the temporary folder, keyed by size and
schema revision, so reruns at 1,000,000 customers start in seconds; each run works on a copy.
PostgreSQL gets a fresh schema on CRM_BENCH_POSTGRES_URL (default: the test server), dropped
afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from storage.db import Database
from storage.migrate import head_revision, upgrade_database
from storage.models import CustomerPhone, Member, Role, spaced
from storage.quality.company import normalise_company
from storage.search.index import pinyin_keys

POSTGRES_URL = os.environ.get(
    "CRM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CACHE_DIR = Path(os.environ.get("CRM_BENCH_CACHE") or Path(tempfile.gettempdir()) / "crm-bench")
ADMIN_TELEGRAM_ID = 1
MANAGER_TELEGRAM_IDS = range(10, 20)
SALES_TELEGRAM_IDS = range(100, 300)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞建国志文辉斌宇浩凯健"
    "俊帆帅旭宁龙林欣佳怡晨雪婷琳颖倩慧"
)
FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Ada",
    "Grace",
    "Alan",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Lovelace",
    "Hopper",
    "Turing",
]
WORDS = [
    "Acme",
    "Golden",
    "Dragon",
    "Pacific",
    "Orient",
    "Sun",
    "Star",
    "Blue",
    "River",
    "Mountain",
    "Harbor",
    "Phoenix",
    "Jade",
    "Silver",
    "Eagle",
    "Lotus",
    "Summit",
    "Crystal",
    "Unity",
    "Pioneer",
    "Bright",
    "Ocean",
    "Maple",
    "Cedar",
    "Nova",
    "Apex",
]
KINDS = [
    "Trading",
    "Logistics",
    "Foods",
    "Tech",
    "Textiles",
    "Motors",
    "Pharma",
    "Electronics",
    "Retail",
    "Holdings",
]
TAGS = ("vip", "wholesale", "retail", "大客户", "export", "new")
BATCH = 20_000
SAMPLES_PER_BATCH = 50
SAMPLE_KEYS = ("id", "owner_id", "name", "email", "company", "phone", "contract", "order")
# Every CONTRACT_EVERY-th customer has a contract, every ORDER_EVERY-th an order of two lines
# (at 1,000,000 customers: 100,000 contracts and 250,000 orders), so the card and /find
# (which looks up contract and order numbers too) are timed with them. The cache key names
# what a seeded file holds: company keys (v2) and contracts and orders.
CONTRACT_EVERY, ORDER_EVERY = 10, 4
SEED_VERSION = "v2-orders"


@dataclass
class Seeded:
    """What a benchmark needs to know about the seeded data: who is who, and sample rows."""

    customers: int
    admin_id: int
    sales: list[tuple[int, int]]  # (member id, telegram id), one per salesperson
    samples: list[dict[str, Any]]  # some customers as seeded: SAMPLE_KEYS
    seconds: float  # how long seeding took (when it was done, for a cached file)

    @property
    def sales_id(self) -> int:
        return self.sales[0][0]


def _name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        return rng.choice(SURNAMES) + given
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _rows(size: int, owners: list[int], rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    batch: list[dict[str, Any]] = []
    for i in range(1, size + 1):
        owner = rng.choice(owners)
        batch.append(
            {
                "id": i,
                "owner_id": owner,
                "created_by_id": owner,
                "name": _name(rng),
                "email": f"user{i}@example{rng.randrange(500)}.com"
                if rng.random() < 0.5
                else None,
                "company": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)}",
                "tags": f'["{rng.choice(TAGS)}"]',
                "phone": f"+86138{rng.randrange(10**8):08d}",
                "contract": f"HT-{i:07d}" if i % CONTRACT_EVERY == 0 else None,
                "order": f"DD-{i:07d}" if i % ORDER_EVERY == 0 else None,
                "now": now,
                "today": now.date(),
                "ends": date(now.year + 2, 12, 31),  # in force: no status pass moves it
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _members(db: Database) -> tuple[int, list[tuple[int, int]]]:
    with db.session() as session:
        admin = Member(telegram_id=ADMIN_TELEGRAM_ID, display_name="Admin", role=Role.ADMIN)
        managers = [
            Member(telegram_id=tg, display_name=f"M{tg}", role=Role.MANAGER)
            for tg in MANAGER_TELEGRAM_IDS
        ]
        session.add_all([admin, *managers])
        session.flush()
        sales = [
            Member(
                telegram_id=tg,
                display_name=f"S{tg}",
                role=Role.SALES,
                manager_id=managers[i % len(managers)].id,
            )
            for i, tg in enumerate(SALES_TELEGRAM_IDS)
        ]
        session.add_all(sales)
        session.flush()
        assert admin.id is not None
        return admin.id, [(s.id or 0, s.telegram_id) for s in sales]


def fill(db: Database, size: int, rng: random.Random) -> Seeded:
    """Members, then `size` customers with one phone each; the schema must be migrated."""
    started = time.perf_counter()
    admin_id, sales = _members(db)
    owners = [member_id for member_id, _ in sales]
    samples: list[dict[str, Any]] = []
    for batch in _rows(size, owners, rng):
        insert_rows(db, batch)
        for row in rng.sample(batch, min(SAMPLES_PER_BATCH, len(batch))):
            samples.append({key: row[key] for key in SAMPLE_KEYS})
    if size:  # keep the id sequence ahead of the explicit ids (new customers get the next)
        _advance_sequence(db, size)
    with db.engine.begin() as conn:  # the seeded tables only: a bare ANALYZE on PostgreSQL
        for table in SQLModel.metadata.sorted_tables:  # takes every schema's (lock table full)
            conn.execute(text(f'ANALYZE "{table.name}"'))
    return Seeded(size, admin_id, sales, samples, time.perf_counter() - started)


_INSERT_CUSTOMER = text(
    "INSERT INTO customer (id, owner_id, created_by_id, name, email, company, tags,"
    " created_at, updated_at) VALUES (:id, :owner_id, :created_by_id, :name, :email,"
    " :company, :tags, :now, :now)"
)
_INSERT_PHONE = text(
    f"INSERT INTO {CustomerPhone.__tablename__} (customer_id, e164) VALUES (:id, :phone)"
)
_INSERT_CONTRACT = text(
    "INSERT INTO contract (id, customer_id, owner_id, created_by_id, number, title, title_key,"
    " amount, currency, signed_on, starts_on, ends_on, status, created_at, updated_at)"
    " VALUES (:id, :id, :owner_id, :owner_id, :contract, :company, :title_key, 120000, 'CNY',"
    " :today, :today, :ends, 'active', :now, :now)"
)
_INSERT_ORDER = text(
    "INSERT INTO sales_order (id, customer_id, owner_id, created_by_id, number, currency,"
    " ordered_on, status, total, created_at, updated_at)"
    " VALUES (:id, :id, :owner_id, :owner_id, :order, 'CNY', :today, 'paid', 60300, :now, :now)"
)
_INSERT_LINES = text(
    "INSERT INTO order_line (order_id, position, product, quantity, unit_price, amount)"
    " VALUES (:id, 1, 'X2', 50, 1200, 60000), (:id, 2, 'cable', 10, 30, 300)"
)
_INSERT_ORDER_STATUS = text(
    "INSERT INTO order_status_change (order_id, to_status, changed_by_id, changed_at)"
    " VALUES (:id, 'paid', :owner_id, :now)"
)
_SET_KEYS = text(
    "UPDATE customer_search SET pinyin_key = :full, initials = :initials,"
    " company_key = :company_key WHERE customer_id = :id"
)


def insert_rows(db: Database, batch: list[dict[str, Any]]) -> None:
    """Customers shaped like `_rows` (explicit ids, one phone each) in one transaction, with
    their pinyin and company keys as `index_customer` would set them, and their contracts and
    orders (ids those of their customers)."""
    keys = []
    for row in batch:
        full, initials = pinyin_keys(row["name"])
        company = normalise_company(row["company"]) if row["company"] else None
        if full or company is not None:
            keys.append(
                {"id": row["id"], "full": full, "initials": initials, "company_key": company}
            )
    contracts = [
        {**row, "title_key": spaced(row["company"])} for row in batch if row.get("contract")
    ]
    orders = [row for row in batch if row.get("order")]
    with db.engine.begin() as conn:
        conn.execute(_INSERT_CUSTOMER, batch)
        conn.execute(_INSERT_PHONE, batch)
        if keys:
            conn.execute(_SET_KEYS, keys)
        for statement, rows in (
            (_INSERT_CONTRACT, contracts),
            (_INSERT_ORDER, orders),
            (_INSERT_LINES, orders),
            (_INSERT_ORDER_STATUS, orders),
        ):
            if rows:
                conn.execute(statement, rows)


def _advance_sequence(db: Database, size: int) -> None:
    if db.is_sqlite:
        return  # INTEGER PRIMARY KEY takes max(id) + 1
    with db.engine.begin() as conn:
        for table in ("customer", "contract", "sales_order"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {size})"))


def _cache_paths(size: int) -> tuple[Path, Path]:
    stem = CACHE_DIR / f"customers-{size}-{head_revision()}-{SEED_VERSION}"
    return stem.with_suffix(".sqlite3"), stem.with_suffix(".json")


def cached_sqlite(size: int, workdir: Path) -> tuple[str, Seeded]:
    """A database URL for a private copy of the cached SQLite file with `size` customers."""
    db_file, info_file = _cache_paths(size)
    if not (db_file.exists() and info_file.exists()):
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        building = db_file.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
        db = Database(f"sqlite:///{building}")
        try:
            upgrade_database(db.engine)
            seeded = fill(db, size, random.Random(size))
            with db.engine.begin() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        finally:
            db.close()
        # Each file appears whole, by a rename, the database last: a run seeding the same size
        # at the same time never reads a half-written file, nor takes a half-built one.
        info = building.with_suffix(".json.tmp")
        info.write_text(json.dumps(asdict(seeded)))
        info.replace(info_file)
        building.replace(db_file)
    raw = json.loads(info_file.read_text())
    seeded = Seeded(**{**raw, "sales": [tuple(pair) for pair in raw["sales"]]})
    copy = workdir / f"bench-{uuid.uuid4().hex[:6]}.sqlite3"
    shutil.copyfile(db_file, copy)
    os.sync()  # the copy's ~700 MB written back now, not while the run measures
    return f"sqlite:///{copy}", seeded


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL whose search path is a fresh schema (plus the one holding pg_trgm), dropped after."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        extension_schema = conn.scalar(
            text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
    path = ",".join(filter(None, (schema, extension_schema)))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{path}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def seeded_database(backend: str, size: int, workdir: Path) -> Iterator[tuple[str, Seeded]]:
    """(database URL, what was seeded) for `size` customers on `backend`, gone afterwards."""
    if backend == "sqlite":
        url, seeded = cached_sqlite(size, workdir)
        try:
            yield url, seeded
        finally:
            for leftover in workdir.glob(Path(url.removeprefix("sqlite:///")).name + "*"):
                leftover.unlink()
        return
    with postgres_schema() as url:
        db = Database(url)
        try:
            upgrade_database(db.engine)
            seeded = fill(db, size, random.Random(size))
        finally:
            db.close()
        yield url, seeded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench seed", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as folder,
        seeded_database(args.backend, args.customers, Path(folder)) as (_url, seeded),
    ):
        ready = time.perf_counter() - started
    sys.stdout.write(
        f"seeded {seeded.customers:,} customers on {args.backend} in {seeded.seconds:.1f} s"
        f" ({seeded.customers / max(seeded.seconds, 1e-9):,.0f} rows/s); ready in {ready:.1f} s"
        f"{' (from the cache)' if ready < seeded.seconds / 2 else ''}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
