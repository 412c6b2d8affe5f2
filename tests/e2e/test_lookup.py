"""/find, /customer, the card, inline mode and replies to cards, end to end, with refusals."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.emulator import BotApiEmulator
from handlers.callback_data import CustomerAction, SearchPage, pack
from handlers.i18n import Catalogs
from handlers.lookup import PROMPT_MARK
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Customer, Interaction, Member
from storage.search.index import index_customer
from tests.e2e.helpers import join, shown
from tests.e2e.user import ScriptedUser


def seed(db_url: str, telegram_id: int, name: str, **fields: object) -> int:
    db = Database(db_url)

    def add(session) -> int:  # type: ignore[no-untyped-def]
        owner = session.exec(select(Member).where(Member.telegram_id == telegram_id)).one()
        customer = create_customer(session, actor=owner, data=CustomerCreate(name=name, **fields))
        index_customer(session, customer_id=customer.id)
        return customer.id

    customer_id = db.run_sync(add)
    db.close()
    return customer_id


def notes_of(db_url: str, customer_id: int) -> list[Interaction]:
    db = Database(db_url)
    rows = db.read_sync(
        lambda s: list(s.exec(select(Interaction).where(Interaction.customer_id == customer_id)))
    )
    db.close()
    return rows


@pytest.fixture
async def sales(emu: BotApiEmulator, admin: ScriptedUser) -> ScriptedUser:
    await admin.send("/help")
    await admin.reply()
    return await join(emu, admin, 2002, "Li Na")


async def test_find_by_each_key_in_english(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    await admin.send("/help")
    await admin.reply()
    seed(db_url, 1001, "张伟", company="Acme", phones=["+8613800138000"], tags=["vip"])
    seed(db_url, 1001, "Grace Hopper", email="grace@navy.mil")
    for query in ("张伟", "zhangwei", "zw", "138-0013-8000", "8000", "acme", "vip"):
        await admin.send(f"/find {query}")
        results = await admin.reply()
        assert results.text == shown(catalogs, "en", "lookup.results", query=query, page=1)
        assert results.button_labels == ["张伟 · Acme"]
    await admin.send("/find grace@navy.mil")
    assert (await admin.reply()).button_labels == ["Grace Hopper"]


async def test_find_in_chinese_and_nothing_found(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    li = await join(emu, admin, 2003, "李娜", language_code="zh-hans")
    seed(db_url, 2003, "王伟明")
    await li.send("/find 王伟")
    results = await li.reply()
    assert results.text == shown(catalogs, "zh", "lookup.results", query="王伟", page=1)
    assert results.button_labels == ["王伟明"]
    await li.send("/find 无此人")
    assert (await li.reply()).text == shown(catalogs, "zh", "lookup.none", query="无此人")


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_find_latin_name_typed_without_spaces(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str
):
    """`/find zhangwei` missed "Zhang Wei" while it found 张伟 (issue 16)."""
    await admin.send("/help")
    await admin.reply()
    user = await join(emu, admin, 2003, "李娜", language_code="zh-hans" if lang == "zh" else "en")
    seed(db_url, 2003, "Zhang Wei", company="Acme")
    seed(db_url, 2003, "Mark Evans")
    for query, found in (("zhangwei", "Zhang Wei · Acme"), ("MarkEvans", "Mark Evans")):
        await user.send(f"/find {query}")
        results = await user.reply()
        assert results.text == shown(catalogs, lang, "lookup.results", query=query, page=1)
        assert results.button_labels == [found]
    await user.send("/find zhangweimark")
    assert (await user.reply()).text == shown(catalogs, lang, "lookup.none", query="zhangweimark")


async def test_find_alone_asks_then_searches_the_reply(
    admin: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs, db_url: str
):
    await admin.send("/help")
    await admin.reply()
    seed(db_url, 1001, "Acme Boss")
    await admin.send("/find")
    prompt = await admin.reply()
    assert prompt.text == shown(catalogs, "en", "lookup.ask")
    await emu.send_text(admin.user_id, "acme", reply_to_message_id=prompt.message_id)
    assert (await admin.reply()).button_labels == ["Acme Boss"]


def test_prompt_mark_starts_both_catalogs(catalogs: Catalogs):
    for language in ("en", "zh"):
        assert catalogs.translator(language)("lookup.ask").startswith(PROMPT_MARK)


async def test_results_page_with_buttons(admin: ScriptedUser, catalogs: Catalogs, db_url: str):
    await admin.send("/help")
    await admin.reply()
    for i in range(10):
        seed(db_url, 1001, f"Page Person {i}")
    await admin.send("/find page")
    first = await admin.reply()
    assert len(first.button_labels) == 9
    assert first.button_labels[-1] == shown(catalogs, "en", "lookup.next")
    await admin.press(shown(catalogs, "en", "lookup.next"), message=first)
    second = await admin.edited(first)
    assert second.text == shown(catalogs, "en", "lookup.results", query="page", page=2)
    assert len(second.button_labels) == 3


async def test_stale_page_button_is_no_longer_valid(
    admin: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs
):
    await admin.send("/help")
    message = await admin.reply()
    await admin.press_data(pack(SearchPage(987654, 1)), message)
    answered = await emu.state.wait_for(
        lambda: next((a for a in emu.state.callback_answers.values() if a.get("text")), None),
        5,
        "a callback answer",
    )
    assert answered["text"] == shown(catalogs, "en", "lookup.expired")


async def test_card_shows_fields_owner_notes_and_buttons(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/help")
    await admin.reply()
    customer_id = seed(
        db_url, 1001, "张伟", company="Acme", phones=["+8613800138000"], source="referral"
    )
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    lines = card.text.splitlines()
    assert lines[0] == f"张伟 · #{customer_id}"
    assert "Phones: 138 0013 8000" in lines
    assert "Source: Referral" in lines
    assert "Owner: Ada" in lines
    assert card.button_labels == [
        shown(catalogs, "en", key)
        for key in (
            *(f"lookup.button.{b}" for b in ("note", "deal", "remind", "contract")),
            *(f"lookup.button.{b}" for b in ("edit", "history", "more")),
            *(f"records.button.{b}" for b in ("delete", "merge", "reassign")),
            "ticket.button.new",
            "quality.button.gaps",  # the default weights count the email, position...
        )
    ]


async def test_customer_of_someone_else_is_not_found_like_a_missing_one(
    admin: ScriptedUser, sales: ScriptedUser, catalogs: Catalogs, db_url: str
):
    theirs = seed(db_url, 1001, "Secret Admin Customer")
    await sales.send(f"/customer {theirs}")
    refused = await sales.reply()
    await sales.send("/customer 999999")
    missing = await sales.reply()
    assert refused.text == missing.text == shown(catalogs, "en", "common.not_found")
    await sales.send("/find secret")
    assert (await sales.reply()).text == shown(catalogs, "en", "lookup.none", query="secret")


@pytest.mark.parametrize("action", ["open", "more", "remind", "history"])
async def test_forged_card_button_for_someone_else_is_not_found(
    admin: ScriptedUser, sales: ScriptedUser, emu: BotApiEmulator, db_url: str, action: str
):
    theirs = seed(db_url, 1001, "Secret Admin Customer")
    await sales.send("/help")
    message = await sales.reply()
    await sales.press_data(pack(CustomerAction(action, theirs, "1")), message)
    answered = await emu.state.wait_for(
        lambda: next((a for a in emu.state.callback_answers.values() if a.get("text")), None),
        5,
        "a callback answer",
    )
    assert answered["text"] == Catalogs().translator("en")("common.not_found")
    assert "Secret" not in sales.transcript()


async def test_reply_to_card_adds_a_note(admin: ScriptedUser, emu: BotApiEmulator, db_url: str):
    await admin.send("/help")
    await admin.reply()
    customer_id = seed(db_url, 1001, "Acme Boss")
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    await emu.send_text(admin.user_id, "Wants a quote", reply_to_message_id=card.message_id)
    await admin.reply()
    (note,) = notes_of(db_url, customer_id)
    assert (note.kind, note.summary) == ("message", "Wants a quote")


async def test_reply_to_a_card_no_longer_yours_is_refused(
    admin: ScriptedUser, sales: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs, db_url: str
):
    customer_id = seed(db_url, 2002, "Moved Away")
    await sales.send(f"/customer {customer_id}")
    card = await sales.reply()
    db = Database(db_url)
    db.run_sync(lambda s: setattr(s.get(Customer, customer_id), "owner_id", 1))
    db.close()
    await emu.send_text(sales.user_id, "sneaky", reply_to_message_id=card.message_id)
    assert (await sales.reply()).text == shown(catalogs, "en", "common.not_found")
    assert notes_of(db_url, customer_id) == []


async def test_inline_mode_applies_the_access_rule(
    admin: ScriptedUser, sales: ScriptedUser, db_url: str
):
    seed(db_url, 1001, "Acme Admin Side")
    seed(db_url, 2002, "Acme Sales Side")
    assert [r["title"] for r in await sales.inline("acme")] == ["Acme Sales Side"]
    titles = sorted(r["title"] for r in await admin.inline("acme"))
    assert titles == ["Acme Admin Side", "Acme Sales Side"]


async def test_a_chinese_card_logs_a_note_with_the_one_label_for_it(
    admin: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs, db_url: str
):
    """记录跟进 everywhere, not 记录备注 here and 记一笔 on a reminder; a reply is a 跟进记录."""
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    customer_id = seed(db_url, 2006, "张伟")
    await wang.send(f"/customer {customer_id}")
    card = await wang.reply()
    assert "📝 记录跟进" in card.button_labels
    assert "跟进记录" in card.text
    assert "备注" not in card.text
    await emu.send_text(wang.user_id, "想要报价", reply_to_message_id=card.message_id)
    assert (await wang.reply()).text == shown(catalogs, "zh", "lookup.note_saved")
    assert shown(catalogs, "zh", "lookup.note_saved") == "已为该客户记录跟进。✅"
