"""Moving in from another CRM through the chat: a HubSpot-shaped XLSX whose owner column
names a member, with a created date and columns no field takes. The review says where each
goes and what cannot be kept, the card shows the owner and the note, the undo removes both."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from bot.emulator import BotApiEmulator
from storage.models import Customer, Interaction
from tests.conftest import RunningBot
from tests.e2e.helpers import join, rows
from tests.e2e.test_deal_flow import member_id
from tests.e2e.test_import import customers, finish, press, to_preview, upload
from tests.e2e.user import ScriptedUser

HEADERS = [
    "Record ID", "First Name", "Last Name", "Phone Number", "Company Name", "Contact owner",
    "Create Date", "Lead Status", "Annual Revenue",
]  # fmt: skip


def hubspot_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADERS)
    created = datetime(2024, 3, 1, 10)  # noqa: DTZ001 - a spreadsheet's time has no zone
    sheet.append([51, "Wei", "Zhang", 13800138000, "Acme", "li na", created, "New", "5M"])
    sheet.append([52, "Na", "Wang", 13900139000, "Beta", "Zhang Wei", "soon", "Open", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_a_hubspot_export_keeps_owner_notes_and_created_date_until_undone(
    emu: BotApiEmulator, admin: ScriptedUser, running_bot: RunningBot, db_url: str
) -> None:
    li = await join(emu, admin, 2002, "Li Na")
    review = await upload(admin, "hubspot.xlsx", hubspot_xlsx())
    lines = review.text.splitlines()
    assert "1. Record ID → 📝 note (51)" in lines
    assert "6. Contact owner → Owner (member) (li na)" in lines
    assert "9. Annual Revenue → 📝 note (5M)" in lines
    preview = await to_preview(admin, review)
    for line in (
        "📝 To each customer's note (no field for them): Record ID, Annual Revenue",
        "👤 1 row: owner “Zhang Wei” not found, yours",
        "🗓 1 row: created date unreadable or not in the past, dated today",
    ):
        assert line in preview.text.splitlines()
    assert "Owner (member): li na" in preview.text
    result = await finish(admin, preview)
    assert "Created: 2" in result.text
    zhang = next(c for c in customers(db_url) if c.name == "Wei Zhang")
    wang = next(c for c in customers(db_url) if c.name == "Na Wang")
    assert (zhang.owner_id, wang.owner_id) == (member_id(db_url, li), member_id(db_url, admin))
    assert running_bot.application is not None
    tz = ZoneInfo(running_bot.application.bot_data["services"].config.locale.timezone)
    assert zhang.created_at == datetime(2024, 3, 1, 10, tzinfo=tz)  # the importer's time
    await admin.send(f"/customer {zhang.id}")
    card = (await admin.reply()).text
    assert "Owner: Li Na" in card
    assert "Imported: Imported from hubspot.xlsx: Record ID: 51; Annual Revenue: 5M" in card
    await admin.press("↩ Undo this import", message=result)
    ask = await admin.reply()
    done = await press(admin, ask, "Yes, undo it")
    assert done.text.startswith("↩")
    assert customers(db_url) == []
    assert [n.deleted_at is not None for n in rows(db_url, Interaction)] == [True, True]
    assert all(c.deleted_at is not None for c in rows(db_url, Customer))
