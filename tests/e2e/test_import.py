"""Spreadsheet import through the chat, set-up half: upload, review, mapping changes, date
order, preview, /cancel, stale and foreign buttons, a restart during the review.

The run half (progress, results, duplicates, error file, failure, undo) is in
test_import_run.py and uses the helpers here.
"""

from __future__ import annotations

import io

from openpyxl import Workbook

from bot.config import ImportsConfig
from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import ImportAction, pack
from handlers.i18n import Catalogs
from storage.imports.models import ImportBatch
from storage.models import Customer, CustomerPhone
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, join, rows, shown
from tests.e2e.test_deal_flow import member_id
from tests.e2e.user import ScriptedUser

CSV = (
    b"Name,Phone,Email,Company\n"
    b"Zhang Wei,13800138000,zhang@example.com,Acme\n"
    b"Li Na,13900139000,li@example.com,Beta\n"
    b"Wang Fang,13700137000,,Gamma\n"
)


async def upload(user: ScriptedUser, name: str, content: bytes) -> BotMessage:
    """Send the file; the bot's answer (the review message, or why not)."""
    await user.upload_document(name, content)
    return await user.reply()


async def press(user: ScriptedUser, message: BotMessage, label: str) -> BotMessage:
    """Press a button of the review message; the message after the edit it causes."""
    await user.press(label, message=message)
    return await user.edited(message)


async def to_preview(user: ScriptedUser, review: BotMessage, lang: str = "en") -> BotMessage:
    return await press(user, review, "Continue ▶" if lang == "en" else "继续 ▶")


async def finish(user: ScriptedUser, preview: BotMessage, lang: str = "en") -> BotMessage:
    """Start the import; the result message (after the progress message's edits)."""
    await user.press("▶ Start import" if lang == "en" else "▶ 开始导入", message=preview)
    return await user.reply(timeout=30)


async def answered_text(emu: BotApiEmulator, user: ScriptedUser, data: str, at: BotMessage) -> str:
    """Press forged or stale data; the toast the bot answers with."""
    earlier = set(emu.callback_answers)
    await user.press_data(data, at)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answered,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    return str(answered.get("text"))


def customers(db_url: str) -> list[Customer]:
    return [c for c in rows(db_url, Customer) if c.deleted_at is None]


def batch_ids(db_url: str) -> list[int]:
    return [b.id for b in rows(db_url, ImportBatch)]


# --- tests -------------------------------------------------------------------------------------


async def test_import_command_explains_what_to_send(
    admin: ScriptedUser, catalogs: Catalogs
) -> None:
    await admin.send("/import")
    text = (await admin.reply()).text
    assert text.startswith(shown(catalogs, "en", "import.explain", fields="", rows=0, mb=0)[:40])
    assert "Name, Phone, Email, Company" in text
    assert "Zhang Wei,13800138000" in text


