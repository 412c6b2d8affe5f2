"""kill -9 of a real `crm-bot run` after a renewal reminder went out: the restarted bot
plans and delivers nothing more for it (the planning key and the sent row are in the
database), while a contract that comes due after the restart is reminded as usual."""

from __future__ import annotations

import asyncio
import signal
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.emulator import BotApiEmulator
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Contract, Member, Reminder, utcnow
from tests.e2e.helpers import eventually
from tests.e2e.process import spawn_bot, write_config
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member, pk

REP_ID = 6001


def _team_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()


def _seed_member(db: Database) -> int:
    def seed(session: Session) -> int:
        # Working all day, every day: the test runs whenever it runs.
        member = make_member(session, telegram_id=REP_ID)
        member.work_start, member.work_end, member.work_days = "00:00", "23:59", "0,1,2,3,4,5,6"
        session.add(member)
        session.flush()
        return pk(member)

    return db.run_sync(seed)


def _add_contract(db: Database, owner_id: int, number: str) -> None:
    def add(session: Session) -> None:
        owner = session.get_one(Member, owner_id)
        session.add(
            Contract(
                customer_id=pk(make_customer(session, owner=owner, name="Zhang Wei")),
                owner_id=owner_id,
                created_by_id=owner_id,
                number=number,
                title="Forklift service",
                status="active",
                starts_on=date(2020, 1, 1),
                ends_on=_team_today() + timedelta(days=30),
            )
        )

    db.run_sync(add)


def _sent(emu: BotApiEmulator, number: str) -> int:
    return sum(
        number in (message.text or "") for message in emu.messages(REP_ID) if message.from_bot
    )


def _status(db: Database, number: str) -> list[str]:
    return db.read_sync(
        lambda s: list(
            s.exec(
                select(Reminder.status)
                .join(Contract, col(Contract.id) == col(Reminder.contract_id))
                .where(col(Contract.number) == number)
            )
        )
    )


async def test_kill_9_after_a_renewal_reminder_is_sent_never_sends_it_again(
    emu: BotApiEmulator, db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    upgrade_database(db.engine)
    owner_id = _seed_member(db)
    ScriptedUser(emu, REP_ID, "Rep")
    _add_contract(db, owner_id, "HT-KILL-0001")
    config, logs = write_config(tmp_path, emu, db_url), tmp_path / "bot.log"
    process = await spawn_bot(config, logs)
    try:
        await eventually(lambda: _status(db, "HT-KILL-0001") == ["sent"], timeout=60)
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 10)
        assert process.returncode == -signal.SIGKILL
        process = await spawn_bot(config, logs)
        _add_contract(db, owner_id, "HT-KILL-0002")  # comes due after the restart
        await eventually(lambda: _sent(emu, "HT-KILL-0002") == 1, timeout=60)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    assert _sent(emu, "HT-KILL-0001") == 1
    assert _status(db, "HT-KILL-0001") == ["sent"]
    db.close()
