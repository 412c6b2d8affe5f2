"""/quality end to end: the manager reads the team's completeness and open items and gets a
chart, in English and Chinese; a salesperson gets the managers-only answer."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.e2e.helpers import join, shown, start_code
from tests.e2e.test_records import seed
from tests.e2e.user import ScriptedUser

pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def bot_sections() -> dict[str, Any]:
    """This team requires a phone (`[quality] required`): a customer without one is an item."""
    return {"quality": QualityConfig(required={"customer": ["name", "phone"]})}


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_quality_shows_completeness_open_items_and_a_chart(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
) -> None:
    mia = await join(emu, admin, 3003, "Mia", "A manager", language_code=lang)
    await mia.send("/invite")
    lee = ScriptedUser(emu, 3004, "Lee", language_code=lang)
    await lee.send(f"/start {start_code((await mia.reply()).text)}")
    await lee.replies(2)
    seed(db_url, 3004, "Wang Fang")  # no phone: half complete
    seed(db_url, 3004, "Li Na", phones=["+8613800138000"])
    await mia.send("/quality")
    text = await mia.reply()
    assert shown(catalogs, lang, "quality.member", name="Lee", score=75, customers=2) in text.text
    phones = shown(catalogs, lang, "customer.field.phones")
    assert shown(catalogs, lang, "quality.field", field=phones, percent=50) in text.text
    assert shown(catalogs, lang, "quality.open", count=1, days=0) in text.text
    chart = await mia.reply()
    assert chart.photo is not None
    await lee.send("/quality")
    assert (await lee.reply()).text == shown(catalogs, lang, "review.leads_only")


async def test_a_weeks_report_ends_with_each_salespersons_quality_score(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    await mia.send("/invite")
    lee = ScriptedUser(emu, 3004, "Lee")
    await lee.send(f"/start {start_code((await mia.reply()).text)}")
    await lee.replies(2)
    seed(db_url, 3004, "Wang Fang")
    await mia.send("/report week")
    text = (await mia.reply()).text
    assert shown(catalogs, "en", "quality.report_title") in text
    assert shown(catalogs, "en", "quality.member", name="Lee", score=50, customers=1) in text
    await mia.send("/report month")
    assert shown(catalogs, "en", "quality.report_title") not in (await mia.reply()).text
