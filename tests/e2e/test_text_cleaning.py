"""Control characters (BEL, ESC) and bidirectional overrides never reach the database or a
file: typed answers, a shared contact, /log, /remind, a reply to a card, a spreadsheet row,
and an export of rows stored before entry cleaned them."""

from __future__ import annotations

import unicodedata

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.models import Customer, Interaction, Member, Reminder
from tests.e2e.helpers import answer, rows, shown
from tests.e2e.test_customer_flow import customers
from tests.e2e.test_deal_flow import add_customer, with_member
from tests.e2e.test_export import export, read_csv, read_xlsx
from tests.e2e.test_import import finish, to_preview, upload
from tests.e2e.user import ScriptedUser

NASTY_NAME = "Zh\x1bang\u202eWei"  # an ESC and a right-to-left override inside
BIDI = {"\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F))} | set(
    map(chr, range(0x2066, 0x206A))
)


def unsafe(text: str) -> set[str]:
    """The characters of `text` that must not be stored or exported."""
    return {
        c for c in text if c in BIDI or (unicodedata.category(c) == "Cc" and c not in "\t\n\r")
    }


async def test_typed_name_is_stored_without_control_or_bidi_characters(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/newcustomer")
    await admin.replies(2)
    reply = await answer(admin, "\x07\u202e\u2066")  # nothing but invisible characters
    assert reply.startswith(shown(catalogs, "en", "parse.text.empty"))
    assert reply.endswith(shown(catalogs, "en", "customer.ask.name"))
    await answer(admin, NASTY_NAME)
    await answer(admin, "13800138000")
    for _ in range(9):  # email .. region, gender, birthday, source, category
        await admin.press("Skip »")
        ask = await admin.reply()
    assert ask.text == shown(catalogs, "en", "customer.ask.tags")
    await answer(admin, "vip\x07, \u202ewholesale")  # tags: not a parse_text field
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert "Name: ZhangWei" in summary.text.splitlines()
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (customer,) = customers(db_url)
    assert (customer.name, customer.tags) == ("ZhangWei", ["vip", "wholesale"])


async def test_shared_contact_name_is_cleaned(admin: ScriptedUser, db_url: str) -> None:
    await admin.share_contact("+86 139 1234 5678", "Li\x1b[31m", last_name="\u202eNa")
    await admin.replies(2)
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (customer,) = customers(db_url)
    assert customer.name == "Li[31m Na"


async def test_quick_log_and_remind_sentences_are_cleaned(
    admin: ScriptedUser, db_url: str
) -> None:
    await admin.send("/log Met Zh\x1bang Wei at Ac\u202eme, budget 50k")
    _, card = await admin.replies(2)
    await admin.press("✅ Save", message=card)
    await admin.reply()
    (customer,) = rows(db_url, Customer)
    (note,) = rows(db_url, Interaction)
    assert (customer.name, customer.company) == ("Zhang Wei", "Acme")
    assert note.summary == "Met Zhang Wei at Acme, budget 50k"

    await admin.send("/remind renew my vi\x07sa\u2067 next week")
    _, summary = await admin.replies(2)
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (reminder,) = rows(db_url, Reminder)
    assert reminder.text == "renew my visa"


async def test_reply_to_a_card_saves_a_clean_note(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = add_customer(db_url, admin, "Li Na", "+8613800138000")
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    await emu.send_text(admin.user_id, "\x07\u202e", reply_to_message_id=card.message_id)
    refusal = (await admin.reply()).text  # as the note flow refuses it, with its question
    assert refusal.startswith(shown(catalogs, "en", "parse.text.empty"))
    text = "called\x1b,\nwants \u202e50 units"
    await emu.send_text(admin.user_id, text, reply_to_message_id=card.message_id)
    await admin.reply()
    (note,) = rows(db_url, Interaction)
    assert note.summary == "called, wants 50 units"  # as the note flow stores a summary


async def test_imported_row_is_stored_without_control_or_bidi_characters(
    admin: ScriptedUser, db_url: str
) -> None:
    csv = f"Name,Phone,Company\n{NASTY_NAME},13800138000,Ac\x07me\n\x07\u202e,13900139000,X\n"
    preview = await to_preview(admin, await upload(admin, "nasty.csv", csv.encode()))
    result = await finish(admin, preview)
    assert result.text.splitlines()[1] == "Created: 1"  # the second row's name is empty
    assert [(c.name, c.company) for c in customers(db_url)] == [("ZhangWei", "Acme")]


async def test_export_has_no_control_or_bidi_characters(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
) -> None:
    """Rows stored as they came, before entry cleaned them, leave clean in both formats."""
    customer_id = add_customer(db_url, admin, NASTY_NAME, "+8613800138000", company="\x07Acme")

    def add_note(session: Session, member: Member) -> None:
        owner = member.id or 0
        note = "\u202ecalled\x1b"
        session.add(Interaction(customer_id=customer_id, owner_id=owner, kind="call",
                                created_by_id=owner, summary=note))  # fmt: skip

    with_member(db_url, admin, add_note)
    for command, read in (("/export customers", read_csv), ("/export customers xlsx", read_xlsx)):
        _, content = await export(emu, admin, command)
        cells = [cell for row in read(content) for cell in row]
        assert "ZhangWei" in cells
        assert not unsafe("".join(cells))
    _, content = await export(emu, admin, "/export notes")
    cells = [cell for row in read_csv(content) for cell in row]
    assert "called" in cells
    assert not unsafe("".join(cells))
