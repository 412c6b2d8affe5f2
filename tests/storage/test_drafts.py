"""Drafts: one per member, replaced on every answered step, JSON that survives the round trip."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from storage.db import Database
from storage.drafts import delete_draft, get_draft, save_draft
from storage.models import Draft, Member
from tests.factories import make_member, pk

DATA: dict[str, Any] = {
    "name": "王伟 Wáng Wěi",
    "phones": ["+8613800138000"],
    "company": "华为技术有限公司 «Huawei» & Co <b>",
    "amount": {"value": "12500.50", "currency": "CNY"},
    "birthday": None,
    "emoji": "🤝",
}


def a_member(db: Database) -> Member:
    with db.session() as session:
        return make_member(session)


def save(db: Database, member: Member, **overrides: Any) -> Draft:
    fields: dict[str, Any] = {
        "chat_id": member.telegram_id,
        "flow": "customer",
        "step": "customer.name",
        "data": {},
        "history": [],
        "update_id": 1,
    } | overrides
    return db.run_sync(save_draft, member_id=pk(member), **fields)


def drafts_of(db: Database, member: Member) -> list[Draft]:
    return db.read_sync(
        lambda session: list(session.exec(select(Draft).where(col(Draft.member_id) == member.id)))
    )


def test_save_draft_creates_draft(db: Database) -> None:
    member = a_member(db)
    save(db, member, flow="deal", step="deal.title", update_id=77)
    stored = db.read_sync(get_draft, member_id=pk(member))
    assert stored is not None
    assert (stored.chat_id, stored.flow, stored.step, stored.last_update_id) == (
        member.telegram_id,
        "deal",
        "deal.title",
        77,
    )


def test_save_draft_again_replaces_the_one_draft(db: Database) -> None:
    member = a_member(db)
    save(db, member, step="customer.name", data={"name": "Li"}, history=[], update_id=1)
    save(
        db,
        member,
        step="customer.phone",
        data={"phone": "+8613800138000"},
        history=["customer.name"],
        update_id=2,
    )
    [stored] = drafts_of(db, member)
    assert (stored.step, stored.data, stored.history, stored.last_update_id) == (
        "customer.phone",
        {"phone": "+8613800138000"},
        ["customer.name"],
        2,
    )


def test_save_draft_keeps_other_members_drafts(db: Database) -> None:
    member, other = a_member(db), a_member(db)
    save(db, other, step="customer.email")
    save(db, member, step="customer.phone")
    [kept] = drafts_of(db, other)
    assert kept.step == "customer.email"


def test_save_draft_round_trips_non_ascii_data_and_history(db: Database) -> None:
    member = a_member(db)
    history = ["customer.name", "customer.phone", "客户.公司"]
    save(db, member, data=DATA, history=history)
    stored = db.read_sync(get_draft, member_id=pk(member))
    assert stored is not None
    assert (stored.data, stored.history) == (DATA, history)


def test_delete_draft_returns_true_then_false(db: Database) -> None:
    member = a_member(db)
    save(db, member)
    assert db.run_sync(delete_draft, member_id=pk(member)) is True
    assert db.read_sync(get_draft, member_id=pk(member)) is None
    assert db.run_sync(delete_draft, member_id=pk(member)) is False


def test_delete_draft_leaves_other_members_drafts(db: Database) -> None:
    member, other = a_member(db), a_member(db)
    save(db, member)
    save(db, other)
    db.run_sync(delete_draft, member_id=pk(member))
    assert len(drafts_of(db, other)) == 1
