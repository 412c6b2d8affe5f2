"""No member ever reads about a record the access rule denies them, whatever happens to who owns
it: seeded random sequences of create / note / remind / deal / stage / reassign / merge /
delete / restore / team change across two teams, every member reading through the real bot
after each step (due reminders delivered by the scheduler, /reminders and each reminder opened
from it, /deals, /today, cards),
and every message each one received checked against an oracle written here, apart from
storage/access.py: admins see every live customer, managers their own and their team's, sales
their own; a customer's notes, deals and name go with it.

Writes are checked against the same oracle: a note, a reminder or a stage move on a record the
member may not see is refused (`NotFound`) and changes nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from bot import scheduler
from bot.app import CrmApplication, services_of
from bot.emulator import BotApiEmulator, BotMessage
from storage.access import NotFound
from storage.customer_changes import (
    archive_customer,
    merge_customers,
    reassign_customer,
    restore_customer,
)
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, change_stage, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.members import get_member_by_telegram_id, update_member
from storage.models import Customer, Deal, Interaction, Member, Role
from storage.reminders import create_follow_up
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.user import ScriptedUser
from tests.factories import make_member

pytestmark = pytest.mark.usefixtures("parked_tickers")

NOW = datetime(2031, 1, 15, 6, 0, tzinfo=UTC)
STEPS = 12
STAGES = ("lead", "qualified", "proposal")
# The scripted members: (telegram id, name, role, manager's telegram id).
TEAM = (
    (3001, "Mona", Role.MANAGER, None),
    (3002, "Sam", Role.SALES, 3001),
    (3003, "Tess", Role.SALES, 3001),
    (3004, "Otto", Role.MANAGER, None),
    (3005, "Uma", Role.SALES, 3004),
)
MANAGERS = (3001, 3004)
SALES = (3002, 3003, 3005)


@dataclass
class World:
    """The bot, the members' chats and the clock; `seen` is how many API calls were checked."""

    app: CrmApplication
    emu: BotApiEmulator
    db: Database
    rng: random.Random
    users: dict[int, ScriptedUser]
    now: datetime = NOW
    seen: int = 0
    read_up_to: dict[int, int] = field(default_factory=dict)  # last message id read, by chat
    # (telegram id, customer id): who lost sight of which customer, the likeliest to leak
    lost: list[tuple[int, int]] = field(default_factory=list)
    made: int = 0
    log: list[str] = field(default_factory=list)

    async def reply(self, user: ScriptedUser) -> BotMessage:
        message = await user.reply()
        self.read_up_to[user.chat_id] = message.message_id
        return message

    async def catch_up(self, user: ScriptedUser) -> None:
        """Read what the scheduler sent, so the next reply is the answer to the next command."""
        last = user.last_bot_message
        while last is not None and self.read_up_to.get(user.chat_id, 0) < last.message_id:
            await self.reply(user)

    def run(self, fn: Callable[[Session], Any]) -> Any:
        return self.db.run_sync(fn)

    def next_label(self, kind: str) -> str:
        """Unique and never inside another label (the closing `x`), so a hit is exact."""
        self.made += 1
        return f"{kind}{self.made}x"


def member(session: Session, telegram_id: int) -> Member:
    found = get_member_by_telegram_id(session, telegram_id=telegram_id)
    assert found is not None
    return found


def may_see(viewer: Member, customer: Customer, owners: dict[int, Member]) -> bool:
    """The oracle: the rule as the product states it, written without storage/access.py."""
    if customer.deleted_at is not None:
        return False
    if viewer.role == Role.ADMIN or customer.owner_id == viewer.id:
        return True
    return viewer.role == Role.MANAGER and owners[customer.owner_id].manager_id == viewer.id


@dataclass(frozen=True)
class Snapshot:
    """Who may see which text now: each customer name, note and deal title, by its customer."""

    members: dict[int, Member]  # by telegram id
    customers: dict[int, Customer]
    owners: dict[int, Member]  # by member id
    texts: dict[str, int]  # text -> customer id

    def visible(self, telegram_id: int, customer_id: int) -> bool:
        viewer = self.members[telegram_id]
        return may_see(viewer, self.customers[customer_id], self.owners)


