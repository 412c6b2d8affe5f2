"""/today lists the member's contracts running out within the final notice (7 days by
default), each opening its contract; the manager's digest counts the team's expiring
contracts. English and Chinese."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from bot import digest_jobs
from bot.emulator import BotApiEmulator
from handlers.callback_data import ContractAction, pack
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Contract, ContractStatus, Member
from tests.conftest import RunningBot
from tests.e2e.helpers import join, pinned, shown
from tests.e2e.test_agenda import NOW
from tests.e2e.test_contract_lookup import LI_ID, SAM_ID, add_contract
from tests.e2e.test_digest import MANAGER_ID, seed_team
from tests.e2e.test_digest import NOW as DIGEST_NOW
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")
TODAY = date(2031, 1, 15)  # NOW in Shanghai


def set_contract(database: Database, contract_id: int, **values: object) -> None:
    def change(session: Session) -> None:
        contract = session.get_one(Contract, contract_id)
        for key, value in values.items():
            setattr(contract, key, value)

    database.run_sync(change)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_today_lists_own_contracts_ending_within_the_final_notice(
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
    await join(emu, admin, SAM_ID, "Sam")
    soon = add_contract(database, LI_ID, "HT-1")
    set_contract(database, soon, ends_on=TODAY + timedelta(days=7))
    later = add_contract(database, LI_ID, "HT-2")
    set_contract(database, later, ends_on=TODAY + timedelta(days=8))
    renewed = add_contract(database, LI_ID, "HT-3")
    set_contract(database, renewed, ends_on=TODAY, status=ContractStatus.RENEWED)
    sams = add_contract(database, SAM_ID, "HT-4")
    set_contract(database, sams, ends_on=TODAY)
    pinned(running_bot, NOW)
    await li.send("/today")
    agenda = await li.reply()
    day = format_date(TODAY + timedelta(days=7), lang=lang)
    line = shown(
        catalogs,
        lang,
        "contract_reminders.agenda.line",
        number="HT-1",
        title="叉车维保 Forklift service",
        customer="张伟",
        date=day,
    )
    assert agenda.text.splitlines()[-2:] == [
        shown(catalogs, lang, "contract_reminders.agenda.section"),
        line,
    ]
    assert "HT-2" not in agenda.text
    assert "HT-3" not in agenda.text
    assert "HT-4" not in agenda.text
    [button] = [b for row in agenda.buttons for b in row if "HT-1" in b.label]
    assert button.callback_data == pack(ContractAction("open", soon))


def team_with_expiring_contracts(session: Session, lang: str) -> None:
    """Mia's team: Li holds two expiring contracts and an active one; Wu one expiring; a
    salesperson of no team one more, which is not Mia's."""
    seed_team(session, lang)
    li, wu = (
        session.exec(select(Member).where(col(Member.display_name) == name)).one()
        for name in ("Li", "Wu")
    )
    outsider = make_member(session, display_name="Out")
    for owner, status in (
        (li, ContractStatus.EXPIRING),
        (li, ContractStatus.EXPIRING),
        (li, ContractStatus.ACTIVE),
        (wu, ContractStatus.EXPIRING),
        (outsider, ContractStatus.EXPIRING),
    ):
        customer = make_customer(session, owner=owner)
        session.add(
            Contract(
                customer_id=pk(customer),
                owner_id=pk(owner),
                created_by_id=pk(owner),
                number=f"HT-{pk(customer)}",
                title="t",
                status=status,
                ends_on=TODAY + timedelta(days=20),
            )
        )
    session.flush()


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_managers_digest_counts_the_teams_expiring_contracts(
    emu: BotApiEmulator, running_bot: RunningBot, database: Database, catalogs: Catalogs, lang: str
) -> None:
    manager = ScriptedUser(emu, MANAGER_ID, "Mia", language_code=lang)
    database.run_sync(team_with_expiring_contracts, lang)
    assert await digest_jobs.run_pass(pinned(running_bot, DIGEST_NOW)) == 1
    text = (await manager.reply()).text
    li_block, wu_block = text.split(shown(catalogs, lang, "digest.member", name="Wu"))
    assert shown(catalogs, lang, "contract_reminders.digest.expiring", count=2) in li_block
    assert shown(catalogs, lang, "contract_reminders.digest.expiring", count=1) in wu_block
