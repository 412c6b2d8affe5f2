"""Cards and lists at their limits reach the member (Telegram refuses a text over 4,096 of its
characters; the emulator counts as it does), and what a card shortens is one button away.
A reply to a card is checked like the note flow's summary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from bot.emulator import BotApiEmulator
from handlers.customer_card import NOTE_PREVIEW
from handlers.formatting import clip
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import AuditEntry, Interaction, Member, utcnow
from storage.parsing import MAX_LENGTHS
from storage.reminders import create_follow_up
from tests.e2e.helpers import shown
from tests.e2e.user import ScriptedUser

SUMMARY = MAX_LENGTHS["summary"]
# 😀 is two of Telegram's units: a summary of them at the limit is 4,000 units on its own.
LONG = "😀"


def in_db(db_url: str, fn: Any) -> Any:
    db = Database(db_url)
    try:
        return db.run_sync(fn)
    finally:
        db.close()


def admin_member(session: Session) -> Member:
    return session.exec(select(Member).where(Member.telegram_id == 1001)).one()


def note_text(i: int) -> str:
    """A summary at the limit whose start and end say which note it is."""
    head, tail = f"note {i} starts ", f" note {i} ends"
    return head + LONG * (SUMMARY - len(head) - len(tail)) + tail


def biggest_customer(db_url: str, *, notes: int) -> int:
    """Every field at its maximum, 20 tags and phones, `notes` notes with maximum summaries
    and outcomes, open deals and reminders whose text is a maximum summary."""

    def add(session: Session) -> int:
        actor = admin_member(session)
        data = CustomerCreate(
            name="N" * MAX_LENGTHS["name"],
            company="C" * MAX_LENGTHS["company"],
            position="P" * MAX_LENGTHS["position"],
            industry="I" * MAX_LENGTHS["industry"],
            region="R" * MAX_LENGTHS["region"],
            email="e" * 60 + "@example.com",
            needs=LONG * MAX_LENGTHS["needs"],
            tags=[f"{i:02d}" + "t" * (MAX_LENGTHS["tag"] - 2) for i in range(20)],
            phones=[f"+86138001380{i:02d}" for i in range(20)],
        )
        customer = create_customer(session, actor=actor, data=data)
        assert customer.id is not None
        now = utcnow()
        for i in range(notes):
            create_interaction(
                session,
                actor=actor,
                data=InteractionCreate(
                    customer_id=customer.id,
                    kind="call",
                    happened_at=now - timedelta(hours=i),
                    summary=note_text(i),
                    outcome=LONG * MAX_LENGTHS["notes"],
                ),
            )
        for i in range(10):
            title = f"{i} " + "D" * (MAX_LENGTHS["title"] - 2)
            create_deal(
                session,
                actor=actor,
                data=DealCreate(
                    customer_id=customer.id,
                    title=title,
                    stage="lead",
                    amount=Decimal("999999999999"),
                    currency="CNY",
                ),
            )
        for i in range(5):
            create_follow_up(
                session,
                actor=actor,
                due_at=now + timedelta(days=i + 1),
                text=LONG * SUMMARY,
                customer_id=customer.id,
                exact_time=True,
            )
        return customer.id

    return int(in_db(db_url, add))


async def read_note(admin: ScriptedUser, note_id: int) -> str:
    """The note as the member reads it after pressing its "📝 #id" button: every message
    the bot sends for it, up to the one with the note's own buttons."""
    await admin.press(f"📝 #{note_id}")
    texts = []
    while True:
        message = await admin.reply()
        texts.append(message.text)
        if message.buttons:
            return "".join(texts)


async def test_card_at_its_limits_is_sent_and_each_note_opens_whole(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = biggest_customer(db_url, notes=5)
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    assert card.text.splitlines()[0] == f"{'N' * 100} · #{customer_id}"
    assert card.text.splitlines()[-1] == shown(catalogs, "en", "lookup.card.reply_hint")
    notes = in_db(
        db_url,
        lambda s: list(s.exec(select(Interaction).where(Interaction.customer_id == customer_id))),
    )
    for note in notes:
        assert f"📝 #{note.id}" in card.button_labels
        whole = await read_note(admin, note.id)
        assert note.summary in whole.replace("\n", "")


async def test_card_shortens_each_note_to_its_preview(admin: ScriptedUser, db_url: str) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = biggest_customer(db_url, notes=2)
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    previews = [line for line in card.text.splitlines() if "note 0 starts" in line]
    assert len(previews) == 1
    assert clip(note_text(0), NOTE_PREVIEW) in previews[0]
    assert "note 0 ends" not in card.text


async def test_older_notes_pages_fit_and_open_each_note(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = biggest_customer(db_url, notes=12)
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    await admin.press(shown(catalogs, "en", "lookup.button.more"), message=card)
    page = await admin.reply()
    assert "note 5 starts" in page.text
    older = in_db(
        db_url,
        lambda s: s.exec(
            select(Interaction).where(
                Interaction.customer_id == customer_id, Interaction.summary == note_text(5)
            )
        ).one(),
    )
    assert note_text(5) in (await read_note(admin, older.id)).replace("\n", "")


async def test_history_of_long_edits_fits_every_page(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = biggest_customer(db_url, notes=1)

    def long_edits(session: Session) -> None:
        actor = admin_member(session)
        for i in range(17):
            changes = {
                "needs": [LONG * MAX_LENGTHS["needs"], f"{i} " + LONG * 998],
                "tags": [["t" * 30] * 20, ["u" * 30] * 20],
                "summary": [LONG * SUMMARY, LONG * SUMMARY],
            }
            session.add(
                AuditEntry(
                    actor_id=actor.id,
                    action="update",
                    entity_type="customer",
                    entity_id=customer_id,
                    changes=changes,
                )
            )

    in_db(db_url, long_edits)
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    await admin.press(shown(catalogs, "en", "lookup.button.history"), message=card)
    page = await admin.reply()
    for number in (2, 3):
        await admin.press("»", message=page)
        page = await admin.edited(page)
        assert page.text.splitlines()[0] == shown(
            catalogs, "en", "records.history.title", name="N" * 100, page=number
        )


async def test_reply_to_card_over_the_note_limit_is_refused_like_the_note_flow(
    admin: ScriptedUser, emu: BotApiEmulator, catalogs: Catalogs, db_url: str
) -> None:
    await admin.send("/help")
    await admin.reply()
    customer_id = in_db(
        db_url,
        lambda s: (
            create_customer(s, actor=admin_member(s), data=CustomerCreate(name="Acme Boss")).id
        ),
    )
    await admin.send(f"/customer {customer_id}")
    card = await admin.reply()
    too_long = "x" * (SUMMARY + 1)
    await emu.send_text(admin.user_id, too_long, reply_to_message_id=card.message_id)
    refusal = await admin.reply()
    assert refusal.text == "\n\n".join(
        [
            shown(catalogs, "en", "parse.text.too_long", max=SUMMARY, length=SUMMARY + 1),
            shown(catalogs, "en", "note.ask.summary"),
        ]
    )
    notes = in_db(
        db_url,
        lambda s: list(s.exec(select(Interaction).where(Interaction.customer_id == customer_id))),
    )
    assert notes == []


async def test_find_with_the_longest_query_answers_with_it_shortened(
    admin: ScriptedUser, catalogs: Catalogs
) -> None:
    query = LONG * 2000  # 4,000 of Telegram's units: the message itself was allowed
    await admin.send(f"/find {query}")
    answer = await admin.reply()
    assert answer.text == shown(catalogs, "en", "lookup.none", query=clip(query))