async def test_csv_upload_shows_columns_then_preview_then_imports(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    review = await upload(admin, "customers.csv", CSV)
    assert review.text.splitlines()[0] == "📄 customers.csv · rows: 3"
    assert "1. Name → Name (Zhang Wei)" in review.text
    assert "2. Phone → Phone (13800138000)" in review.text
    assert {"1. Name", "4. Company", "Continue ▶", "✖ Cancel import"} <= set(review.button_labels)
    preview = await to_preview(admin, review)
    assert "Row 2: Name: Zhang Wei · Phone: 138 0013 8000" in preview.text
    assert "Email: zhang@example.com" in preview.text
    assert "✓ Skip them" in preview.button_labels
    result = await finish(admin, preview)
    assert result.text.splitlines()[:5] == [
        "✅ customers.csv imported.",
        "Created: 3",
        "Updated: 0",
        "Skipped: 0",
        "Rejected: 0",
    ]
    assert "↩ Undo this import" in result.button_labels
    stored = sorted((c.name, c.company) for c in customers(db_url))
    assert stored == [("Li Na", "Beta"), ("Wang Fang", "Gamma"), ("Zhang Wei", "Acme")]
    progress = await admin.edited(preview)  # the review message became the progress
    assert progress.text == "⏳ Importing… 3 / 3 rows"


async def test_gbk_csv_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    content = (
        "姓名,电话,邮箱,生日\n张伟,13800138000,zhang@example.com,1990-05-17\n李娜,13900139000,,\n"
    ).encode("gbk")
    review = await upload(wang, "客户.csv", content)
    assert review.text.splitlines()[0] == "📄 客户.csv：共 2 行"
    assert "1. 姓名 → 姓名（张伟）" in review.text
    assert "4. 生日 → 生日（1990-05-17）" in review.text
    preview = await to_preview(wang, review, "zh")
    assert "第 2 行：姓名：张伟" in preview.text
    result = await finish(wang, preview, "zh")
    assert result.text.splitlines()[1] == "新建：2"
    zhang = next(c for c in customers(db_url) if c.name == "张伟")
    assert (zhang.birthday_year, zhang.birthday_month, zhang.birthday_day) == (1990, 5, 17)
    assert zhang.owner_id == member_id(db_url, wang)


async def test_xlsx_upload_is_imported(admin: ScriptedUser, db_url: str) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["客户名称", "手机", "公司"])
    sheet.append(["Chen Jie", 13600136000, "Delta"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    review = await upload(admin, "book.xlsx", buffer.getvalue())
    assert "2. 手机 → Phone (13600136000)" in review.text
    result = await finish(admin, await to_preview(admin, review))
    assert "Created: 1" in result.text
    ((name, company),) = [(c.name, c.company) for c in customers(db_url)]
    assert (name, company) == ("Chen Jie", "Delta")


async def test_column_can_be_remapped_and_ignored(admin: ScriptedUser, db_url: str) -> None:
    content = b"Name,Mobile,Memo\nZhang Wei,13800138000,Acme\n"
    review = await upload(admin, "odd.csv", content)
    assert "3. Memo → 📝 note (Acme)" in review.text  # no field for it: to the note
    picker = await press(admin, review, "3. Memo")
    assert picker.text == "Column 3 Memo (e.g. Acme): which field should it fill?"
    assert {"✓ 📝 To the note", "Don't import"} <= set(picker.button_labels)
    review = await press(admin, picker, "Company")
    assert "3. Memo → Company (Acme)" in review.text
    picker = await press(admin, review, "2. Mobile")
    review = await press(admin, picker, "Don't import")
    assert "2. Mobile → not imported (13800138000)" in review.text
    picker = await press(admin, review, "1. Name")
    review = await press(admin, picker, "◀ Back")
    assert "1. Name → Name (Zhang Wei)" in review.text
    await finish(admin, await to_preview(admin, review))
    (customer,) = customers(db_url)
    assert (customer.company, customer.needs) == ("Acme", None)
    assert rows(db_url, CustomerPhone) == []


async def test_without_a_name_column_start_asks_for_one(admin: ScriptedUser) -> None:
    review = await upload(admin, "n.csv", b"Name,Phone\nZhang Wei,13800138000\n")
    picker = await press(admin, review, "1. Name")
    review = await press(admin, picker, "Don't import")
    preview = await to_preview(admin, review)
    await admin.press("▶ Start import", message=preview)
    again = await admin.edited(preview)
    assert "⚠️ Choose the column that holds the customer's name first." in again.text


async def test_ambiguous_dates_are_asked_once_per_column(admin: ScriptedUser, db_url: str) -> None:
    content = b"Name,Birthday\nZhang Wei,03/04/1990\nLi Na,05/06/1991\n"
    review = await upload(admin, "dates.csv", content)
    question = await to_preview(admin, review)
    assert question.text == "The column Birthday has dates like 03/04/1990. Which day is that?"
    assert question.button_labels[:2] == ["3 April 1990", "4 March 1990"]
    preview = await press(admin, question, "3 April 1990")
    assert "Row 2: Name: Zhang Wei · Birthday: 3 April 1990" in preview.text
    await finish(admin, preview)
    li = next(c for c in customers(db_url) if c.name == "Li Na")
    assert (li.birthday_day, li.birthday_month) == (5, 6)


async def test_unreadable_files_say_what_is_accepted(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    answer = await upload(admin, "contract.pdf", b"%PDF-1.4 ...")
    assert answer.text == shown(catalogs, "en", "import.unreadable.not_a_table")
    answer = await upload(admin, "empty.csv", b"Name,Phone\n")
    assert answer.text == shown(catalogs, "en", "import.unreadable.empty")
    answer = await upload(admin, "broken.xlsx", b"PK\x03\x04 not really a workbook")
    assert answer.text == shown(catalogs, "en", "import.unreadable.not_a_table")
    assert batch_ids(db_url) == []


async def test_cancel_during_review_saves_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    review = await upload(admin, "customers.csv", CSV)
    await admin.send("/cancel")
    assert (await admin.reply()).text == shown(catalogs, "en", "import.cancelled")
    (batch_id,) = batch_ids(db_url)
    toast = await answered_text(emu, admin, pack(ImportAction("preview", batch_id)), review)
    assert toast == shown(catalogs, "en", "import.no_longer_draft")
    await admin.send("/cancel")  # nothing left to cancel: the usual answer
    assert (await admin.reply()).text == shown(catalogs, "en", "cancel.nothing")
    assert customers(db_url) == []


async def test_cancel_button_cancels_the_import(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    review = await upload(admin, "customers.csv", CSV)
    cancelled = await press(admin, review, "✖ Cancel import")
    assert cancelled.text == shown(catalogs, "en", "import.cancelled")
    assert cancelled.buttons == []
    assert [b.status for b in rows(db_url, ImportBatch)] == ["cancelled"]


async def test_restart_during_review_keeps_the_buttons_working(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
) -> None:
    review = await upload(admin, "customers.csv", CSV)
    picker = await press(admin, review, "4. Company")
    await running_bot.restart()
    review = await press(admin, picker, "Don't import")
    assert "4. Company → not imported (Acme)" in review.text
    result = await finish(admin, await to_preview(admin, review))
    assert "Created: 3" in result.text
    assert {c.company for c in customers(db_url)} == {None}


async def test_a_salespersons_import_is_theirs_alone(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    lee = await join(emu, admin, 2003, "Lee")
    review = await upload(sam, "mine.csv", CSV)
    (batch_id,) = batch_ids(db_url)
    await lee.send("/help")
    anchor = await lee.reply()
    toast = await answered_text(emu, lee, pack(ImportAction("start", batch_id)), anchor)
    assert toast == shown(catalogs, "en", "common.not_found")
    await finish(sam, await to_preview(sam, review))
    assert {c.owner_id for c in customers(db_url)} == {member_id(db_url, sam)}
    await lee.send("/import undo")
    assert (await lee.reply()).text == shown(catalogs, "en", "import.undo.nothing")
    await lee.press_data(pack(ImportAction("undo", batch_id)), anchor)
    assert (await lee.reply()).text == shown(catalogs, "en", "common.not_found")
    toast = await answered_text(emu, lee, pack(ImportAction("confirm", batch_id)), anchor)
    assert toast == shown(catalogs, "en", "common.not_found")
    assert len(customers(db_url)) == 3
    await lee.send("/export customers")
    exported = await lee.reply()
    assert exported.caption == shown(catalogs, "en", "export.done.customers", count=0)


async def test_files_over_the_limits_are_refused(
    admin: ScriptedUser, running_bot: RunningBot, catalogs: Catalogs, db_url: str
) -> None:
    assert running_bot.application is not None
    services = running_bot.application.bot_data["services"]
    limits = ImportsConfig(max_file_mb=1, max_rows=2)
    services.config = services.config.model_copy(update={"imports": limits})
    big = b"Name,Notes\n" + b"Zhang Wei," + b"x" * (1024 * 1024) + b"\n"
    answer = await upload(admin, "big.csv", big)
    assert answer.text == shown(catalogs, "en", "import.too_big", mb=1)
    answer = await upload(admin, "three.csv", CSV)
    assert answer.text == shown(catalogs, "en", "import.unreadable.too_many_rows", rows=2)
    assert batch_ids(db_url) == []


async def test_a_document_sent_during_an_entry_flow_is_not_taken_as_an_import(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/newcustomer")
    await admin.replies(2)
    answer = await upload(admin, "customers.csv", CSV)
    assert answer.text.startswith(shown(catalogs, "en", "flow.wrong_type"))
    assert batch_ids(db_url) == []


async def test_start_pressed_twice_imports_once(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    preview = await to_preview(admin, await upload(admin, "customers.csv", CSV))
    (batch_id,) = batch_ids(db_url)
    result = await finish(admin, preview)
    assert "Created: 3" in result.text
    toast = await answered_text(emu, admin, pack(ImportAction("start", batch_id)), preview)
    assert toast == shown(catalogs, "en", "import.no_longer_draft")
    assert len(customers(db_url)) == 3