def snapshot(session: Session) -> Snapshot:
    members = list(session.exec(select(Member)))
    customers = {c.id or 0: c for c in session.exec(select(Customer))}
    texts = {c.name: c.id or 0 for c in customers.values()}
    for note in session.exec(select(Interaction).where(col(Interaction.deleted_at).is_(None))):
        texts[note.summary or ""] = note.customer_id
    for deal in session.exec(select(Deal)):
        texts[deal.title] = deal.customer_id
    return Snapshot(
        {m.telegram_id: m for m in members}, customers, {m.id or 0: m for m in members}, texts
    )


def check_messages(world: World) -> int:
    """Every message (text and buttons) sent or edited since the last check, against the
    oracle as things stand now; the number checked."""
    now = world.run(snapshot)
    calls = world.emu.calls[world.seen :]
    world.seen += len(calls)
    checked = 0
    for method, params in calls:
        chat = params.get("chat_id")
        if method not in ("sendMessage", "editMessageText") or chat not in now.members:
            continue
        checked += 1
        shown = f"{params.get('text')} {params.get('reply_markup')}"
        for text, customer_id in now.texts.items():
            if text and text in shown and not now.visible(int(chat), customer_id):
                steps = "\n".join(world.log)
                pytest.fail(
                    f"{now.members[int(chat)].display_name} was shown {text!r} of customer "
                    f"#{customer_id}, which they may not see:\n{shown}\nafter:\n{steps}"
                )
    return checked


# --- the steps ----------------------------------------------------------------------------------


def live_customers(session: Session) -> list[Customer]:
    query = select(Customer).where(col(Customer.deleted_at).is_(None))
    return list(session.exec(query.order_by(col(Customer.id))))


def pick_customer(session: Session, rng: random.Random, *, live: bool = True) -> Customer | None:
    query = select(Customer).order_by(col(Customer.id))
    if live:
        query = query.where(col(Customer.deleted_at).is_(None))
    found = list(session.exec(query))
    return rng.choice(found) if found else None


def refused_iff_hidden(
    session: Session, actor: Member, customer: Customer, write: Callable[[], Any]
) -> str:
    """Run a write; it must be refused exactly when the oracle hides the customer."""
    hidden = not may_see(actor, customer, {m.id or 0: m for m in session.exec(select(Member))})
    try:
        with session.begin_nested():
            write()
    except NotFound:
        assert hidden, f"{actor.display_name} was refused customer #{customer.id}"
        return "refused"
    assert not hidden, f"{actor.display_name} wrote on hidden customer #{customer.id}"
    return "done"


KINDS = {
    "create": 2, "note": 3, "remind": 4, "deal": 2, "stage": 2,
    "reassign": 3, "merge": 2, "delete": 1, "restore": 1, "team": 2,
}  # fmt: skip


def sight(session: Session) -> set[tuple[int, int]]:
    """Every (telegram id, customer id) the oracle shows."""
    now = snapshot(session)
    return {(t, c) for t in now.members for c in now.customers if now.visible(t, c)}


