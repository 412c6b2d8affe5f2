"""/review end to end: a manager goes through the team's items one card at a time, approves,
sends back to the owner (who fills the missing field from the button), dismisses with a
reason (after a /cancel and a restart in the middle), merges a duplicate picking field by
field (/dedupe's steps); a salesperson has no queue, another team's items never show, and
forged buttons answer like stale ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers.callback_data import ReviewAction, pack
from handlers.i18n import Catalogs
from storage.deals import DealCreate, create_deal
from storage.models import AuditEntry, Customer
from storage.review_models import ReviewDecision
from tests.conftest import RunningBot
from tests.e2e.helpers import eventually, join, rows, shown, start_code
from tests.e2e.test_customer_flow import phones_of
from tests.e2e.test_records import in_db, member, seed
from tests.e2e.user import ScriptedUser

pytestmark = pytest.mark.usefixtures("parked_tickers")


@pytest.fixture
def bot_sections() -> dict[str, Any]:
    """This team requires a phone (`[quality] required`): a customer without one is an item."""
    return {"quality": QualityConfig(required={"customer": ["name", "phone"]})}


@dataclass
class Team:
    mia: ScriptedUser  # the manager
    lee: ScriptedUser  # her salesperson, reading Chinese
    out: ScriptedUser  # a salesperson of no team of hers


async def make_team(emu: BotApiEmulator, admin: ScriptedUser) -> Team:
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    await mia.send("/invite")
    lee = ScriptedUser(emu, 3004, "Lee", language_code="zh")
    await lee.send(f"/start {start_code((await mia.reply()).text)}")
    await lee.replies(2)
    out = await join(emu, admin, 3005, "Out")
    return Team(mia, lee, out)


@pytest.fixture
async def team(emu: BotApiEmulator, admin: ScriptedUser) -> Team:
    return await make_team(emu, admin)


def decisions(db_url: str) -> list[ReviewDecision]:
    return list(rows(db_url, ReviewDecision))


def review_audit(db_url: str) -> list[AuditEntry]:
    return [e for e in rows(db_url, AuditEntry) if e.action == "review"]


async def test_approve_shows_the_next_item_and_is_audited(
    team: Team, catalogs: Catalogs, db_url: str
) -> None:
    no_phone = seed(db_url, 3004, "Wang Fang")
    seed(db_url, 3004, "Old", phones=["+8613800138001"], birthday_year=1890,
         birthday_month=1, birthday_day=2)  # fmt: skip
    seed(db_url, 3005, "Not hers")  # another team's customer missing its phone
    await team.mia.send("/review")
    card = await team.mia.reply()
    assert shown(catalogs, "en", "review.title", position=1, count=2) in card.text
    assert shown(catalogs, "en", "review.missing", fields="Phones") in card.text
    assert "Not hers" not in card.text
    await team.mia.press(shown(catalogs, "en", "review.button.approve"), message=card)
    second = await team.mia.edited(card)
    assert shown(catalogs, "en", "review.title", position=1, count=1) in second.text
    assert shown(catalogs, "en", "review.suspicious.age_over_110") in second.text
    await team.mia.press(shown(catalogs, "en", "review.button.fix"), message=second)
    choose = await team.mia.reply()  # a customer's Fix opens its edit, same validation
    assert shown(catalogs, "en", "records.edit.choose", name="Old") in choose.text
    [decision] = decisions(db_url)
    assert (decision.record_id, decision.decision) == (no_phone, "approved")
    [entry] = review_audit(db_url)
    assert entry.entity_id == no_phone
    assert entry.changes["review"] == [None, "approved"]


async def test_send_back_reaches_the_owner_who_fills_the_missing_phone(
    team: Team, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 3004, "Wang Fang")
    await team.mia.send("/review")
    card = await team.mia.reply()
    await team.mia.press(shown(catalogs, "en", "review.button.back"), message=card)
    await team.mia.reply()  # the flow's title
    ask = await team.mia.reply()
    assert ask.text == shown(catalogs, "en", "review_back.ask.comment")
    await team.mia.send("please add the phone")
    said, empty = await team.mia.replies(2)
    assert said.text == shown(catalogs, "en", "review.sent_back", name="Wang Fang")
    assert empty.text == shown(catalogs, "en", "review.empty")
    told = await team.lee.reply()
    assert "please add the phone" in told.text
    assert shown(catalogs, "zh", "review.missing", fields="电话") in told.text
    await team.lee.press(shown(catalogs, "zh", "review.button.fill", field="电话"), message=told)
    _intro, _title, question = await team.lee.replies(3)
    await team.lee.send("138 0013 8000")
    summary = await team.lee.reply()
    await team.lee.press(shown(catalogs, "zh", "flow.button.save"), message=summary)
    await team.lee.replies(2)
    assert phones_of(db_url, customer_id) == ["+8613800138000"]
    await team.mia.send("/review")
    assert (await team.mia.reply()).text == shown(catalogs, "en", "review.empty")
    assert [d.comment for d in decisions(db_url)] == ["please add the phone"]


async def test_dismiss_asks_a_reason_survives_cancel_and_restart(
    team: Team, catalogs: Catalogs, db_url: str, running_bot: RunningBot
) -> None:
    seed(db_url, 3004, "Wang Fang")
    await team.mia.send("/review")
    card = await team.mia.reply()
    await team.mia.press(shown(catalogs, "en", "review.button.dismiss"), message=card)
    await team.mia.replies(2)  # title, question
    await team.mia.send("/cancel")
    await team.mia.reply()
    assert decisions(db_url) == []
    await team.mia.send("/review")
    card = await team.mia.reply()
    await team.mia.press(shown(catalogs, "en", "review.button.dismiss"), message=card)
    await team.mia.replies(2)
    await team.mia.send("   ")  # an empty reason is asked again
    again = await team.mia.reply()
    assert shown(catalogs, "en", "parse.text.empty").splitlines()[0] in again.text
    await running_bot.restart()
    await team.mia.send("walk-in, gave no phone")
    said, empty = await team.mia.replies(2)
    assert said.text == shown(catalogs, "en", "review.dismissed", name="Wang Fang")
    assert empty.text == shown(catalogs, "en", "review.empty")
    [decision] = decisions(db_url)
    assert (decision.decision, decision.comment) == ("dismissed", "walk-in, gave no phone")


async def test_merge_a_duplicate_from_the_queue_with_field_picks(
    team: Team, catalogs: Catalogs, db_url: str
) -> None:
    """Merge opens /dedupe's steps on the pair: keep one, pick each differing field, merge;
    then the queue again."""
    first = seed(db_url, 3004, "Li Na", phones=["+8613800138000"], position="CEO")
    second = seed(db_url, 3003, "Li Na (Mia)", phones=["+8613800138000"])
    await team.mia.send("/review")
    card = await team.mia.reply()
    assert shown(catalogs, "en", "review.kind.duplicate") in card.text
    await team.mia.press(shown(catalogs, "en", "review.button.merge", id=first), message=card)
    cluster = await team.mia.reply()
    assert cluster.text.splitlines()[0] == shown(
        catalogs, "en", "dedupe.cluster", number=1, total=1
    )
    await team.mia.press(shown(catalogs, "en", "dedupe.button.keep", id=second), message=cluster)
    asked = await team.mia.edited(cluster)
    assert asked.text == shown(catalogs, "en", "dedupe.pick", field="Name")
    await team.mia.press(f"#{first}: Li Na", message=asked)
    asked = await team.mia.edited(asked)
    await team.mia.press(f"#{first}: CEO", message=asked)
    summary = await team.mia.edited(asked)
    await team.mia.press(shown(catalogs, "en", "dedupe.button.merge"), message=summary)
    merged = await team.mia.edited(summary)
    assert merged.text == shown(catalogs, "en", "dedupe.merged", id=second, count=1)
    assert (await team.mia.reply()).text == shown(catalogs, "en", "review.empty")
    kept = in_db(db_url, lambda s: s.get_one(Customer, second))
    assert (kept.name, kept.position, kept.deleted_at) == ("Li Na", "CEO", None)
    assert in_db(db_url, lambda s: s.get_one(Customer, first)).deleted_at is not None


async def test_salespeople_have_no_review_and_forged_buttons_answer_like_stale(
    emu: BotApiEmulator, team: Team, catalogs: Catalogs, db_url: str
) -> None:
    own = seed(db_url, 3004, "Wang Fang")
    theirs = seed(db_url, 3005, "Not hers")
    await team.lee.send("/review")
    assert (await team.lee.reply()).text == shown(catalogs, "zh", "review.leads_only")
    await team.mia.send("/review")
    anchor = await team.mia.reply()
    earlier = set(emu.callback_answers)
    for user, forged in (
        (team.mia, pack(ReviewAction("ok", "missing", "customer", theirs))),
        (team.mia, pack(ReviewAction("dismiss", "missing", "customer", theirs))),
        (team.mia, pack(ReviewAction("ok", "duplicate", "customer", own, theirs))),
        (team.mia, "v1:rev:ok:missing:customer:99999999"),
        (team.mia, "v1:rev:ok"),
    ):
        await user.press_data(forged, anchor)
    await eventually(lambda: len(set(emu.callback_answers) - earlier) >= 5)
    answers = {a.get("text") for i, a in emu.callback_answers.items() if i not in earlier}
    assert answers <= {
        shown(catalogs, "en", "common.not_found"),
        shown(catalogs, "en", "common.stale_button"),
    }
    assert decisions(db_url) == []
    assert "Not hers" not in team.mia.transcript()
    rows_seen = in_db(db_url, lambda s: list(s.exec(select(Customer.id))))
    assert own in rows_seen
    # a duplicate of another team's customer: the card names its owner, never the customer
    seed(db_url, 3005, "Secret Li", phones=["+8613800138009"])
    twin = seed(db_url, 3004, "Li Wei", phones=["+8613800138009"])
    await team.mia.send("/review")
    card = await team.mia.reply()
    await team.mia.press(shown(catalogs, "en", "review.button.approve"), message=card)
    duplicate = await team.mia.edited(card)
    reason = shown(catalogs, "en", "review.duplicate.phone")
    assert shown(catalogs, "en", "review.duplicate_hidden", reason=reason, owner="Out") in (
        duplicate.text
    )
    assert f"#{twin}" in duplicate.text or "Li Wei" in duplicate.text
    assert "Secret Li" not in team.mia.transcript()


async def test_a_suspicious_deal_is_fixed_through_the_deals_edit(
    team: Team, catalogs: Catalogs, db_url: str
) -> None:
    customer_id = seed(db_url, 3004, "Li Na", phones=["+8613800138000"])

    def far_deal(session: Session) -> int:
        created = create_deal(
            session,
            actor=member(session, 3004),
            data=DealCreate(
                customer_id=customer_id,
                title="Chairs",
                stage="lead",
                expected_close_date=date(2040, 1, 1),
            ),
        )
        assert created.id is not None
        return created.id

    deal_id = in_db(db_url, far_deal)
    await team.mia.send("/review")
    card = await team.mia.reply()
    assert shown(catalogs, "en", "review.record.deal", name="Chairs", id=deal_id) in card.text
    assert shown(catalogs, "en", "review.suspicious.close_far") in card.text
    await team.mia.press(shown(catalogs, "en", "review.button.fix"), message=card)
    choose = await team.mia.reply()
    assert shown(catalogs, "en", "records.edit.choose", name="Chairs") in choose.text
