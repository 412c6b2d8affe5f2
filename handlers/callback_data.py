"""Every button's callback data, packed and unpacked in one place.

Format: `v1:<kind>:<fields...>`, always under Telegram's 64-byte limit. Unpacking is strict:
anything that is not exactly one of our shapes comes back as None, because callback data is
untrusted input (a client can send any string). Ids inside are checked by the access rule
like any id a user types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from storage.models import Role
from storage.paging import Cursor, Direction
from storage.parsing import MAX_RECORD_ID

VERSION = "v1"
MAX_BYTES = 64
_ID = r"(0|[1-9][0-9]{0,9})"  # and at most MAX_RECORD_ID: checked in `unpack`


@dataclass(frozen=True)
class LangChoice:
    kind: ClassVar[str] = "lang"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"(en|zh)")
    language: str

    def fields(self) -> tuple[str, ...]:
        return (self.language,)

    @classmethod
    def parse(cls, match: re.Match[str]) -> LangChoice:
        return cls(language=match[1])


@dataclass(frozen=True)
class InviteRole:
    kind: ClassVar[str] = "inv"
    pattern: ClassVar[re.Pattern[str]] = re.compile(r"(sales|manager)")
    role: Role

    def fields(self) -> tuple[str, ...]:
        return (self.role.value,)

    @classmethod
    def parse(cls, match: re.Match[str]) -> InviteRole:
        return cls(role=Role(match[1]))


@dataclass(frozen=True)
class TeamAction:
    """`list` (page), `open` a card, set a `role`, `activate`/`deactivate`, set a `manager`.

    For `manager` the value is the manager's member id, or 0 to leave the team.
    """

    kind: ClassVar[str] = "team"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(list|open|role|activate|deactivate|manager):{_ID}(?::(admin|manager|sales|{_ID}))?"
    )
    action: str
    member_id: int = 0
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.member_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> TeamAction:
        return cls(action=match[1], member_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class FlowButton:
    """A button of an entry flow. `revision` is the draft's revision when it was shown, so a
    button left on an older message cannot act on a later step."""

    kind: ClassVar[str] = "flow"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(0|[1-9][0-9]{0,5})"
        r":(pick|skip|clear|back|finish|save|edit|field|cancel|resume|discard|force|open|change)"
        r"(?::([a-z0-9_]{1,16}))?"
    )
    revision: int
    action: str
    arg: str = ""

    def fields(self) -> tuple[str, ...]:
        return (str(self.revision % 1_000_000), self.action, *((self.arg,) if self.arg else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> FlowButton:
        return cls(revision=int(match[1]), action=match[2], arg=match[3] or "")


@dataclass(frozen=True)
class CustomerAction:
    """A button on a customer: log a `note`, a new `deal`, a `purchase`, a `contract`, list its
    `contracts` (value: page), `open` the card,
    `remind`, `edit` (value: field index), `history` / `more` (value: page), `needs` (read
    them whole), `delete`,
    `restore`, `merge` (value: the duplicate's id), `reassign` (value: the new owner's id) or
    fill its `gaps`."""

    kind: ClassVar[str] = "cus"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(note|deal|purchase|contract|contracts|open|remind|edit|history|more|needs|delete"
        r"|restore|merge|reassign|gaps)"
        rf":{_ID}(?::{_ID})?"
    )
    action: str
    customer_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.customer_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> CustomerAction:
        return cls(action=match[1], customer_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class ReminderAction:
    """A button on a reminder: `done`, `snooze` (value: 1h | tm (tomorrow morning) | nw (next
    week) | ask (type a time)), `open` its customer, log a `note`; on the /reminders list,
    `show` the reminder's own message."""

    kind: ClassVar[str] = "rem"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(done|snooze|open|note|show):{_ID}(?::(1h|tm|nw|ask))?"
    )
    action: str
    reminder_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.reminder_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> ReminderAction:
        return cls(action=match[1], reminder_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class NoteAction:
    """A button on a logged note (interaction): `open` it, `edit` field number `value`,
    `delete` or `restore` it."""

    kind: ClassVar[str] = "note"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(open|edit|delete|restore):{_ID}(?::(0|[1-9][0-9]?))?"
    )
    action: str
    note_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.note_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> NoteAction:
        return cls(action=match[1], note_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class SettingsAction:
    """A /settings button: pick the `tz` (value: index in the offered list), working `hours`
    (value: a preset index), toggle working `days` or save them with `daysave` (value: the
    selection as a weekday bitmask, Monday bit 0), `lang`, or open a `menu`."""

    kind: ClassVar[str] = "set"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(menu|tz|hours|days|daysave|lang)(?::(0|[1-9][0-9]{0,2}))?"
    )
    action: str
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> SettingsAction:
        return cls(action=match[1], value=match[2] or "")


