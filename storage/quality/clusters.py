"""Clusters of likely duplicates across everything an actor may see (`/dedupe`, the report).

`find_duplicates` answers "is this one new customer already here?" with a few index lookups;
asking it for each of a million customers would take hours. This finds every cluster in one
pass instead, by blocking: customers are only compared within a block that already shares
something, never all pairs.

- the same E.164 phone: grouped by the database, on the phone index;
- the same email (case-insensitive): the search index's `email_key`;
- a close name within the same normalised company (`normalise_company`): by characters and
  by pinyin (张伟 / 章伟 are both "zhangwei"), with rapidfuzz's `cdist` over each block.

Links are joined transitively (union-find), so A-B by phone and B-C by name is one cluster.
A pair a manager said is no duplicate (`storage.quality.dismissals`) is never linked; the
review queue reads the links themselves, pair by pair (`duplicate_pairs`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.process import cdist
from sqlalchemy import ColumnElement, func, true
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.access import NotFound, owner_scope
from storage.customers import NAME_SIMILARITY
from storage.models import Customer, CustomerPhone, Member, Role
from storage.quality.company import normalise_company
from storage.quality.dismissals import Pair, closed_pairs
from storage.search.index import customer_search

SCAN_CHUNK = 20_000  # rows fetched at a time while streaming the base
CDIST_ROWS = 2_000  # a block's names compared this many at a time (bounded memory)
_NOT_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Cluster:
    """Customers that look like one, oldest first, and every reason that linked them."""

    customer_ids: tuple[int, ...]
    reasons: frozenset[str]


class _Links:
    """Union-find over customer ids, remembering why each set was joined and each linked
    pair's first reason; the pairs in `skip` are never linked."""

    def __init__(self, skip: Collection[Pair] = ()) -> None:
        self.parent: dict[int, int] = {}
        self.reasons: dict[int, set[str]] = {}
        self.pairs: dict[Pair, str] = {}
        self.skip = skip

    def root(self, item: int) -> int:
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grand = self.parent[parent]
            self.parent[item] = grand
            item, parent = parent, grand
        return item

    def join(self, a: int, b: int, reason: str) -> None:
        pair = (min(a, b), max(a, b))
        if a == b or pair in self.skip:
            return
        self.pairs.setdefault(pair, reason)
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            ra, rb = min(ra, rb), max(ra, rb)
            self.parent[rb] = ra
            self.reasons.setdefault(ra, set()).update(self.reasons.pop(rb, ()))
        self.reasons.setdefault(ra, set()).add(reason)

    def join_group(self, group: list[int], item: int, reason: str) -> None:
        """`item` shares a phone or an email with `group`: one link is enough for the
        cluster (not every pair of a number a hundred customers share), to the first member
        it was not dismissed with; `item` joins the group."""
        for earlier in group:
            if (min(earlier, item), max(earlier, item)) not in self.skip:
                self.join(earlier, item, reason)
                break
        group.append(item)

    def clusters(self) -> list[Cluster]:
        members: dict[int, list[int]] = defaultdict(list)
        for item in self.parent:
            members[self.root(item)].append(item)
        found = [
            Cluster(tuple(sorted(ids)), frozenset(self.reasons.get(root, ())))
            for root, ids in members.items()
            if len(ids) > 1
        ]
        return sorted(found, key=lambda c: c.customer_ids[0])


