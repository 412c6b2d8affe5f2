"""The owner's side of /review end to end: a salesperson's open items under /today (with the
manager's comment once sent back, in English and Chinese), and the count of new items in the
manager's daily digest."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from bot import digest_jobs
from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Customer, Member
from storage.review_items import ReviewKey, ReviewRules
from storage.reviews import decide_review_item
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, pinned, shown
from tests.e2e.test_digest import IN_PERIOD, MANAGER_ID, NOW, seed_team
from tests.e2e.test_records import in_db, member, seed
from tests.e2e.user import ScriptedUser
from tests.factories import pk

pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def bot_sections() -> dict[str, Any]:
    """This team requires a phone (`[quality] required`): a customer without one is an item."""
    return {"quality": QualityConfig(required={"customer": ["name", "phone"]})}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_today_lists_the_owners_open_items_with_the_managers_comment(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
) -> None:
    lee = await join(emu, admin, 3004, "Lee", language_code=lang)
    customer_id = seed(db_url, 3004, "Wang Fang")
    seed(db_url, 3004, "Complete", phones=["+8613800138000"])

    def send_back(session: Session) -> None:
        decide_review_item(
            session,
            actor=member(session, ADMIN_ID),
            rules=ReviewRules(),
            today=NOW.date(),
            key=ReviewKey("missing", "customer", customer_id),
            decision="sent_back",
            comment="phone please",
        )

    in_db(db_url, send_back)
    await lee.send("/today")
    _agenda, items = await lee.replies(2)
    assert shown(catalogs, lang, "review.today.title", count=1) in items.text
    assert "Wang Fang" in items.text
    assert "Complete" not in items.text
    assert shown(catalogs, lang, "review.today.comment", comment="phone please") in items.text
    phones = shown(catalogs, lang, "customer.field.phones")
    fill = shown(catalogs, lang, "review.button.fill", field=phones)
    assert items.button_labels == [f"1. {fill}"]
    await lee.press(f"1. {fill}", message=items)
    _intro, _title, question = await lee.replies(3)
    assert phones in _intro.text
    await admin.send("/today")
    await admin.reply()  # an admin's /today has no such list: they have /review
    await admin.send("/help")
    assert "Wang Fang" not in (await admin.reply()).text


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_digest_counts_the_new_review_items(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs, lang: str
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia", language_code=lang)

    def seed(session: Session) -> None:
        seed_team(session, lang)
        li = session.exec(select(Member).where(Member.display_name == "Li")).one()
        session.add(
            Customer(
                owner_id=pk(li),
                created_by_id=pk(li),
                name="No phone",
                created_at=IN_PERIOD,
                updated_at=IN_PERIOD,
            )
        )

    database.run_sync(seed)
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 1
    text = (await manager.reply()).text
    assert shown(catalogs, lang, "review.digest", count=1) in text
