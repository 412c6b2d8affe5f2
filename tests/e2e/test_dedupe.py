"""`/dedupe`: a manager merges a cluster of three with field picks; the search's progress, a
restart mid-way and Not a duplicate; permissions; forged buttons answer like unknown ones."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.emulator import BotApiEmulator
from handlers import progress as live_message
from handlers.callback_data import DedupeAction, pack
from handlers.i18n import Catalogs
from storage.models import Customer, Interaction
from storage.review_items import ReviewRules
from storage.reviews import list_review_queue
from tests.conftest import RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.test_records import audit, callback_answer, customer, in_db, member, seed
from tests.e2e.user import ScriptedUser

PHONE = "+8613800138000"


def set_manager(db_url: str, telegram_id: int, manager_telegram_id: int | None) -> None:
    def update(session: Session) -> None:
        manager = member(session, manager_telegram_id) if manager_telegram_id else None
        member(session, telegram_id).manager_id = manager.id if manager else None

    in_db(db_url, update)


async def team(emu: BotApiEmulator, admin: ScriptedUser, db_url: str) -> dict[str, Any]:
    """Mia manages Li Na; Wang Fang is on no team of hers. Li Na has a cluster of three
    (phone, then email), Wang Fang a customer with the same phone."""
    await admin.send("/help")
    await admin.reply()
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    sales = await join(emu, admin, 2002, "Li Na")
    other = await join(emu, admin, 2004, "Wang Fang")
    set_manager(db_url, 2002, 3003)
    a = seed(db_url, 2002, "Zhang Wei", phones=[PHONE], position="CEO")
    b = seed(db_url, 2002, "Zhang Wei", phones=[PHONE], email="zw@acme.com", position="CTO")
    c = seed(db_url, 2002, "Wei Zhang", email="ZW@acme.com")
    theirs = seed(db_url, 2004, "Secret Zhang", phones=[PHONE])

    def note(session: Session) -> None:
        owner = member(session, 2002).id or 0
        session.add(Interaction(customer_id=c, owner_id=owner, kind="call", created_by_id=owner))

    in_db(db_url, note)
    return {"mia": mia, "sales": sales, "other": other, "ids": (a, b, c), "theirs": theirs}


async def start(user: ScriptedUser, catalogs: Catalogs) -> Any:
    await user.send("/dedupe")
    searching = await user.reply()
    assert searching.text == shown(catalogs, "en", "dedupe.progress", percent=0)
    cluster = await user.reply()  # sent once the search message said what it found
    [found] = [
        m for m in user.emu.bot_messages(user.chat_id) if m.message_id == searching.message_id
    ]
    return found, cluster


async def mias_cluster(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> tuple[dict[str, Any], ScriptedUser, Any]:
    """The team set up, and the first cluster Mia's /dedupe shows."""
    people = await team(emu, admin, db_url)
    _, cluster = await start(people["mia"], catalogs)
    return people, people["mia"], cluster


