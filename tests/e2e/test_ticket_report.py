"""Tickets in files and reports end to end: /export tickets (CSV in the member's language,
formula-safe, codes as labels, by the ticket scope) and `crm-bot export tickets` (XLSX, as an
admin), then /report's ticket lines and chart for the period."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.export import export_everything
from handlers.i18n import Catalogs
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import utcnow
from storage.ticket_figures import TICKET_COLUMNS
from tests.conftest import RunningBot
from tests.e2e.helpers import pinned, shown
from tests.e2e.test_export import export, read_csv, read_xlsx
from tests.e2e.test_report import LI, WU, seed
from tests.e2e.user import ScriptedUser
from tests.storage.test_satisfaction import DAY, ticket

pytestmark = pytest.mark.usefixtures("parked_tickers")
# Now, not a pinned date: the export, like `crm-bot export`, flags overdue by the real time.
NOW = utcnow()


def with_tickets(session: Session) -> None:
    """Li: a repair resolved late (48 h, scored 4) and an open complaint past due; Wu's
    ticket is not Li's."""
    seed(session, "en")
    li, wu = (get_member_by_telegram_id(session, telegram_id=i) for i in (LI, WU))
    assert li is not None
    assert wu is not None
    ticket(session, li, "repair", created=NOW - 6 * DAY, due=NOW - 5 * DAY,
           resolved=NOW - 4 * DAY, score=4)  # fmt: skip
    ticket(session, li, "complaint", created=NOW - 3 * DAY, due=NOW - DAY)
    ticket(session, wu, "repair", created=NOW - 3 * DAY, due=NOW - DAY)


async def test_export_and_report_of_tickets(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs
) -> None:
    database.run_sync(with_tickets)
    pinned(running_bot, NOW)
    li = ScriptedUser(emu, LI, "=Li")  # a name that reads like a formula
    name, content = await export(emu, li, "/export tickets")
    assert name.endswith(".csv")
    header, *lines = read_csv(content)
    assert header == [shown(catalogs, "en", f"export.column.{c}") for c in TICKET_COLUMNS]

    def cell(row: list[str], column: str) -> str:
        return row[TICKET_COLUMNS.index(column)]

    assert [(cell(r, "ticket_type"), cell(r, "ticket_status")) for r in lines] == [
        ("Repair", "Resolved"),
        ("Complaint", "Open"),
    ]
    late, open_ = lines
    assert (cell(late, "hours_to_resolve"), cell(late, "overdue")) == ("48", "Yes")
    assert (cell(late, "satisfaction_score"), cell(late, "owner")) == ("4", "'=Li")
    assert (cell(open_, "hours_to_resolve"), cell(open_, "overdue")) == ("", "Yes")

    everything = export_everything(
        database, kind="tickets", fmt="xlsx", tz=ZoneInfo("Asia/Shanghai")
    )
    sheet = read_xlsx(everything)
    assert len(sheet) == 4  # the header and all three tickets
    assert sheet[1][TICKET_COLUMNS.index("owner")] == "=Li"  # typed as text, not a formula

    await li.send("/report")  # the last 7 days
    text = (await li.reply()).text
    counts = shown(catalogs, "en", "ticket_report.counts", opened=2, resolved=1, overdue=2)
    assert counts in text
    assert shown(catalogs, "en", "ticket_report.median", time="2.0 d") in text
    rating = shown(catalogs, "en", "ticket_report.rating", name="=Li", average="4.0", count=1)
    assert shown(catalogs, "en", "ticket_report.satisfaction_owner", ratings=rating) in text
    album = await li.reply()
    assert album.photo or album.media_group_id, li.transcript()
