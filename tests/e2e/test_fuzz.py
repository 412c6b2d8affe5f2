"""Property tests: random and hostile input through the fake Bot API to the real running bot.

Each example is a random walk: /cancel, a command that opens a flow (or a lookup, an export,
settings), then random texts (unicode, 4096 characters, HTML/markdown/SQL fragments, RTL and
zero-width characters, command look-alikes), files, photos, contacts, locations, inline
queries, presses of the bot's own buttons (never a confirming one) and forged callback data,
random or well-formed with the ids of another salesperson's records. After every example:

- nothing reached the error handler (no unhandled exception);
- no customer, phone, deal, note, purchase or reminder was created, and the other
  salesperson's records are unchanged: nothing is saved without a confirm button pressed;
- the other salesperson's marker never appears in anything the fuzzing member received:
  texts, captions, buttons, button alerts, files (CSV and the XML inside XLSX) and inline
  results.

Hypothesis drives a synchronous test, so the emulator and the bot live on an event loop in a
thread of their own, started once per backend for the whole module.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import zipfile
from collections.abc import Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, col, func, select

from bot.emulator import BotApiEmulator, BotMessage, Button
from handlers import callback_data as cd
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.inbox import InboxStatus
from storage.interactions import InteractionCreate, create_interaction
from storage.models import (
    Customer,
    CustomerPhone,
    Deal,
    InboxUpdate,
    Interaction,
    Invite,
    Member,
    Order,
    OrderLine,
    Reminder,
    Role,
    utcnow,
)
from storage.purchases import PurchaseCreate, create_purchase
from storage.reminders import create_follow_up
from tests.conftest import BACKENDS, TOKEN, RunningBot, _database_url
from tests.e2e.user import ScriptedUser
from tests.factories import make_member

T = TypeVar("T")

MARKER = "secret-7f3a"  # compared case-insensitively; no input below contains it
OTHER_ID, FUZZER_ID = 7001, 7002
RECORDS = (Customer, CustomerPhone, Deal, Interaction, Order, OrderLine, Reminder, Invite)
# Genuine buttons the walk may press: none of them saves or deletes anything.
SAFE_FLOW_ACTIONS = {"pick", "skip", "back", "finish", "edit", "field", "cancel", "resume"}
SAFE_KINDS = (cd.SettingsAction, cd.SearchPage, cd.LangChoice)


class LoopThread:
    """An event loop running in a daemon thread; `run` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:  # noqa: ASYNC109
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class World:
    """The running bot, the other salesperson's record ids, and what the fuzzer received."""

    def __init__(
        self, loop: LoopThread, emu: BotApiEmulator, bot: RunningBot, db: Database
    ) -> None:
        self.loop, self.emu, self.bot, self.db = loop, emu, bot, db
        self.fuzzer = ScriptedUser(emu, FUZZER_ID, "Finn")
        self.ids: dict[str, int] = {}
        self.baseline: dict[str, Any] = {}
        self.seen: list[BotMessage] = []

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        printer.text("World()")  # a failing example prints its input, not the whole world


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    for url in _database_url(request, request.param, tmp):
        loop = LoopThread()
        built = loop.run(_start(loop, url))
        try:
            yield built
        finally:
            loop.run(_stop(built))
            loop.close()


async def _start(loop: LoopThread, url: str) -> World:
    emu = BotApiEmulator(token=TOKEN, bot_username="crm_test_bot")
    await emu.__aenter__()
    bot = RunningBot(emu, url)
    await bot.start()
    db = Database(url)
    world = World(loop, emu, bot, db)
    world.ids = db.run_sync(_seed)
    ScriptedUser(emu, OTHER_ID, "Olga")
    emu.subscribe(lambda _kind, msg: world.seen.append(msg) if msg.chat_id == FUZZER_ID else None)
    world.baseline = await db.read(_records)
    return world


async def _stop(world: World) -> None:
    await world.bot.stop()
    await world.emu.__aexit__(None, None, None)
    world.db.close()