def step(world: World) -> str:
    """One change, by a member who may see the customer, or who just lost sight of it, or
    anyone; afterwards, who lost sight of what is remembered for the next steps."""
    rng, due = world.rng, world.now + timedelta(minutes=world.rng.randint(0, 3))
    kind = rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
    label = world.next_label({"create": "Kunde", "note": "Secret", "deal": "Deal"}.get(kind, "T"))

    def act(session: Session) -> str:
        admin = member(session, ADMIN_ID)
        customer = pick_customer(session, rng)
        actor = member(session, rng.choice((*SALES, *MANAGERS)))
        seen = sorted(sight(session))
        roll = rng.random()
        if customer is not None and roll < 0.4 and world.lost:
            telegram_id, customer_id = rng.choice(world.lost)
            actor, customer = member(session, telegram_id), session.get_one(Customer, customer_id)
        elif customer is not None and roll < 0.8:
            live = [(t, c) for t, c in seen if t in (*SALES, *MANAGERS)]
            telegram_id, customer_id = rng.choice(live or [(actor.telegram_id, customer.id)])
            actor, customer = member(session, telegram_id), session.get_one(Customer, customer_id)
        if kind == "create" or customer is None:
            name = label if kind == "create" else world.next_label("Kunde")
            made = create_customer(session, actor=actor, data=CustomerCreate(name=name))
            return f"{actor.display_name} creates {name} #{made.id}"
        if kind == "note":
            data = InteractionCreate(customer.id or 0, "call", world.now, summary=label)
            return f"{actor.display_name} notes {label} on #{customer.id}: " + refused_iff_hidden(
                session,
                actor,
                customer,
                lambda: create_interaction(session, actor=actor, data=data),
            )
        if kind == "remind":
            text = f"todo {label}"

            def remind() -> None:
                create_follow_up(
                    session, actor=actor, due_at=due, text=text,
                    customer_id=customer.id, exact_time=True,
                )  # fmt: skip

            outcome = refused_iff_hidden(session, actor, customer, remind)
            return f"{actor.display_name} reminds on #{customer.id}: {outcome}"
        if kind == "deal":
            data = DealCreate(customer_id=customer.id or 0, title=label, stage=STAGES[0])
            return f"{actor.display_name} opens {label} on #{customer.id}: " + refused_iff_hidden(
                session, actor, customer, lambda: create_deal(session, actor=actor, data=data)
            )
        if kind == "stage":
            deals = list(session.exec(select(Deal).where(col(Deal.deleted_at).is_(None))))
            if not deals:
                return "no deal to move"
            deal = rng.choice(deals)
            before, owner = deal.stage, session.get_one(Customer, deal.customer_id)
            stage = rng.choice([s for s in STAGES if s != before])

            def move() -> None:
                change_stage(
                    session, actor=actor, deal_id=deal.id or 0, stage=stage, reason=None,
                    stages=STAGES,
                )  # fmt: skip

            outcome = refused_iff_hidden(session, actor, owner, move)
            session.refresh(deal)
            assert outcome == "done" or deal.stage == before, "a refused move changed the stage"
            return f"{actor.display_name} moves deal #{deal.id}: {outcome}"
        if kind == "reassign":
            by = rng.choice((admin, member(session, rng.choice(MANAGERS))))
            to = member(session, rng.choice((*SALES, *MANAGERS)))
            try:
                with session.begin_nested():
                    reassign_customer(
                        session, actor=by, customer_id=customer.id or 0, new_owner_id=to.id or 0
                    )
            except NotFound:
                return f"{by.display_name} may not reassign #{customer.id} to {to.display_name}"
            return f"{by.display_name} reassigns #{customer.id} to {to.display_name}"
        if kind == "merge":
            by = rng.choice((admin, member(session, rng.choice(MANAGERS))))
            others = [c for c in live_customers(session) if c.id != customer.id]
            if not others:
                return "nothing to merge with"
            other = rng.choice(others)
            try:
                with session.begin_nested():
                    merge_customers(
                        session, actor=by, survivor_id=other.id or 0, duplicate_id=customer.id or 0
                    )
            except NotFound:
                return f"{by.display_name} may not merge #{customer.id} into #{other.id}"
            return f"{by.display_name} merges #{customer.id} into #{other.id}"
        if kind == "delete":
            try:
                with session.begin_nested():
                    archive_customer(session, actor=actor, customer_id=customer.id or 0)
            except NotFound:
                return f"{actor.display_name} may not delete #{customer.id}"
            return f"{actor.display_name} deletes #{customer.id}"
        if kind == "restore":
            gone = pick_customer(session, rng, live=False)
            if gone is None or gone.deleted_at is None:
                return "nothing to restore"
            restore_customer(session, actor=admin, customer_id=gone.id or 0)
            return f"admin restores #{gone.id}"
        salesperson = member(session, rng.choice(SALES))
        manager = next(
            m for m in (member(session, t) for t in MANAGERS) if m.id != salesperson.manager_id
        )
        update_member(session, actor=admin, member_id=salesperson.id or 0, manager_id=manager.id)
        return f"{salesperson.display_name} joins {manager.display_name}'s team"

    before = world.run(sight)
    done = str(world.run(act))
    after = world.run(sight)
    live = {c for _t, c in after}
    world.lost = sorted({*world.lost, *(before - after)} - after)
    world.lost = [(t, c) for t, c in world.lost if c in live and t != ADMIN_ID][-6:]
    return done