@dataclass(frozen=True)
class SearchPage:
    """Another page of a search: `query_id` names the query kept server-side (member's search
    state), so the text itself never has to fit in 64 bytes."""

    kind: ClassVar[str] = "find"
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"{_ID}:(0|[1-9][0-9]{{0,3}})")
    query_id: int
    page: int

    def fields(self) -> tuple[str, ...]:
        return (str(self.query_id), str(self.page))

    @classmethod
    def parse(cls, match: re.Match[str]) -> SearchPage:
        return cls(query_id=int(match[1]), page=int(match[2]))


_KEY_PART = r"(?:0|-?[1-9][0-9]{0,17})"  # a sort key's number (`storage.paging`)


@dataclass(frozen=True)
class ListPage:
    """Another page of a list command: `deals`, `rem` (/reminders), `today` or `week`, as a
    cursor (`storage.paging`): `a`fter, `b`efore or `f`rom the sort key of a row shown, its
    numbers joined by dots. The list is read again for the presser, so the page shows only
    what they may see now; any key of the right shape lands on some page of it."""

    kind: ClassVar[str] = "page"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(deals|rem|today|week):(a|b|f):({_KEY_PART}(?:\.{_KEY_PART}){{0,3}})"
    )
    list_name: str
    cursor: Cursor

    def fields(self) -> tuple[str, ...]:
        key = ".".join(str(part) for part in self.cursor.key)
        return (self.list_name, self.cursor.direction.value, key)

    @classmethod
    def parse(cls, match: re.Match[str]) -> ListPage:
        key = tuple(int(part) for part in match[3].split("."))
        return cls(list_name=match[1], cursor=Cursor(Direction(match[2]), key))


@dataclass(frozen=True)
class DealAction:
    """A button on a deal: `open` it, move it to `stage` number `value` (its index in the
    configured stages), `reopen` it (asked, then `value` 1 yes / 0 no), or record a
    `purchase` or a `contract` from it."""

    kind: ClassVar[str] = "deal"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(open|stage|purchase|contract|reopen|edit|delete|restore):{_ID}"
        r"(?::(0|[1-9][0-9]?))?"
    )
    action: str
    deal_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.deal_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> DealAction:
        return cls(action=match[1], deal_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class ImportAction:
    """A button of a spreadsheet import (batch `batch_id`): open `col`umn `a`, `map` column `a`
    to target field number `b` (or `skip` it: leave it out, or with `b` 1 put it in the
    customer's note), choose the `date` order `b` of column `a`,
    choose the duplicate `mode` `a`, show page `a` of the columns `review`, `preview`, `start`,
    `cancel`, or `undo` and then `confirm` or `keep` (leave the import as it is)."""

    kind: ClassVar[str] = "imp"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(col|map|skip|date|mode|review|preview|start|cancel|undo|confirm|keep):{_ID}"
        r"(?::(0|[1-9][0-9]{0,2}))?(?::(0|[1-9][0-9]{0,2}))?"
    )
    action: str
    batch_id: int
    a: int | None = None
    b: int | None = None

    def fields(self) -> tuple[str, ...]:
        extra = tuple(str(v) for v in (self.a, self.b) if v is not None)
        return (self.action, str(self.batch_id), *extra)

    @classmethod
    def parse(cls, match: re.Match[str]) -> ImportAction:
        a = int(match[3]) if match[3] is not None else None
        b = int(match[4]) if match[4] is not None else None
        return cls(action=match[1], batch_id=int(match[2]), a=a, b=b)


