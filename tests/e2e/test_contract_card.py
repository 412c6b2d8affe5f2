"""A contract's card end to end: Mark signed (the signing date asked) and Activate, Renew (the
flow prefilled from the old one, both linked), Terminate (a date and a reason), Files sent again
by file id, Edit, History, Delete and Restore, and every button refused alike for another
salesperson."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from bot import contract_jobs
from bot.emulator import BotApiEmulator
from handlers.callback_data import ContractAction, pack
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.contracts import ContractCreate, create_contract
from storage.interactions import AttachmentRef
from storage.models import Contract, ContractStatus, Member, Reminder, utcnow
from tests.e2e.helpers import answer, join, retime, rows, shown
from tests.e2e.test_deal_flow import add_customer, today, with_member
from tests.e2e.user import ScriptedUser
from tests.factories import pk


@pytest.fixture(autouse=True)
def parked_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contracts here end on 31 December: in December the calendar pass, soon after the
    bot starts, would make them expiring and remind of them in the middle of a test."""
    retime(monkeypatch, contract_jobs.JOB, every=timedelta(hours=1))


def add_contract(
    db_url: str,
    user: ScriptedUser,
    customer_id: int,
    *,
    number: str = "HT-2026-0001",
    status: ContractStatus = ContractStatus.ACTIVE,
    files: tuple[AttachmentRef, ...] = (),
) -> int:
    starts = date(today().year, 1, 1)

    def make(session: Session, member: Member) -> int:
        data = ContractCreate(
            customer_id=customer_id,
            number=number,
            title="Forklift service",
            amount=Decimal("120000"),
            currency="CNY",
            signed_on=None if status == ContractStatus.DRAFT else starts - timedelta(days=10),
            starts_on=starts,
            ends_on=date(starts.year, 12, 31),
            renewal_notice_days=30,
            terms="30% upfront",
            status=status,
        )
        contract = create_contract(session, actor=member, data=data, files=files)
        assert contract.id is not None
        return contract.id

    return with_member(db_url, user, make)


async def open_contract(user: ScriptedUser, contract_id: int) -> Any:
    await user.send("/help")
    anchor = await user.reply()
    await user.press_data(pack(ContractAction("open", contract_id)), anchor)
    return await user.reply()


async def edit_field(user: ScriptedUser, card: Any, label: str) -> None:
    """Edit on the card, then the field: through to its question."""
    await user.press("✏️ Edit", message=card)
    which = await user.reply()
    await user.press(label, message=which)
    await user.replies(3)


async def test_mark_signed_asks_the_signing_date_refuses_a_future_one_then_activate(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    contract_id = add_contract(db_url, admin, customer, status=ContractStatus.DRAFT)
    card = await open_contract(admin, contract_id)
    assert shown(catalogs, "en", "contract.status.draft") in card.text
    assert "⛔ Terminate" not in card.button_labels
    await admin.press("✍️ Mark signed", message=card)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "contract_sign.title"),
        shown(catalogs, "en", "contract_sign.ask.signed_on"),
    )
    refused = await answer(admin, (today() + timedelta(days=2)).isoformat())
    assert refused.startswith(shown(catalogs, "en", "parse.when.in_future"))
    assert "Example: yesterday" in refused
    assert rows(db_url, Contract)[0].status == "draft"
    signed_day = today() - timedelta(days=3)
    summary = await answer(admin, signed_day.isoformat())
    assert summary.splitlines()[1:] == [f"Signed on: {format_date(signed_day, lang='en')}"]
    await admin.press("✅ Save")
    signed = await admin.reply()
    assert shown(catalogs, "en", "contract.status.signed") in signed.text
    assert f"Signed on: {format_date(signed_day, lang='en')}" in signed.text
    await admin.press("▶️ Activate", message=signed)
    active = await admin.edited(signed)
    assert shown(catalogs, "en", "contract.status.active") in active.text
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.signed_on) == ("active", signed_day)