def _seed(session: Session) -> dict[str, int]:
    """Another salesperson's customer, deal, note, purchase and reminder, all marked."""
    other = make_member(session, telegram_id=OTHER_ID, display_name="Olga Other")
    make_member(session, telegram_id=FUZZER_ID, display_name="Finn Fuzz", role=Role.SALES)
    data = CustomerCreate(
        name="Qwyzzle SECRET-7f3a",
        phones=["+8613912345678"],
        email="secret-7f3a@qwyzzle.example",
        company="Qwyzzle Secret-7f3a Ltd",
        needs="SECRET-7f3a needs",
    )
    customer = create_customer(session, actor=other, data=data)
    assert customer.id is not None
    deal = create_deal(
        session,
        actor=other,
        data=DealCreate(customer_id=customer.id, title="Qwyzzle deal SECRET-7f3a", stage="lead"),
    )
    note = create_interaction(
        session,
        actor=other,
        data=InteractionCreate(
            customer_id=customer.id,
            kind="call",
            happened_at=utcnow(),
            summary="Qwyzzle note SECRET-7f3a",
        ),
    )
    purchase = create_purchase(
        session,
        actor=other,
        data=PurchaseCreate(
            customer_id=customer.id,
            product="Qwyzzle widget SECRET-7f3a",
            purchased_on=utcnow().date(),
        ),
    )
    reminder = create_follow_up(
        session,
        actor=other,
        due_at=utcnow() + timedelta(days=30),
        text="Qwyzzle call SECRET-7f3a",
        customer_id=customer.id,
        exact_time=True,
    )
    found = {"cus": customer.id, "deal": deal.id, "note": note.id, "purchase": purchase.id}
    found |= {"rem": reminder.id, "team": other.id}
    return {key: value for key, value in found.items() if value is not None}


def _records(session: Session) -> dict[str, Any]:
    """Every record row as plain data (a created, changed or deleted row shows as a diff), the
    other members as they are, and the fuzzer's own role, manager and status."""
    return {
        model.__name__: [
            row.model_dump() for row in session.exec(select(model).order_by(col(model.id)))
        ]
        for model in RECORDS
    } | {
        "others": [
            m.model_dump()
            for m in session.exec(select(Member).where(col(Member.telegram_id) != FUZZER_ID))
        ],
        "fuzzer's rights": [
            (m.role, m.manager_id, m.active)
            for m in session.exec(select(Member).where(col(Member.telegram_id) == FUZZER_ID))
        ],
    }


# --- strategies --------------------------------------------------------------------------------

HOSTILE = [
    "<b>bold</b> <i>x</i> <a href='tg://user?id=1'>y</a>",
    "</code>&amp; & &lt; < > \"'",
    "${jndi:ldap://x/a} {0} {name} %s %n %(x)s",
    "'; DROP TABLE customer; --",
    '" OR 1=1 -- Qwyzzle',
    "\u202eevil\u202c \u200f\u200e RTL",
    "zero\u200bwidth\u200d\ufeffjoin",
    "😀👍🏽👨‍👩‍👧 🇨🇳",
    "*bold* _it_ `code` [l](http://x) ~~s~~ ||sp||",
    "\\ \\\\ \x00 \x1b[31m",
    "   ",
    "Qwyzzle",
    "qwyz",
    "139 1234 5678",
    "5678",
    "+86 139 1234 5678",
    "tomorrow 9am",
    "明天下午3点",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "/customer 999999999999999999",
    "/customer -1",
    "/customer 0",
    "/customer <CUS>",
    "/customer abc",
    "/find Qwyzzle",
    "/find 13912345678",
    "/find qwyzzle.example",
    "/find %",
    "/find _",
    "/find " + "x" * 300,
    "/log Met Qwyzzle, 139 1234 5678, follow up tomorrow",
    "/remind call Qwyzzle tomorrow 10am",
    "/start bogus-invite-code",
    "/start " + "A" * 64,
    "/export customers csv",
    "/export notes xlsx",
    "/export deals",
    "/export purchases xlsx",
    "/export everything",
    "/today",
    "/week",
    "/deals",
    "/reminders",
    "/restore",
    "/team",
    "/pipeline",
    "/invite manager",
    "/lang",
    "/help",
    "@crm_test_bot /help",
]
STARTS = [
    "/newcustomer",
    "/newdeal",
    "/note",
    "/purchase",
    "/remind",
    "/remind call back",
    "/log Met Li at Acme",
    "/find Qwyzzle",
    "/settings",
    "/export customers",
    "/reminders",
    "/customer <CUS>",
]
LONG = st.text(min_size=1, max_size=8).map(lambda s: (s * 4096)[:4096])
TEXTS = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=200),
    LONG,
    st.from_regex(r"/[a-z]{1,12}( .{0,20})?"),
)
FILE_NAMES = st.sampled_from(["a.csv", "b.xlsx", "c.jpg", "d.txt", "e", "f.CSV", "客户.xlsx"])
ON_RECORDS = {
    "cus": "note deal purchase open remind edit history more delete restore merge reassign",
    "deal": "open stage purchase edit delete restore",
    "note": "open edit delete restore",
    "rem": "done snooze open note",
    "team": "list open role activate deactivate manager",
}
FLOW_ACTIONS = "pick skip back finish save edit field cancel resume discard force open"
VALUES = ["", "0", "1", "2", "3", "99", "1h", "ask", "admin", "manager", "sales"]


