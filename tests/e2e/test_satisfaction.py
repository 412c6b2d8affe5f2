"""Satisfaction beyond tickets end to end: an order marked delivered asks for the customer's
score (scored with a comment, or Not asked in one tap), the customer card shows the latest
score and the average, and a falling score reaches the owner's manager once, in working
hours, with the customer's Open button; forged score buttons are refused."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, col, select

from bot import scheduler
from bot.emulator import BotApiEmulator
from handlers.callback_data import OrderAction, SatisfactionAction, pack
from handlers.i18n import Catalogs
from storage.db import Database
from storage.models import OrderStatus, Reminder, Role
from storage.orders import OrderCreate, OrderLineCreate, create_order
from storage.satisfaction_models import SatisfactionScore
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, pinned, shown
from tests.e2e.test_reminders import NOW
from tests.e2e.user import ScriptedUser
from tests.factories import make_customer, make_member, pk

pytestmark = pytest.mark.usefixtures("parked_tickers")
MIA, LI = 2101, 2102


def seed(session: Session) -> tuple[int, list[int]]:
    """Mia manages Li; Li's customer has two shipped orders."""
    mia = make_member(session, role=Role.MANAGER, telegram_id=MIA, display_name="Mia")
    li = make_member(session, manager=mia, telegram_id=LI, display_name="Li")
    li.language = mia.language = "en"
    customer = make_customer(session, owner=li, name="Zhang Wei")
    orders = [
        create_order(
            session,
            actor=li,
            data=OrderCreate(
                customer_id=pk(customer),
                ordered_on=date(2031, 1, 2),
                lines=(OrderLineCreate("X2"),),
                number=number,
                status=OrderStatus.SHIPPED,
            ),
        )
        for number in ("DD-1", "DD-2")
    ]
    return pk(customer), [pk(o) for o in orders]


async def deliver(user: ScriptedUser, order_id: int) -> None:
    await user.send("/help")
    anchor = await user.reply()
    await user.press_data(pack(OrderAction("open", order_id)), anchor)
    card = await user.reply()
    await user.press("📬 Delivered", message=card)
    await user.edited(card)


async def test_delivered_order_rated_or_skipped_and_a_falling_score_told_once(
    emu: BotApiEmulator,
    running_bot: RunningBot,
    database: Database,
    catalogs: Catalogs,
) -> None:
    app = pinned(running_bot, NOW)
    customer_id, (first, second) = database.run_sync(seed)
    li, mia = ScriptedUser(emu, LI, "Li"), ScriptedUser(emu, MIA, "Mia")

    await deliver(li, first)
    ask = await li.reply()
    assert ask.text == shown(catalogs, "en", "satisfaction.ask.order", label="DD-1")
    assert ask.button_labels[-1] == "Not asked"
    await li.press("2 ⭐⭐", message=ask)
    assert (await li.edited(ask)).text == shown(
        catalogs, "en", "satisfaction.scored", label="DD-1", score=2
    )
    comment = (await li.replies(2))[-1]
    assert comment.text.startswith(shown(catalogs, "en", "satisfaction.ask.comment"))
    await li.send("arrived late")
    assert (await li.reply()).text == shown(catalogs, "en", "satisfaction.kept", score=2)

    await deliver(li, second)
    ask = await li.reply()
    await li.press("Not asked", message=ask)
    skipped = await li.edited(ask)
    assert skipped.text == shown(catalogs, "en", "satisfaction.not_asked", label="DD-2")
    # forged scores: an unknown order, an order passed off as a visit; refused, nothing kept
    earlier = set(emu.callback_answers)
    for forged in (SatisfactionAction("order", 10**6, 1), SatisfactionAction("visit", second, 1)):
        await li.press_data(pack(forged), ask)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 2)
    answers = [a.get("text") for i, a in emu.callback_answers.items() if i not in earlier]
    assert answers == [shown(catalogs, "en", "satisfaction.refused")] * 2
    scores = database.read_sync(
        lambda s: s.exec(select(SatisfactionScore).order_by(col(SatisfactionScore.id))).all()
    )
    assert [(s.source_kind, s.source_id, s.score, s.comment) for s in scores] == [
        ("order", first, 2, "arrived late")
    ]

    await li.send(f"/customer {customer_id}")
    card = (await li.reply()).text
    line = shown(catalogs, "en", "ticket.customer.satisfaction", latest=2, average="2", count=1)
    assert line in card

    # 2 is at the floor: Mia, Li's manager, is told once, and opens the customer from it.
    assert await scheduler.deliver_due(app) == 1
    told = await mia.reply()
    assert shown(catalogs, "en", "satisfaction.reminder.falling") in told.text
    assert "Zhang Wei" in told.text
    assert "2/5 — arrived late" in told.text
    await mia.press("👤 Open customer", message=told)
    assert "Zhang Wei" in (await mia.reply()).text
    assert await scheduler.deliver_due(app) == 0
    kinds = database.read_sync(lambda s: s.exec(select(Reminder.kind)).all())
    assert kinds.count("satisfaction") == 1