async def test_mark_signed_cancelled_keeps_the_draft_and_today_signs_it_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    contract_id = add_contract(db_url, li, customer, status=ContractStatus.DRAFT)
    card = await open_contract(li, contract_id)
    await li.press("✍️ 标记已签订", message=card)
    await li.replies(2)
    await li.send("/cancel")
    await li.reply()
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.signed_on) == ("draft", None)
    await li.press("✍️ 标记已签订", message=card)
    await li.replies(2)
    await li.press("今天")
    summary = (await li.reply()).text
    assert summary.splitlines()[1:] == [f"签订日期：{format_date(today(), lang='zh')}"]
    await li.press("✅ 保存")
    assert shown(catalogs, "zh", "contract.status.signed") in (await li.reply()).text
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.signed_on) == ("signed", today())


async def test_renew_enters_the_next_contract_prefilled_and_links_both(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    old_id = add_contract(db_url, admin, customer)
    card = await open_contract(admin, old_id)
    await admin.press("🔁 Renew", message=card)
    title, number_question = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "contract.title")
    assert number_question.text == shown(catalogs, "en", "contract.ask.number")
    await answer(admin, "HT-R-1")
    await admin.press("Today")
    await admin.reply()
    await admin.press("Done ✓")
    summary = (await admin.reply()).text
    year = today().year + 1
    assert summary.splitlines()[1:] == [
        "Customer: Zhang Wei",
        "Contract number: HT-R-1",
        "Title: Forklift service",
        "Amount: CN¥120,000",
        f"Signed on: {format_date(today(), lang='en')}",
        f"Starts: {format_date(date(year, 1, 1), lang='en')}",
        f"Ends: {format_date(date(year, 12, 31), lang='en')}",
        "Payment terms: 30% upfront",
        "Renewal notice: 30 days before the end",
    ]
    await admin.press("✅ Save")
    new_card = await admin.reply()
    assert new_card.text.splitlines()[0] == "📄 Contract HT-R-1"
    assert shown(catalogs, "en", "contract.card_renews", number="HT-2026-0001") in new_card.text
    old, new = rows(db_url, Contract)
    assert (old.status, new.status, new.renewed_from_id) == ("renewed", "signed", old.id)
    await admin.press("📄 HT-2026-0001", message=new_card)
    old_card = await admin.reply()
    assert shown(catalogs, "en", "contract.card_renewed_by", number="HT-R-1") in old_card.text
    assert "🔁 Renew" not in old_card.button_labels


async def test_terminate_asks_the_date_and_reason_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000")
    contract_id = add_contract(db_url, li, customer)
    card = await open_contract(li, contract_id)
    await li.press("⛔ 终止", message=card)
    title, ask = await li.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "zh", "contract_end.title"),
        shown(catalogs, "zh", "contract_end.ask.terminated_on"),
    )
    signed = date(today().year, 1, 1) - timedelta(days=10)
    reply = await answer(li, (signed - timedelta(days=1)).isoformat())
    day = format_date(signed, lang="zh")
    assert reply.startswith(shown(catalogs, "zh", "contract.end_before_signing", day=day))
    await li.press("今天")
    await li.reply()
    summary = await answer(li, "客户改用竞争对手")
    assert summary.splitlines()[1:] == [
        f"终止日期：{format_date(today(), lang='zh')}",
        "原因：客户改用竞争对手",
    ]
    await li.press("✅ 保存")
    terminated = (await li.reply()).text
    assert shown(catalogs, "zh", "contract.status.terminated") in terminated
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.terminated_on) == ("terminated", today())
    assert contract.termination_reason == "客户改用竞争对手"


