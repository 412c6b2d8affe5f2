"""Contracts over time, end to end: the `contract-renewals` pass moves statuses by the team's
date (through the real ticker too), and renewal reminders reach the owner (and manager) once,
in their language and timezone, within their working hours, with Renew / Open / Snooze."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from bot import contract_jobs, scheduler
from bot.emulator import BotApiEmulator
from handlers.callback_data import ContractAction, ReminderAction, pack
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.customer_changes import reassign_customer
from storage.db import Database
from storage.members import get_member_by_telegram_id
from storage.models import AuditEntry, Contract, ContractStatus, Reminder, utcnow
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, eventually, join, pinned, retime, shown
from tests.e2e.test_contract_card import open_contract
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
    assert (await contract_jobs.run_pass(pinned(running_bot, NOW)))[0] == 3
    assert [status_of(database, i) for i in (ended, starting, ending, later, done)] == [
        "expired",  # ended on the 14th: the team's 15th has begun, though UTC is on the 14th
        "active",
        "expiring",  # the 30-day notice of [contracts] renewal_notice_days starts today
        "active",
        "terminated",
    ]
    await running_bot.restart()
    assert (await contract_jobs.run_pass(pinned(running_bot, NOW)))[0] == 0
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


# --- renewal reminders ------------------------------------------------------------------------

# Wednesday 2027-06-02 10:00 in Shanghai: a contract ending 2027-07-02 enters its 30-day notice.
MORNING = datetime(2027, 6, 2, 2, 0, tzinfo=UTC)
ENDS = date(2027, 7, 2)
NUMBER = "HT-2027-0001"
LI_ID = 2002  # 李娜, a Chinese-speaking salesperson; the admin is her manager
SAM_ID = 2003  # another salesperson, for reassignments


def member_id(database: Database, telegram_id: int) -> int:
    def read(session: Session) -> int:
        member = get_member_by_telegram_id(session, telegram_id=telegram_id)
        assert member is not None
        return pk(member)

    return database.read_sync(read)


def managed_by_admin(database: Database, telegram_id: int) -> None:
    def manage(session: Session) -> None:
        member = get_member_by_telegram_id(session, telegram_id=telegram_id)
        assert member is not None
        member.manager_id = member_id(database, ADMIN_ID)
        session.add(member)

    database.run_sync(manage)


def renewals(database: Database) -> list[Reminder]:
    return database.read_sync(
        lambda s: list(
            s.exec(
                select(Reminder).where(col(Reminder.kind) == "renewal").order_by(col(Reminder.id))
            )
        )
    )


async def plan_and_deliver(running_bot: RunningBot, now: datetime) -> int:
    app = pinned(running_bot, now)
    await contract_jobs.run_pass(app)
    return await scheduler.deliver_due(app)


def renewal_lines(
    catalogs: Catalogs, lang: str, days: int, amount: str, owner: str | None = None
) -> list[str]:
    day = format_date(ENDS, lang=lang)
    owned = [shown(catalogs, lang, "contract_reminders.owner", name=owner)] if owner else []
    return [
        shown(catalogs, lang, "contract_reminders.heading", number=NUMBER, days=days, count=days),
        shown(catalogs, lang, "contract_reminders.title", title="Forklift service"),
        shown(catalogs, lang, "contract_reminders.customer", name="Zhang Wei"),
        *owned,
        shown(catalogs, lang, "contract_reminders.ends", date=day),
        shown(catalogs, lang, "contract_reminders.amount", amount=amount),
    ]  # fmt: skip


def data_of(message: object) -> list[str | None]:
    return [b.callback_data for row in message.buttons for b in row]  # type: ignore[attr-defined]


async def test_owner_in_chinese_and_manager_in_english_are_reminded_once_across_a_restart(
    running_bot: RunningBot,
    admin: ScriptedUser,
    emu: BotApiEmulator,
    database: Database,
    catalogs: Catalogs,
) -> None:
    await registered(admin)
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    managed_by_admin(database, LI_ID)
    contract_id = add_contract(database, owner=LI_ID, number="HT-2027-0001", ends_on=ENDS)
    assert await plan_and_deliver(running_bot, MORNING) == 2
    to_li, to_admin = await li.reply(), await admin.reply()
    assert to_li.text.splitlines() == renewal_lines(catalogs, "zh", 30, "¥120,000")
    # The manager's names the salesperson whose contract it is; the owner's does not.
    assert to_admin.text.splitlines() == renewal_lines(catalogs, "en", 30, "CN¥120,000", "李娜")
    assert "Owner: 李娜" in to_admin.text
    assert to_li.button_labels == ["🔁 续签", "📄 查看合同", "💤 稍后提醒"]
    assert to_admin.button_labels == ["🔁 Renew", "📄 Open contract", "💤 Snooze"]
    [for_li, for_admin] = renewals(database)
    assert data_of(to_li) == [
        pack(ContractAction("renew", contract_id)),
        pack(ContractAction("open", contract_id)),
        pack(ReminderAction("snooze", pk(for_li))),
    ]
    assert data_of(to_admin)[2] == pack(ReminderAction("snooze", pk(for_admin)))
    await running_bot.restart()
    assert await plan_and_deliver(running_bot, MORNING + timedelta(hours=1)) == 0
    assert [r.status for r in renewals(database)] == ["sent", "sent"]
    # The last week: once more, each.
    assert await plan_and_deliver(running_bot, MORNING + timedelta(days=23)) == 2
    assert "7" in (await li.reply()).text.splitlines()[0]
    await admin.reply()
    assert await plan_and_deliver(running_bot, MORNING + timedelta(days=23, hours=1)) == 0
    sent = [m for m in emu.calls if m[0] == "sendMessage" and "HT-2027-0001" in str(m[1])]
    assert len(sent) == 4


async def test_a_renewal_due_at_night_or_on_a_weekend_waits_for_working_hours(
    running_bot: RunningBot, admin: ScriptedUser, database: Database, catalogs: Catalogs
) -> None:
    await registered(admin)
    add_contract(database, number="HT-2027-0001", ends_on=date(2027, 7, 5))  # notice: Sat 5 Jun
    saturday = datetime(2027, 6, 5, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    assert await plan_and_deliver(running_bot, saturday) == 0
    [held] = renewals(database)
    monday = datetime(2027, 6, 7, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert (held.status, held.due_at) == ("pending", monday)
    assert await plan_and_deliver(running_bot, monday - timedelta(minutes=1)) == 0
    assert await plan_and_deliver(running_bot, monday) == 1
    first = (await admin.reply()).text.splitlines()[0]
    assert first == shown(
        catalogs, "en", "contract_reminders.heading", number="HT-2027-0001", days=28, count=28
    )


async def test_snooze_keeps_the_renewal_text_and_buttons_and_reminders_lists_it(
    running_bot: RunningBot, admin: ScriptedUser, database: Database
) -> None:
    await registered(admin)
    add_contract(database, number="HT-2027-0001", ends_on=ENDS)
    assert await plan_and_deliver(running_bot, MORNING) == 1
    message = await admin.reply()
    await admin.press("💤 Snooze", message=message)
    options = await admin.edited(message)
    await admin.press("1 hour", message=options)
    snoozed = await admin.edited(options)
    assert snoozed.text.startswith(message.text)
    assert snoozed.button_labels == ["🔁 Renew", "📄 Open contract", "💤 Snooze"]
    [reminder] = renewals(database)
    assert (reminder.status, reminder.due_at) == ("pending", MORNING + timedelta(hours=1))
    await admin.send("/reminders")
    listed = await admin.reply()
    assert "Renew HT-2027-0001 · Forklift service (Zhang Wei)" in listed.text
    await admin.press("HT-2027-0001", message=listed)
    assert (await admin.reply()).text == message.text
    assert await plan_and_deliver(running_bot, MORNING + timedelta(minutes=59)) == 0
    assert await plan_and_deliver(running_bot, MORNING + timedelta(hours=1)) == 1


async def test_a_former_owner_never_hears_of_a_contract_handed_to_someone_else(
    running_bot: RunningBot, admin: ScriptedUser, emu: BotApiEmulator, database: Database
) -> None:
    await registered(admin)
    li = await join(emu, admin, LI_ID, "李娜", language_code="zh-hans")
    sam = await join(emu, admin, SAM_ID, "Sam")
    contract_id = add_contract(database, owner=LI_ID, number="HT-2027-0001", ends_on=ENDS)
    app = pinned(running_bot, MORNING)
    await contract_jobs.run_pass(app)  # planned for 李娜 ...
    [planned] = renewals(database)
    assert planned.member_id == member_id(database, LI_ID)

    def hand_to_sam(session: Session) -> None:
        contract = session.get_one(Contract, contract_id)
        admin_member = get_member_by_telegram_id(session, telegram_id=ADMIN_ID)
        assert admin_member is not None
        reassign_customer(
            session,
            actor=admin_member,
            customer_id=contract.customer_id,
            new_owner_id=member_id(database, SAM_ID),
        )

    database.run_sync(hand_to_sam)  # ... then the customer goes to Sam before it is sent
    assert await scheduler.deliver_due(app) == 0  # checked again at delivery: not hers now
    assert await plan_and_deliver(running_bot, MORNING) == 1
    assert "HT-2027-0001" in (await sam.reply()).text
    await li.send("/reminders")
    assert "HT-2027-0001" not in (await li.reply()).text
    assert not any(
        "HT-2027-0001" in str(params.get("text"))
        for method, params in emu.calls
        if method == "sendMessage" and params.get("chat_id") == LI_ID
    )


async def test_terminate_withdraws_the_pending_reminder_at_once_and_it_is_never_delivered(
    running_bot: RunningBot,
    admin: ScriptedUser,
    emu: BotApiEmulator,
    database: Database,
    catalogs: Catalogs,
) -> None:
    await registered(admin)
    contract_id = add_contract(database, number=NUMBER, ends_on=ENDS)
    app = pinned(running_bot, MORNING)
    await contract_jobs.run_pass(app)  # planned, not delivered yet
    assert [r.status for r in renewals(database)] == ["pending"]
    card = await open_contract(admin, contract_id)
    await admin.press("⛔ Terminate", message=card)
    await admin.replies(2)
    await admin.press("Today")
    await admin.reply()
    await answer(admin, "Moved to a competitor")
    await admin.press("✅ Save")
    terminated = (await admin.reply()).text
    assert shown(catalogs, "en", "contract.status.terminated") in terminated
    assert renewals(database) == []  # gone with the terminate, not at the next pass
    assert await plan_and_deliver(running_bot, MORNING + timedelta(hours=1)) == 0
    heading = shown(catalogs, "en", "contract_reminders.heading", number=NUMBER, days=30, count=30)
    assert not any(
        heading in str(params.get("text"))
        for method, params in emu.calls
        if method == "sendMessage"
    )


async def test_open_and_renew_on_a_delivered_reminder_and_forged_or_stale_ones_are_unknown(
    running_bot: RunningBot,
    admin: ScriptedUser,
    emu: BotApiEmulator,
    database: Database,
    catalogs: Catalogs,
) -> None:
    await registered(admin)
    sam = await join(emu, admin, SAM_ID, "Sam")
    prefilled = {"terms": "30% upfront", "renewal_notice_days": 30}  # the renewal asks less
    contract_id = add_contract(database, owner=SAM_ID, number=NUMBER, ends_on=ENDS, **prefilled)
    foreign = add_contract(database, number="HT-ADMIN-1", customer="Li Lei", ends_on=ENDS)
    assert await plan_and_deliver(running_bot, MORNING) == 2
    await admin.reply()
    message = await sam.reply()
    assert message.text.startswith(
        shown(catalogs, "en", "contract_reminders.heading", number=NUMBER, days=30, count=30)
    )
    await sam.press("📄 Open contract", message=message)
    card = await sam.reply()
    assert card.text.splitlines()[0] == f"📄 Contract {NUMBER}"
    await sam.press("🔁 Renew", message=message)
    title, _number = await sam.replies(2)
    assert title.text == shown(catalogs, "en", "contract.title")
    await answer(sam, "HT-2028-0001")
    await sam.press("Today")
    await sam.reply()
    await sam.press("Done ✓")
    await sam.reply()
    await sam.press("✅ Save")
    renewed = await sam.reply()
    assert renewed.text.splitlines()[0] == "📄 Contract HT-2028-0001"
    assert status_of(database, contract_id) == "renewed"
    [done] = [r for r in renewals(database) if r.contract_id == contract_id]
    assert done.status == "done"  # sent, then finished by the renew
    not_found = shown(catalogs, "en", "common.not_found")

    async def press(action: str, target: int) -> object:
        data = pack(ContractAction(action, target))
        query = await emu.press_button(sam.user_id, message.message_id, data)
        return (await emu.wait_for_callback_answer(query)).get("text")

    # Buttons naming another's contract or one that never was, pressed on the reminder, answer
    # alike; so do the stale ones of a contract deleted since the reminder was delivered.
    for target in (foreign, contract_id + 1000):
        assert [await press(action, target) for action in ("open", "renew")] == [not_found] * 2
    database.run_sync(lambda s: setattr(s.get_one(Contract, contract_id), "deleted_at", utcnow()))
    assert [await press(action, contract_id) for action in ("open", "renew")] == [not_found] * 2
    assert status_of(database, foreign) == "expiring"
