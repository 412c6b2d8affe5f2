"""Ways into a ticket and what follows it, end to end: "New request" under a saved note (Back,
/cancel, a forged note), the ticket then in the customer's history beside the note; plain text
read as a complaint or request in English and Chinese (its customer matched, or asked), an
ordinary visit note left to /log; /tickets filtered by status and assignee for a manager
(forged filters refused); photos added from the card and by a reply (a document too, not
imported), up to the limit, and sent back; a deactivated member reaching no ticket by any
path."""

from __future__ import annotations

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import TicketAction, pack
from handlers.i18n import Catalogs
from storage.imports.models import ImportBatch
from storage.interactions import AttachmentRef
from storage.models import Attachment, Interaction, Member, Ticket
from storage.tickets import add_files
from tests.e2e.helpers import answer, eventually, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, pick_customer, with_member
from tests.e2e.test_ticket_card import add_ticket, open_ticket
from tests.e2e.test_ticket_flow import join_team, skip_to_summary
from tests.e2e.user import ScriptedUser


async def refused(emu: BotApiEmulator, user: ScriptedUser, data: str) -> str | None:
    """The pop-up answer to a forged button pressed under the user's last message."""
    earlier = set(emu.callback_answers)
    assert user.last_bot_message is not None
    await user.press_data(data, user.last_bot_message)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 1)
    (new,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    text: str | None = new.get("text")
    return text


async def test_new_request_from_a_saved_note_then_in_the_history(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    def t(key: str, **params: object) -> str:
        return shown(catalogs, "en", key, **params)

    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/note")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await admin.press(t("note.kind.visit"))
    await admin.reply()
    await admin.press(t("note.happened.now"))
    await admin.reply()
    await answer(admin, "Pump leaks at the plant")
    await admin.press("Skip »")
    await admin.reply()
    await admin.press(t("note.follow_up.none"))
    await admin.reply()
    await admin.press("✅ Save")
    saved, _rate = await admin.replies(2)  # a visit: the customer's satisfaction is asked too
    assert saved.button_labels == [t("ticket.button.new")]
    # /cancel drops the request; the note stays the only record
    await admin.press(t("ticket.button.new"), message=saved)
    await admin.replies(2)
    await admin.send("/cancel")
    await admin.reply()
    assert rows(db_url, Ticket) == []
    # again: customer and description prefilled, the type asked first; Back works
    await admin.press(t("ticket.button.new"), message=saved)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (t("ticket.title"), t("ticket.ask.type"))
    await admin.press("Complaint")
    await admin.reply()
    await admin.press("« Back")
    assert (await admin.reply()).text.startswith(t("ticket.ask.type"))
    await admin.press("Repair")
    await admin.reply()
    await admin.press("High")
    await admin.reply()
    summary = await skip_to_summary(admin)
    assert "Customer: Zhang Wei" in summary
    assert "Description: Pump leaks at the plant" in summary
    await admin.press("✅ Save")
    await admin.replies(2)
    (note,) = rows(db_url, Interaction)
    (ticket,) = rows(db_url, Ticket)
    assert (ticket.customer_id, ticket.type, ticket.description) == (
        customer,
        "repair",
        "Pump leaks at the plant",
    )
    # a forged note id answers like a missing one
    assert await refused(emu, admin, pack(TicketAction("note", 999_999))) == t("common.not_found")
    # the customer card counts the open ticket; its history: the ticket's entry above the
    # note's, newest first
    await admin.send(f"/customer {customer}")
    card = await admin.reply()
    assert t("ticket.customer.open", count=1) in card.text
    await admin.press(t("lookup.button.history"), message=card)
    history = (await admin.reply()).text
    ticket_at = history.index(t("records.subject.ticket", id=ticket.id))
    assert ticket_at < history.index(t("records.subject.interaction", id=note.id))
    assert "Type: Repair" in history
    assert f"Ticket number: {ticket.number}" in history


async def test_plain_text_requests_in_both_languages(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    acme = add_customer(db_url, admin, "Acme", "+8613800138000")
    await admin.send("ACME wants a repair of the pump")
    title, ask = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "ticket.title")
    assert ask.text.startswith(shown(catalogs, "en", "ticket_entry.recognised", type="Repair"))
    assert ask.text.endswith(shown(catalogs, "en", "ticket.ask.priority"))
    assert rows(db_url, Ticket) == []
    await admin.press("Normal")
    await admin.reply()
    await admin.send("a bad answer")  # text at the files step: files are sent
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "contract.send_a_file"))
    summary = await skip_to_summary(admin)
    assert "Type: Repair" in summary
    assert "Description: ACME wants a repair of the pump" in summary
    await admin.press("✅ Save")
    await admin.replies(2)
    (ticket,) = rows(db_url, Ticket)
    assert (ticket.customer_id, ticket.type) == (acme, "repair")
    # nobody called Li: the customer is asked first, the complaint kept
    await admin.send("Li complained the delivery was late")
    _, ask = await admin.replies(2)
    assert ask.text.endswith(shown(catalogs, "en", "ticket.ask.customer"))
    await admin.send("/cancel")
    await admin.reply()
    # Chinese: 张总's complaint; 取消 drops it; an ordinary visit note goes to /log
    li = await join(emu, admin, 7203, "李娜", language_code="zh-hans")
    add_customer(db_url, li, "张总", "+8613900139000")
    await li.send("张总投诉上批货有3台坏了")
    title, ask = await li.replies(2)
    assert title.text == shown(catalogs, "zh", "ticket.title")
    assert ask.text.startswith(shown(catalogs, "zh", "ticket_entry.recognised", type="投诉"))
    await li.send("取消")
    await li.reply()
    await li.send("拜访了王总，问了价格，下周二跟进")
    title, _ = await li.replies(2)
    assert title.text == shown(catalogs, "zh", "quick_log.title")
    await li.send("/cancel")
    await li.reply()
    assert len(rows(db_url, Ticket)) == 1


