"""Where a contract is started and shown besides /contract: the customer card's "New contract",
a deal card's "New contract", a won deal's "Create contract" next to "Record purchase" (with
a PDF); the customer card's contracts in force and total, and its paged contract list."""

from __future__ import annotations

from decimal import Decimal

from bot.emulator import BotApiEmulator, BotMessage
from handlers.callback_data import CustomerAction, DealAction, pack
from handlers.i18n import Catalogs
from storage.models import Attachment, Contract, ContractStatus
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_contract_card import add_contract
from tests.e2e.test_deal_flow import add_customer, add_deal, open_card
from tests.e2e.user import ScriptedUser


async def test_new_contract_from_the_customer_card_starts_with_the_customer(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    card = await answer_card(admin, customer)
    await admin.press("📄 New contract", message=card)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "contract.title"),
        shown(catalogs, "en", "contract.ask.deal"),
    )


async def answer_card(user: ScriptedUser, customer_id: int) -> BotMessage:
    await user.send(f"/customer {customer_id}")
    return await user.reply()


async def test_open_deals_card_offers_a_new_contract_for_its_deal(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal)
    await admin.press("📄 New contract", message=card)
    _, ask = await admin.replies(2)
    assert ask.text == shown(catalogs, "en", "contract.ask.number")


async def test_contract_from_a_won_deal_with_a_pdf(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal)
    await admin.press("Won", message=card)
    await admin.replies(2)
    await answer(admin, "Best price")
    await admin.press("✅ Save")
    won = await admin.reply()
    assert won.button_labels[-2:] == [
        shown(catalogs, "en", "deal.button.purchase"),
        shown(catalogs, "en", "deal.button.contract_won"),
    ]
    await admin.press("📄 Create contract", message=won)
    await admin.replies(2)  # the title, the number question
    await answer(admin, "HT-W-1")
    await answer(admin, "50 chairs, delivery and service")
    await answer(admin, "50k")
    await admin.press("Today")
    await admin.reply()
    for _ in range(4):  # start, end, terms, notice
        await admin.press("Skip »")
        await admin.reply()
    await admin.upload_document("contract.pdf", b"%PDF-1.7", mime_type="application/pdf")
    await admin.reply()
    await admin.press("Done ✓")
    summary = (await admin.reply()).text
    assert "Deal: 50 chairs" in summary
    await admin.press("✅ Save")
    await admin.reply()
    (contract,) = rows(db_url, Contract)
    (pdf,) = rows(db_url, Attachment)
    assert (contract.customer_id, contract.deal_id) == (customer, deal)
    assert (contract.amount, contract.status) == (Decimal("50000.00"), "signed")
    assert (pdf.kind, pdf.contract_id) == ("document", contract.id)


async def test_customer_card_shows_contracts_in_force_and_lists_them_all(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    add_contract(db_url, admin, customer, number="D-0", status=ContractStatus.DRAFT)
    for i in range(1, 10):
        add_contract(db_url, admin, customer, number=f"A-{i}")
    card = await answer_card(admin, customer)
    assert shown(catalogs, "en", "contract.on_card.title") in card.text
    assert shown(catalogs, "en", "contract.on_card.total", total="CN¥1,080,000") in card.text
    assert shown(catalogs, "en", "contract.on_card.more", count=4) in card.text
    assert "A-9" in card.text
    assert "A-4" not in card.text
    await admin.press("📄 Contracts", message=card)
    first = await admin.reply()
    assert first.text.startswith(shown(catalogs, "en", "contract.list_title", page=1))
    assert [label for label in first.button_labels if label.startswith("📄")] == [
        f"📄 A-{i}" for i in range(9, 1, -1)
    ]
    await admin.press("»", message=first)
    second = await admin.edited(first)
    assert [label for label in second.button_labels if label.startswith("📄")] == [
        "📄 A-1",
        "📄 D-0",
    ]
    await admin.press("📄 A-1", message=second)
    opened = await admin.reply()
    assert opened.text.splitlines()[0] == "📄 Contract A-1"


async def test_contract_buttons_of_another_salespersons_customer_or_deal_are_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    customer = add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    deal = add_deal(db_url, sam, customer, stage="won")
    add_contract(db_url, sam, customer)
    await ann.send("/help")
    anchor = await ann.reply()
    not_found = shown(catalogs, "en", "common.not_found")
    for data in (
        CustomerAction("contract", customer),
        CustomerAction("contracts", customer, "1"),
        DealAction("contract", deal),
    ):
        query = await emu.press_button(ann.user_id, anchor.message_id, pack(data))
        assert (await emu.wait_for_callback_answer(query)).get("text") == not_found
