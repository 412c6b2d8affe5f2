"""Contracts over time, end to end: the `contract-renewals` pass moves statuses by the team's
date (through the real ticker too), and renewal reminders reach the owner (and manager) once,
in their language and timezone, within their working hours, with Renew / Open / Snooze."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot import contract_jobs, scheduler
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import AuditEntry, Contract, ContractStatus, utcnow
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import eventually, pinned, retime
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk

# Monday 2027-06-14 17:00 UTC is already Tuesday 2027-06-15 01:00 in Shanghai (the team's).
NOW = datetime(2027, 6, 14, 17, 0, tzinfo=UTC)
TEAM_TODAY = date(2027, 6, 15)
JOBS = (scheduler.DELIVER_JOB, scheduler.PLAN_JOB, contract_jobs.JOB)


@pytest.fixture(autouse=True)
def parked_tickers(monkeypatch: pytest.MonkeyPatch) -> None:
    retime(monkeypatch, *JOBS, every=timedelta(hours=1))


def add_contract(
    database: Database,
    *,
    owner: int = ADMIN_ID,
    number: str = "HT-2027-0001",
    status: ContractStatus = ContractStatus.ACTIVE,
    customer: str = "Zhang Wei",
    **values: object,
) -> int:
    def add(session: Session) -> int:
        member = get_member_by_telegram_id(session, telegram_id=owner)
        assert member is not None
        fields: dict[str, object] = {
            "title": "Forklift service",
            "amount": "120000.00",
            "currency": "CNY",
            "signed_on": date(2026, 12, 1),
            "starts_on": date(2027, 1, 1),
            "ends_on": date(2027, 12, 31),
            **values,
        }
        contract = Contract(
            customer_id=pk(make_customer(session, owner=member, name=customer)),
            owner_id=pk(member),
            created_by_id=pk(member),
            number=number,
            status=status,
            **fields,
        )
        session.add(contract)
        session.flush()
        return pk(contract)

    return database.run_sync(add)


def status_of(database: Database, contract_id: int) -> str:
    return database.read_sync(lambda s: s.get_one(Contract, contract_id).status)


async def registered(user: ScriptedUser) -> None:
    await user.send("/reminders")
    await user.reply()


async def test_status_pass_moves_contracts_by_the_teams_date_once_across_a_restart(
    running_bot: RunningBot, admin: ScriptedUser, database: Database
) -> None:
    await registered(admin)
    ended = add_contract(database, number="HT-1", ends_on=date(2027, 6, 14))
    starting = add_contract(
        database, number="HT-2", status=ContractStatus.SIGNED, starts_on=TEAM_TODAY
    )
    ending = add_contract(database, number="HT-3", ends_on=TEAM_TODAY + timedelta(days=30))
    later = add_contract(database, number="HT-4", ends_on=TEAM_TODAY + timedelta(days=31))
    done = add_contract(
        database, number="HT-5", status=ContractStatus.TERMINATED, ends_on=date(2027, 6, 1)
    )
    assert await contract_jobs.run_pass(pinned(running_bot, NOW)) == 3
    assert [status_of(database, i) for i in (ended, starting, ending, later, done)] == [
        "expired",  # ended on the 14th: the team's 15th has begun, though UTC is on the 14th
        "active",
        "expiring",  # the 30-day notice of [contracts] renewal_notice_days starts today
        "active",
        "terminated",
    ]
    await running_bot.restart()
    assert await contract_jobs.run_pass(pinned(running_bot, NOW)) == 0
    audit = database.read_sync(
        lambda s: list(
            s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.entity_type) == "contract")
                .order_by(col(AuditEntry.entity_id))
            )
        )
    )
    assert [(a.entity_id, a.actor_id, a.changes["status"]) for a in audit] == [
        (ended, None, ["active", "expired"]),
        (starting, None, ["signed", "active"]),
        (ending, None, ["active", "expiring"]),
    ]


async def test_the_ticker_runs_the_status_pass_after_start(
    running_bot: RunningBot,
    admin: ScriptedUser,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await registered(admin)
    await running_bot.stop()
    yesterday = utcnow().date() - timedelta(days=2)
    contract_id = add_contract(database, starts_on=date(2020, 1, 1), ends_on=yesterday)
    retime(monkeypatch, contract_jobs.JOB, every=timedelta(seconds=0.2))
    await running_bot.start()
    await eventually(lambda: status_of(database, contract_id) == "expired")