@st.composite
def forged(draw: st.DrawFn) -> tuple[str, str]:
    """Callback data in our own format, naming another member's records, team mates, flow
    revisions and options that were never offered. Ids are filled in at run time."""
    kind = draw(st.sampled_from([*sorted(ON_RECORDS), "flow", "set", "imp", "inv"]))
    value = draw(st.sampled_from(VALUES))
    if kind in ON_RECORDS:
        action = draw(st.sampled_from(ON_RECORDS[kind].split()))
        template = f"v1:{kind}:{action}:{{{kind}}}"
    elif kind == "flow":
        action = draw(st.sampled_from(FLOW_ACTIONS.split()))
        template = f"v1:flow:{draw(st.integers(0, 40))}:{action}"
        value = draw(st.sampled_from(["", "0", "1", "7", "99", "name", "phones", "company"]))
    elif kind == "set":
        template = f"v1:set:{draw(st.sampled_from(['menu', 'tz', 'hours', 'lang']))}"
        value = draw(st.sampled_from(["", "0", "7", "99"]))
    elif kind == "imp":
        action = draw(st.sampled_from(["col", "map", "start", "undo", "confirm", "preview"]))
        template = f"v1:imp:{action}:{draw(st.integers(0, 3))}"
        value = draw(st.sampled_from(["", "0", "0:1", "999"]))
    else:
        template = "v1:inv"
        value = draw(st.sampled_from(["sales", "manager"]))
    return ("forge", template + (f":{value}" if value else ""))


ACTIONS = st.one_of(
    TEXTS.map(lambda s: ("text", s)),
    TEXTS.map(lambda s: ("text", s)),
    st.tuples(st.just("doc"), FILE_NAMES, st.binary(max_size=600)),
    st.tuples(st.just("photo"), st.binary(min_size=1, max_size=300)),
    st.tuples(st.just("contact"), st.text(max_size=30), st.text(min_size=1, max_size=30)),
    st.tuples(
        st.just("location"),
        st.floats(-90, 90, allow_nan=False),
        st.floats(-180, 180, allow_nan=False),
    ),
    st.tuples(st.just("press"), st.integers(0, 30)),
    st.tuples(st.just("press"), st.integers(0, 30)),
    forged(),
    st.tuples(
        st.just("raw"), st.one_of(st.text(max_size=70), st.from_regex(r"v1:[a-z]{1,5}:.{0,20}"))
    ),
    st.tuples(
        st.just("inline"),
        st.one_of(st.sampled_from(["Qwyzzle", "139", "secret"]), st.text(max_size=40)),
    ),
)


# --- the walk ----------------------------------------------------------------------------------


async def _walk(world: World, start: str, actions: list[tuple[Any, ...]]) -> None:
    user = world.fuzzer
    for step in [("text", "/cancel"), ("text", start), *actions]:
        await _act(world, user, step)
        await _settled(world)


async def _act(world: World, user: ScriptedUser, step: tuple[Any, ...]) -> None:
    kind = step[0]
    if kind == "text":
        await user.send(step[1].replace("<CUS>", str(world.ids["cus"])) or " ")
    elif kind == "doc":
        await user.upload_document(step[1], step[2])
    elif kind == "photo":
        await user.upload_photo(step[1])
    elif kind == "contact":
        await user.share_contact(step[1], step[2])
    elif kind == "location":
        await user.share_location(step[1], step[2])
    elif kind == "inline":
        await world.emu.inline_query(FUZZER_ID, step[1])
    else:
        await _press(world, user, step)


async def _press(world: World, user: ScriptedUser, step: tuple[Any, ...]) -> None:
    messages = [m for m in world.emu.bot_messages(FUZZER_ID) if not m.deleted]
    if not messages:
        return
    target = messages[-1]  # forged data is pressed on the newest message, whatever it is
    if step[0] == "press":
        safe = [
            (m, b)
            for m in messages[-3:]
            for row in m.buttons
            for b in row
            if _safe(b.callback_data)
        ]
        if not safe:
            return
        index = step[1] if isinstance(step[1], int) else _labelled(safe, step[1])
        target, button = safe[index % len(safe)]
        data = button.callback_data
        assert data is not None
    elif step[0] == "forge":
        data = step[1].format(**world.ids)
    else:
        data = step[1]
    genuine = {b.callback_data for m in messages for row in m.buttons for b in row}
    if step[0] != "press" and _acts_as_shown(data, genuine):
        return  # a confirm button the bot showed, in other words: that would be a real press
    await user.press_data(data, target)


