"""The manager's daily digest names the team's overdue tickets and their urgent open ones, by
number, under each salesperson: not done, deleted or other teams' tickets. English and
Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from bot import digest_jobs
from bot.emulator import BotApiEmulator
from handlers.digest import numbered_tickets
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Member, Ticket, TicketStatus
from storage.tickets import Priority
from tests.conftest import RunningBot
from tests.e2e.helpers import pinned, shown
from tests.e2e.test_digest import MANAGER_ID, NOW, SLOT, seed_team
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")
# (owner, number, priority, due in hours from the digest's period end, status, deleted)
TICKETS = (
    ("Li", "GD-1", Priority.HIGH, -30, TicketStatus.OPEN, False),
    ("Li", "GD-2", Priority.URGENT, -2, TicketStatus.IN_PROGRESS, False),
    ("Li", "GD-3", Priority.URGENT, 3, TicketStatus.WAITING, False),
    ("Li", "GD-4", Priority.NORMAL, 40, TicketStatus.OPEN, False),
    ("Li", "GD-5", Priority.URGENT, -5, TicketStatus.RESOLVED, False),
    ("Li", "GD-6", Priority.HIGH, -5, TicketStatus.OPEN, True),
    ("Wu", "GD-7", Priority.URGENT, 8, TicketStatus.OPEN, False),
    ("Out", "GD-8", Priority.URGENT, -8, TicketStatus.OPEN, False),
)


def team_with_tickets(session: Session, lang: str) -> None:
    """Mia's team (`seed_team`) and the tickets above; Out is a salesperson of no team."""
    seed_team(session, lang)
    make_member(session, display_name="Out")
    for owner_name, number, priority, hours, status, deleted in TICKETS:
        owner = session.exec(select(Member).where(col(Member.display_name) == owner_name)).one()
        session.add(
            Ticket(
                customer_id=pk(make_customer(session, owner=owner)),
                owner_id=pk(owner),
                assignee_id=pk(owner),
                created_by_id=pk(owner),
                number=number,
                type="repair",
                priority=priority,
                description="d",
                due_at=SLOT + timedelta(hours=hours),
                status=status,
                deleted_at=NOW if deleted else None,
            )
        )
    session.flush()


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_managers_digest_names_overdue_and_urgent_tickets(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs, lang: str
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia", language_code=lang)
    database.run_sync(team_with_tickets, lang)
    assert await digest_jobs.run_pass(pinned(running_bot, NOW)) == 1
    text = (await manager.reply()).text
    li_block, wu_block = text.split(shown(catalogs, lang, "digest.member", name="Wu"))
    overdue = shown(catalogs, lang, "ticket_more.digest.overdue", count=2, numbers="GD-1, GD-2")
    urgent = shown(catalogs, lang, "ticket_more.digest.urgent", count=1, numbers="GD-3")
    assert li_block.strip().splitlines()[-2:] == [overdue, urgent]
    assert shown(catalogs, lang, "ticket_more.digest.urgent", count=1, numbers="GD-7") in wu_block
    for absent in ("GD-4", "GD-5", "GD-6", "GD-8"):
        assert absent not in text
    assert "🎫" not in wu_block


def test_a_long_list_names_five_and_counts_the_rest(catalogs: Catalogs) -> None:
    numbers = [f"GD-{i}" for i in range(1, 8)]
    line = numbered_tickets(catalogs.translator("en"), "ticket_more.digest.overdue", numbers)
    assert line == "🎫 7 tickets overdue: GD-1, GD-2, GD-3, GD-4, GD-5 and 2 more"
