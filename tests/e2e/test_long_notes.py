"""A long visit report typed on a phone is kept whole: a note, a /log message and a customer's
needs accept up to 4,096 characters (Telegram's own message limit), nothing is cut, and the
summary card shows the start and the length so every other answer still fits. The customer
card shortens long needs with a "📄 Needs in full" button (access-checked like every button)
and a note with its "📝 #id" button (tests/e2e/test_long_texts.py covers the card at its
limits)."""

from __future__ import annotations

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import CustomerAction, pack
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.models import Customer, Interaction, Member
from storage.parsing import MAX_LENGTHS
from tests.e2e.helpers import answer, eventually, join, rows, shown
from tests.e2e.test_deal_flow import with_member
from tests.e2e.test_note_flow import add_customer
from tests.e2e.test_note_flow import pinned_clock as pinned_clock  # autouse: now, admin known
from tests.e2e.user import ScriptedUser

LIMIT = MAX_LENGTHS["summary"]


async def at_the_summary_question(admin: ScriptedUser) -> None:
    """/note for Zhang Wei, a meeting yesterday 4pm: the summary is asked next."""
    await admin.send("/note")
    await admin.replies(2)
    await admin.press("Zhang Wei · Acme")
    await admin.reply()
    await admin.press("Meeting")
    await admin.reply()
    await answer(admin, "yesterday 4pm")


async def test_note_of_4000_characters_is_kept_whole(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei", "Acme")
    report = "Visit report. " + "Discussed the X2 order in detail. " * 117  # 3,992 characters
    assert 2000 < len(report.strip()) <= LIMIT
    await at_the_summary_question(admin)
    await answer(admin, report)
    await answer(admin, "Wants 50 units")
    summary = (await answer(admin, "next Tue 3pm")).splitlines()
    (line,) = [line for line in summary if line.startswith("Summary: Visit report.")]
    assert line.endswith(f"… ({len(report.strip()):,} characters, all kept)")
    assert "Outcome / needs: Wants 50 units" in summary  # the lines after it still fit
    assert summary[-1].startswith("Follow-up: ")
    await admin.press("✅ Save")
    assert (await admin.reply()).text.startswith(shown(catalogs, "en", "note.saved"))
    (note,) = rows(db_url, Interaction)
    assert note.summary == report.strip()


async def test_over_the_limit_says_so_and_the_entry_goes_on(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, "Zhang Wei", "Acme")
    await at_the_summary_question(admin)
    reply = await answer(admin, "x" * (LIMIT + 1))
    assert reply == "\n\n".join(
        [
            shown(catalogs, "en", "parse.text.too_long", max=LIMIT, length=LIMIT + 1),
            shown(catalogs, "en", "note.ask.summary"),
        ]
    )
    assert rows(db_url, Interaction) == []


async def test_long_log_in_chinese_is_not_cut(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    message = "拜访了Acme的张伟，" + "客户详细介绍了明年的采购计划和预算安排。" * 190  # 3,810
    assert 2000 < len(message) <= LIMIT
    await li.send(f"/log {message}")
    _, card = await li.replies(2)
    lines = card.text.splitlines()
    (line,) = [line for line in lines if line.startswith("记录：拜访了Acme的张伟")]
    assert line.endswith(f"…（共 {len(message):,} 字，全部保留）")
    assert "新客户：张伟" in lines
    await li.press("✅ 保存", message=card)
    await li.reply()
    (note,) = rows(db_url, Interaction)
    assert note.summary == message
    assert [c.name for c in rows(db_url, Customer)] == ["张伟"]


async def test_long_needs_are_accepted(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    needs = "Needs chairs for every branch. " * 100  # 3,100 characters
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Zhang Wei")
    for _ in range(12):  # phones ... tags: skipped up to the needs question
        await admin.press("Skip »")
        if (await admin.reply()).text == shown(catalogs, "en", "customer.ask.needs"):
            break
    summary = await answer(admin, needs)
    assert f"({len(needs.strip()):,} characters, all kept)" in summary
    await admin.press("✅ Save")
    await admin.reply()
    (customer,) = rows(db_url, Customer)
    assert customer.needs == needs.strip()


def add_customer_with_needs(db_url: str, user: ScriptedUser, name: str, needs: str) -> int:
    def make(session: Session, member: Member) -> int:
        data = CustomerCreate(name=name, needs=needs)
        customer = create_customer(session, actor=member, data=data)
        assert customer.id is not None
        return customer.id

    return with_member(db_url, user, make)


async def test_card_shortens_long_needs_and_a_button_reads_them_whole(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    needs = "需要为每个分店采购办公椅，" * 300  # 3,900 characters
    customer_id = add_customer_with_needs(db_url, li, "张伟", needs)
    await li.send(f"/customer {customer_id}")
    card = await li.reply()
    assert needs not in card.text
    assert "需要为每个分店采购办公椅" in card.text
    button = shown(catalogs, "zh", "lookup.button.needs")
    assert button in card.button_labels
    await li.press(button, message=card)
    whole = await li.reply()
    assert whole.text == shown(catalogs, "zh", "lookup.card.needs_whole", name="张伟", needs=needs)


async def test_short_needs_have_no_button_and_a_forged_one_is_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    short_id = add_customer_with_needs(db_url, ann, "Zhang Wei", "Chairs")
    await ann.send(f"/customer {short_id}")
    card = await ann.reply()
    assert shown(catalogs, "en", "lookup.button.needs") not in card.button_labels
    secret = "Confidential budget. " * 100
    other_id = add_customer_with_needs(db_url, sam, "Li Na", secret)
    earlier = set(emu.callback_answers)
    await ann.press_data(pack(CustomerAction("needs", other_id)), card)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answered,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    assert answered.get("text") == shown(catalogs, "en", "common.not_found")
    assert "Confidential" not in ann.transcript()