def name_key(name: str) -> str:
    """The name as compared by characters: case, spaces and punctuation ignored."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", name).casefold())


def find_clusters(
    session: Session,
    *,
    actor: Member,
    progress: Callable[[int], None] | None = None,
) -> list[Cluster]:
    """Every cluster of likely duplicates among the customers `actor` sees (managers their
    team, admins all; salespeople are refused with `NotFound`, like the command).
    `progress(percent)` is called as the scan goes, from the calling thread. Pairs a
    manager closed as no duplicates (and unchanged since) are not linked."""
    if actor.role == Role.SALES:
        raise NotFound
    links = _Links(closed_pairs(session))
    _link(session, owner_scope(actor, Customer.owner_id), links, progress)
    return links.clusters()


def duplicate_pairs(session: Session) -> dict[Pair, str]:
    """Every linked pair of live customers in the whole base, with the first reason
    ("phone", "email", "name" or "pinyin"): what the review queue lists, across salespeople.
    A number or an email many share links each to the first of them only."""
    links = _Links()
    _link(session, true(), links, None)
    return links.pairs


def _link(
    session: Session,
    scope: ColumnElement[bool],
    links: _Links,
    progress: Callable[[int], None] | None,
) -> None:
    report = progress or (lambda _percent: None)
    _exact_phones(session, scope, links)
    report(10)
    blocks = _scan(session, scope, links, report)
    _fuzzy_names(blocks, links, report)
    report(100)


def _exact_phones(session: Session, scope: ColumnElement[bool], links: _Links) -> None:
    """The same E.164 number on two visible customers. Numbers held twice are grouped on
    the phone index alone (no join per phone); visibility is applied to those few after,
    and a number only one visible customer holds joins nothing."""
    shared = select(CustomerPhone.e164).group_by(col(CustomerPhone.e164)).having(func.count() > 1)
    rows = session.exec(
        select(CustomerPhone.e164, CustomerPhone.customer_id)
        .join(Customer, col(Customer.id) == col(CustomerPhone.customer_id))
        .where(
            col(CustomerPhone.e164).in_(shared),
            col(Customer.deleted_at).is_(None),
            scope,
        )
        .order_by(col(CustomerPhone.e164), col(CustomerPhone.customer_id))
    )
    groups: dict[str, list[int]] = defaultdict(list)
    for e164, customer_id in rows:
        links.join_group(groups[e164], customer_id, "phone")


# A block: the customers at one normalised company, as (id, name key, pinyin key or None).
_Block = list[tuple[int, str, str | None]]


def _scan(
    session: Session, scope: ColumnElement[bool], links: _Links, report: Callable[[int], None]
) -> dict[str, _Block]:
    """Stream the visible base once: join equal emails, and block the rest by company."""
    total = session.exec(
        select(func.count()).select_from(Customer).where(col(Customer.deleted_at).is_(None), scope)
    ).one()
    rows = session.connection().execute(  # Core rows: no ORM bookkeeping per customer
        sa_select(
            col(Customer.id),
            col(Customer.name),
            col(Customer.company),
            customer_search.c.email_key,
            customer_search.c.pinyin_key,
        )
        .join(customer_search, customer_search.c.customer_id == col(Customer.id))
        .where(col(Customer.deleted_at).is_(None), scope)
    )
    emails: dict[str, int] = {}  # each email's first customer: most are in no cluster
    shared: dict[str, list[int]] = {}  # the emails seen twice, with their customers
    companies: dict[str, str] = {}  # typed -> normalised: a base repeats its companies
    blocks: dict[str, _Block] = defaultdict(list)
    for done, (customer_id, name, company, email_key, pinyin_key) in enumerate(rows, 1):
        if email_key:
            first = emails.setdefault(email_key, customer_id)
            if first != customer_id:
                links.join_group(shared.setdefault(email_key, [first]), customer_id, "email")
        if company:
            key = companies.get(company)
            if key is None:
                key = companies[company] = normalise_company(company)
            if key:
                blocks[key].append((customer_id, name_key(name), pinyin_key))
        if done % SCAN_CHUNK == 0:
            report(10 + 60 * done // max(total, 1))
    return blocks


def _fuzzy_names(blocks: dict[str, _Block], links: _Links, report: Callable[[int], None]) -> None:
    """Within each company, join names close by characters, and Chinese names close by
    pinyin (a Latin name's pinyin key is its letters: the character pass covers it)."""
    shared = [block for block in blocks.values() if len(block) > 1]
    for done, block in enumerate(shared, 1):
        if done % SCAN_CHUNK == 0:
            report(70 + 30 * done // len(shared))
        for a, b in _close_pairs([chars for _, chars, _ in block]):
            links.join(block[a][0], block[b][0], "name")
        chinese = [(i, pinyin) for i, chars, pinyin in block if pinyin and _CJK.search(chars)]
        for a, b in _close_pairs([pinyin for _, pinyin in chinese]):
            links.join(chinese[a][0], chinese[b][0], "pinyin")


def _close_pairs(keys: list[str]) -> Iterable[tuple[int, int]]:
    """Index pairs (a < b) of keys whose rapidfuzz ratio reaches NAME_SIMILARITY."""
    for start in range(0, len(keys), CDIST_ROWS):
        scores = cdist(
            keys[start : start + CDIST_ROWS],
            keys,
            scorer=fuzz.ratio,
            score_cutoff=NAME_SIMILARITY,
            dtype=np.uint8,
        )
        rows, columns = np.nonzero(scores)
        later = columns > rows + start  # each pair once, and no key with itself
        for row, column in zip(rows[later].tolist(), columns[later].tolist(), strict=True):
            if keys[start + row]:  # two blank keys are not a close name
                yield start + row, column