@dataclass(frozen=True)
class ContractAction:
    """A button on a contract: `open` its card, mark it signed (`sign`), `activate` it,
    `renew` it (a new contract prefilled from it), `terminate` it (asks a date and a reason),
    send its signed `files` again, `delete` or `restore` it, `edit` (value: field index), or
    show `history` (value: page)."""

    kind: ClassVar[str] = "ctr"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(open|sign|activate|renew|terminate|files|delete|restore|edit|history):{_ID}"
        r"(?::(0|[1-9][0-9]?))?"
    )
    action: str
    contract_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.contract_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> ContractAction:
        return cls(action=match[1], contract_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class TokenAction:
    """A button of `/tokens`: `revoke` an API token (admins), by its id."""

    kind: ClassVar[str] = "tok"
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"(revoke):{_ID}")
    action: str
    token_id: int

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.token_id))

    @classmethod
    def parse(cls, match: re.Match[str]) -> TokenAction:
        return cls(action=match[1], token_id=int(match[2]))


@dataclass(frozen=True)
class WebhookAction:
    """/webhooks: the `list`, `open` an endpoint's card, `enable` or `disable` it (id: the
    endpoint's), `resend` a failed or dead delivery (id: the delivery's), or `add` one."""

    kind: ClassVar[str] = "whk"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(list|open|enable|disable|resend|add):{_ID}"
    )
    action: str
    target_id: int = 0

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.target_id))

    @classmethod
    def parse(cls, match: re.Match[str]) -> WebhookAction:
        return cls(action=match[1], target_id=int(match[2]))


@dataclass(frozen=True)
class DedupeAction:
    """A button of `/dedupe`: `keep` (a: the survivor's id), `pick` (a: the field's index,
    b: the id of the customer whose value stays), `merge`, `skip` or `apart` (not a
    duplicate) the cluster shown; `resume` the saved search or search `again`; `pair` opens
    /review's duplicate pair (a: the earlier customer, b: the later) as a cluster."""

    kind: ClassVar[str] = "ddp"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(keep|pick|merge|skip|apart|resume|again|pair):{_ID}(?::{_ID})?"
    )
    action: str
    a: int
    b: int = 0

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.a), *((str(self.b),) if self.b else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> DedupeAction:
        return cls(action=match[1], a=int(match[2]), b=int(match[3] or 0))


@dataclass(frozen=True)
class OrderAction:
    """A button on an order: `open` its card, `move` it to the status numbered `value` (of
    ordered, confirmed, shipped, delivered, paid), `cancel` it (asks the reason), `delete` or
    `restore` it, `edit` it (value: field index); or `list` the orders of the customer
    `order_id` names (value: page)."""

    kind: ClassVar[str] = "ord"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        rf"(open|move|cancel|delete|restore|edit|list):{_ID}(?::(0|[1-9][0-9]{{0,3}}))?"
    )
    action: str
    order_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.order_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> OrderAction:
        return cls(action=match[1], order_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class TicketAction:
    """A button on a ticket: `open` its card, `move` it to the status `value`, `reopen` it
    (asks why), `comment` on it, `assign` it (value: the member's id, none: pick one),
    `rate` it (value: 1-5, 0: not asked), `delete` or `restore` it, `attach` photos or
    files to it, `files` (send them back); `new` a ticket of the customer `ticket_id` names,
    `note` one from the note `ticket_id` names; `list` open tickets (id: an assignee, 0 any;
    value: a status, 1 overdue only, `who` the assignees to filter by, none all)."""

    kind: ClassVar[str] = "tkt"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(open|move|reopen|comment|assign|rate|delete|restore|attach|files|new|note|list)"
        rf":{_ID}(?::([a-z_]{{1,16}}|0|[1-9][0-9]{{0,9}}))?"
    )
    action: str
    ticket_id: int
    value: str = ""

    def fields(self) -> tuple[str, ...]:
        return (self.action, str(self.ticket_id), *((self.value,) if self.value else ()))

    @classmethod
    def parse(cls, match: re.Match[str]) -> TicketAction:
        return cls(action=match[1], ticket_id=int(match[2]), value=match[3] or "")


