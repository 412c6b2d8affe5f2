"""/newdeal end to end: the happy path in both languages, picking the customer, bad input,
Skip, Back, Edit, cancel, starting from a customer, the card's stage buttons (immediate, and
won/lost with a reason), forged buttons, other salespeople's customers, restarts, repeats."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.callback_data import DealAction, pack
from handlers.deal import stage_choices
from handlers.flows.flow import Env, label_of
from handlers.formatting import format_date
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.members import TelegramProfile, get_active_member
from storage.models import Customer, Deal, DealStageChange, Member
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, eventually, join, rows, shown
from tests.e2e.user import ScriptedUser

TZ = ZoneInfo("Asia/Shanghai")  # the tests' team timezone (config default)


# --- helpers shared with test_purchase_flow -----------------------------------------------------


def with_member(db_url: str, user: ScriptedUser, make: Any) -> Any:
    """Run `make(session, member)` in one transaction as `user` (registered if the admin)."""

    def run(session: Session) -> Any:
        profile = TelegramProfile(telegram_id=user.user_id, display_name=user.user["first_name"])
        member = get_active_member(session, profile=profile, admin_ids=frozenset({ADMIN_ID}))
        assert member is not None
        return make(session, member)

    db = Database(db_url)
    result = db.run_sync(run)
    db.close()
    return result


def add_customer(
    db_url: str, user: ScriptedUser, name: str, phone: str, company: str | None = None
) -> int:
    def make(session: Session, member: Member) -> int:
        data = CustomerCreate(name=name, phones=[phone], company=company)
        customer = create_customer(session, actor=member, data=data)
        assert customer.id is not None
        return customer.id

    return with_member(db_url, user, make)


def add_deal(db_url: str, user: ScriptedUser, customer_id: int, stage: str = "proposal") -> int:
    def make(session: Session, member: Member) -> int:
        data = DealCreate(customer_id=customer_id, title="50 chairs", stage=stage)
        deal = create_deal(session, actor=member, data=data)
        assert deal.id is not None
        return deal.id

    return with_member(db_url, user, make)


def member_id(db_url: str, user: ScriptedUser) -> int:
    return with_member(db_url, user, lambda _s, m: m.id)


def today() -> date:
    return datetime.now(TZ).date()


async def pick_customer(user: ScriptedUser, search: str, label: str) -> None:
    """At the customer step: search, then press the match."""
    await user.send(search)
    matches = await user.reply()
    await user.press(label, message=matches)
    await user.reply()


async def skip_budget_and_decision(user: ScriptedUser, skip: str = "Skip »") -> None:
    """Skip the two questions after the amount: the budget and the decision date."""
    for _ in range(2):
        await user.press(skip)
        await user.reply()


async def open_card(user: ScriptedUser, deal_id: int) -> Any:
    """A deal's card, as a button that opens it would show it."""
    await user.send("/help")
    anchor = await user.reply()
    await user.press_data(pack(DealAction("open", deal_id)), anchor)
    return await user.reply()


# --- the flow ------------------------------------------------------------------------------