def populate(session: Session) -> None:
    """Where leaks start from: each salesperson's customer with a note, a deal, and an open
    reminder of its owner and of the owner's manager, due over the first steps."""
    for minutes, telegram_id in enumerate(SALES):
        owner = member(session, telegram_id)
        manager = session.get_one(Member, owner.manager_id)
        name = f"Kunde{telegram_id}x"
        customer_id = create_customer(session, actor=owner, data=CustomerCreate(name=name)).id
        assert customer_id is not None
        note = InteractionCreate(customer_id, "call", NOW, summary=f"Secret{telegram_id}x")
        create_interaction(session, actor=owner, data=note)
        deal = DealCreate(customer_id=customer_id, title=f"Deal{telegram_id}x", stage=STAGES[0])
        create_deal(session, actor=owner, data=deal)
        for who in (owner, manager):
            create_follow_up(
                session, actor=who, due_at=NOW + timedelta(minutes=minutes), text="todo",
                customer_id=customer_id, exact_time=True,
            )  # fmt: skip


async def read_everything(world: World) -> None:
    """Due reminders delivered, then each member's /reminders, and one random other read."""
    world.now += timedelta(minutes=1)
    await scheduler.deliver_due(world.app)
    for user in world.users.values():
        await world.catch_up(user)
        await user.send("/reminders")
        listing = await world.reply(user)
        for button in [b for row in listing.buttons for b in row]:
            if (button.callback_data or "").startswith("v1:rem:show:"):  # open each reminder
                await user.press_data(button.callback_data or "", listing)
                await world.reply(user)
    ids = world.run(lambda s: list(s.exec(select(Customer.id))))
    telegram_id, customer_id = (
        world.rng.choice(world.lost)
        if world.lost and world.rng.random() < 0.7
        else (world.rng.choice(list(world.users)), world.rng.choice(ids or [0]))
    )
    user = world.users[telegram_id]
    command = world.rng.choice(("/deals", "/today", f"/customer {customer_id}"))
    await user.send(command)
    await world.reply(user)
    world.log.append(f"  {user.user_id} reads {command}")


@pytest.mark.parametrize("seed", [1, 2])
async def test_no_member_reads_about_a_record_the_access_rule_hides(
    running_bot: RunningBot,
    emu: BotApiEmulator,
    admin: ScriptedUser,
    database: Database,
    seed: int,
) -> None:
    app = running_bot.application
    assert app is not None
    await admin.send("/help")
    await admin.reply()

    def team(session: Session) -> None:
        made: dict[int, Member] = {}
        for telegram_id, name, role, manager in TEAM:
            made[telegram_id] = make_member(
                session, role=role, manager=made.get(manager or 0),
                telegram_id=telegram_id, display_name=name,
            )  # fmt: skip

    database.run_sync(team)
    database.run_sync(populate)
    users = {tid: ScriptedUser(emu, tid, name) for tid, name, _role, _manager in TEAM}
    world = World(app, emu, database, random.Random(seed), users)
    services_of(app).clock = lambda: world.now
    checked = 0
    for _ in range(STEPS):
        world.log.append(step(world))
        await read_everything(world)
        checked += check_messages(world)
    assert checked > STEPS * len(TEAM), "too few messages were checked to mean anything"
