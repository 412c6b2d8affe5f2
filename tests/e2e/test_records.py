"""Edit, delete and restore, merge, reassign and history from the customer card, end to end,
with every refusal answered exactly like an unknown record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot.emulator import BotApiEmulator
from handlers.callback_data import CustomerAction, DealAction, pack
from handlers.i18n import Catalogs
from storage.audit import list_audit
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import AuditEntry, Customer, Deal, Interaction, Member, Reminder, utcnow
from tests.e2e.helpers import join, shown
from tests.e2e.user import ScriptedUser


def in_db(db_url: str, fn: Any) -> Any:
    db = Database(db_url)
    try:
        return db.run_sync(fn)
    finally:
        db.close()


def member(session: Session, telegram_id: int) -> Member:
    return session.exec(select(Member).where(Member.telegram_id == telegram_id)).one()


def seed(db_url: str, telegram_id: int, name: str, **fields: Any) -> int:
    def add(session: Session) -> int:
        owner = member(session, telegram_id)
        customer = create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields))
        assert customer.id is not None
        return customer.id

    return int(in_db(db_url, add))


def customer(db_url: str, customer_id: int) -> Customer:
    return in_db(db_url, lambda s: s.get_one(Customer, customer_id))


def audit(db_url: str, customer_id: int) -> list[AuditEntry]:
    return in_db(db_url, lambda s: list_audit(s, entity_type="customer", entity_id=customer_id))


async def callback_answer(emu: BotApiEmulator) -> str:
    answered = await emu.state.wait_for(
        lambda: next((a for a in emu.state.callback_answers.values() if a.get("text")), None),
        5,
        "a callback answer",
    )
    return str(answered["text"])


@pytest.fixture
async def sales(emu: BotApiEmulator, admin: ScriptedUser) -> ScriptedUser:
    await admin.send("/help")
    await admin.reply()
    return await join(emu, admin, 2002, "Li Na")


async def open_card(user: ScriptedUser, customer_id: int) -> None:
    await user.send(f"/customer {customer_id}")
    await user.reply()


async def test_edit_a_field_validates_like_entry_and_is_audited(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = seed(db_url, 1001, "Grace Hopper", email="grace@navy.mil")
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "lookup.button.edit"))
    choose = await admin.reply()
    assert choose.text == shown(catalogs, "en", "records.edit.choose", name="Grace Hopper")
    await admin.press(shown(catalogs, "en", "customer.field.email"), message=choose)
    intro, _title, question = await admin.replies(3)
    assert intro.text == shown(
        catalogs, "en", "records.edit.intro", name="Grace Hopper", field="Email"
    )
    assert question.text.startswith(shown(catalogs, "en", "edit_customer.ask.email")[:10])
    assert question.text.endswith(shown(catalogs, "en", "flow.current", value="grace@navy.mil"))
    await admin.send("not an email")
    retry = await admin.reply()
    assert retry.text != question.text  # the parser's error, then the question again
    await admin.send("grace@acme.com")
    summary = await admin.reply()
    assert "grace@acme.com" in summary.text
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    saved, card = await admin.replies(2)
    assert saved.text == shown(catalogs, "en", "records.edit.saved", name="Grace Hopper")
    assert "Email: grace@acme.com" in card.text.splitlines()
    assert customer(db_url, customer_id).email == "grace@acme.com"
    entry = audit(db_url, customer_id)[0]
    assert (entry.action, entry.changes) == (
        "update",
        {"email": ["grace@navy.mil", "grace@acme.com"]},
    )


async def test_renaming_refreshes_search_and_history_shows_it(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = seed(db_url, 1001, "Old Name")
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "lookup.button.edit"))
    await admin.press(shown(catalogs, "en", "customer.field.name"), message=await admin.reply())
    await admin.replies(3)
    await admin.send("张伟")
    await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.save"))
    _saved, card = await admin.replies(2)
    await admin.send("/find zhangwei")
    assert (await admin.reply()).button_labels == ["张伟"]
    await admin.press(shown(catalogs, "en", "lookup.button.history"), message=card)
    history = await admin.reply()
    lines = history.text.splitlines()
    assert lines[0] == shown(catalogs, "en", "records.history.title", name="张伟", page=1)
    change = shown(
        catalogs, "en", "records.history.change", field="Name", old="Old Name", new="张伟"
    )
    assert change in lines
    assert any("Ada · edited" in line for line in lines)
    assert any("Ada · created" in line for line in lines)


async def test_history_is_paginated(admin: ScriptedUser, catalogs: Catalogs, db_url: str) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = seed(db_url, 1001, "Busy Customer")

    def many_edits(session: Session) -> None:
        for i in range(9):
            session.add(
                AuditEntry(
                    actor_id=member(session, 1001).id,
                    action="update",
                    entity_type="customer",
                    entity_id=customer_id,
                    changes={"region": [str(i), str(i + 1)]},
                )  # fmt: skip
            )

    in_db(db_url, many_edits)
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "lookup.button.history"))
    first = await admin.reply()
    assert first.button_labels == ["»"]
    await admin.press("»", message=first)
    second = await admin.edited(first)
    assert second.text.splitlines()[0] == shown(
        catalogs, "en", "records.history.title", name="Busy Customer", page=2
    )
    assert second.button_labels == ["«"]


async def test_delete_hides_everywhere_and_admin_restores(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Gone Soon")
    await open_card(sales, customer_id)
    await sales.press(shown(catalogs, "en", "records.button.delete"))
    confirm = await sales.reply()
    assert confirm.text == shown(catalogs, "en", "records.delete.confirm", name="Gone Soon")
    await sales.press(shown(catalogs, "en", "records.delete.yes"), message=confirm)
    done = await sales.edited(confirm)
    assert done.text == shown(catalogs, "en", "records.delete.done", name="Gone Soon")
    assert customer(db_url, customer_id).deleted_at is not None
    await sales.send(f"/customer {customer_id}")
    assert (await sales.reply()).text == shown(catalogs, "en", "common.not_found")
    await sales.send("/find gone")
    assert (await sales.reply()).text == shown(catalogs, "en", "lookup.none", query="gone")
    await sales.send("/restore")
    assert (await sales.reply()).text == shown(catalogs, "en", "records.restore.admins_only")
    await admin.send("/restore")
    listing = await admin.reply()
    assert listing.button_labels == [f"♻️ Gone Soon #{customer_id}"]
    await admin.press(f"♻️ Gone Soon #{customer_id}", message=listing)
    restored = await admin.reply()
    assert restored.text == shown(catalogs, "en", "records.restore.done", name="Gone Soon")
    assert customer(db_url, customer_id).deleted_at is None
    assert [e.action for e in audit(db_url, customer_id)][:2] == ["restore", "delete"]


async def test_merge_moves_the_duplicates_records_to_the_survivor(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    survivor = seed(db_url, 1001, "Keep Me", company="Acme")
    duplicate = seed(db_url, 1001, "Keep Me Twice", phones=["+8613800138000"])

    def note(session: Session) -> None:
        session.add(
            Interaction(customer_id=duplicate, owner_id=member(session, 1001).id or 0,
                        kind="call", created_by_id=member(session, 1001).id or 0))  # fmt: skip

    in_db(db_url, note)
    await open_card(admin, duplicate)
    await admin.press(shown(catalogs, "en", "records.button.merge"))
    await admin.replies(2)
    await admin.send("acme")
    results = await admin.reply()
    await admin.press("Keep Me · Acme", message=results)
    summary = await admin.reply()
    assert "Keep Me Twice" in summary.text
    assert "Keep Me · Acme" in summary.text
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    done, card = await admin.replies(2)
    assert done.text == shown(
        catalogs, "en", "records.merge.done", duplicate="Keep Me Twice", survivor="Keep Me · Acme"
    )
    assert card.text.splitlines()[0].endswith(f"#{survivor}")
    assert "Phones: 138 0013 8000" in card.text.splitlines()
    assert customer(db_url, duplicate).deleted_at is not None
    notes = in_db(db_url, lambda s: s.exec(select(Interaction.customer_id)).all())
    assert list(notes) == [survivor]
    assert audit(db_url, survivor)[0].changes["merged_from"] == [None, duplicate]
    assert audit(db_url, duplicate)[0].changes["merged_into"] == [None, survivor]


async def test_reassign_moves_reminders_and_tells_both_salespeople(
    emu: BotApiEmulator, admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    wang = await join(emu, admin, 2004, "Wang Fang", language_code="zh-hans")
    customer_id = seed(db_url, 2002, "Moving Customer")

    def remind(session: Session) -> int:
        reminder = Reminder(member_id=member(session, 2002).id or 0, customer_id=customer_id,
                            kind="follow_up", due_at=utcnow() + timedelta(days=10))  # fmt: skip
        session.add(reminder)
        session.flush()
        return reminder.id or 0

    reminder_id = in_db(db_url, remind)
    in_db(db_url, lambda s: setattr(member(s, 2004), "language", "zh"))  # chosen with /lang
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "records.button.reassign"))
    choose = await admin.reply()
    assert choose.text == shown(catalogs, "en", "records.reassign.choose")
    assert "Li Na" not in choose.button_labels
    await admin.press("Wang Fang", message=choose)
    done = await admin.edited(choose)
    params = {"name": "Moving Customer", "id": customer_id, "actor": "Ada"}
    assert done.text == shown(
        catalogs, "en", "records.reassign.done", owner="Wang Fang", count=1, **params
    )
    assert done.text.endswith("; 1 open reminder moved along.")  # not "1 open reminders"
    told_new = await wang.reply()
    assert told_new.text == shown(catalogs, "zh", "records.reassign.told_new", **params)
    told_old = await sales.reply()
    assert told_old.text == shown(
        catalogs, "en", "records.reassign.told_old", owner="Wang Fang", **params
    )
    wang_id = in_db(db_url, lambda s: member(s, 2004).id)
    assert customer(db_url, customer_id).owner_id == wang_id
    moved = in_db(db_url, lambda s: s.get_one(Reminder, reminder_id).member_id)
    assert moved == wang_id
    assert audit(db_url, customer_id)[0].changes == {"owner": ["Li Na", "Wang Fang"]}


@pytest.mark.parametrize(
    ("lang", "ending"),
    [
        ("en", "; 2 open reminders moved along."),
        ("zh", "；2 条待办提醒已一并转交。"),
    ],
)
async def test_reassign_counts_the_reminders_in_the_language_s_plural(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    sales: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    lang: str,
    ending: str,
) -> None:
    await join(emu, admin, 2004, "Wang Fang")
    customer_id = seed(db_url, 2002, "Moving Customer")

    def remind(session: Session) -> None:
        owner_id = member(session, 2002).id or 0
        for days in (3, 4):
            due = utcnow() + timedelta(days=days)
            session.add(
                Reminder(member_id=owner_id, customer_id=customer_id, kind="follow_up", due_at=due)
            )

    in_db(db_url, remind)
    in_db(db_url, lambda s: setattr(member(s, 1001), "language", lang))  # chosen with /lang
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, lang, "records.button.reassign"))
    choose = await admin.reply()
    await admin.press("Wang Fang", message=choose)
    done = await admin.edited(choose)
    assert done.text.endswith(ending)


async def test_sales_card_has_no_merge_or_reassign(
    sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 2002, "Plain Customer")
    await sales.send(f"/customer {customer_id}")
    labels = (await sales.reply()).button_labels
    assert shown(catalogs, "en", "records.button.delete") in labels
    assert shown(catalogs, "en", "records.button.merge") not in labels
    assert shown(catalogs, "en", "records.button.reassign") not in labels


@pytest.mark.parametrize(
    ("action", "value"),
    [
        ("edit", ""),
        ("edit", "3"),
        ("delete", ""),
        ("delete", "1"),
        ("restore", ""),
        ("merge", ""),
        ("reassign", ""),
        ("reassign", "1"),
        ("history", "1"),
    ],  # fmt: skip
)
async def test_forged_button_on_someone_elses_customer_is_not_found(
    admin: ScriptedUser,
    sales: ScriptedUser,
    emu: BotApiEmulator,
    catalogs: Catalogs,
    db_url: str,
    action: str,
    value: str,
) -> None:
    theirs = seed(db_url, 1001, "Secret Admin Customer")
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(CustomerAction(action, theirs, value)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert "Secret" not in sales.transcript()
    found = customer(db_url, theirs)
    assert (found.deleted_at, found.name, found.owner_id) == (None, "Secret Admin Customer", 1)


@pytest.mark.parametrize(("action", "value"), [("merge", ""), ("reassign", ""), ("merge", "x")])
async def test_sales_pressing_merge_or_reassign_on_own_customer_is_not_found(
    admin: ScriptedUser,
    sales: ScriptedUser,
    emu: BotApiEmulator,
    catalogs: Catalogs,
    db_url: str,
    action: str,
    value: str,
) -> None:
    mine = seed(db_url, 2002, "My Customer")
    other = seed(db_url, 2002, "My Other Customer")
    admin_id = in_db(db_url, lambda s: member(s, 1001).id)
    value = {"x": str(other), "": ""}[value] if action == "merge" else str(admin_id)
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(CustomerAction(action, mine, value)), message)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert customer(db_url, mine).owner_id == customer(db_url, other).owner_id
    assert customer(db_url, other).deleted_at is None
    ids = in_db(
        db_url,
        lambda s: s.exec(select(Customer.id).where(col(Customer.deleted_at).is_(None))).all(),
    )
    assert set(ids) == {mine, other}


async def test_reassign_to_someone_who_blocked_the_bot_still_succeeds(
    emu: BotApiEmulator, admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await join(emu, admin, 2004, "Wang Fang")
    customer_id = seed(db_url, 2002, "Moving Customer")
    emu.block(2004)
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "records.button.reassign"))
    choose = await admin.reply()
    await admin.press("Wang Fang", message=choose)
    await admin.edited(choose)
    told_old = await sales.reply()
    assert "Wang Fang" in told_old.text
    assert customer(db_url, customer_id).owner_id == in_db(db_url, lambda s: member(s, 2004).id)


async def test_after_a_reassign_the_old_owner_reads_and_moves_nothing_of_the_customer(
    emu: BotApiEmulator, admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    """Li Na's deal and her reminder already delivered go to Wang Fang with the customer; what
    Wang Fang writes next never reaches Li Na, and her old stage button changes nothing."""
    wang = await join(emu, admin, 2004, "Wang Fang")
    customer_id = seed(db_url, 2002, "Moving Customer")

    def prepare(session: Session) -> tuple[int, int]:
        li_na = member(session, 2002)
        data = DealCreate(customer_id=customer_id, title="Forty chairs", stage="lead")
        deal = create_deal(session, actor=li_na, data=data)
        sent = Reminder(member_id=li_na.id or 0, customer_id=customer_id, kind="follow_up",
                        due_at=utcnow() - timedelta(hours=1), status="sent")  # fmt: skip
        session.add(sent)
        session.flush()
        return deal.id or 0, sent.id or 0

    deal_id, reminder_id = in_db(db_url, prepare)
    await open_card(admin, customer_id)
    await admin.press(shown(catalogs, "en", "records.button.reassign"))
    choose = await admin.reply()
    await admin.press("Wang Fang", message=choose)
    await admin.edited(choose)
    await wang.reply()
    await sales.reply()

    def secret_note(session: Session) -> None:
        data = InteractionCreate(customer_id, "call", utcnow(), summary="SECRET price 9,000")
        create_interaction(session, actor=member(session, 2004), data=data)

    in_db(db_url, secret_note)
    await sales.send("/reminders")
    assert (await sales.reply()).text == shown(catalogs, "en", "reminders.none")
    await sales.send("/deals")
    listing = await sales.reply()
    assert listing.text == shown(catalogs, "en", "deals.none")
    await sales.press_data(pack(DealAction("stage", deal_id, "1")), listing)
    assert await callback_answer(emu) == shown(catalogs, "en", "common.not_found")
    assert in_db(db_url, lambda s: s.get_one(Deal, deal_id).stage) == "lead"
    await wang.send("/reminders")
    listing = await wang.reply()
    await wang.press(listing.button_labels[0], message=listing)  # the reminder, opened
    assert "SECRET price 9,000" in (await wang.reply()).text
    wang_id = in_db(db_url, lambda s: member(s, 2004).id)
    assert in_db(db_url, lambda s: s.get_one(Deal, deal_id).owner_id) == wang_id
    assert in_db(db_url, lambda s: s.get_one(Reminder, reminder_id).member_id) == wang_id


async def test_merge_across_owners_hands_over_and_tells_both(
    emu: BotApiEmulator, admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    """Li Na's duplicate merged into Wang Fang's customer: its deal and open reminder become
    Wang Fang's, and each is told, Li Na without the name of a customer she may not see."""
    wang = await join(emu, admin, 2004, "Wang Fang")
    survivor = seed(db_url, 2004, "Keep Wang", company="Acme")
    duplicate = seed(db_url, 2002, "Dup Li")

    def prepare(session: Session) -> tuple[int, int]:
        li_na = member(session, 2002)
        data = DealCreate(customer_id=duplicate, title="Forty chairs", stage="lead")
        deal = create_deal(session, actor=li_na, data=data)
        sent = Reminder(member_id=li_na.id or 0, customer_id=duplicate, kind="follow_up",
                        due_at=utcnow() - timedelta(hours=1), status="sent")  # fmt: skip
        session.add(sent)
        session.flush()
        return deal.id or 0, sent.id or 0

    deal_id, reminder_id = in_db(db_url, prepare)
    await open_card(admin, duplicate)
    await admin.press(shown(catalogs, "en", "records.button.merge"))
    await admin.replies(2)
    await admin.send("acme")
    results = await admin.reply()
    await admin.press("Keep Wang · Acme", message=results)
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    await admin.replies(2)
    told = {"duplicate": "Dup Li", "actor": "Ada"}
    assert (await wang.reply()).text == shown(
        catalogs, "en", "records.merge.told_new", survivor="Keep Wang", id=survivor, count=1,
        **told,
    )  # fmt: skip
    told_old = await sales.reply()
    assert told_old.text == shown(
        catalogs, "en", "records.merge.told_old", owner="Wang Fang", **told
    )
    assert "Keep Wang" not in told_old.text
    await sales.send("/reminders")
    assert (await sales.reply()).text == shown(catalogs, "en", "reminders.none")
    wang_id = in_db(db_url, lambda s: member(s, 2004).id)
    assert in_db(db_url, lambda s: s.get_one(Deal, deal_id).owner_id) == wang_id
    assert in_db(db_url, lambda s: s.get_one(Reminder, reminder_id).member_id) == wang_id


async def test_merge_never_offers_the_customer_itself_and_keeps_the_later_contact(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    survivor = seed(db_url, 1001, "Keep Me", company="Acme")
    duplicate = seed(db_url, 1001, "Keep Me Twice")
    contacted = utcnow() - timedelta(days=3)

    def contact(session: Session) -> None:
        session.get_one(Customer, survivor).last_contact_at = contacted - timedelta(days=60)
        session.get_one(Customer, duplicate).last_contact_at = contacted

    in_db(db_url, contact)
    await open_card(admin, duplicate)
    await admin.press(shown(catalogs, "en", "records.button.merge"))
    _, ask = await admin.replies(2)
    assert "Keep Me · Acme" in ask.button_labels  # the recent customers, without itself
    assert "Keep Me Twice" not in ask.button_labels
    await admin.send("keep me")
    results = await admin.reply()
    assert "Keep Me Twice" not in results.button_labels
    await admin.press("Keep Me · Acme", message=results)
    summary = await admin.reply()
    await admin.press(shown(catalogs, "en", "flow.button.save"), message=summary)
    await admin.replies(2)
    assert customer(db_url, survivor).last_contact_at == contacted
