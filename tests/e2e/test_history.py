"""A customer's History as a salesperson reads it, in English and Chinese: field labels,
member and customer names, local times, amounts and translated choices, never the stored
ids, codes or ISO timestamps; a merged-away customer is named only to whoever could see it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.formatting import format_date, format_money, format_when
from handlers.i18n import Catalogs
from storage.customer_changes import merge_customers
from storage.customers import CustomerCreate, create_customer
from storage.deals import DealCreate, change_stage, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Deal
from storage.parsing import Money
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import join, shown
from tests.e2e.test_records import in_db, member, open_card
from tests.e2e.user import ScriptedUser

STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
TZ = "America/New_York"
VISITED = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
RAW = re.compile(r"owner_id|customer_id|\d{4}-\d\d-\d\dT|\+00:00|: visit|qualified|website|male")


def story(db_url: str) -> tuple[int, int]:
    """Ada's customer 张伟 with a 50,000 CNY deal moved twice (won at the end), a visit, and
    a duplicate merged into it; the customer's id and the deal's."""

    def add(session: Session) -> tuple[int, int]:
        ada = member(session, ADMIN_ID)
        ada.timezone = TZ
        session.add(ada)
        zhang = create_customer(
            session,
            actor=ada,
            data=CustomerCreate(name="张伟", gender="male", source="website"),
        )
        old = create_customer(session, actor=ada, data=CustomerCreate(name="Zhang Wei (old)"))
        assert zhang.id is not None
        assert old.id is not None
        deal = create_deal(
            session,
            actor=ada,
            data=DealCreate(
                customer_id=zhang.id,
                title="Chairs",
                stage="qualified",
                amount=Decimal(50000),
                currency="CNY",
                expected_close_date=date(2026, 12, 20),
                probability=60,
            ),
        )
        assert deal.id is not None
        for stage, reason in (("negotiation", None), ("won", "best price")):
            change_stage(
                session, actor=ada, deal_id=deal.id, stage=stage, reason=reason, stages=STAGES
            )
        create_interaction(
            session,
            actor=ada,
            data=InteractionCreate(
                customer_id=zhang.id, kind="visit", happened_at=VISITED, summary="Showroom"
            ),
        )
        merge_customers(session, actor=ada, survivor_id=zhang.id, duplicate_id=old.id)
        return zhang.id, deal.id

    ids: tuple[int, int] = in_db(db_url, add)
    return ids


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_history_shows_labels_names_local_times_and_translated_values(
    emu: BotApiEmulator, running_bot: RunningBot, catalogs: Catalogs, db_url: str, lang: str
) -> None:
    ada = ScriptedUser(emu, ADMIN_ID, "Ada", language_code=lang)
    await ada.send("/help")
    await ada.reply()
    customer_id, deal_id = story(db_url)
    closed_at = in_db(db_url, lambda s: s.get_one(Deal, deal_id).closed_at)
    await open_card(ada, customer_id)
    await ada.press(shown(catalogs, lang, "lookup.button.history"))
    history = await ada.reply()
    lines = history.text.splitlines()

    def t(key: str, **params: object) -> str:
        return shown(catalogs, lang, key, **params)

    def value(field: str, shown_value: str) -> str:
        return t("records.history.value", field=t(field), value=shown_value)

    def change(field: str, old: str, new: str) -> str:
        return t("records.history.change", field=t(field), old=old, new=new)

    tz = ZoneInfo(TZ)
    deal = t("records.subject.deal", id=deal_id)
    stage_move = t("records.history.of", subject=deal, action=t("records.action.update"))
    expected = [
        value("customer.field.gender", t("customer.gender.male")),
        value("customer.field.source", t("customer.source.website")),
        value("records.change.owner", "Ada"),
        value("deal.field.stage", t("deal.stage.qualified")),
        value("deal.field.amount", format_money(Money(Decimal(50000), "CNY"), lang=lang)),
        value("deal.field.close", format_date(date(2026, 12, 20), lang=lang)),
        value("deal.field.probability", "60%"),
        change("deal.field.stage", t("deal.stage.qualified"), t("deal.stage.negotiation")),
        change("deal.field.stage", t("deal.stage.negotiation"), t("deal.stage.won")),
        change("records.change.closed_at", "—", format_when(closed_at, tz=tz, lang=lang)),
        value("note.field.kind", t("note.kind.visit")),
        value("note.field.happened", format_when(VISITED, tz=tz, lang=lang)),
        value("records.change.merged_from", "Zhang Wei (old)"),
    ]
    assert [line for line in expected if line not in lines] == []
    for action in (t("records.action.merge"), stage_move):  # "<when> · Ada · <action>"
        assert any(line.endswith(f" · Ada · {action}") for line in lines), action
    moved = t("records.change.notes")  # the merge moved none: not listed as "0"
    assert not any(line.strip().startswith(moved) for line in lines)
    assert RAW.search(history.text) is None, history.text


async def test_a_merged_customer_the_reader_could_not_see_is_not_named(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    li = await join(emu, admin, 2002, "Li Na")
    await join(emu, admin, 2003, "Wang Fang")

    def add(session: Session) -> tuple[int, int]:
        mine = create_customer(session, actor=member(session, 2002), data=CustomerCreate("Mine"))
        theirs = create_customer(
            session, actor=member(session, 2003), data=CustomerCreate("Secret Buyer")
        )
        assert mine.id is not None
        assert theirs.id is not None
        ada = member(session, ADMIN_ID)
        merge_customers(session, actor=ada, survivor_id=mine.id, duplicate_id=theirs.id)
        return mine.id, theirs.id

    mine_id, theirs_id = in_db(db_url, add)
    await open_card(li, mine_id)
    await li.press(shown(catalogs, "en", "lookup.button.history"))
    history = await li.reply()
    merged = shown(
        catalogs,
        "en",
        "records.history.value",
        field=shown(catalogs, "en", "records.change.merged_from"),
        value=shown(catalogs, "en", "records.history.id", id=theirs_id),
    )
    assert merged in history.text.splitlines()
    assert "Secret Buyer" not in history.text
