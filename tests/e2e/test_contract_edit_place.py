"""A contract's Edit for its customer, deal and files, end to end: another customer (searched
as at entry, its deals offered next, the old deal let go, the files moved along), a deal of
the customer's picked or cleared, files added and all sent by the card's Files, /cancel keeping
the contract as it was, and the access rule on every id (a forged Edit button, a customer
out of reach by Save), and Back and a restart in the middle of an edit."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import ContractAction, pack
from handlers.i18n import Catalogs
from storage.contract_changes import update_contract
from storage.deals import DealCreate, create_deal
from storage.interactions import AttachmentRef
from storage.models import Attachment, AuditEntry, Contract, Customer, Member
from tests.conftest import RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_contract_card import (
    add_contract,
    open_contract,
    parked_calendar,  # noqa: F401  (autouse: no expiry pass)
)
from tests.e2e.test_deal_flow import add_customer, pick_customer, with_member
from tests.e2e.user import ScriptedUser

MB = 1024 * 1024
PDF = b"%PDF-1.7 annex"


def add_deal(db_url: str, user: ScriptedUser, customer_id: int, title: str) -> int:
    def make(session: Session, member: Member) -> int:
        data = DealCreate(customer_id=customer_id, title=title, stage="won")
        deal = create_deal(session, actor=member, data=data)
        assert deal.id is not None
        return deal.id

    return with_member(db_url, user, make)


async def edit_field(user: ScriptedUser, card: Any, label: str, edit: str = "✏️ Edit") -> None:
    """Edit on the card, then the field: through to its question."""
    await user.press(edit, message=card)
    which = await user.reply()
    await user.press(label, message=which)
    await user.replies(3)


def the_contract(db_url: str) -> Contract:
    (contract,) = rows(db_url, Contract)
    return contract


def contract_audits(db_url: str) -> list[dict[str, Any]]:
    return [
        entry.changes
        for entry in rows(db_url, AuditEntry)
        if entry.entity_type == "contract" and entry.action == "update"
    ]


async def test_another_customer_offers_its_deals_and_moves_the_files(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    li = add_customer(db_url, admin, "Li Na", "+8613900139000", company="Acme")
    old_deal = add_deal(db_url, admin, zhang, "50 chairs")
    new_deal = add_deal(db_url, admin, li, "Forklifts")
    pdf = emu.state.store_file(
        b"%PDF", folder="documents", extension="pdf", file_name="c.pdf", mime="application/pdf"
    )
    contract_id = add_contract(
        db_url, admin, zhang, files=(AttachmentRef("document", pdf.file_id, pdf.file_unique_id),)
    )
    with_member(
        db_url,
        admin,
        lambda s, m: update_contract(
            s, actor=m, contract_id=contract_id, changes={"deal_id": old_deal}
        ),
    )
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Customer")
    assert admin.last_bot_message is not None
    assert admin.last_bot_message.text.startswith(
        shown(catalogs, "en", "edit_contract.ask.customer").splitlines()[0]
    )
    await pick_customer(admin, "acme", "Li Na · Acme")
    deal_question = admin.last_bot_message
    assert deal_question is not None
    assert deal_question.text.startswith(shown(catalogs, "en", "edit_contract.ask.deal"))
    assert "50 chairs" not in deal_question.button_labels
    await admin.press("Forklifts", message=deal_question)
    summary = (await admin.reply()).text
    assert "Customer: Li Na · Acme" in summary
    assert "Deal: Forklifts" in summary
    assert the_contract(db_url).customer_id == zhang  # nothing is saved before Save
    await admin.press("✅ Save")
    saved, new_card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="HT-2026-0001")
    assert "Li Na" in new_card.text
    contract = the_contract(db_url)
    assert (contract.customer_id, contract.deal_id) == (li, new_deal)
    assert [f.customer_id for f in rows(db_url, Attachment)] == [li]
    assert contract_audits(db_url)[-1]["customer_id"] == [zhang, li]
    await admin.press("📜 History", message=new_card)
    assert "Zhang Wei → Li Na" in (await admin.reply()).text


async def test_the_same_customer_again_changes_nothing_and_skip_of_the_deal_lets_it_go(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    li = add_customer(db_url, admin, "Li Na", "+8613900139000")
    add_deal(db_url, admin, li, "Forklifts")
    contract_id = add_contract(db_url, admin, zhang)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Customer")
    await admin.press("Skip »")
    await admin.reply()  # the summary: the deal is not asked for the same customer
    await admin.press("✅ Save")
    unchanged, card = await admin.replies(2)
    assert unchanged.text == shown(catalogs, "en", "records.edit.unchanged")
    await edit_field(admin, card, "Customer")
    await pick_customer(admin, "Li Na", "Li Na")
    deal_question = admin.last_bot_message
    assert deal_question is not None
    await admin.press("Skip »", message=deal_question)
    await admin.reply()
    await admin.press("✅ Save")
    await admin.replies(2)
    contract = the_contract(db_url)
    assert (contract.customer_id, contract.deal_id) == (li, None)


async def test_cancel_keeps_the_customer_and_deal(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    add_customer(db_url, admin, "Li Na", "+8613900139000")
    add_deal(db_url, admin, zhang, "50 chairs")
    contract_id = add_contract(db_url, admin, zhang)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Customer")
    await pick_customer(admin, "Li Na", "Li Na")
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    await edit_field(admin, card, "Deal")
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    await edit_field(admin, card, "Signed files")
    await admin.upload_document("annex.pdf", PDF, mime_type="application/pdf")
    await admin.reply()
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    contract = the_contract(db_url)
    assert (contract.customer_id, contract.deal_id) == (zhang, None)
    assert rows(db_url, Attachment) == []
    assert contract_audits(db_url) == []


async def test_a_deal_of_the_customer_is_picked_then_cleared(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal = add_deal(db_url, admin, zhang, "50 chairs")
    contract_id = add_contract(db_url, admin, zhang)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Deal")
    question = admin.last_bot_message
    assert question is not None
    assert question.text.startswith(shown(catalogs, "en", "edit_contract.ask.deal"))
    await admin.press("50 chairs", message=question)
    assert "Deal: 50 chairs" in (await admin.reply()).text
    await admin.press("✅ Save")
    saved, card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="HT-2026-0001")
    assert the_contract(db_url).deal_id == deal
    await edit_field(admin, card, "Deal")
    question = admin.last_bot_message
    assert question is not None
    await admin.press(shown(catalogs, "en", "flow.button.clear"), message=question)
    confirm = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.clear_yes"), message=confirm)
    await admin.reply()
    await admin.press("✅ Save")
    await admin.replies(2)
    assert the_contract(db_url).deal_id is None
    assert [a["deal_id"] for a in contract_audits(db_url)] == [[None, deal], [deal, None]]


async def test_files_are_added_a_big_one_refused_and_all_sent_from_the_card(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    pdf = emu.state.store_file(
        b"%PDF", folder="documents", extension="pdf", file_name="c.pdf", mime="application/pdf"
    )
    contract_id = add_contract(
        db_url, admin, zhang, files=(AttachmentRef("document", pdf.file_id, pdf.file_unique_id),)
    )
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Signed files")
    question = admin.last_bot_message
    assert question is not None
    assert question.text == shown(catalogs, "en", "edit_contract.ask.files")
    assert await answer(admin, "here it is") != ""  # text: asked to send a file
    await admin.upload_document("scan.pdf", b"\0" * (30 * MB), mime_type="application/pdf")
    refused = (await admin.reply()).text
    assert refused.startswith(shown(catalogs, "en", "contract.file_too_big", size="30", max="20"))
    await admin.upload_document("annex.pdf", PDF, mime_type="application/pdf")
    await admin.reply()
    await admin.upload_photo(b"\xff\xd8 page 2")
    kept = await admin.reply()
    assert kept.text.startswith(shown(catalogs, "en", "flow.file_kept", count=2))
    await admin.press("Done ✓", message=kept)
    summary = (await admin.reply()).text
    assert "2 files: annex.pdf, photo" in summary
    assert len(rows(db_url, Attachment)) == 1  # nothing is saved before Save
    await admin.press("✅ Save")
    saved, card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="HT-2026-0001")
    assert "📎 3 signed files" in card.text
    files = rows(db_url, Attachment)
    assert [(f.kind, f.contract_id, f.customer_id) for f in files] == [
        ("document", contract_id, zhang),
        ("document", contract_id, zhang),
        ("photo", contract_id, zhang),
    ]
    assert contract_audits(db_url) == [{"files": [1, 3]}]
    await admin.press("📎 Files", message=card)
    sent = await admin.replies(3)
    assert [bool(m.document) for m in sent] == [True, True, False]
    assert sent[2].photo


async def test_a_file_added_then_another_customer_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    customer = add_customer(db_url, li, "张伟", "+8613800138000", company="华为")
    other = add_customer(db_url, li, "王芳", "+8613900139000")
    deal = add_deal(db_url, li, other, "叉车")
    contract_id = add_contract(db_url, li, customer)
    card = await open_contract(li, contract_id)
    await edit_field(li, card, shown(catalogs, "zh", "contract.field.files"), "✏️ 修改")
    question = li.last_bot_message
    assert question is not None
    assert question.text == shown(catalogs, "zh", "edit_contract.ask.files")
    await li.upload_photo(b"\xff\xd8 page")
    kept = await li.reply()
    await li.press(shown(catalogs, "zh", "contract.button.files_done"), message=kept)
    summary = (await li.reply()).text
    assert shown(catalogs, "zh", "edit_contract.field.files") in summary
    await li.press(shown(catalogs, "zh", "flow.button.save"))
    saved, card = await li.replies(2)
    assert saved.text == shown(catalogs, "zh", "records.edit.saved", name="HT-2026-0001")
    assert len(rows(db_url, Attachment)) == 1
    await edit_field(li, card, shown(catalogs, "zh", "contract.field.customer"), "✏️ 修改")
    await pick_customer(li, "王芳", "王芳")
    deal_question = li.last_bot_message
    assert deal_question is not None
    assert deal_question.text.startswith(shown(catalogs, "zh", "edit_contract.ask.deal"))
    await li.press("叉车", message=deal_question)
    await li.reply()
    await li.press(shown(catalogs, "zh", "flow.button.save"))
    await li.replies(2)
    contract = the_contract(db_url)
    assert (contract.customer_id, contract.deal_id) == (other, deal)


async def test_forged_edit_and_a_customer_out_of_reach_by_save_are_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    sams = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    sams_contract = add_contract(db_url, sam, sams, number="HT-2026-0009")
    not_found = shown(catalogs, "en", "common.not_found")
    await ann.send("/help")
    anchor = await ann.reply()
    for target in (sams_contract, sams_contract + 1000):  # another's, and one that is not
        for field in ("", "8", "9", "10"):  # the list, files, customer, deal
            data = pack(ContractAction("edit", target, field))
            query = await emu.press_button(ann.user_id, anchor.message_id, data)
            assert (await emu.wait_for_callback_answer(query)).get("text") == not_found
    # Ann's own contract, moved to a customer of Ann's that is Sam's by the time she saves.
    anns = add_customer(db_url, ann, "Li Na", "+8613900139000")
    moving = add_customer(db_url, ann, "Wang Fang", "+8613700137000")
    contract_id = add_contract(db_url, ann, anns)
    card = await open_contract(ann, contract_id)
    await edit_field(ann, card, "Customer")
    await pick_customer(ann, "Wang", "Wang Fang")
    await ann.press("Skip »")
    await ann.reply()

    def hand_to_sam(session: Session, member: Member) -> None:
        customer = session.get_one(Customer, moving)
        customer.owner_id = member.id
        session.add(customer)

    with_member(db_url, sam, hand_to_sam)
    await ann.press("✅ Save")
    assert (await ann.reply()).text == not_found
    contract = next(c for c in rows(db_url, Contract) if c.id == contract_id)
    assert (contract.customer_id, contract.deal_id) == (anns, None)
    assert contract_audits(db_url) == []


async def test_back_from_the_deal_and_a_restart_keep_the_edit_going(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    zhang = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    li = add_customer(db_url, admin, "Li Na", "+8613900139000")
    wang = add_customer(db_url, admin, "Wang Fang", "+8613700137000")
    add_deal(db_url, admin, li, "Chairs")
    deal = add_deal(db_url, admin, wang, "Forklifts")
    contract_id = add_contract(db_url, admin, zhang)
    card = await open_contract(admin, contract_id)
    await edit_field(admin, card, "Customer")
    await pick_customer(admin, "Li Na", "Li Na")
    await admin.press("Chairs", message=admin.last_bot_message)
    assert "Deal: Chairs" in (await admin.reply()).text
    await admin.press("« Back")  # from the summary to Li Na's deal, then to the customer
    await admin.reply()
    await admin.press("« Back")
    back_at_customer = await admin.reply()
    assert "Now: Li Na" in back_at_customer.text
    await running_bot.restart()
    await pick_customer(admin, "Wang", "Wang Fang")
    deal_question = admin.last_bot_message  # asked again: Li Na's deal is not Wang Fang's
    assert deal_question is not None
    assert deal_question.button_labels[:1] == ["Forklifts"]
    assert "Chairs" not in deal_question.button_labels
    await admin.press("Forklifts", message=deal_question)
    await admin.reply()
    await admin.upload_photo(b"\xff\xd8 stray")  # not a files question: nothing is added
    await admin.reply()
    await admin.press("✅ Save")
    await admin.replies(2)
    contract = the_contract(db_url)
    assert (contract.customer_id, contract.deal_id) == (wang, deal)
    assert rows(db_url, Attachment) == []
