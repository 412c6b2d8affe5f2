"""An update that lost its place to a later one of its chat is answered, never dropped."""

from __future__ import annotations

from bot import inbox_leases
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.db import Database
from storage.inbox import Received, record_received
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, shown, taken_behind_the_bots_back
from tests.e2e.user import ScriptedUser


async def test_a_replayed_update_whose_place_was_taken_is_answered(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
):
    """The phone number reached an instance that died; the e-mail sent next was handled
    first. Replayed afterwards, the phone cannot be applied any more: the member is told,
    instead of the update being dropped in silence."""
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    await running_bot.stop()
    phone = await taken_behind_the_bots_back(emu, ADMIN_ID, "13800138000")
    await running_bot.start()
    await answer(admin, "zw@acme.cn")  # handled at the phone step, before the phone
    db = Database(db_url)
    db.run_sync(record_received, updates=[Received(phone.update_id, phone.to_json(), ADMIN_ID)])
    db.close()
    assert running_bot.application is not None
    assert await inbox_leases.replay_stale(running_bot.application) == 1
    assert (await admin.reply()).text == shown(
        catalogs, "en", "flow.arrived_late", text="13800138000"
    )