async def test_a_manager_filters_tickets_by_status_and_assignee(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    manager = await join(emu, admin, 7211, "Wang", "A manager")
    sales = await join_team(emu, manager, 7212, "Li")
    other = await join(emu, admin, 7213, "Zoe")
    customer = add_customer(db_url, sales, "Zhang Wei", "+8613800138000")
    first = add_ticket(db_url, sales, customer)
    waiting = add_ticket(db_url, sales, customer)
    card = await open_ticket(sales, waiting)
    await sales.press("⏸ Waiting for customer", message=card)
    await sales.edited(card)
    await sales.send("/tickets")
    assert "👤 By assignee" not in (await sales.reply()).button_labels  # a salesperson's list
    await manager.send("/tickets")
    listed = await manager.reply()
    assert "👤 By assignee" in listed.button_labels
    await manager.press("Waiting for customer", message=listed)
    only = await manager.reply()
    numbers = {t.id: t.number for t in rows(db_url, Ticket)}
    assert numbers[waiting] in only.text
    assert numbers[first] not in only.text
    await manager.press("👤 By assignee", message=only)
    pick = await manager.reply()
    assert "Zoe" not in pick.button_labels
    await manager.press("Li", message=pick)
    theirs = await manager.reply()
    assert shown(catalogs, "en", "ticket_entry.list.of", member="Li") in theirs.text
    assert numbers[first] in theirs.text
    assert numbers[waiting] in theirs.text
    # forged: an assignee outside the team, a status not open, an unknown value
    zoe = with_member(db_url, other, lambda _s, m: m.id)
    not_found = shown(catalogs, "en", "common.not_found")
    stale = shown(catalogs, "en", "common.stale_button")
    assert await refused(emu, manager, pack(TicketAction("list", zoe))) == not_found
    assert await refused(emu, manager, pack(TicketAction("list", 0, "closed"))) == stale
    assert await refused(emu, manager, pack(TicketAction("list", 0, "bogus"))) == stale


async def test_photos_after_entry_up_to_the_limit_and_sent_back(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    ticket_id = add_ticket(db_url, admin, customer)
    card = await open_ticket(admin, ticket_id)
    await admin.press("📎 Add photos", message=card)
    title, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "ticket_files.ask.files")
    await admin.send("/cancel")  # nothing kept
    await admin.reply()
    await admin.press("📎 Add photos", message=card)
    await admin.replies(2)
    assert (await answer(admin, "here")).startswith(shown(catalogs, "en", "contract.send_a_file"))
    await admin.upload_photo(b"photo-a")
    await admin.reply()
    await admin.upload_photo(b"photo-b")
    await admin.reply()
    await admin.press("Done ✓")
    added, card = await admin.replies(2)
    assert added.text == shown(catalogs, "en", "ticket_entry.files.added", count=2)
    assert "🖼 Files (2)" in card.button_labels
    # a photo replying to the card is added at once
    await admin.upload_photo(b"photo-c", reply_to=card)
    added, card = await admin.replies(2)
    assert added.text == shown(catalogs, "en", "ticket_entry.files.added", count=3)
    # and so is a document (a spreadsheet too: it is the ticket's file, not an import)
    await admin.upload_document("broken.xlsx", b"PK-not-a-sheet", reply_to=card)
    added, card = await admin.replies(2)
    assert added.text == shown(catalogs, "en", "ticket_entry.files.added", count=4)
    await admin.press("🖼 Files (4)", message=card)
    sent = await admin.replies(4)
    assert [bool(message.raw.get("photo")) for message in sent] == [True] * 3 + [False]
    assert sent[-1].raw.get("document")
    assert not rows(db_url, ImportBatch)

    # filled to the limit (10): the button and a reply both refuse
    def fill(session: Session, member: Member) -> None:
        refs = [AttachmentRef("photo", f"p{n}", f"u{n}") for n in range(6)]
        add_files(session, actor=member, ticket_id=ticket_id, files=refs)

    with_member(db_url, admin, fill)
    full = shown(catalogs, "en", "ticket_entry.files.full", count=10)
    await admin.press("📎 Add photos", message=card)
    assert (await admin.reply()).text == full
    await admin.upload_photo(b"photo-d", reply_to=card)
    assert (await admin.reply()).text == full
    assert len([a for a in rows(db_url, Attachment) if a.ticket_id == ticket_id]) == 10


async def test_a_deactivated_member_reaches_no_ticket(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 7221, "Sam")
    owned = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    own_ticket = add_ticket(db_url, sam, owned)
    theirs = add_customer(db_url, admin, "Acme", "+8613900139000")
    assigned = add_ticket(
        db_url, admin, theirs, assignee_id=with_member(db_url, sam, lambda _s, m: m.id)
    )
    card = await open_ticket(sam, assigned)
    number = next(t.number for t in rows(db_url, Ticket) if t.id == own_ticket)
    await admin.send("/team")
    team = await admin.reply()
    await admin.press("Sam · salesperson", message=team)
    member_card = await admin.edited(team)
    await admin.press("Deactivate", message=member_card)
    await admin.edited(member_card)
    stranger = shown(catalogs, "en", "gate.stranger", user_id=7221)
    for ticket_id in (assigned, own_ticket):
        await sam.press_data(pack(TicketAction("open", ticket_id)), card)
        assert (await sam.reply()).text == stranger
    for typed in ("/tickets", f"/find {number}", number, "/today"):
        await sam.send(typed)
        assert (await sam.reply()).text == stranger
    assert await sam.inline(number) == []
