"""Closing and reopening a deal, its budget and decision date, its own stage history and the
deal /log opens (issue 16), each in English and Chinese: a closed deal's card offers Reopen
(asked first) instead of stage buttons and refuses a forged stage press; won/lost ask why by
name and take Skip or a typed "skip"; the card shows the outcome and the history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.emulator import BotApiEmulator
from handlers.callback_data import DealAction, pack
from handlers.formatting import format_date, format_when
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import Deal, DealStageChange
from tests.e2e.helpers import answer, eventually, join, rows, shown
from tests.e2e.test_deal_flow import TZ, add_customer, add_deal, open_card, today
from tests.e2e.test_export import export, read_csv
from tests.e2e.user import ScriptedUser


@dataclass(frozen=True)
class Who:
    """The member a test talks as, and the language they see."""

    user: ScriptedUser
    lang: str
    name: str


@pytest.fixture(params=["en", "zh"])
async def who(request: pytest.FixtureRequest, emu: BotApiEmulator, admin: ScriptedUser) -> Who:
    if request.param == "en":
        return Who(admin, "en", "Ada")
    return Who(await join(emu, admin, 2002, "李娜", language_code="zh-hans"), "zh", "李娜")


def t(catalogs: Catalogs, who: Who, key: str, **params: Any) -> str:
    return shown(catalogs, who.lang, key, **params)


def deal_row(db_url: str) -> Deal:
    (deal,) = rows(db_url, Deal)
    return deal


async def callback_answer(emu: BotApiEmulator, press: Any) -> str | None:
    """The pop-up text Telegram showed for the press `press` started."""
    earlier = set(emu.callback_answers)
    await press
    await eventually(lambda: set(emu.callback_answers) - earlier)
    (answered,) = [a for i, a in emu.callback_answers.items() if i not in earlier]
    return answered.get("text")


async def close_by_card(who: Who, catalogs: Catalogs, deal_id: int, stage: str, reason: str):
    """Press Won or Lost on the card, answer the reason, Save: the card shown after."""
    card = await open_card(who.user, deal_id)
    await who.user.press(t(catalogs, who, f"deal.stage.{stage}"), message=card)
    await who.user.replies(2)
    await who.user.send(reason)
    summary = await who.user.reply()
    await who.user.press(t(catalogs, who, "flow.button.save"), message=summary)
    return await who.user.reply()


# --- a closed deal's card --------------------------------------------------------------------


async def test_closed_deal_card_offers_reopen_not_stages(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    won = await close_by_card(who, catalogs, deal_id, "won", "Best price")
    assert won.button_labels == [
        t(catalogs, who, "deal.button.reopen"),
        t(catalogs, who, "deal.button.purchase"),
        t(catalogs, who, "deal.button.contract_won"),
    ]
    assert t(catalogs, who, "deal.outcome.won", reason="Best price") in won.text


async def test_forged_stage_press_on_closed_deal_is_refused(
    emu: BotApiEmulator, who: Who, catalogs: Catalogs, db_url: str
) -> None:
    customer = add_customer(db_url, who.user, "张伟", "+8613800138000")
    deal_id = add_deal(db_url, who.user, customer, stage="lost")
    await who.user.send("/help")
    anchor = await who.user.reply()
    for index in ("0", "3"):  # lead, and won (which would ask why first)
        press = who.user.press_data(pack(DealAction("stage", deal_id, index)), anchor)
        assert await callback_answer(emu, press) == t(catalogs, who, "deal.closed_refused")
    assert await answer(who.user, "/help")  # nothing was started meanwhile
    deal = deal_row(db_url)
    assert (deal.stage, deal.closed_at is not None) == ("lost", True)
    assert len(rows(db_url, DealStageChange)) == 1


async def test_reopen_asks_then_brings_the_stage_buttons_back(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await close_by_card(who, catalogs, deal_id, "lost", "skip")
    await who.user.press(t(catalogs, who, "deal.button.reopen"), message=card)
    question = await who.user.reply()
    assert question.text == t(catalogs, who, "deal.reopen.confirm", title="50 chairs")
    await who.user.press(t(catalogs, who, "deal.reopen.no"), message=question)
    kept = await who.user.edited(question)
    assert kept.text == t(catalogs, who, "deal.reopen.kept", title="50 chairs")
    assert deal_row(db_url).stage == "lost"
    await who.user.press(t(catalogs, who, "deal.button.reopen"), message=card)
    question = await who.user.reply()
    await who.user.press(t(catalogs, who, "deal.reopen.yes"), message=question)
    reopened = await who.user.edited(question)
    stage = t(catalogs, who, "deal.stage.proposal")
    assert stage in reopened.text
    assert reopened.button_labels == [
        t(catalogs, who, f"deal.stage.{s}") for s in ("lead", "qualified", "negotiation", "won")
    ] + [t(catalogs, who, "deal.stage.lost"), t(catalogs, who, "deal.button.contract")]
    deal = deal_row(db_url)
    assert (deal.stage, deal.closed_at, deal.close_reason) == ("proposal", None, None)


# --- won / lost and why ----------------------------------------------------------------------


async def test_won_asks_why_it_was_won_and_shows_the_outcome(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await open_card(who.user, deal_id)
    await who.user.press(t(catalogs, who, "deal.stage.won"), message=card)
    title, ask = await who.user.replies(2)
    assert (title.text, ask.text) == (
        t(catalogs, who, "deal_won.title"),
        t(catalogs, who, "deal_won.ask.reason"),
    )
    assert t(catalogs, who, "flow.button.skip") in ask.button_labels
    summary = await answer(who.user, "价格最优")
    assert summary.splitlines() == [
        t(catalogs, who, "flow.summary_title", title=t(catalogs, who, "deal_won.title")),
        f"{t(catalogs, who, 'deal_won.field.reason')}{': ' if who.lang == 'en' else '：'}价格最优",
    ]
    await who.user.press(t(catalogs, who, "flow.button.save"))
    won = await who.user.reply()
    assert t(catalogs, who, "deal.outcome.won", reason="价格最优") in won.text
    assert (deal_row(db_url).stage, deal_row(db_url).close_reason) == ("won", "价格最优")


async def test_a_deal_closed_by_a_colleague_while_the_reason_is_typed_is_left_as_they_left_it(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await open_card(who.user, deal_id)
    await who.user.press(t(catalogs, who, "deal.stage.won"), message=card)
    await who.user.replies(2)
    db = Database(db_url)  # a colleague marks it lost meanwhile
    db.run_sync(lambda s: s.get(Deal, deal_id).sqlmodel_update({"stage": "lost"}))
    db.close()
    await answer(who.user, "价格最优")
    await who.user.press(t(catalogs, who, "flow.button.save"))
    assert (await who.user.reply()).text == t(catalogs, who, "deal.closed_meanwhile")
    assert (deal_row(db_url).stage, deal_row(db_url).close_reason) == ("lost", None)
    card = await open_card(who.user, deal_id)  # the entry is over; the card works as before
    assert card.button_labels[0] == t(catalogs, who, "deal.button.reopen")


@pytest.mark.parametrize("skip", ["button", "skip", "跳过"])
async def test_lost_without_a_reason(skip: str, who: Who, catalogs: Catalogs, db_url: str) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await open_card(who.user, deal_id)
    await who.user.press(t(catalogs, who, "deal.stage.lost"), message=card)
    _title, ask = await who.user.replies(2)
    assert ask.text == t(catalogs, who, "deal_lost.ask.reason")
    if skip == "button":
        await who.user.press(t(catalogs, who, "flow.button.skip"), message=ask)
        await who.user.edited(ask)
        summary = await who.user.reply()
    else:
        await who.user.send(skip)
        summary = await who.user.reply()
    await who.user.press(t(catalogs, who, "flow.button.save"), message=summary)
    lost = await who.user.reply()
    assert t(catalogs, who, "deal.outcome.lost_no_reason") in lost.text
    deal = deal_row(db_url)
    assert (deal.stage, deal.close_reason) == ("lost", None)
    assert rows(db_url, DealStageChange)[-1].reason is None


# --- budget and decision date ----------------------------------------------------------------


async def new_deal_to_budget(who: Who, catalogs: Catalogs, db_url: str) -> str:
    """/newdeal up to the question after the amount; its text."""
    add_customer(db_url, who.user, "张伟", "+8613800138000")
    await who.user.send("/newdeal")
    await who.user.replies(2)
    await who.user.send("张伟")
    await who.user.press("张伟", message=await who.user.reply())
    await who.user.reply()
    await answer(who.user, "50 chairs")
    return await answer(who.user, "50k")


async def test_budget_and_decision_date_are_asked_after_the_amount_and_shown(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    decide = today() + timedelta(days=20)
    assert await new_deal_to_budget(who, catalogs, db_url) == t(
        catalogs, who, "deal.ask.budget_amount"
    )
    assert await answer(who.user, "6万") == t(catalogs, who, "deal.ask.decision_date")
    assert await answer(who.user, decide.isoformat()) == t(catalogs, who, "deal.ask.stage")
    await who.user.press(t(catalogs, who, "deal.stage.proposal"))
    await who.user.reply()
    await who.user.press(t(catalogs, who, "flow.button.finish"))
    summary = await who.user.reply()
    budget_label = t(catalogs, who, "deal.field.budget_amount")
    assert any(line.startswith(budget_label) for line in summary.text.splitlines())
    await who.user.press(t(catalogs, who, "flow.button.save"), message=summary)
    card = await who.user.reply()
    deal = deal_row(db_url)
    assert (deal.budget, deal.budget_currency, deal.decision_date) == (
        Decimal("60000.00"),
        "CNY",
        decide,
    )
    budget = "CN¥60,000" if who.lang == "en" else "¥60,000"
    assert t(catalogs, who, "deal.card_budget", budget=budget) in card.text
    day = format_date(decide, lang=who.lang)
    assert t(catalogs, who, "deal.card_decision", date=day) in card.text


async def test_budget_and_decision_date_can_be_skipped(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    ask = await new_deal_to_budget(who, catalogs, db_url)
    assert ask == t(catalogs, who, "deal.ask.budget_amount")
    for _ in range(2):
        await who.user.press(t(catalogs, who, "flow.button.skip"))
        await who.user.reply()  # the next question (the skipped one is edited)
    await who.user.press(t(catalogs, who, "deal.stage.lead"))
    await who.user.reply()
    await who.user.press(t(catalogs, who, "flow.button.finish"))
    await who.user.press(t(catalogs, who, "flow.button.save"), message=await who.user.reply())
    card = await who.user.reply()
    deal = deal_row(db_url)
    assert (deal.budget, deal.budget_currency, deal.decision_date) == (None, None, None)
    label = t(catalogs, who, "deal.card_budget", budget="").strip(":： ")
    assert label not in card.text


async def test_budget_is_edited_from_the_deal(who: Who, catalogs: Catalogs, db_url: str) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    await who.user.send("/help")
    anchor = await who.user.reply()
    await who.user.press_data(pack(DealAction("edit", deal_id)), anchor)
    choose = await who.user.reply()
    assert t(catalogs, who, "deal.field.decision_date") in choose.button_labels
    await who.user.press(t(catalogs, who, "deal.field.budget_amount"), message=choose)
    _intro, _title, question = await who.user.replies(3)
    assert question.text.startswith(t(catalogs, who, "edit_deal.ask.budget_amount"))
    summary = await answer(who.user, "70k")
    await who.user.press(t(catalogs, who, "flow.button.save"))
    _saved, card = await who.user.replies(2)
    assert deal_row(db_url).budget == Decimal("70000.00")
    budget = "CN¥70,000" if who.lang == "en" else "¥70,000"
    assert t(catalogs, who, "deal.card_budget", budget=budget) in card.text
    assert summary


async def test_budget_and_decision_date_are_exported(
    emu: BotApiEmulator, who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    await who.user.send("/help")
    anchor = await who.user.reply()
    await who.user.press_data(pack(DealAction("edit", deal_id)), anchor)
    await who.user.press(
        t(catalogs, who, "deal.field.decision_date"), message=await who.user.reply()
    )
    await who.user.replies(3)
    await answer(who.user, "2030-01-31")
    await who.user.press(t(catalogs, who, "flow.button.save"))
    await who.user.replies(2)
    _name, content = await export(emu, who.user, "/export deals")
    header, row = read_csv(content)
    exported = dict(zip(header, row, strict=True))
    assert exported[t(catalogs, who, "export.column.decision_date")] == "2030-01-31"
    assert exported[t(catalogs, who, "export.column.budget")] == ""


# --- the card's own history ------------------------------------------------------------------


async def test_card_shows_its_stage_history(who: Who, catalogs: Catalogs, db_url: str) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await open_card(who.user, deal_id)
    assert t(catalogs, who, "deal.history.title") not in card.text  # not moved yet
    await who.user.press(t(catalogs, who, "deal.stage.negotiation"), message=card)
    moved = await who.user.edited(card)
    change = rows(db_url, DealStageChange)[-1]
    when = format_when(change.changed_at, tz=TZ, lang=who.lang)
    lines = moved.text.splitlines()
    assert lines[-2:] == [
        t(catalogs, who, "deal.history.title"),
        t(
            catalogs,
            who,
            "deal.history.move",
            when=when,
            before=t(catalogs, who, "deal.stage.proposal"),
            after=t(catalogs, who, "deal.stage.negotiation"),
            member=who.name,
        ),
    ]


async def test_long_history_is_shortened_under_telegrams_limit(
    who: Who, catalogs: Catalogs, db_url: str
) -> None:
    deal_id = add_deal(db_url, who.user, add_customer(db_url, who.user, "张伟", "+8613800138000"))
    card = await open_card(who.user, deal_id)
    for stage in ("lead", "qualified") * 6:
        await who.user.press(t(catalogs, who, f"deal.stage.{stage}"), message=card)
        card = await who.user.edited(card)
    assert t(catalogs, who, "deal.history.earlier", count=2) in card.text
    assert len(card.text) <= 4096
    assert len(rows(db_url, DealStageChange)) == 13


# --- /log names the deal ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "title"),
    [
        ("en", "Met Zhang Wei at Acme, wants 20 chairs, budget 50k", "20 chairs"),
        ("en", "Called Mark Evans at Acme, 50k, follow up Tuesday", "Mark Evans"),
        ("zh", "拜访了Acme的张伟，要采购20台打印机，预算5万", "20台打印机"),
        ("zh", "拜访了Acme的张伟，预算5万", "张伟"),
    ],
)
async def test_log_names_the_deal_after_what_was_wanted_or_the_customer(
    emu: BotApiEmulator,
    admin: ScriptedUser,
    catalogs: Catalogs,
    db_url: str,
    lang: str,
    text: str,
    title: str,
) -> None:
    user = admin if lang == "en" else await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await user.send(f"/log {text}")
    _title, card = await user.replies(2)
    await user.press(shown(catalogs, lang, "flow.button.save"), message=card)
    saved = (await user.reply()).text
    assert shown(catalogs, lang, "quick_log.saved_deal", title=title) in saved.splitlines()
    assert deal_row(db_url).title == title
