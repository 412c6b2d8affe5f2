"""Test data: plain functions that add valid, random records and flush so ids are set."""

from __future__ import annotations

import itertools
import random
import string
from datetime import datetime

from sqlmodel import Session
from telegram import Update

from storage.members import TelegramProfile
from storage.models import Customer, Member, Role, utcnow

_FIRST = ("Li", "Wang", "Zhang", "Ada", "Grace", "Alan", "王伟", "李娜", "Zoë", "José")
_LAST = ("Wei", "Fang", "Lovelace", "Hopper", "Turing", "Chen", "刘", "Müller")
# Telegram user ids are positive and below 2**52; a random base plus a counter never collides.
_telegram_ids = itertools.count(random.randrange(10**9, 10**12))


def random_name() -> str:
    return f"{random.choice(_FIRST)} {random.choice(_LAST)} {random.randrange(1000)}"


def random_username() -> str:
    return "u_" + "".join(random.choices(string.ascii_lowercase + string.digits, k=10))


def new_telegram_id() -> int:
    return next(_telegram_ids)


def make_profile(
    *,
    telegram_id: int | None = None,
    display_name: str | None = None,
    username: str | None = None,
    language_code: str | None = None,
) -> TelegramProfile:
    return TelegramProfile(
        telegram_id=telegram_id if telegram_id is not None else new_telegram_id(),
        display_name=display_name or random_name(),
        username=username if username is not None else random_username(),
        language_code=language_code,
    )


def pk(record: Member | Customer) -> int:
    """The primary key of a flushed record (typed as int, not int | None)."""
    assert record.id is not None
    return record.id


def make_member(
    session: Session,
    *,
    role: Role = Role.SALES,
    manager: Member | None = None,
    telegram_id: int | None = None,
    active: bool = True,
    display_name: str | None = None,
) -> Member:
    member = Member(
        telegram_id=telegram_id if telegram_id is not None else new_telegram_id(),
        display_name=display_name or random_name(),
        username=random_username(),
        role=role,
        manager_id=manager.id if manager is not None else None,
        active=active,
    )
    session.add(member)
    session.flush()
    return member


def make_customer(
    session: Session, *, owner: Member, name: str | None = None, deleted: bool = False
) -> Customer:
    assert owner.id is not None
    customer = Customer(
        owner_id=owner.id,
        created_by_id=owner.id,
        name=name or random_name(),
        company=random.choice(("Acme", "华为", None)),
        deleted_at=utcnow() if deleted else None,
    )
    session.add(customer)
    session.flush()
    return customer


def message_update(update_id: int, chat_id: int, text: str = "hi") -> Update:
    """A private text message as Telegram delivers it, for the update-processing tests."""
    user = {"id": chat_id, "is_bot": False, "first_name": "Li"}
    update = Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_767_225_600,
                "chat": {"id": chat_id, "type": "private", "first_name": "Li"},
                "from": user,
                "text": text,
            },
        },
        bot=None,
    )
    assert update is not None
    return update


def last_contact_of(session: Session, customer: Customer) -> datetime | None:
    """The customer's last contact as stored (touches move it with an UPDATE)."""
    session.expire_all()
    return session.get_one(Customer, customer.id).last_contact_at
