"""The gate's member cache: a hit for a few seconds, emptied by any member write."""

from __future__ import annotations

import threading

from sqlmodel import Session

from storage.db import Database
from storage.member_cache import TTL_S, MemberCache
from storage.members import get_member_by_telegram_id, set_reachable
from storage.models import Member
from tests.factories import make_member


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def a_member(db: Database) -> Member:
    return db.run_sync(lambda session: make_member(session))


def cached_read(db: Database, cache: MemberCache, telegram_id: int) -> Member | None:
    generation = cache.generation
    member = db.read_sync(get_member_by_telegram_id, telegram_id=telegram_id)
    cache.put(telegram_id, member, generation)
    return member


def test_a_member_is_kept_for_the_ttl_then_read_again(db: Database) -> None:
    clock = Clock()
    cache = MemberCache(db.engine, clock=clock)
    member = a_member(db)
    cached_read(db, cache, member.telegram_id)
    assert cache.get(member.telegram_id) is not None
    clock.now += TTL_S + 0.1
    assert cache.get(member.telegram_id) is None


def test_a_stranger_is_not_kept(db: Database) -> None:
    cache = MemberCache(db.engine)
    cached_read(db, cache, 424242)
    assert cache.get(424242) is None


def test_a_member_write_through_the_engine_empties_it(db: Database) -> None:
    cache = MemberCache(db.engine)
    member, other = a_member(db), a_member(db)
    cached_read(db, cache, member.telegram_id)
    cached_read(db, cache, other.telegram_id)
    db.run_sync(set_reachable, member_id=member.id, reachable=False)
    assert cache.get(member.telegram_id) is None
    assert cache.get(other.telegram_id) is None


def test_a_read_overtaken_by_a_member_write_is_not_kept(db: Database) -> None:
    """The reader took the generation, then a write committed before it put its row."""
    cache = MemberCache(db.engine)
    member = a_member(db)
    generation = cache.generation
    stale = db.read_sync(get_member_by_telegram_id, telegram_id=member.telegram_id)
    db.run_sync(set_reachable, member_id=member.id, reachable=False)
    cache.put(member.telegram_id, stale, generation)
    assert cache.get(member.telegram_id) is None


def test_a_read_during_an_uncommitted_member_write_is_not_kept(db: Database) -> None:
    """The write's statement ran before the reader took the generation, but it committed
    only after the reader read the old row: the commit empties the cache again."""
    cache = MemberCache(db.engine)
    member = a_member(db)
    read: list[Member | None] = []
    with db.session() as session:
        session.execute(
            Member.__table__.update()  # type: ignore[attr-defined]
            .where(Member.__table__.c.id == member.id)  # type: ignore[attr-defined]
            .values(display_name="Renamed")
        )
        generation = cache.generation
        reader = threading.Thread(
            target=lambda: read.append(
                db.read_sync(get_member_by_telegram_id, telegram_id=member.telegram_id)
            )
        )
        reader.start()
        reader.join()
    cache.put(member.telegram_id, read[0], generation)
    assert read[0] is not None
    assert read[0].display_name != "Renamed", "the reader saw the committed row"
    assert cache.get(member.telegram_id) is None


def test_writes_elsewhere_leave_it_alone(db: Database) -> None:
    """Another engine (another instance, a `crm-bot` command) is what the TTL is for."""
    cache = MemberCache(db.engine)
    member = a_member(db)
    cached_read(db, cache, member.telegram_id)
    elsewhere = Database(db.url)
    try:
        with Session(elsewhere.engine) as session, session.begin():
            session.get_one(Member, member.id).display_name = "Changed elsewhere"
    finally:
        elsewhere.close()
    assert cache.get(member.telegram_id) is not None