def _acts_as_shown(data: str, genuine: set[str | None]) -> bool:
    """Data doing what an unsafe button on screen does: the same data, or the same flow
    action at the revision shown with any argument ("save:0" is Save), or "force" where Save
    is shown (the member's own entry saved either way)."""
    parsed = cd.unpack(data)
    if parsed is None or _safe(data):
        return False
    for shown in map(cd.unpack, genuine):
        if shown == parsed:
            return True
        if isinstance(shown, cd.FlowButton) and isinstance(parsed, cd.FlowButton):
            saves = {shown.action, parsed.action} <= {"save", "force"}
            if shown.revision == parsed.revision and (shown.action == parsed.action or saves):
                return True
    return False


def _labelled(buttons: list[tuple[BotMessage, Button]], label: str) -> int:
    """The newest button whose label contains `label` (regression examples name buttons)."""
    return max((i for i, (_, b) in enumerate(buttons) if label in b.label), default=0)


def _safe(data: str | None) -> bool:
    parsed = cd.unpack(data)
    if isinstance(parsed, cd.FlowButton):
        return parsed.action in SAFE_FLOW_ACTIONS
    return isinstance(parsed, SAFE_KINDS)


async def _settled(world: World) -> None:
    """Until Telegram has no update queued and the bot has handled every one it took."""
    async with asyncio.timeout(30):
        while True:
            if world.emu.pending_update_count == 0 and await world.db.read(_all_handled):
                return
            await asyncio.sleep(0.01)


def _all_handled(session: Session) -> bool:
    pending = select(func.count()).where(col(InboxUpdate.status) != InboxStatus.DONE)
    return session.exec(pending).one() == 0


# --- the invariants ----------------------------------------------------------------------------


def _leaks(world: World) -> list[str]:
    found = []
    for msg in world.seen:
        shown = [msg.text, msg.html or "", msg.caption or "", *msg.button_labels]
        if any(MARKER in part.lower() for part in shown):
            found.append(f"message: {msg.text or msg.caption!r}")
        if msg.document is not None:
            content = world.emu.state.files[msg.document.file_id].content
            if MARKER in _file_text(content).lower():
                found.append(f"file {msg.document.file_name}")
    for name, answers in (
        ("inline results", world.emu.inline_answers),
        ("button alerts", world.emu.callback_answers),
    ):
        if MARKER in json.dumps(answers, ensure_ascii=False).lower():
            found.append(name)
    return found


def _file_text(content: bytes) -> str:
    if content[:2] == b"PK":  # XLSX: the strings live in zipped XML
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(
                archive.read(name).decode("utf-8", "replace") for name in archive.namelist()
            )
    return content.decode("utf-8", "replace")


@pytest.mark.timeout(300)
@settings(
    max_examples=150,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=st.sampled_from(STARTS), actions=st.lists(ACTIONS, min_size=1, max_size=6))
@example(start="/customer <CUS>", actions=[("forge", "v1:cus:delete:{cus}")])
@example(  # Save with an argument: a real press, not sent (it saved in a CI run)
    start="/log Met Li at Acme", actions=[("forge", "v1:flow:1:save:0")]
)
@example(
    start="/help", actions=[("forge", "v1:cus:reassign:{cus}:2"), ("forge", "v1:inv:manager")]
)
@example(  # the other member's phone: the duplicate warning may name the owner, nothing more
    start="/newcustomer",
    actions=[
        ("text", "Qwyzzle Two"),
        ("text", "139 1234 5678"),
        ("press", "Review"),
        ("press", "Save"),
    ],
)
@example(start="/newdeal", actions=[("text", "0" * 4096)])  # echoed search: was over 4096
@example(start="/newdeal", actions=[("text", "\x00")])  # NUL: PostgreSQL refused the search
@example(start="/settings", actions=[("text", "/export customers"), ("forge", "v1:set:menu")])
@example(  # ids beyond PostgreSQL's INTEGER keys: "integer out of range" instead of not found
    start="/customer 999999999999999999", actions=[("forge", "v1:cus:open:9999999999")]
)
def test_hostile_input_never_crashes_saves_or_reveals(
    world: World, start: str, actions: list[tuple[Any, ...]]
) -> None:
    world.seen.clear()
    world.bot.errors.clear()
    world.emu.inline_answers.clear()
    world.emu.callback_answers.clear()
    world.loop.run(_walk(world, start, actions))
    assert not world.bot.errors, f"the error handler was reached: {world.bot.errors!r}"
    assert world.loop.run(world.db.read(_records)) == world.baseline, "a record changed"
    assert not _leaks(world), f"another member's data was shown: {_leaks(world)}"