async def test_new_deal_with_every_field(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000", company="Acme")
    close = today() + timedelta(days=30)
    decide = today() + timedelta(days=20)
    await admin.send("/newdeal")
    title, ask = await admin.replies(2)
    assert title.text == shown(catalogs, "en", "deal.title")
    assert ask.text == shown(catalogs, "en", "deal.ask.customer")
    await pick_customer(admin, "zhang", "Zhang Wei · Acme")
    await answer(admin, "50 office chairs")
    assert await answer(admin, "50k") == shown(catalogs, "en", "deal.ask.budget_amount")
    assert await answer(admin, "60k") == shown(catalogs, "en", "deal.ask.decision_date")
    stage_question = await answer(admin, decide.isoformat())
    assert stage_question == shown(catalogs, "en", "deal.ask.stage")
    await admin.press("Proposal")
    await admin.reply()
    await answer(admin, close.isoformat())
    await answer(admin, "60%")
    await answer(admin, "Approved for Q3")
    summary = await answer(admin, "Mr Li decides")
    assert summary.splitlines() == [
        "New deal — please check:",
        "Customer: Zhang Wei · Acme",
        "Title: 50 office chairs",
        "Amount: CN¥50,000",
        "Budget: CN¥60,000",
        f"Decision date: {format_date(decide, lang='en')}",
        "Stage: Proposal",
        f"Expected close: {format_date(close, lang='en')}",
        "Probability: 60%",
        "Budget notes: Approved for Q3",
        "Decision maker: Mr Li decides",
    ]
    await admin.press("✅ Save")
    card = await admin.reply()
    (deal,) = rows(db_url, Deal)
    assert card.text.splitlines() == [
        *shown(
            catalogs,
            "en",
            "deal.card",
            id=deal.id,
            title="50 office chairs",
            customer="Zhang Wei · Acme",
            amount="CN¥50,000",
            stage="Proposal",
            close=format_date(close, lang="en"),
        ).splitlines(),
        shown(catalogs, "en", "deal.card_budget", budget="CN¥60,000"),
        shown(catalogs, "en", "deal.card_decision", date=format_date(decide, lang="en")),
    ]
    assert card.button_labels == [
        "Lead",
        "Qualified",
        "Negotiation",
        "Won",
        "Lost",
        "📄 New contract",
    ]
    assert (deal.amount, deal.currency, deal.stage) == (Decimal("50000.00"), "CNY", "proposal")
    assert (deal.expected_close_date, deal.probability) == (close, 60)
    assert (deal.budget_notes, deal.decision_maker_notes) == ("Approved for Q3", "Mr Li decides")
    (change,) = rows(db_url, DealStageChange)
    assert (change.from_stage, change.to_stage) == (None, "proposal")
    assert change.changed_by_id == member_id(db_url, admin)


async def test_new_deal_in_chinese_picking_the_customer_by_phone_digits(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    add_customer(db_url, li, "张伟", "+8613800138000")
    await li.send("/newdeal")
    title, ask = await li.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "zh", "deal.title"),
        shown(catalogs, "zh", "deal.ask.customer"),
    )
    await pick_customer(li, "8000", "张伟")
    await answer(li, "浦东分店办公椅")
    await answer(li, "1.2万元")
    await skip_budget_and_decision(li, "跳过 »")
    await li.press("线索")
    await li.reply()
    await li.press("完成并查看 ✓")
    summary = await li.reply()
    assert summary.text.splitlines()[1:] == [
        "客户：张伟",
        "名称：浦东分店办公椅",
        "金额：¥12,000",
        "阶段：线索",
    ]
    await li.press("✅ 保存", message=summary)
    card = await li.reply()
    (deal,) = rows(db_url, Deal)
    empty = shown(catalogs, "zh", "deal.card_empty")
    assert card.text == shown(
        catalogs,
        "zh",
        "deal.card",
        id=deal.id,
        title="浦东分店办公椅",
        customer="张伟",
        amount="¥12,000",
        stage="线索",
        close=empty,
    )
    assert (deal.amount, deal.currency, deal.stage) == (Decimal("12000.00"), "CNY", "lead")


