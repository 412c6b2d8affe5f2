"""/ticket end to end: every type and priority (and one added in config), the SLA due time on
Skip, a due time in the past, an empty description, too many photos, a related order, the
customer card's "New request", /cancel, Back, a restart, Chinese; nothing saved before Save,
the number shown on save, the assignee (and for an urgent ticket the manager) told, a
reassign told to both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from bot.config import TicketsConfig
from bot.emulator import BotApiEmulator, BotMessage
from handlers.i18n import Catalogs
from storage.models import Attachment, Member, Ticket, TicketStatusChange
from storage.orders import OrderCreate, OrderLineCreate, create_order
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown, start_code
from tests.e2e.test_deal_flow import add_customer, member_id, pick_customer, today, with_member
from tests.e2e.user import ScriptedUser
from tests.factories import pk

TYPES = ("Complaint", "Repair", "Question", "Return", "Other")
PRIORITIES = ("Low", "Normal", "High", "🔥 Urgent")
SLA = {"Low": 168, "Normal": 72, "High": 24, "🔥 Urgent": 4}
SALES_ID, MANAGER_ID, CHEN_ID = 7101, 7102, 7104


async def to_description(
    user: ScriptedUser, kind: str = "Complaint", priority: str = "High"
) -> BotMessage:
    """/ticket, Zhang Wei picked, the type and the priority: at the description."""
    await user.send("/ticket")
    await user.replies(2)
    await pick_customer(user, "Zhang", "Zhang Wei")
    await user.press(kind)
    await user.reply()
    await user.press(priority)
    return await user.reply()


async def skip_to_summary(user: ScriptedUser) -> str:
    """Files, order, assignee and due time all skipped: the summary."""
    for _ in range(4):
        labels = user.last_bot_message.button_labels if user.last_bot_message else []
        await user.press("Done ✓" if "Done ✓" in labels else "Skip »")
        message = await user.reply()
    return message.text


@pytest.mark.parametrize(
    ("kind", "priority"), list(zip(TYPES, PRIORITIES + ("Low",), strict=True))
)
async def test_each_type_and_priority_is_saved_with_its_sla(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str, kind: str, priority: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ask = await to_description(admin, kind, priority)
    assert ask.text == shown(catalogs, "en", "ticket.ask.description")
    await answer(admin, "3 units of the last batch arrived broken")
    summary = await skip_to_summary(admin)
    assert f"Type: {kind}" in summary
    assert rows(db_url, Ticket) == []  # nothing saved before Save
    before = datetime.now(UTC)
    await admin.press("✅ Save")
    saved, card = await admin.replies(2)
    (ticket,) = rows(db_url, Ticket)
    assert saved.text == shown(catalogs, "en", "ticket.saved", number=ticket.number)
    assert ticket.number == f"GD-{today().year}-0001"
    assert card.text.startswith(f"🎫 {ticket.number}")
    assert (ticket.type, ticket.status) == (kind.lower(), "open")
    assert ticket.assignee_id == member_id(db_url, admin)
    expected = before + timedelta(hours=SLA[priority])
    assert abs(ticket.due_at - expected) < timedelta(minutes=2)
    (move,) = rows(db_url, TicketStatusChange)
    assert (move.from_status, move.to_status) == (None, "open")


def add_order(db_url: str, user: ScriptedUser, customer_id: int, number: str) -> int:
    def make(session: Session, member: Member) -> int:
        lines = (OrderLineCreate("X2"),)
        data = OrderCreate(customer_id, ordered_on=today(), lines=lines, number=number)
        return pk(create_order(session, actor=member, data=data))

    return with_member(db_url, user, make)


@pytest.mark.parametrize(
    "bot_sections", [{"tickets": TicketsConfig(types=["complaint", "installation"])}]
)
async def test_bad_answers_are_asked_again(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    """Also: a type added in config (no catalog text: shown as typed), a related order."""
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    order_id = add_order(db_url, admin, customer, "DD-7")
    await to_description(admin, "installation")
    empty = await answer(admin, "   ")
    assert empty.endswith(shown(catalogs, "en", "ticket.ask.description"))
    await answer(admin, "broken pump")
    for n in range(11):
        await admin.upload_photo(b"photo-%d" % n)
        kept = (await admin.reply()).text
    assert kept.startswith(shown(catalogs, "en", "flow.too_many_files", max=10))
    await admin.press("Done ✓")
    await admin.reply()
    await admin.press("DD-7")  # one of the customer's orders
    await admin.reply()
    await admin.press("Skip »")  # the assignee
    await admin.reply()
    past = await answer(admin, "yesterday 9am")
    assert past.startswith(shown(catalogs, "en", "parse.when.in_past"))
    summary = await answer(admin, (today() + timedelta(days=2)).isoformat() + " 15:00")
    assert "10 files" in summary
    await admin.press("✅ Save")
    await admin.replies(2)
    (ticket,) = rows(db_url, Ticket)
    assert (ticket.description, ticket.type, ticket.order_id) == (
        "broken pump",
        "installation",
        order_id,
    )
    assert len([a for a in rows(db_url, Attachment) if a.ticket_id == ticket.id]) == 10


async def test_cancel_and_back_save_nothing(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await to_description(admin)
    await admin.press("« Back")
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "ticket.ask.priority"))
    await admin.send("/cancel")
    await admin.reply()
    assert rows(db_url, Ticket) == []


async def test_entry_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await to_description(admin)
    await running_bot.restart()
    await answer(admin, "broken pump")
    summary = await skip_to_summary(admin)
    assert "Description: broken pump" in summary
    await admin.press("✅ Save")
    await admin.replies(2)
    assert [t.description for t in rows(db_url, Ticket)] == ["broken pump"]


async def test_new_request_from_the_customer_card_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 7103, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    await li.send(f"/customer {customer}")
    card = await li.reply()
    assert shown(catalogs, "zh", "ticket.button.new") in card.button_labels
    await li.press(shown(catalogs, "zh", "ticket.button.new"), message=card)
    assert (await li.reply()).text == shown(catalogs, "zh", "ticket.title")
    await li.reply()
    await li.press("投诉")
    await li.reply()
    await li.press("🔥 紧急")
    await li.reply()
    await answer(li, "张总投诉上批货有3台坏了")
    await skip_to_summary_zh(li)
    await li.press("✅ 保存")
    saved = (await li.reply()).text
    (ticket,) = rows(db_url, Ticket)
    assert saved == shown(catalogs, "zh", "ticket.saved", number=ticket.number)
    assert (ticket.type, ticket.priority) == ("complaint", "urgent")


async def skip_to_summary_zh(user: ScriptedUser) -> None:
    for _ in range(4):
        labels = user.last_bot_message.button_labels if user.last_bot_message else []
        await user.press("完成 ✓" if "完成 ✓" in labels else "跳过 »")
        await user.reply()


async def test_manager_assigns_and_both_are_told_and_urgent_tells_the_manager(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    manager = await join(emu, admin, MANAGER_ID, "Wang", "A manager")
    sales = await join_team(emu, manager, SALES_ID, "Li")
    add_customer(db_url, sales, "Zhang Wei", "+8613800138000")
    await to_description(sales, "Repair", "🔥 Urgent")
    await answer(sales, "pump leaks")
    await sales.press("Done ✓")
    await sales.reply()
    await sales.press("Skip »")
    assignee = await sales.reply()
    assert assignee.button_labels[0] == "Li"  # a salesperson may give it only to the owner
    await sales.press("Skip »")
    await sales.reply()
    await sales.press("Skip »")
    await sales.reply()
    await sales.press("✅ Save")
    await sales.replies(2)
    (ticket,) = rows(db_url, Ticket)
    told = await manager.reply()
    assert told.text == shown(
        catalogs, "en", "ticket.notify.urgent", number=ticket.number, member="Li"
    )
    # The manager gives it to Chen of the team: Li hears it went, Chen that it came.
    chen = await join_team(emu, manager, CHEN_ID, "Chen")
    await manager.press("🎫 Open ticket", message=told)
    card = await manager.reply()
    await manager.press("👤 Reassign", message=card)
    pick = await manager.reply()
    await manager.press("Chen", message=pick)
    await manager.reply()
    went = await sales.reply()
    assert went.text == shown(
        catalogs, "en", "ticket.notify.unassigned", number=ticket.number, member="Wang", to="Chen"
    )
    came = await chen.reply()
    assert came.text == shown(
        catalogs, "en", "ticket.notify.assigned", number=ticket.number, member="Wang"
    )
    (ticket,) = rows(db_url, Ticket)
    assert ticket.assignee_id == member_id(db_url, chen)
    # A new ticket the manager gives Chen at entry: Chen is told at once.
    await to_description(manager, "Question", "Low")
    await answer(manager, "asks for a manual")
    await manager.press("Done ✓")
    await manager.reply()
    await manager.press("Skip »")  # the order
    await manager.reply()
    await manager.press("Chen")
    await manager.reply()
    await manager.press("Skip »")  # the due time
    await manager.reply()
    await manager.press("✅ Save")
    await manager.replies(2)
    second = next(t for t in rows(db_url, Ticket) if t.id != ticket.id)
    came = await chen.reply()
    assert came.text == shown(
        catalogs, "en", "ticket.notify.assigned", number=second.number, member="Wang"
    )
    assert second.assignee_id == member_id(db_url, chen)


async def join_team(
    emu: BotApiEmulator, manager: ScriptedUser, user_id: int, name: str
) -> ScriptedUser:
    """A salesperson invited by `manager`: on their team."""
    await manager.send("/invite")
    link = (await manager.reply()).text
    user = ScriptedUser(emu, user_id, name, language_code="en")
    await user.send(f"/start {start_code(link)}")
    await user.replies(2)
    return user