async def test_manager_merges_a_cluster_of_three_with_field_picks(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    people, mia, cluster = await mias_cluster(emu, admin, catalogs, db_url)
    a, b, c = people["ids"]
    assert cluster.text.splitlines()[0] == shown(
        catalogs, "en", "dedupe.cluster", number=1, total=1
    )
    for customer_id in (a, b, c):
        assert f"#{customer_id} " in cluster.text
    assert "Secret" not in mia.transcript()
    await mia.press(shown(catalogs, "en", "dedupe.button.keep", id=a), message=cluster)
    asked = await mia.edited(cluster)
    assert asked.text == shown(catalogs, "en", "dedupe.pick", field="Name")
    await mia.press(f"#{c}: Wei Zhang", message=asked)
    asked = await mia.edited(asked)
    assert asked.text == shown(catalogs, "en", "dedupe.pick", field="Email")
    await mia.press(f"#{b}: zw@acme.com", message=asked)
    asked = await mia.edited(asked)
    await mia.press(f"#{b}: CTO", message=asked)
    summary = await mia.edited(asked)
    assert summary.text.splitlines()[0] == shown(catalogs, "en", "dedupe.confirm", id=a, count=2)
    assert "Name: Wei Zhang" in summary.text
    await mia.press(shown(catalogs, "en", "dedupe.button.merge"), message=summary)
    merged = await mia.edited(summary)
    assert merged.text == shown(catalogs, "en", "dedupe.merged", id=a, count=2)
    assert (await mia.reply()).text == shown(catalogs, "en", "dedupe.done")
    kept = customer(db_url, a)
    assert (kept.name, kept.email, kept.position) == ("Wei Zhang", "zw@acme.com", "CTO")
    assert customer(db_url, b).deleted_at is not None
    assert customer(db_url, c).deleted_at is not None
    assert customer(db_url, people["theirs"]).deleted_at is None
    notes = in_db(db_url, lambda s: s.exec(select(Interaction.customer_id)).all())
    assert list(notes) == [a]
    actions = [entry.action for entry in audit(db_url, a)]
    assert actions[:3] == ["update", "merge", "merge"]


async def test_skip_leaves_the_cluster_as_it_was(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    people, mia, cluster = await mias_cluster(emu, admin, catalogs, db_url)
    await mia.press(shown(catalogs, "en", "dedupe.button.skip"), message=cluster)
    assert (await mia.reply()).text == shown(catalogs, "en", "dedupe.done")
    alive = in_db(
        db_url, lambda s: s.exec(select(Customer.id).where(Customer.deleted_at.is_(None))).all()
    )
    assert len(alive) == 4


async def test_admin_sees_every_team_in_one_cluster(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    people = await team(emu, admin, db_url)
    _, cluster = await start(admin, catalogs)
    assert f"#{people['theirs']} Secret Zhang" in cluster.text


async def test_salesperson_has_no_dedupe(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    people = await team(emu, admin, db_url)
    sales: ScriptedUser = people["sales"]
    await sales.send("/dedupe")
    assert (await sales.reply()).text == shown(catalogs, "en", "dedupe.not_lead")


async def test_forged_keep_of_another_teams_customer_is_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    people, mia, cluster = await mias_cluster(emu, admin, catalogs, db_url)
    await mia.press_data(pack(DedupeAction("keep", people["theirs"])), cluster)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    emu.state.callback_answers.clear()
    a = people["ids"][0]  # /review's Merge forged on a pair with another team's customer
    await mia.press_data(pack(DedupeAction("pair", a, people["theirs"])), cluster)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert "Secret" not in mia.transcript()
    assert customer(db_url, people["theirs"]).deleted_at is None


async def test_progress_restart_midway_and_not_a_duplicate(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    running_bot: RunningBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The search message shows its percentage before the result; a restart between two
    picks loses nothing, and /dedupe offers to continue; Not a duplicate keeps the cluster
    out of the next search and of /review, audited."""
    monkeypatch.setattr(live_message, "PROGRESS_INTERVAL", 0)
    people = await team(emu, admin, db_url)
    a, b, c = people["ids"]
    d = seed(db_url, 2002, "Chen Jie", phones=["+8613900139000"])
    e = seed(db_url, 2002, "Chen Jie", phones=["+8613900139000"])
    mia: ScriptedUser = people["mia"]
    found, cluster = await start(mia, catalogs)
    assert found.text == shown(catalogs, "en", "dedupe.found", count=2)
    assert found.version >= 2  # a percentage was shown in between
    await mia.press(shown(catalogs, "en", "dedupe.button.keep", id=a), message=cluster)
    asked = await mia.edited(cluster)
    await running_bot.restart()
    await mia.press(f"#{c}: Wei Zhang", message=asked)
    asked = await mia.edited(asked)
    assert asked.text == shown(catalogs, "en", "dedupe.pick", field="Email")
    await mia.send("/dedupe")
    offer = await mia.reply()
    assert offer.text == shown(catalogs, "en", "dedupe.resume", number=1, total=2)
    await mia.press(shown(catalogs, "en", "dedupe.button.resume"), message=offer)
    cluster = await mia.reply()
    assert cluster.text.splitlines()[0] == shown(
        catalogs, "en", "dedupe.cluster", number=1, total=2
    )
    await mia.press(shown(catalogs, "en", "dedupe.button.apart"), message=cluster)
    apart = await mia.edited(cluster)
    assert apart.text == shown(catalogs, "en", "dedupe.apart", ids=f"#{a}, #{b}, #{c}")
    second = await mia.reply()
    assert f"#{d} " in second.text
    await mia.press(shown(catalogs, "en", "dedupe.button.skip"), message=second)
    assert (await mia.reply()).text == shown(catalogs, "en", "dedupe.done")
    found, cluster = await start(mia, catalogs)
    assert found.text == shown(catalogs, "en", "dedupe.found", count=1)
    assert f"#{d} " in cluster.text
    assert f"#{e} " in cluster.text
    assert [entry.action for entry in audit(db_url, c)][0] == "review"

    def queue(session: Session) -> list[Any]:
        rules, today = ReviewRules(required=("name",)), date(2026, 12, 7)
        mias = list_review_queue(session, actor=member(session, 3003), rules=rules, today=today)
        return [(i.key.record_id, i.key.other_id) for i in mias if i.key.kind == "duplicate"]

    # Only a's pair with another team's customer (same phone), and the cluster left.
    assert sorted(in_db(db_url, queue)) == [(a, people["theirs"]), (e, d)]
