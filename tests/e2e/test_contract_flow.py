"""/contract end to end: every field in both languages with a PDF and photos, a duration for
the end, Skip taking the next free number and the default notice, bad input (an amount in
words, an end before the start, a taken number, a 30 MB file), Back, cancel, a restart."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.models import Attachment, Contract
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, add_deal, pick_customer, today
from tests.e2e.user import ScriptedUser

PDF = b"%PDF-1.7 signed contract"
MB = 1024 * 1024


async def start_for(user: ScriptedUser, search: str, label: str) -> None:
    """/contract, the customer picked: at the deal question."""
    await user.send("/contract")
    await user.replies(2)
    await pick_customer(user, search, label)


async def test_new_contract_with_every_field_and_files(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    deal = add_deal(db_url, admin, customer, stage="won")
    starts = today() + timedelta(days=30)
    await admin.send("/contract")
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "contract.title"),
        shown(catalogs, "en", "contract.ask.customer"),
    )
    await admin.send("acme")
    matches = await admin.reply()
    await admin.press("Zhang Wei · Acme", message=matches)
    deal_question = await admin.reply()
    assert deal_question.text == shown(catalogs, "en", "contract.ask.deal")
    assert deal_question.button_labels[0] == "50 chairs"
    await admin.press("50 chairs", message=deal_question)
    number_question = await admin.reply()
    assert number_question.text == shown(catalogs, "en", "contract.ask.number")
    await answer(admin, "HT-2026-0100")
    await answer(admin, "Forklift service 2027")
    assert await answer(admin, "¥120,000") == shown(catalogs, "en", "contract.ask.signed_on")
    await admin.press("Today")
    await admin.reply()
    await answer(admin, starts.isoformat())
    await answer(admin, "1 year")
    await answer(admin, "30% upfront, the rest on delivery")
    files_question = await answer(admin, "45")
    assert files_question == shown(catalogs, "en", "contract.ask.files")
    await admin.upload_document("contract.pdf", PDF, mime_type="application/pdf")
    kept = (await admin.reply()).text
    assert kept.startswith(shown(catalogs, "en", "flow.file_kept", count=1))
    await admin.upload_photo(b"\xff\xd8 page 2")
    kept = await admin.reply()
    assert kept.text.startswith(shown(catalogs, "en", "flow.file_kept", count=2))
    assert rows(db_url, Contract) == []  # nothing is saved before Save
    await admin.press("Done ✓", message=kept)
    summary = (await admin.reply()).text
    ends = starts.replace(year=starts.year + 1) - timedelta(days=1)
    assert summary.splitlines() == [
        "New contract — please check:",
        "Customer: Zhang Wei · Acme",
        "Deal: 50 chairs",
        "Contract number: HT-2026-0100",
        "Title: Forklift service 2027",
        "Amount: CN¥120,000",
        f"Signed on: {format_date(today(), lang='en')}",
        f"Starts: {format_date(starts, lang='en')}",
        f"Ends: {format_date(ends, lang='en')}",
        "Payment terms: 30% upfront, the rest on delivery",
        "Renewal notice: 45 days before the end",
        "Signed files: 2 files: contract.pdf, photo",
    ]
    await admin.press("✅ Save")
    card = (await admin.reply()).text  # the summary says it was saved, the card follows
    (contract,) = rows(db_url, Contract)
    assert card.splitlines()[0] == "📄 Contract HT-2026-0100"
    assert (contract.customer_id, contract.deal_id, contract.status) == (customer, deal, "signed")
    assert (contract.amount, contract.currency) == (Decimal("120000.00"), "CNY")
    assert (contract.signed_on, contract.starts_on, contract.ends_on) == (today(), starts, ends)
    assert (contract.renewal_notice_days, contract.terms) == (
        45,
        "30% upfront, the rest on delivery",
    )
    files = rows(db_url, Attachment)
    assert [(f.kind, f.contract_id, f.customer_id) for f in files] == [
        ("document", contract.id, customer),
        ("photo", contract.id, customer),
    ]


async def test_new_contract_in_chinese_skips_to_the_next_number_and_default_notice(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    await start_for(li, "张伟", "张伟")
    await li.press("跳过 »")  # no deal
    await li.reply()
    await li.press("跳过 »")  # the number: the next free one
    await li.reply()
    await answer(li, "叉车维保")
    await answer(li, "50万")
    await answer(li, "今天")
    await answer(li, "今天")
    await answer(li, "两年")
    await li.press("跳过 »")  # terms
    await li.reply()
    await li.press("跳过 »")  # notice: the configured default
    await li.reply()
    await li.press("完成 ✓")
    summary = (await li.reply()).text
    ends = today().replace(year=today().year + 2) - timedelta(days=1)
    number = f"HT-{today().year}-0001"
    assert summary.splitlines()[1:] == [
        "客户：张伟",
        f"合同编号：{number}",
        "合同名称：叉车维保",
        "金额：¥500,000",
        f"签订日期：{format_date(today(), lang='zh')}",
        f"开始日期：{format_date(today(), lang='zh')}",
        f"到期日期：{format_date(ends, lang='zh')}",
        "续签提醒：到期前 30 天",
    ]
    await li.press("✅ 保存")
    card = (await li.reply()).text
    assert card.splitlines()[0] == f"📄 合同 {number}"
    assert shown(catalogs, "zh", "contract.status.active") in card
    (contract,) = rows(db_url, Contract)
    assert (contract.customer_id, contract.number, contract.status) == (customer, number, "active")
    assert (contract.renewal_notice_days, contract.deal_id) == (30, None)


async def test_bad_answers_are_explained_and_the_entry_kept(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await answer(admin, "/contract")
    await admin.reply()
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await admin.press("Skip »")
    await admin.reply()
    await answer(admin, "HT-2026-0001")
    await answer(admin, "Service")
    reply = await answer(admin, "fifty thousand")
    assert reply.startswith(shown(catalogs, "en", "parse.amount.invalid"))
    assert reply.endswith(shown(catalogs, "en", "contract.ask.amount"))
    await answer(admin, "120k")
    await admin.press("Skip »")  # not signed yet
    await admin.reply()
    starts = today() + timedelta(days=10)
    await answer(admin, starts.isoformat())
    reply = await answer(admin, (starts - timedelta(days=1)).isoformat())
    start_shown = format_date(starts, lang="en")
    assert reply.startswith(shown(catalogs, "en", "contract.end_before_start", start=start_shown))
    assert reply.endswith(shown(catalogs, "en", "contract.ask.ends_on"))
    reply = await answer(admin, "200 years")
    assert reply.startswith(shown(catalogs, "en", "parse.term.out_of_range"))
    await answer(admin, "12 months")
    await admin.press("Skip »")
    await admin.reply()
    files_question = await answer(admin, "0")
    assert files_question == shown(catalogs, "en", "contract.ask.files")
    await admin.upload_document("scan.pdf", b"\0" * (30 * MB), mime_type="application/pdf")
    refused = (await admin.reply()).text
    assert refused.startswith(shown(catalogs, "en", "contract.file_too_big", size="30", max="20"))
    reply = await answer(admin, "done")
    assert reply.startswith(shown(catalogs, "en", "contract.send_a_file"))
    await admin.press("Done ✓")
    summary = (await admin.reply()).text
    assert "Signed files" not in summary
    assert "Renewal notice: 0 days before the end" in summary
    await admin.press("✅ Save")
    await admin.reply()
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.signed_on, contract.amount) == (
        "draft",
        None,
        Decimal("120000.00"),
    )
    assert contract.ends_on == starts.replace(year=starts.year + 1) - timedelta(days=1)
    assert rows(db_url, Attachment) == []


async def test_a_taken_number_is_refused_with_the_next_free_one(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    year = today().year
    for number in (f"HT-{year}-0007", "OLD-1"):
        await start_for(admin, "Zhang", "Zhang Wei")
        await admin.press("Skip »")
        await admin.reply()
        await answer(admin, number)
        await answer(admin, "Service")
        await admin.press("Review ✓")
        await admin.reply()
        await admin.press("✅ Save")
        await admin.reply()
    await start_for(admin, "Zhang", "Zhang Wei")
    await admin.press("Skip »")
    await admin.reply()
    reply = await answer(admin, " old-1 ")  # the same number in any case
    suggestion = f"HT-{year}-0008"
    assert reply.startswith(
        shown(catalogs, "en", "contract.number_taken", number="old-1", suggestion=suggestion)
    )
    assert reply.endswith(shown(catalogs, "en", "contract.ask.number"))
    await admin.press("Skip »")
    title_question = (await admin.reply()).text
    assert title_question == shown(catalogs, "en", "contract.ask.title")
    await answer(admin, "Service")
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert f"Contract number: {suggestion}" in summary
    await admin.press("✅ Save")
    await admin.reply()
    assert [c.number for c in rows(db_url, Contract)] == [f"HT-{year}-0007", "OLD-1", suggestion]


async def test_back_and_cancel_save_nothing(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    add_customer(db_url, admin, "Li Na", "+8613900139000")
    add_deal(db_url, admin, zhang)
    await start_for(admin, "Li", "Li Na")
    await admin.press("Skip »")
    await admin.reply()
    await admin.press("« Back")  # from the number to the deal, then to the customer
    await admin.reply()
    await admin.press("« Back")
    await admin.reply()
    await pick_customer(admin, "Zhang", "Zhang Wei")
    deal_question = admin.last_bot_message  # another customer: its deals are offered
    assert deal_question is not None
    await admin.press("50 chairs", message=deal_question)
    await admin.reply()
    await admin.press("« Back")
    await admin.reply()
    await admin.press("« Back")
    await admin.reply()
    await pick_customer(admin, "Li", "Li Na")
    deal_question = admin.last_bot_message  # Zhang Wei's deal is let go, the deal asked again
    assert deal_question is not None
    assert deal_question.text == shown(catalogs, "en", "contract.ask.deal")
    assert "50 chairs" not in deal_question.button_labels
    await admin.press("Skip »", message=deal_question)
    await admin.reply()
    await answer(admin, "C-1")
    await admin.press("« Back")
    back_at_number = await admin.reply()
    assert "Now: C-1" in back_at_number.text
    await answer(admin, "C-2")
    await answer(admin, "Service")
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Contract) == []


async def test_entry_with_files_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await start_for(admin, "Zhang", "Zhang Wei")
    await admin.press("Skip »")
    await admin.reply()
    await answer(admin, "C-9")
    await answer(admin, "Service")
    for _ in range(6):  # amount .. notice
        await admin.press("Skip »")
        await admin.reply()
    await admin.upload_document("contract.pdf", PDF, mime_type="application/pdf")
    await admin.reply()
    await running_bot.restart()
    await admin.upload_photo(b"\xff\xd8 page 2")
    await admin.reply()
    await admin.press("Done ✓")
    summary = (await admin.reply()).text
    assert "Signed files: 2 files: contract.pdf, photo" in summary
    await admin.press("✅ Save")
    await admin.reply()
    (contract,) = rows(db_url, Contract)
    assert [a.contract_id for a in rows(db_url, Attachment)] == [contract.id, contract.id]
