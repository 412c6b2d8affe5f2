"""Search benchmark: fills N customers and prints p50/p95 of `/find` queries per backend.

    python -m bench.search --sizes 100000,1000000 --backends sqlite,postgresql --queries 200

Rows go in through the same triggers as production (so the search keys and the full-text
index are built the real way), in bulk with executemany; pinyin is added in bulk too, as
`index_customer` would. SQLite uses a fresh file in a temporary folder; PostgreSQL a fresh
schema on CRM_BENCH_POSTGRES_URL (default: the test server), dropped afterwards.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import CustomerPhone, Member, Role
from storage.search import find_customers
from storage.search_index import pinyin_keys

TARGET_MS = 50.0
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
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


def _name(rng: random.Random) -> str:
    if rng.random() < 0.6:
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
        return rng.choice(SURNAMES) + given
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def _rows(size: int, owners: list[int], rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    batch: list[dict[str, Any]] = []
    for i in range(1, size + 1):
        name = _name(rng)
        owner = rng.choice(owners)
        batch.append(
            {
                "id": i,
                "owner_id": owner,
                "created_by_id": owner,
                "name": name,
                "email": f"user{i}@example{rng.randrange(500)}.com"
                if rng.random() < 0.5
                else None,
                "company": f"{rng.choice(WORDS)} {rng.choice(WORDS)} {rng.choice(KINDS)}",
                "tags": f'["{rng.choice(TAGS)}"]',
                "phone": f"+86138{rng.randrange(10**8):08d}",
                "now": now,
            }
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(db: Database, size: int, rng: random.Random) -> tuple[int, int, list[dict[str, Any]]]:
    """Members (1 admin, 10 managers, 200 sales) and `size` customers with one phone each."""
    with db.session() as session:
        admin = Member(telegram_id=1, display_name="Admin", role=Role.ADMIN)
        session.add(admin)
        session.flush()
        managers = [
            Member(telegram_id=10 + i, display_name=f"M{i}", role=Role.MANAGER) for i in range(10)
        ]
        session.add_all(managers)
        session.flush()
        sales = [
            Member(
                telegram_id=100 + i,
                display_name=f"S{i}",
                role=Role.SALES,
                manager_id=managers[i % 10].id,
            )
            for i in range(200)
        ]
        session.add_all(sales)
        session.flush()
        admin_id, sales_id = admin.id, sales[0].id
        owners = [s.id for s in sales if s.id is not None]
    samples: list[dict[str, Any]] = []
    insert_customer = text(
        "INSERT INTO customer (id, owner_id, created_by_id, name, email, company, tags,"
        " created_at, updated_at) VALUES (:id, :owner_id, :created_by_id, :name, :email,"
        " :company, :tags, :now, :now)"
    )
    insert_phone = text(
        f"INSERT INTO {CustomerPhone.__tablename__} (customer_id, e164) VALUES (:id, :phone)"
    )
    set_pinyin = text(
        "UPDATE customer_search SET pinyin_key = :full, initials = :initials"
        " WHERE customer_id = :id"
    )
    for batch in _rows(size, owners, rng):
        pinyin = []
        for row in batch:
            full, initials = pinyin_keys(row["name"])
            if full:
                pinyin.append({"id": row["id"], "full": full, "initials": initials})
        with db.engine.begin() as conn:
            conn.execute(insert_customer, batch)
            conn.execute(insert_phone, batch)
            if pinyin:
                conn.execute(set_pinyin, pinyin)
        samples += rng.sample(batch, min(50, len(batch)))
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    assert admin_id is not None
    assert sales_id is not None
    return admin_id, sales_id, samples


QUERIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "name": lambda row: row["name"],
    "pinyin": lambda row: pinyin_keys(row["name"])[0] or row["name"].split()[-1],
    "phone-suffix": lambda row: row["phone"][-4:],
    "company": lambda row: row["company"].split()[0] + " " + row["company"].split()[1],
}


def measure(
    db: Database, actor_id: int, samples: list[dict[str, Any]], n: int
) -> dict[str, list[float]]:
    with db.session(write=False) as session:
        actor = session.get(Member, actor_id)
    assert actor is not None
    rng = random.Random(7)
    timings: dict[str, list[float]] = {}
    for kind, make in QUERIES.items():
        chinese = [s for s in samples if pinyin_keys(s["name"])[0]]
        pool = chinese if kind == "pinyin" else samples
        times = []
        for _ in range(n):
            query = make(rng.choice(pool))
            start = time.perf_counter()
            db.read_sync(find_customers, actor=actor, query=query, limit=9)
            times.append((time.perf_counter() - start) * 1000)
        timings[kind] = times
    return timings


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[Database]:
    if backend == "sqlite":
        db = Database(f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.sqlite3'}")
        try:
            yield db
        finally:
            db.close()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.close()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(size: int, backend: str, n: int, workdir: Path) -> None:
    with database(backend, workdir) as db:
        upgrade_database(db.engine)
        started = time.perf_counter()
        admin_id, sales_id, samples = fill(db, size, random.Random(size))
        print(f"\n{backend}, {size:,} customers (filled in {time.perf_counter() - started:.0f} s)")  # noqa: T201
        for who, actor_id in (("admin", admin_id), ("sales", sales_id)):
            for kind, times in measure(db, actor_id, samples, n).items():
                p50 = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[-1]
                verdict = "ok" if p95 < TARGET_MS else "OVER"
                print(  # noqa: T201
                    f"  {who:5} {kind:12} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms"
                    f"   (target p95 < {TARGET_MS:.0f} ms: {verdict})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            for backend in args.backends.split(","):
                run(size, backend, args.queries, Path(tmp))


if __name__ == "__main__":
    main()
