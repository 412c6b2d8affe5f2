"""StorageCall: a storage function named now, run later with the session it is given."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from storage.access import NotFound
from storage.calls import StorageCall
from storage.customers import get_customer
from storage.db import Database
from storage.models import Customer, Member
from tests.factories import make_customer, make_member, pk


def a_customer(db: Database) -> tuple[Member, Customer]:
    with db.session() as session:
        owner = make_member(session)
        return owner, make_customer(session, owner=owner, name="Zhang Wei")


def test_call_runs_the_function_with_the_given_session(db: Database) -> None:
    owner, customer = a_customer(db)
    call = StorageCall(get_customer, actor=owner, customer_id=pk(customer))
    assert db.read_sync(call).name == "Zhang Wei"


def test_call_does_nothing_until_run() -> None:
    ran: list[int] = []

    def record(_session: Session, *, value: int) -> int:
        ran.append(value)
        return value

    call = StorageCall(record, value=7)
    assert ran == []
    assert call(None) == 7  # type: ignore[arg-type]
    assert ran == [7]


def test_returning_shapes_the_result(db: Database) -> None:
    owner, customer = a_customer(db)
    call = StorageCall(get_customer, actor=owner, customer_id=pk(customer)).returning(
        lambda found: found.name.upper()
    )
    assert db.read_sync(call) == "ZHANG WEI"


def test_or_if_missing_answers_the_fallback_for_a_missing_record(db: Database) -> None:
    owner, customer = a_customer(db)
    call = StorageCall(get_customer, actor=owner, customer_id=pk(customer) + 1000)
    assert db.read_sync(call.returning(lambda c: c.name).or_if_missing("gone")) == "gone"


def test_or_if_missing_answers_the_fallback_for_someone_elses_record(db: Database) -> None:
    _, customer = a_customer(db)
    with db.session() as session:
        stranger = make_member(session)
    call = StorageCall(get_customer, actor=stranger, customer_id=pk(customer))
    assert db.read_sync(call.or_if_missing(None)) is None
    with pytest.raises(NotFound):
        db.read_sync(call)


def test_or_if_refused_answers_the_fallback_only_for_the_refusals_named(db: Database) -> None:
    def refuse(_session: Session, error: type[Exception]) -> str:
        raise error("refused")

    assert db.read_sync(StorageCall(refuse, KeyError).or_if_refused("no", KeyError)) == "no"
    with pytest.raises(ValueError, match="refused"):
        db.read_sync(StorageCall(refuse, ValueError).or_if_refused("no", KeyError))


def test_done_returns_its_value_without_the_database() -> None:
    assert StorageCall.done("unchanged")(None) == "unchanged"  # type: ignore[arg-type]
