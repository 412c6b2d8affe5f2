"""A ticket's card end to end: statuses with their history, satisfaction asked on resolve
(scored, or not asked), reopen with a reason, comments (a button, or a reply to the card),
/tickets and its overdue filter, delete, forged buttons refused like unknown ones, and the
assignee from another team who sees that ticket and nothing else of the customer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import CustomerAction, TicketAction, pack
from handlers.i18n import Catalogs
from storage.models import Member, Ticket, TicketComment, TicketStatusChange, utcnow
from storage.tickets import Priority, TicketCreate, create_ticket
from tests.e2e.helpers import answer, eventually, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, with_member
from tests.e2e.user import ScriptedUser


def add_ticket(
    db_url: str,
    user: ScriptedUser,
    customer_id: int,
    *,
    assignee_id: int | None = None,
    due_in: timedelta = timedelta(days=3),
) -> int:
    def make(session: Session, member: Member) -> int:
        data = TicketCreate(
            customer_id=customer_id,
            type="repair",
            priority=Priority.HIGH,
            description="pump leaks",
            due_at=utcnow() + due_in,
            assignee_id=assignee_id,
        )
        ticket = create_ticket(session, actor=member, data=data, now=utcnow() - timedelta(days=9))
        assert ticket.id is not None
        return ticket.id

    return with_member(db_url, user, make)


async def open_ticket(user: ScriptedUser, ticket_id: int) -> BotMessage:
    await user.send("/help")
    anchor = await user.reply()
    await user.press_data(pack(TicketAction("open", ticket_id)), anchor)
    return await user.reply()


def ticket_row(db_url: str) -> Ticket:
    (ticket,) = rows(db_url, Ticket)
    return ticket


async def test_statuses_resolve_asks_satisfaction_then_reopen(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    card = await open_ticket(admin, ticket_id)
    assert card.button_labels[:3] == ["▶️ In progress", "⏸ Waiting for customer", "✅ Resolved"]
    await admin.press("▶️ In progress", message=card)
    card = await admin.edited(card)
    assert "Status: In progress" in card.text
    await admin.press("✅ Resolved", message=card)
    await admin.edited(card)
    ask = await admin.replies(2)
    assert ask[-1].text == shown(catalogs, "en", "ticket_rate.ask.score")
    await admin.press("4 ⭐⭐⭐⭐", message=ask[-1])
    comment = await admin.reply()
    assert comment.text.startswith(shown(catalogs, "en", "ticket_rate.ask.comment"))
    await answer(admin, "quick fix, thanks")
    await admin.press("✅ Save")
    rated = await admin.reply()
    assert shown(catalogs, "en", "ticket.card_rated", score=4, comment="quick fix, thanks") in (
        rated.text
    )
    assert (ticket_row(db_url).satisfaction_score, ticket_row(db_url).status) == (4, "resolved")
    await admin.send(f"/customer {customer}")
    customer_card = (await admin.reply()).text
    assert shown(
        catalogs, "en", "ticket.customer.satisfaction", latest=4, average="4", count=1
    ) in (customer_card)
    await admin.press("↩️ Reopen", message=rated)
    await admin.replies(2)
    await answer(admin, "leaks again")
    await admin.press("✅ Save")
    reopened = await admin.reply()
    assert "Status: Open" in reopened.text
    moves = [(m.to_status, m.comment) for m in rows(db_url, TicketStatusChange)]
    assert moves[-1] == ("open", "leaks again")
    assert [m[0] for m in moves] == ["open", "in_progress", "resolved", "open"]


async def test_satisfaction_not_asked(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    card = await open_ticket(admin, ticket_id)
    await admin.press("✅ Resolved", message=card)
    await admin.edited(card)
    ask = (await admin.replies(2))[-1]
    await admin.press("Not asked", message=ask)
    await admin.reply()
    await admin.press("✅ Save")
    shown_card = await admin.reply()
    assert shown(catalogs, "en", "ticket.card_not_asked") in shown_card.text
    ticket = ticket_row(db_url)
    assert (ticket.satisfaction_asked, ticket.satisfaction_score) == (False, None)
    # The customer card shows the average of those rated (none yet): no line.
    await admin.send(f"/customer {customer}")
    assert "Satisfaction" not in (await admin.reply()).text


async def test_comment_by_button_and_by_reply(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    card = await open_ticket(admin, ticket_id)
    await admin.press("💬 Comment", message=card)
    await admin.replies(2)
    await admin.send("called the customer")
    commented = await admin.reply()
    assert "💬 — called the customer" in commented.text
    await emu.send_text(admin.user_id, "parts ordered", reply_to_message_id=commented.message_id)
    said, fresh = await admin.replies(2)
    number = ticket_row(db_url).number
    assert said.text == shown(catalogs, "en", "ticket.commented", number=number)
    comments = [c.text for c in rows(db_url, TicketComment)]
    assert comments == ["called the customer", "parts ordered"]
    assert "parts ordered" in fresh.text


@pytest.mark.usefixtures("parked_tickers")
async def test_tickets_lists_open_by_due_time_and_overdue(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    later = add_ticket(db_url, admin, customer, due_in=timedelta(days=5))
    soon = add_ticket(db_url, admin, customer, due_in=timedelta(hours=1))
    numbers = {t.id: t.number for t in rows(db_url, Ticket)}
    await admin.send("/tickets")
    listed = await admin.reply()
    assert listed.button_labels[:3] == [
        f"🎫 {numbers[soon]}",
        f"🎫 {numbers[later]}",
        "⏰ Overdue only",
    ]
    await admin.press("⏰ Overdue only", message=listed)
    overdue = await admin.reply()
    assert overdue.text.splitlines() == [
        shown(catalogs, "en", "ticket.list.title_overdue"),
        shown(catalogs, "en", "ticket.list.empty"),
    ]


async def test_delete_asks_then_hides_the_ticket(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    card = await open_ticket(admin, ticket_id)
    await admin.press("🗑 Delete", message=card)
    confirm = await admin.reply()
    number = ticket_row(db_url).number
    assert confirm.text == shown(catalogs, "en", "ticket.delete.confirm", name=number)
    await admin.press(confirm.button_labels[0], message=confirm)
    await eventually(lambda: ticket_row(db_url).deleted_at is not None)


@pytest.mark.parametrize(
    "action",
    [
        TicketAction("open", 0),
        TicketAction("move", 0, "resolved"),
        TicketAction("comment", 0),
        TicketAction("assign", 0),
        TicketAction("delete", 0, "1"),
        TicketAction("new", 0),
    ],
)
async def test_a_colleagues_ticket_is_refused_like_an_unknown_one(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, action: Any
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, sam, customer)
    target = customer if action.action == "new" else ticket_id
    forged = pack(TicketAction(action.action, target, action.value))
    unknown = pack(TicketAction(action.action, ticket_id + customer + 1000, action.value))
    await ann.send("/help")
    anchor = await ann.reply()
    earlier = set(emu.callback_answers)
    for data in (forged, unknown, "v1:tkt:fix:1"):
        await ann.press_data(data, anchor)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 3)
    answers = [a.get("text") for i, a in emu.callback_answers.items() if i not in earlier]
    not_found = shown(catalogs, "en", "common.not_found")
    assert answers[:2] == [not_found, not_found]
    assert answers[2] == shown(catalogs, "en", "common.stale_button")
    ticket = ticket_row(db_url)
    assert (ticket.status, ticket.deleted_at) == ("open", None)
    assert ann.last_bot_message is not None
    assert ann.last_bot_message.message_id == anchor.message_id  # nothing was sent


async def test_assignee_from_another_team_sees_the_ticket_and_nothing_else(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    eng = await join(emu, admin, 3003, "Eng")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    eng_id = with_member(db_url, eng, lambda _s, m: m.id)
    ticket_id = add_ticket(db_url, admin, customer, assignee_id=eng_id)
    card = await open_ticket(eng, ticket_id)
    assert "Customer: Zhang Wei" in card.text
    await eng.press("▶️ In progress", message=card)
    assert "Status: In progress" in (await eng.edited(card)).text
    await eng.send(f"/customer {customer}")
    assert (await eng.reply()).text == shown(catalogs, "en", "common.not_found")
    other = add_ticket(db_url, sam, customer)
    earlier = set(emu.callback_answers)
    await eng.press_data(pack(TicketAction("open", other)), card)
    await eng.press_data(pack(CustomerAction("open", customer)), card)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 2)
    answers = [a.get("text") for i, a in emu.callback_answers.items() if i not in earlier]
    assert answers == [shown(catalogs, "en", "common.not_found")] * 2