@dataclass(frozen=True)
class SatisfactionAction:
    """The customer's score of a delivered `order` or a `visit` note (`source_id`), 1-5, or 0:
    not asked (nothing is kept)."""

    kind: ClassVar[str] = "sat"
    pattern: ClassVar[re.Pattern[str]] = re.compile(rf"(order|visit):{_ID}:([0-5])")
    source: str
    source_id: int
    score: int

    def fields(self) -> tuple[str, ...]:
        return (self.source, str(self.source_id), str(self.score))

    @classmethod
    def parse(cls, match: re.Match[str]) -> SatisfactionAction:
        return cls(source=match[1], source_id=int(match[2]), score=int(match[3]))


@dataclass(frozen=True)
class ReviewAction:
    """/review: `ok` (approve), `dismiss` or `back` (send back: each asks for a text), `next`
    (the item after this one) on an item named by its kind, record type, record id and, for a
    duplicate, the other customer's id; `list` shows the oldest open item."""

    kind: ClassVar[str] = "rev"
    pattern: ClassVar[re.Pattern[str]] = re.compile(
        r"(list|ok|dismiss|back|next)(?::(missing|duplicate|suspicious|new):(customer|deal)"
        rf":{_ID}(?::{_ID})?)?"
    )
    action: str
    item_kind: str = ""
    record_type: str = ""
    record_id: int = 0
    other_id: int | None = None

    def fields(self) -> tuple[str, ...]:
        if self.action == "list":
            return ("list",)
        other = (str(self.other_id),) if self.other_id is not None else ()
        return (self.action, self.item_kind, self.record_type, str(self.record_id), *other)

    @classmethod
    def parse(cls, match: re.Match[str]) -> ReviewAction | None:
        if (match[1] == "list") != (match[2] is None):
            return None  # a list names no item, every other action one
        if match[2] is None:
            return cls(action="list")
        other = int(match[5]) if match[5] is not None else None
        return cls(match[1], match[2], match[3], int(match[4]), other)


CallbackData = (
    LangChoice
    | InviteRole
    | TeamAction
    | FlowButton
    | CustomerAction
    | DealAction
    | ReminderAction
    | SearchPage
    | ListPage
    | SettingsAction
    | NoteAction
    | ImportAction
    | ContractAction
    | TokenAction
    | WebhookAction
    | OrderAction
    | DedupeAction
    | TicketAction
    | SatisfactionAction
    | ReviewAction
)
KINDS: dict[str, type[CallbackData]] = {
    k.kind: k
    for k in (
        LangChoice,
        InviteRole,
        TeamAction,
        FlowButton,
        CustomerAction,
        DealAction,
        ReminderAction,
        SearchPage,
        ListPage,
        SettingsAction,
        NoteAction,
        ImportAction,
        ContractAction,
        TokenAction,
        WebhookAction,
        OrderAction,
        DedupeAction,
        TicketAction,
        SatisfactionAction,
        ReviewAction,
    )
}


def pack(data: CallbackData) -> str:
    packed = ":".join((VERSION, data.kind, *data.fields()))
    if len(packed.encode()) > MAX_BYTES:
        raise ValueError(f"callback data over {MAX_BYTES} bytes: {packed!r}")
    return packed


def unpack(raw: str | None) -> CallbackData | None:
    """The typed action, or None for stale, foreign or forged data."""
    if not raw or len(raw.encode()) > MAX_BYTES:
        return None
    version, _, rest = raw.partition(":")
    kind, _, body = rest.partition(":")
    cls = KINDS.get(kind)
    if version != VERSION or cls is None:
        return None
    match = cls.pattern.fullmatch(body)
    data = cls.parse(match) if match else None
    if data is None or any(_beyond_keys(value) for value in vars(data).values()):
        return None
    return data


def _beyond_keys(value: object) -> bool:
    """A number no record id can be: querying it would fail on PostgreSQL, not find nothing."""
    if isinstance(value, str):
        value = int(value) if value.isascii() and value.isdigit() else 0
    return isinstance(value, int) and value > MAX_RECORD_ID


def pattern_for(kind: type[CallbackData]) -> str:
    """The CallbackQueryHandler pattern routing a kind to its handler."""
    return rf"^{VERSION}:{kind.kind}:"
