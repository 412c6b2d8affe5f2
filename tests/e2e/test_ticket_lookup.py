"""/find and inline mode find tickets by number, end to end, through `ticket_scope`: another
salesperson's ticket number finds what an unknown one finds, a deleted ticket is not found,
and the assignee from outside the owner's team finds the ticket given to them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from handlers.callback_data import TicketAction, pack
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Ticket, utcnow
from storage.tickets import Priority, TicketCreate, archive_ticket, create_ticket
from tests.conftest import ADMIN_ID
from tests.e2e.helpers import shown
from tests.e2e.test_contract_lookup import (  # noqa: F401 (team: a fixture)
    LI_ID,
    SAM_ID,
    data_of,
    found,
    member,
    team,
)
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, pk


def add_ticket(
    database: Database,
    owner: int,
    *,
    customer: str = "张伟",
    by: int | None = None,
    assignee: int | None = None,
    due_at: datetime | None = None,
    priority: Priority = Priority.HIGH,
) -> Ticket:
    """A repair ticket of a new customer of `owner`, opened by `by` (default the owner) nine
    days before it is due (`due_at`, default in three days) and given to `assignee` (default
    the owner)."""
    due = due_at or utcnow() + timedelta(days=3)

    def add(session: Session) -> Ticket:
        owner_member = member(session, owner)
        actor = member(session, by or owner)
        data = TicketCreate(
            customer_id=pk(make_customer(session, owner=owner_member, name=customer)),
            type="repair",
            priority=priority,
            description="pump leaks",
            due_at=due,
            assignee_id=pk(member(session, assignee)) if assignee else None,
        )
        ticket = create_ticket(session, actor=actor, data=data, now=due - timedelta(days=9))
        session.expunge(ticket)
        return ticket

    return database.run_sync(add)


async def test_find_by_number_opens_the_ticket_in_chinese_and_english(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    admin: ScriptedUser,
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, _ = team
    ticket = add_ticket(database, LI_ID)
    query = ticket.number.lower()
    results = await found(li, query)
    assert results.text == shown(catalogs, "zh", "lookup.results", query=query, page=1)  # type: ignore[attr-defined]
    assert results.button_labels == [f"🎫 {ticket.number} · 张伟 · 待处理"]  # type: ignore[attr-defined]
    assert data_of(results) == [pack(TicketAction("open", pk(ticket)))]
    by_prefix = await found(admin, ticket.number[:7])
    assert by_prefix.button_labels == [f"🎫 {ticket.number} · 张伟 · Open"]  # type: ignore[attr-defined]
    await admin.press_data(pack(TicketAction("open", pk(ticket))), by_prefix)
    card = await admin.reply()
    assert card.text.startswith(f"🎫 {ticket.number} · Repair · High")


async def test_another_salespersons_ticket_number_finds_what_an_unknown_one_finds(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    _, sam = team
    ticket = add_ticket(database, LI_ID)
    unknown_number = ticket.number[:-1] + "9"
    foreign = await found(sam, ticket.number)
    unknown = await found(sam, unknown_number)
    assert foreign.text.replace(ticket.number, unknown_number) == unknown.text  # type: ignore[attr-defined]
    assert foreign.button_labels == unknown.button_labels == []  # type: ignore[attr-defined]
    assert await sam.inline(ticket.number) == []


async def test_the_assignee_from_outside_the_team_finds_their_ticket_only(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    li, sam = team
    given = add_ticket(database, SAM_ID, customer="Acme", by=ADMIN_ID, assignee=LI_ID)
    kept = add_ticket(database, SAM_ID, customer="Acme")
    prefix = given.number[:7]
    assert data_of(await found(li, prefix)) == [pack(TicketAction("open", pk(given)))]
    assert data_of(await found(li, kept.number)) == []
    [article] = await li.inline(prefix)
    assert article["title"] == f"🎫 {given.number} · Acme · 待处理"
    assert len(await sam.inline(prefix)) == 2


async def test_a_deleted_ticket_is_not_found(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
) -> None:
    li, _ = team
    ticket = add_ticket(database, LI_ID)
    database.run_sync(lambda s: archive_ticket(s, actor=member(s, LI_ID), ticket_id=pk(ticket)))
    assert data_of(await found(li, ticket.number)) == []
    assert await li.inline(ticket.number) == []


async def test_inline_mode_offers_the_ticket_with_an_open_button(
    team: tuple[ScriptedUser, ScriptedUser],  # noqa: F811
    database: Database,
    catalogs: Catalogs,
) -> None:
    li, sam = team
    ticket = add_ticket(database, LI_ID)
    [result] = await li.inline(ticket.number)
    assert result["reply_markup"]["inline_keyboard"] == [
        [
            {
                "text": shown(catalogs, "zh", "ticket.button.open"),
                "callback_data": pack(TicketAction("open", pk(ticket))),
            }
        ]
    ]
    text = result["input_message_content"]["message_text"]
    assert f"工单 {ticket.number}</b> · 维修" in text
    assert "客户：张伟" in text
    other = add_ticket(database, SAM_ID, customer="Acme")
    [english] = await sam.inline(other.number)
    assert english["title"] == f"🎫 {other.number} · Acme · Open"
    assert english["description"] == "Ticket, Repair, Open"