async def test_files_are_sent_again_by_their_file_ids(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    pdf = emu.state.store_file(
        b"%PDF", folder="documents", extension="pdf", file_name="c.pdf", mime="application/pdf"
    )
    photo = emu.state.store_file(
        b"\xff\xd8", folder="photos", extension="jpg", file_name=None, mime="image/jpeg"
    )
    refs = (
        AttachmentRef("document", pdf.file_id, pdf.file_unique_id),
        AttachmentRef("photo", photo.file_id, photo.file_unique_id),
    )
    contract_id = add_contract(db_url, admin, customer, files=refs)
    card = await open_contract(admin, contract_id)
    assert "📎 2 signed files" in card.text
    await admin.press("📎 Files", message=card)
    document, picture = await admin.replies(2)
    assert document.document is not None
    assert document.document.file_id == pdf.file_id
    assert picture.photo


async def test_edit_history_delete_and_restore(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    contract_id = add_contract(db_url, admin, customer)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Title")
    await answer(admin, "Forklift service and spare parts")
    await admin.press("✅ Save")
    saved, new_card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="HT-2026-0001")
    assert "Forklift service and spare parts" in new_card.text
    year = today().year

    def remind(session: Session, member: Member) -> None:  # as the renewal pass plans it
        key = f"renewal:{contract_id}:notice:{year}1231:{member.id}"
        due = utcnow() + timedelta(days=1)
        session.add(Reminder(member_id=pk(member), contract_id=contract_id, kind="renewal",
                             due_at=due, dedupe_key=key))  # fmt: skip

    with_member(db_url, admin, remind)
    await edit_field(admin, new_card, "Ends")
    await answer(admin, date(year, 11, 30).isoformat())
    await admin.press("✅ Save")
    await admin.replies(2)
    assert rows(db_url, Reminder) == []  # withdrawn with the edit; the pass plans the new day
    await edit_field(admin, new_card, "Ends")
    await answer(admin, date(year - 1, 6, 30).isoformat())
    await admin.press("✅ Save")
    refused = await admin.reply()
    assert refused.text == shown(catalogs, "en", "contract.edit_refused")
    await admin.reply()
    await admin.press("📜 History", message=new_card)
    history = (await admin.reply()).text
    assert history.startswith(
        shown(catalogs, "en", "contract.history_title", number="HT-2026-0001", page=1)
    )
    assert "Forklift service → Forklift service and spare parts" in history
    assert "Customer: Zhang Wei" in history
    await admin.press("🗑 Delete", message=new_card)
    question = await admin.reply()
    await admin.press(shown(catalogs, "en", "records.delete.yes"), message=question)
    await admin.edited(question)
    assert rows(db_url, Contract)[0].deleted_at is not None
    query = await emu.press_button(
        admin.user_id, new_card.message_id, pack(ContractAction("open", contract_id))
    )
    answered = await emu.wait_for_callback_answer(query)
    assert answered.get("text") == shown(catalogs, "en", "common.not_found")
    await admin.send("/restore")
    while True:
        listed = await admin.reply()
        if listed.text == shown(catalogs, "en", "contract.restore_title"):
            break
    await admin.press("♻️ HT-2026-0001", message=listed)
    await admin.reply()
    assert rows(db_url, Contract)[0].deleted_at is None


async def test_edit_the_number_asks_again_for_a_taken_one_and_audits_the_change(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    add_contract(db_url, admin, customer, number="HT-2026-0009")
    contract_id = add_contract(db_url, admin, customer)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Contract number")
    question = admin.last_bot_message
    assert question is not None
    assert question.text.startswith(shown(catalogs, "en", "edit_contract.ask.number"))
    refused = await answer(admin, "HT-2026-0009")
    assert refused.startswith("Contract number HT-2026-0009 is already taken.")
    assert "Skip to keep the current number" in refused
    await answer(admin, "HT-2026-0002")
    await admin.press("✅ Save")
    saved, new_card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="HT-2026-0002")
    assert new_card.text.splitlines()[0] == "📄 Contract HT-2026-0002"
    assert [c.number for c in rows(db_url, Contract)] == ["HT-2026-0009", "HT-2026-0002"]
    await admin.press("📜 History", message=new_card)
    assert "HT-2026-0001 → HT-2026-0002" in (await admin.reply()).text


async def test_every_button_on_another_salespersons_contract_is_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    contract_id = add_contract(db_url, sam, customer)
    await ann.send("/help")
    anchor = await ann.reply()
    not_found = shown(catalogs, "en", "common.not_found")
    actions = ("open", "files", "sign", "activate", "renew", "terminate", "edit", "history")
    for action in (*actions, "delete", "restore"):
        for target in (contract_id, contract_id + 1000):  # another's, and one that is not
            data = pack(ContractAction(action, target))
            query = await emu.press_button(ann.user_id, anchor.message_id, data)
            assert (await emu.wait_for_callback_answer(query)).get("text") == not_found, action
    (contract,) = rows(db_url, Contract)
    assert (contract.status, contract.deleted_at) == ("active", None)
