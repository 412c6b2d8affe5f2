"""Text a Telegram client can send but PostgreSQL cannot store: NUL characters are dropped
from every bound string on both backends, so a search or a save never fails on them."""

from __future__ import annotations

from sqlmodel import select

from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Customer
from tests.factories import make_member


def test_nul_characters_are_dropped_from_saved_and_searched_text(db: Database) -> None:
    def save(session):  # type: ignore[no-untyped-def]
        owner = make_member(session)
        create_customer(session, actor=owner, data=CustomerCreate(name="Li\x00 Na", needs="\x00"))

    db.run_sync(save)
    (customer,) = db.read_sync(lambda s: list(s.exec(select(Customer))))
    assert (customer.name, customer.needs) == ("Li Na", "")
    found = db.read_sync(
        lambda s: list(s.exec(select(Customer).where(Customer.name == "Li\x00 Na")))
    )
    assert [c.id for c in found] == [customer.id]
