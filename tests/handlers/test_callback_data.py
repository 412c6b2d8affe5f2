"""Callback data: every button packs under 64 bytes and unpacks strictly (it is user input)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from handlers.callback_data import (
    KINDS,
    MAX_BYTES,
    CallbackData,
    ContractAction,
    CustomerAction,
    DealAction,
    DedupeAction,
    FlowButton,
    ImportAction,
    InviteRole,
    LangChoice,
    ListPage,
    NoteAction,
    OrderAction,
    ReminderAction,
    ReviewAction,
    SatisfactionAction,
    SearchPage,
    SettingsAction,
    TeamAction,
    TicketAction,
    TokenAction,
    WebhookAction,
    pack,
    pattern_for,
    unpack,
)
from storage.models import Role
from storage.paging import Cursor, Direction, micros
from storage.parsing import MAX_RECORD_ID

LARGEST_ID = MAX_RECORD_ID  # the widest id unpack accepts (PostgreSQL INTEGER keys)
LATEST = datetime.max.replace(tzinfo=UTC)

EVERY_KIND: list[CallbackData] = [
    LangChoice("en"),
    LangChoice("zh"),
    InviteRole(Role.SALES),
    InviteRole(Role.MANAGER),
    TeamAction("list", 0),
    TeamAction("list", 3),
    TeamAction("open", 42),
    TeamAction("role", 42, "admin"),
    TeamAction("role", 42, "manager"),
    TeamAction("role", 42, "sales"),
    TeamAction("activate", 42),
    TeamAction("deactivate", 42),
    TeamAction("manager", 42, "7"),
    TeamAction("manager", 42, "0"),
    FlowButton(0, "pick", "phone"),
    FlowButton(12, "skip"),
    FlowButton(999_999, "discard"),
    CustomerAction("open", 42),
    CustomerAction("note", 42),
    CustomerAction("deal", 42),
    CustomerAction("purchase", 42),
    DealAction("open", 42),
    DealAction("stage", 42, "0"),
    DealAction("stage", 42, "11"),
    DealAction("purchase", 42),
    CustomerAction("remind", 42),
    CustomerAction("edit", 42, "3"),
    CustomerAction("history", 42, "0"),
    CustomerAction("more", 42, "12"),
    ReminderAction("done", 42),
    ReminderAction("snooze", 42, "1h"),
    ReminderAction("snooze", 42, "tm"),
    ReminderAction("snooze", 42, "nw"),
    ReminderAction("snooze", 42, "ask"),
    ReminderAction("open", 42),
    ReminderAction("note", 42),
    ReminderAction("show", 42),
    SearchPage(7, 0),
    SearchPage(7, 3),
    ListPage("deals", Cursor(Direction.AFTER, (0, -1_796_000_000_000_000, -42))),
    ListPage("rem", Cursor(Direction.BEFORE, (1_796_000_000_000_000, 42))),
    ListPage("today", Cursor(Direction.FROM, (0, 1_796_000_000_000_000, 42))),
    ListPage("week", Cursor(Direction.AFTER, (2, 739_000, 0))),
    CustomerAction("delete", 42),
    CustomerAction("restore", 42),
    CustomerAction("merge", 42, "43"),
    CustomerAction("reassign", 42, "7"),
    DealAction("edit", 42, "3"),
    DealAction("delete", 42),
    DealAction("restore", 42),
    SettingsAction("menu"),
    SettingsAction("tz", "12"),
    SettingsAction("hours", "0"),
    SettingsAction("lang"),
    SettingsAction("days"),
    SettingsAction("days", "0"),
    SettingsAction("daysave", "31"),
    NoteAction("open", 42),
    NoteAction("edit", 42, "3"),
    NoteAction("delete", 42),
    NoteAction("restore", 42),
    ContractAction("open", 42),
    ContractAction("edit", 42, "3"),
    ContractAction("terminate", LARGEST_ID),
    WebhookAction("list"),
    WebhookAction("open", 42),
    WebhookAction("enable", 42),
    WebhookAction("disable", 42),
    WebhookAction("resend", 42),
    OrderAction("open", 42),
    OrderAction("move", 42, "4"),
    OrderAction("cancel", 42),
    OrderAction("delete", 42, "1"),
    OrderAction("restore", 42),
    OrderAction("list", 42, "12"),
    TicketAction("open", 42),
    TicketAction("move", 42, "in_progress"),
    TicketAction("assign", 42, "7"),
    TicketAction("rate", 42, "0"),
    TicketAction("list", 0, "1"),
    SatisfactionAction("order", 42, 5),
    SatisfactionAction("visit", 42, 0),
    ImportAction("col", 42, 3),
    ImportAction("map", 42, 3, 12),
    ImportAction("date", 42, 3, 1),
    ImportAction("mode", 42, 2),
    ImportAction("start", 42),
    ImportAction("confirm", 42),
    ImportAction("keep", 42),
    TokenAction("revoke", 42),
    DedupeAction("keep", 42),
    DedupeAction("pick", 3, 42),
    DedupeAction("merge", 0),
    DedupeAction("skip", 0),
    ReviewAction("list"),
    ReviewAction("ok", "missing", "customer", 42),
    ReviewAction("next", "suspicious", "deal", 42),
    ReviewAction("dismiss", "duplicate", "customer", 42, 7),
    ReviewAction("back", "new", "customer", 42),
]

LARGEST: list[CallbackData] = [
    LangChoice("en"),
    InviteRole(Role.MANAGER),
    *(TeamAction(action, LARGEST_ID) for action in ("list", "open", "activate", "deactivate")),
    TeamAction("role", LARGEST_ID, "manager"),
    TeamAction("manager", LARGEST_ID, str(LARGEST_ID)),
    FlowButton(999_999, "discard", "z" * 16),
    CustomerAction("purchase", LARGEST_ID),
    DealAction("purchase", LARGEST_ID),
    DealAction("stage", LARGEST_ID, "99"),
    CustomerAction("history", LARGEST_ID, "9999"),
    ReminderAction("snooze", LARGEST_ID, "ask"),
    SearchPage(LARGEST_ID, 9999),
    DedupeAction("pick", LARGEST_ID, LARGEST_ID),
    # /deals: a stage's rank, the latest time a deal can carry, the widest id (negated)
    ListPage("deals", Cursor(Direction.BEFORE, (99, -micros(LATEST), -LARGEST_ID))),
    ListPage("today", Cursor(Direction.FROM, (2, micros(LATEST), LARGEST_ID))),
    CustomerAction("reassign", LARGEST_ID, str(LARGEST_ID)),
    SettingsAction("hours", "99"),
    SettingsAction("daysave", "127"),
    NoteAction("restore", LARGEST_ID),
    NoteAction("edit", LARGEST_ID, "99"),
    ImportAction("preview", LARGEST_ID, 999, 999),
    TokenAction("revoke", LARGEST_ID),
    *(WebhookAction(a, LARGEST_ID) for a in ("list", "open", "enable", "disable", "resend")),
    OrderAction("list", LARGEST_ID, "9999"),
    TicketAction("assign", LARGEST_ID, str(LARGEST_ID)),
    TicketAction("move", LARGEST_ID, "in_progress"),
    SatisfactionAction("visit", LARGEST_ID, 5),
    ReviewAction("dismiss", "suspicious", "customer", LARGEST_ID, LARGEST_ID),
]

REJECTED = [
    "",
    "garbage",
    "v1",
    "v1:",
    "v1:lang",
    "v1:lang:",
    "v2:lang:en",
    "V1:lang:en",
    "v1:LANG:en",
    "v1:nope:1",
    "v1:lang:fr",
    "v1:lang:en:extra",
    "v1:lang:en\n",
    " v1:lang:en",
    "v1:inv:admin",
    "v1:inv:sales:1",
    "v1:team:open",
    "v1:team:open:",
    "v1:team:open:-1",
    "v1:team:open:+1",
    "v1:team:open:1e3",
    "v1:team:open:abc",
    "v1:team:open:٣",  # an Arabic-Indic digit: int() accepts it, the pattern must not
    "v1:team:open:01",
    "v1:sat:order:1:6",
    "v1:sat:ticket:1:3",
    "v1:rev:ok",
    "v1:rev:list:missing:customer:1",
    "v1:rev:ok:missing:member:1",
    "v1:rev:ok:missing:customer:01",
    "v1:page:deals",
    "v1:page:deals:",
    "v1:page:deals:-1",
    "v1:page:deals:01",
    "v1:page:deals:10000",
    "v1:page:customers:a:1",
    "v1:page:deals:1:2",
    "v1:page:deals:x:1",
    "v1:page:deals:a:",
    "v1:page:deals:a:01",
    "v1:page:deals:a:-0",
    "v1:page:deals:a:1..2",
    "v1:page:deals:a:1.2.",
    "v1:page:deals:a:1.2.3.4.5",
    "v1:page:deals:a:1234567890123456789",
    "v1:imp:map:1:1000",
    "v1:imp:map:1:01",
    "v1:imp:drop:1",
    "v1:team:open:1.5",
    f"v1:team:open:{LARGEST_ID + 1}",
    f"v1:cus:open:{10**10 - 1}",
    f"v1:team:manager:1:{LARGEST_ID + 1}",
    f"v1:cus:reassign:1:{LARGEST_ID + 1}",
    "v1:team:open:1:sales:x",
    "v1:team:role:1:owner",
    "v1:team:manager:1:-2",
    "v1:team:delete:1",
    "v1:team:open:1:",
    "v1:cus:call:1",
    "v1:ord:ship:1",
    "v1:ord:move:1:01",
    "v1:ord:move:1:10000",
    f"v1:ord:open:{LARGEST_ID + 1}",
    "v1:cus:open:1:02",
    "v1:rem:snooze:1:2d",
    "v1:find:1:-1",
    "v1:deal:stage:1:100",
    "v1:deal:stage:1:-1",
    "v1:team:open:" + "9" * 60,
    "v1:lang:" + "é" * 30,  # 30 characters, 68 bytes
    "v1:whk:open",
    "v1:whk:open:",
    "v1:whk:open:-1",
    "v1:whk:open:01",
    "v1:whk:delete:1",
    "v1:whk:resend:1:2",
    f"v1:whk:resend:{LARGEST_ID + 1}",
]


@pytest.mark.parametrize("data", EVERY_KIND, ids=pack)
def test_pack_round_trips_through_unpack(data: CallbackData) -> None:
    assert unpack(pack(data)) == data


def test_every_kind_is_covered_by_round_trip_cases() -> None:
    assert {type(data) for data in EVERY_KIND} == set(KINDS.values())


@pytest.mark.parametrize("data", LARGEST, ids=lambda d: type(d).__name__)
def test_pack_keeps_largest_values_within_64_bytes(data: CallbackData) -> None:
    packed = pack(data)
    assert len(packed.encode()) <= MAX_BYTES
    assert unpack(packed) == data


def test_pack_raises_beyond_64_bytes() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        pack(TeamAction("manager", LARGEST_ID, "x" * 40))


@pytest.mark.parametrize("data", EVERY_KIND, ids=pack)
def test_pattern_for_routes_only_its_own_kind(data: CallbackData) -> None:
    packed = pack(data)
    for kind in KINDS.values():
        routed = packed.startswith(pattern_for(kind).removeprefix("^"))
        assert routed is isinstance(data, kind)


@pytest.mark.parametrize("raw", REJECTED)
def test_unpack_returns_none_for_malformed_data(raw: str) -> None:
    assert unpack(raw) is None


def test_unpack_returns_none_for_none() -> None:
    assert unpack(None) is None


_TOKENS = st.sampled_from(
    [
        "v1",
        "v2",
        "lang",
        "inv",
        "team",
        "en",
        "zh",
        "sales",
        "manager",
        "admin",
        "list",
        "open",
        "role",
        "activate",
        "flow",
        "cus",
        "deal",
        "stage",
        "note",
        "pick",
        "skip",
        "phone",
        "deactivate",
        "0",
        "7",
        "-1",
        "01",
        str(LARGEST_ID),
        "",
    ]
)
_PIECES = st.one_of(_TOKENS, st.text(max_size=4), st.from_regex(r"[0-9]{1,20}", fullmatch=True))
NEAR_MISSES = st.lists(_PIECES, min_size=1, max_size=6).map(":".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), NEAR_MISSES))
@example("v1:team:manager:5:0")
@example("v1:flow:0:pick:phone")
def test_unpack_of_any_text_is_none_or_packs_back_identically(raw: str) -> None:
    data = unpack(raw)
    assert data is None or pack(data) == raw


def test_unpack_rejects_flow_revision_with_leading_zeros() -> None:
    assert unpack("v1:flow:007:pick") is None