async def test_bad_answers_are_explained_and_earlier_answers_kept(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/newdeal")
    await admin.replies(2)
    await pick_customer(admin, "Wei", "Zhang Wei")
    await answer(admin, "50 chairs")
    reply = await answer(admin, "lots of money")
    assert reply.startswith(shown(catalogs, "en", "parse.amount.invalid"))
    assert reply.endswith(shown(catalogs, "en", "deal.ask.amount"))
    await answer(admin, "50000")
    await skip_budget_and_decision(admin)
    await admin.press("Negotiation")
    await admin.reply()
    reply = await answer(admin, "the thirty-second of Smarch")
    assert reply.startswith(shown(catalogs, "en", "parse.when.invalid"))
    reply = await answer(admin, "yesterday")
    assert reply.startswith(shown(catalogs, "en", "parse.when.in_past"))
    await admin.press("Skip »")  # the close date
    await admin.reply()
    reply = await answer(admin, "150")
    assert reply.startswith(shown(catalogs, "en", "parse.probability.out_of_range"))
    assert reply.endswith(shown(catalogs, "en", "deal.ask.probability"))
    await answer(admin, "六成")
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert summary.splitlines()[1:] == [
        "Customer: Zhang Wei",
        "Title: 50 chairs",
        "Amount: CN¥50,000",
        "Stage: Negotiation",
        "Probability: 60%",
    ]
    assert rows(db_url, Deal) == []


async def test_skip_back_and_edit_a_field(admin: ScriptedUser, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/newdeal")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "50 chairs")
    await admin.press("Skip »")  # amount
    await admin.reply()
    await admin.press("« Back")
    back_at_amount = await admin.reply()
    assert "Amount" not in back_at_amount.text  # skipped: nothing to show as "Now:"
    await answer(admin, "US$300")
    await skip_budget_and_decision(admin)
    await admin.press("Qualified")
    await admin.reply()
    await admin.press("Review ✓")
    summary = await admin.reply()
    await admin.press("✏️ Edit a field", message=summary)
    which = await admin.reply()
    assert "Customer" in which.button_labels
    await admin.press("Title", message=which)
    edit_title = await admin.reply()
    assert "Now: 50 chairs" in edit_title.text
    summary_text = await answer(admin, "60 chairs")
    assert "Title: 60 chairs" in summary_text
    assert "Amount: $300" in summary_text
    await admin.press("✅ Save")
    await admin.reply()
    (deal,) = rows(db_url, Deal)
    assert (deal.title, deal.amount, deal.currency, deal.stage) == (
        "60 chairs",
        Decimal("300.00"),
        "USD",
        "qualified",
    )


async def test_cancel_discards_the_deal(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/newdeal")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "50 chairs")
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert rows(db_url, Deal) == []


async def test_new_deal_from_the_customers_button(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/newcustomer")
    await admin.replies(2)
    await answer(admin, "Li Na")
    await admin.press("Review ✓")
    await admin.reply()
    await admin.press("✅ Save")
    saved = await admin.reply()
    await admin.press("💼 New deal", message=saved)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "deal.title"),
        shown(catalogs, "en", "deal.ask.title"),
    )
    await answer(admin, "Annual contract")
    await admin.press("Skip »")
    await admin.reply()
    await skip_budget_and_decision(admin)
    await admin.press("Lead")
    await admin.reply()
    await admin.press("Review ✓")
    summary = await admin.reply()
    assert summary.text.splitlines()[1:3] == ["Customer: Li Na", "Title: Annual contract"]
    await admin.press("✅ Save", message=summary)
    await admin.reply()
    (deal,) = rows(db_url, Deal)
    (customer,) = rows(db_url, Customer)
    assert deal.customer_id == customer.id


async def test_salesperson_cannot_pick_a_colleagues_customer(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    await ann.send("/newdeal")
    _, ask = await ann.replies(2)
    assert ask.button_labels == []  # no recent customers of her own to suggest
    for search in ("Zhang", "8000"):
        reply = await answer(ann, search)
        assert reply.startswith(shown(catalogs, "en", "flow.search_none", query=search))
        assert ann.last_bot_message is not None
        assert ann.last_bot_message.button_labels == []


async def test_entry_continues_after_a_restart(
    admin: ScriptedUser, running_bot: RunningBot, db_url: str
):
    add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    await admin.send("/newdeal")
    await admin.replies(2)
    await pick_customer(admin, "Zhang", "Zhang Wei")
    await answer(admin, "50 chairs")
    await running_bot.restart()
    await answer(admin, "50k")  # the amount step, where we were
    await skip_budget_and_decision(admin)
    await admin.press("Lead")
    await admin.reply()
    await admin.press("Review ✓")
    summary = (await admin.reply()).text
    assert summary.splitlines()[1:] == [
        "Customer: Zhang Wei",
        "Title: 50 chairs",
        "Amount: CN¥50,000",
        "Stage: Lead",
    ]


# --- the card's stage buttons ----------------------------------------------------------------


async def test_stage_change_to_negotiation_is_immediate_and_recorded(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal_id)
    assert shown(catalogs, "en", "deal.stage.proposal") in card.text
    await admin.press("Negotiation", message=card)
    moved = await admin.edited(card)
    assert "Stage: Negotiation" in moved.text
    assert moved.button_labels == [
        "Lead",
        "Qualified",
        "Proposal",
        "Won",
        "Lost",
        "📄 New contract",
    ]
    changes = rows(db_url, DealStageChange)
    assert [(c.from_stage, c.to_stage, c.reason) for c in changes] == [
        (None, "proposal", None),
        ("proposal", "negotiation", None),
    ]
    assert changes[-1].changed_by_id == member_id(db_url, admin)
    (deal,) = rows(db_url, Deal)
    assert (deal.stage, deal.closed_at) == ("negotiation", None)


async def test_won_asks_the_reason_then_offers_the_purchase(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal_id)
    await admin.press("Won", message=card)
    title, ask = await admin.replies(2)
    assert (title.text, ask.text) == (
        shown(catalogs, "en", "deal_won.title"),
        shown(catalogs, "en", "deal_won.ask.reason"),
    )
    assert rows(db_url, Deal)[0].stage == "proposal"  # nothing changes before the reason
    summary = await answer(admin, "Best price and fast delivery")
    assert summary.splitlines()[1:] == ["Why it was won: Best price and fast delivery"]
    await admin.press("✅ Save")
    won = await admin.reply()
    assert "Stage: Won" in won.text
    assert (
        shown(catalogs, "en", "deal.outcome.won", reason="Best price and fast delivery")
        in won.text
    )
    assert won.button_labels[-2:] == [
        shown(catalogs, "en", "deal.button.purchase"),
        shown(catalogs, "en", "deal.button.contract_won"),
    ]
    (deal,) = rows(db_url, Deal)
    assert (deal.stage, deal.close_reason) == ("won", "Best price and fast delivery")
    assert deal.closed_at is not None
    change = rows(db_url, DealStageChange)[-1]
    assert (change.from_stage, change.to_stage, change.reason) == (
        "proposal",
        "won",
        "Best price and fast delivery",
    )
    assert change.changed_by_id == member_id(db_url, admin)


async def test_cancelled_reason_leaves_the_deal_as_it_was(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal_id)
    await admin.press("Lost", message=card)
    await admin.replies(2)
    assert await answer(admin, "/cancel") == shown(catalogs, "en", "cancel.done")
    (deal,) = rows(db_url, Deal)
    assert (deal.stage, deal.closed_at) == ("proposal", None)
    assert len(rows(db_url, DealStageChange)) == 1


async def test_forged_button_for_a_colleagues_deal_is_not_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    sam = await join(emu, admin, 2002, "Sam")
    ann = await join(emu, admin, 3003, "Ann")
    other_id = add_deal(db_url, sam, add_customer(db_url, sam, "Zhang Wei", "+8613800138000"))
    await ann.send("/help")
    anchor = await ann.reply()
    earlier = set(emu.callback_answers)
    await ann.press_data(pack(DealAction("stage", other_id, "4")), anchor)
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answered,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    assert answered.get("text") == shown(catalogs, "en", "common.not_found")
    (deal,) = rows(db_url, Deal)
    assert (deal.stage, deal.closed_at) == ("proposal", None)
    assert len(rows(db_url, DealStageChange)) == 1


async def test_redelivered_stage_press_changes_nothing(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    customer = add_customer(db_url, admin, "Zhang Wei", "+8613800138000")
    deal_id = add_deal(db_url, admin, customer)
    card = await open_card(admin, deal_id)
    await admin.press("Negotiation", message=card)
    card = await admin.edited(card)
    press = emu.update_history()[-1]["update_id"]
    await admin.press("Qualified", message=card)
    await admin.edited(card)
    emu.redeliver(press)
    await answer(admin, "/help")  # handled after the repeat was seen
    assert [c.to_stage for c in rows(db_url, DealStageChange)] == [
        "proposal",
        "negotiation",
        "qualified",
    ]
    assert rows(db_url, Deal)[0].stage == "qualified"


def test_custom_stage_is_labelled_with_its_own_name() -> None:
    env = Env(
        region="CN",
        currency="CNY",
        tz=TZ,
        now=datetime.now(TZ),
        language="en",
        stages=("lead", "pilot", "won", "lost"),
    )
    context = SimpleNamespace(services=SimpleNamespace(catalogs=Catalogs()), language="zh")
    labels = [label_of(context, choice) for choice in stage_choices(env)]  # type: ignore[arg-type]
    assert labels == [
        shown_zh("deal.stage.lead"),
        "pilot",
        shown_zh("deal.stage.won"),
        shown_zh("deal.stage.lost"),
    ]


def shown_zh(key: str) -> str:
    return Catalogs().translator("zh")(key)
