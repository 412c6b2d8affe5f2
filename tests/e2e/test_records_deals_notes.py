"""Edit, delete and restore deals (from /deals) and notes (from the customer card), end to end,
with every refusal answered exactly like an unknown record."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import DealAction, NoteAction, pack
from handlers.i18n import Catalogs
from storage.audit import list_audit
from storage.customers import CustomerCreate, create_customer
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, Deal, Interaction
from storage.parsing import ParseError, parse_amount
from storage.record_changes import archive_deal, archive_interaction
from tests.e2e.helpers import join, shown
from tests.e2e.test_records import callback_answer, in_db, member
from tests.e2e.user import ScriptedUser


def seed(db_url: str, telegram_id: int, name: str) -> tuple[int, int, int]:
    """A customer of the member, with a 100 CNY "Chairs" deal and a call note."""

    def add(session: Session) -> tuple[int, int, int]:
        owner = member(session, telegram_id)
        customer = create_customer(session, actor=owner, data=CustomerCreate(name=name))
        assert customer.id is not None
        deal = create_deal(
            session,
            actor=owner,
            data=DealCreate(
                customer_id=customer.id,
                title="Chairs",
                stage="lead",
                amount=Decimal(100),
                currency="CNY",
            ),
        )
        note = create_interaction(
            session,
            actor=owner,
            data=InteractionCreate(
                customer_id=customer.id,
                kind="call",
                happened_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
                summary="Talked about chairs",
            ),
        )
        assert deal.id is not None
        assert note.id is not None
        return customer.id, deal.id, note.id

    result: tuple[int, int, int] = in_db(db_url, add)
    return result


def deal(db_url: str, deal_id: int) -> Deal:
    return in_db(db_url, lambda s: s.get_one(Deal, deal_id))


def note(db_url: str, note_id: int) -> Interaction:
    return in_db(db_url, lambda s: s.get_one(Interaction, note_id))


def audit(db_url: str, entity_type: str, entity_id: int) -> list[Any]:
    return in_db(db_url, lambda s: list_audit(s, entity_type=entity_type, entity_id=entity_id))


@pytest.fixture
async def sales(emu: BotApiEmulator, admin: ScriptedUser) -> ScriptedUser:
    await admin.send("/help")
    await admin.reply()
    return await join(emu, admin, 2002, "Li Na")


async def open_note(
    user: ScriptedUser, catalogs: Catalogs, customer_id: int, note_id: int
) -> None:
    await user.send(f"/customer {customer_id}")
    card = await user.reply()
    await user.press(shown(catalogs, "en", "records.note.button", id=note_id), message=card)


async def test_edit_deal_amount_rejects_a_bad_value_then_saves_and_audits(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    _customer, deal_id, _note = seed(db_url, 1001, "Grace Hopper")
    await admin.send("/deals")
    await admin.press(
        shown(catalogs, "en", "records.button.edit_short"), message=await admin.reply()
    )
    choose = await admin.reply()
    assert choose.text == shown(catalogs, "en", "records.edit.choose", name="Chairs")
    assert shown(catalogs, "en", "deal.field.stage") not in choose.button_labels
    await admin.press(shown(catalogs, "en", "deal.field.amount"), message=choose)
    _intro, _title, question = await admin.replies(3)
    assert question.text == shown(catalogs, "en", "edit_deal.ask.amount") + "\n\n" + shown(
        catalogs, "en", "flow.current", value="CN¥100"
    )
    await admin.send("lots")
    retry = await admin.reply()
    error = parse_amount("lots", default_currency="CNY")
    assert isinstance(error, ParseError)
    expected = shown(catalogs, "en", error.key, **dict(error.params))
    assert retry.text == f"{expected}\n\n{question.text}"  # the error, then the example again
    assert deal(db_url, deal_id).amount == Decimal("100.00")
    await admin.send("250")
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    saved, card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="Chairs")
    assert "Chairs" in card.text
    assert deal(db_url, deal_id).amount == Decimal("250.00")
    entry = audit(db_url, "deal", deal_id)[0]
    assert (entry.action, entry.changes) == ("update", {"amount": ["100.00", "250.00"]})
    await admin.send(f"/customer {_customer}")
    await admin.press(shown(catalogs, "en", "lookup.button.history"), message=await admin.reply())
    history = (await admin.reply()).text
    subject = shown(catalogs, "en", "records.subject.deal", id=deal_id)
    assert f"{subject}: {shown(catalogs, 'en', 'records.action.update')}" in history
    assert (
        # the currency did not change, so the entry has none: the amounts as numbers
        shown(catalogs, "en", "records.history.change", field="Amount", old="100", new="250")
        in history
    )


async def test_edit_note_summary_from_the_customer_card(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id, _deal, note_id = seed(db_url, 1001, "Grace Hopper")
    await open_note(admin, catalogs, customer_id, note_id)
    card = await admin.reply()
    assert "Talked about chairs" in card.text
    await admin.press(shown(catalogs, "en", "lookup.button.edit"), message=card)
    choose = await admin.reply()
    await admin.press(shown(catalogs, "en", "note.field.summary"), message=choose)
    _intro, _title, question = await admin.replies(3)
    assert question.text.startswith(shown(catalogs, "en", "edit_note.ask.summary")[:10])
    await admin.send("Ordered 50 chairs")
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    saved, shown_again = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.note.saved")
    assert "Ordered 50 chairs" in shown_again.text
    assert note(db_url, note_id).summary == "Ordered 50 chairs"
    entry = audit(db_url, "interaction", note_id)[0]
    assert entry.changes == {"summary": ["Talked about chairs", "Ordered 50 chairs"]}


async def test_delete_deal_hides_it_and_admin_restores_it(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    _customer, deal_id, _note = seed(db_url, 2002, "Zhang Wei")
    await sales.send("/deals")
    await sales.press(
        shown(catalogs, "en", "records.button.delete_short"), message=await sales.reply()
    )
    confirm = await sales.reply()
    assert confirm.text == shown(catalogs, "en", "records.deal.delete_confirm", name="Chairs")
    await sales.press(shown(catalogs, "en", "records.delete.yes"), message=confirm)
    done = await sales.edited(confirm)
    assert done.text == shown(catalogs, "en", "records.delete.done", name="Chairs")
    assert deal(db_url, deal_id).deleted_at is not None
    await sales.send("/deals")
    assert (await sales.reply()).text == shown(catalogs, "en", "deals.none")
    await sales.send("/restore")
    assert (await sales.reply()).text == shown(catalogs, "en", "records.restore.admins_only")
    await admin.send("/restore")
    listing = await admin.reply()
    assert listing.text == shown(catalogs, "en", "records.restore.deals_title")
    await admin.press(f"♻️ Chairs #{deal_id}", message=listing)
    restored = await admin.reply()
    assert restored.text == shown(catalogs, "en", "records.restore.done", name="Chairs")
    assert deal(db_url, deal_id).deleted_at is None
    assert [e.action for e in audit(db_url, "deal", deal_id)][:2] == ["restore", "delete"]


async def test_delete_note_hides_it_and_admin_restores_it(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id, _deal, note_id = seed(db_url, 2002, "Zhang Wei")
    await open_note(sales, catalogs, customer_id, note_id)
    await sales.press(shown(catalogs, "en", "records.button.delete"), message=await sales.reply())
    confirm = await sales.reply()
    await sales.press(shown(catalogs, "en", "records.delete.yes"), message=confirm)
    done = await sales.edited(confirm)
    assert done.text == shown(catalogs, "en", "records.note.deleted", id=note_id)
    await sales.send(f"/customer {customer_id}")
    card = await sales.reply()
    assert "Talked about chairs" not in card.text
    assert shown(catalogs, "en", "records.note.button", id=note_id) not in card.button_labels
    await admin.send("/restore")
    listing = await admin.reply()
    assert listing.text == shown(catalogs, "en", "records.restore.notes_title")
    await admin.press(f"♻️ Zhang Wei · 📝 #{note_id}", message=listing)
    restored = await admin.reply()
    assert restored.text == shown(catalogs, "en", "records.note.restored", id=note_id)
    assert note(db_url, note_id).deleted_at is None
    actions = [e.action for e in audit(db_url, "interaction", note_id)]
    assert actions[:2] == ["restore", "delete"]


@pytest.mark.parametrize(
    ("action", "value"),
    [("edit", ""), ("edit", "1"), ("delete", ""), ("delete", "1"), ("restore", "")],
)
async def test_forged_deal_button_on_someone_elses_deal_is_not_found(
    admin: ScriptedUser,
    sales: ScriptedUser,
    emu: BotApiEmulator,
    catalogs: Catalogs,
    db_url: str,
    action: str,
    value: str,
) -> None:
    _customer, deal_id, _note = seed(db_url, 1001, "Secret Admin Customer")
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(DealAction(action, deal_id, value)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert "Chairs" not in sales.transcript()
    found = deal(db_url, deal_id)
    assert (found.deleted_at, found.title, found.amount) == (None, "Chairs", Decimal("100.00"))


@pytest.mark.parametrize(
    ("action", "value"),
    [("open", ""), ("edit", ""), ("edit", "2"), ("delete", ""), ("delete", "1"), ("restore", "")],
)
async def test_forged_note_button_on_someone_elses_note_is_not_found(
    admin: ScriptedUser,
    sales: ScriptedUser,
    emu: BotApiEmulator,
    catalogs: Catalogs,
    db_url: str,
    action: str,
    value: str,
) -> None:
    _customer, _deal, note_id = seed(db_url, 1001, "Secret Admin Customer")
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(NoteAction(action, note_id, value)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert "Talked about chairs" not in sales.transcript()
    found = note(db_url, note_id)
    assert (found.deleted_at, found.summary) == (None, "Talked about chairs")


async def test_sales_cannot_restore_their_own_deleted_deal_or_note(
    sales: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs, db_url: str
) -> None:
    _customer, deal_id, note_id = seed(db_url, 2002, "Zhang Wei")

    def delete_both(session: Session) -> None:
        owner = member(session, 2002)
        archive_deal(session, actor=owner, deal_id=deal_id)
        archive_interaction(session, actor=owner, interaction_id=note_id)

    in_db(db_url, delete_both)
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(DealAction("restore", deal_id)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    emu.state.callback_answers.clear()
    await sales.press_data(pack(NoteAction("restore", note_id)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert deal(db_url, deal_id).deleted_at is not None
    assert note(db_url, note_id).deleted_at is not None


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("kind", ["customer", "deal", "note"])
async def test_no_keep_it_leaves_the_record_and_says_so(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, kind: str, lang: str
) -> None:
    """The delete question had only "Yes, delete" (issue 16): "No, keep it" answers it."""
    await admin.send("/help")
    await admin.reply()
    user = await join(emu, admin, 2002, "李娜", language_code="zh-hans" if lang == "zh" else "en")
    customer_id, deal_id, note_id = seed(db_url, 2002, "张伟")
    if kind == "deal":
        await user.send("/deals")
        delete = "records.button.delete_short"
    else:
        await user.send(f"/customer {customer_id}")
        delete = "records.button.delete"
        if kind == "note":
            await user.press(
                shown(catalogs, lang, "records.note.button", id=note_id),
                message=await user.reply(),
            )
    await user.press(shown(catalogs, lang, delete), message=await user.reply())
    confirm = await user.reply()
    assert confirm.button_labels == [
        shown(catalogs, lang, "records.delete.yes"),
        shown(catalogs, lang, "records.delete.no"),
    ]
    await user.press(shown(catalogs, lang, "records.delete.no"), message=confirm)
    kept = await user.edited(confirm)
    assert (
        kept.text
        == {
            "customer": shown(catalogs, lang, "records.delete.kept", name="张伟"),
            "deal": shown(catalogs, lang, "records.delete.kept", name="Chairs"),
            "note": shown(catalogs, lang, "records.note.kept", id=note_id),
        }[kind]
    )
    assert kept.button_labels == []
    model, record_id = {
        "customer": (Customer, customer_id),
        "deal": (Deal, deal_id),
        "note": (Interaction, note_id),
    }[kind]
    assert in_db(db_url, lambda s: s.get_one(model, record_id)).deleted_at is None
