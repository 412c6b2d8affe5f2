"""/today lists the open tickets assigned to the member due today or overdue, each opening its
card: not those due later, done, or assigned to someone else; a ticket given to them from
outside their team too. English and Chinese."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import TicketAction, pack
from handlers.formatting import format_when
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Ticket, TicketStatus
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, pinned, shown
from tests.e2e.test_agenda import NOW
from tests.e2e.test_contract_lookup import LI_ID, SAM_ID
from tests.e2e.test_ticket_lookup import add_ticket
from tests.e2e.user import ScriptedUser
from tests.factories import pk

pytestmark = pytest.mark.usefixtures("parked_tickers")
SHANGHAI = ZoneInfo("Asia/Shanghai")  # the members' timezone by default


def set_status(database: Database, ticket_id: int, status: TicketStatus) -> None:
    def change(session: Session) -> None:
        session.get_one(Ticket, ticket_id).status = status

    database.run_sync(change)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_today_lists_the_members_tickets_due_today_and_overdue(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
    lang: str,
) -> None:
    await admin.send("/help")
    await admin.reply()
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans" if lang == "zh" else "en")
    sam = await join(emu, admin, SAM_ID, "Sam")
    overdue = add_ticket(database, LI_ID, due_at=NOW - timedelta(days=1))
    today = add_ticket(database, LI_ID, customer="Acme", due_at=NOW + timedelta(hours=1))
    later = add_ticket(database, LI_ID, due_at=NOW + timedelta(days=1))
    done = add_ticket(database, LI_ID, due_at=NOW - timedelta(hours=1))
    set_status(database, pk(done), TicketStatus.RESOLVED)
    sams = add_ticket(database, LI_ID, by=ADMIN_ID, assignee=SAM_ID, due_at=NOW)
    given = add_ticket(database, SAM_ID, customer="Bolt", by=ADMIN_ID, assignee=LI_ID, due_at=NOW)
    pinned(running_bot, NOW)
    await li.send("/today")
    agenda = await li.reply()
    kind = shown(catalogs, lang, "ticket.type.repair")

    def line(key: str, ticket: Ticket, customer: str) -> str:
        when = format_when(ticket.due_at, tz=SHANGHAI, lang=lang, now=NOW)
        number = ticket.number
        return shown(catalogs, lang, key, number=number, type=kind, customer=customer, when=when)

    assert agenda.text.splitlines()[-4:] == [
        shown(catalogs, lang, "ticket_more.agenda.section"),
        line("ticket_more.agenda.overdue", overdue, "张伟"),
        line("ticket_more.agenda.due", given, "Bolt"),
        line("ticket_more.agenda.due", today, "Acme"),
    ]
    for absent in (later, done, sams):
        assert absent.number not in agenda.text
    buttons = [b.callback_data for row in agenda.buttons for b in row]
    for ticket in (overdue, given, today):
        assert pack(TicketAction("open", pk(ticket))) in buttons
    await sam.send("/today")
    assert sams.number in (await sam.reply()).text
