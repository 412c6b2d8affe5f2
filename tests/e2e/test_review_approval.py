"""Approval mode (`quality.approve_new = true`) end to end: each customer a salesperson enters
through the chat waits in the manager's /review until approved, and stays approved when it is
edited afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.customer_changes import update_customer
from tests.conftest import RunningBot
from tests.e2e.helpers import shown
from tests.e2e.test_records import in_db, member, seed
from tests.e2e.test_review import Team, decisions, make_team
from tests.e2e.user import ScriptedUser

pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
async def running_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    bot = RunningBot(emu, db_url, quality=QualityConfig(approve_new=True))
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors, f"the bot's error handler was reached: {bot.errors!r}"


@pytest.fixture
async def team(emu: BotApiEmulator, admin: ScriptedUser) -> Team:
    return await make_team(emu, admin)


async def test_new_customer_of_a_salesperson_waits_for_approval(
    team: Team, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 3004, "Li Na", phones=["+8613800138000"])
    seed(db_url, 3003, "Mia's own", phones=["+8613800138001"])
    await team.mia.send("/review")
    card = await team.mia.reply()
    assert shown(catalogs, "en", "review.kind.new") in card.text
    assert shown(catalogs, "en", "review.title", position=1, count=1) in card.text
    await team.mia.press(shown(catalogs, "en", "review.button.approve"), message=card)
    assert (await team.mia.edited(card)).text == shown(catalogs, "en", "review.empty")
    in_db(
        db_url,
        lambda s: update_customer(
            s, actor=member(s, 3004), customer_id=customer_id, changes={"company": "Acme"}
        ),
    )
    await team.mia.send("/review")
    assert (await team.mia.reply()).text == shown(catalogs, "en", "review.empty")
    assert [d.decision for d in decisions(db_url)] == ["approved"]
