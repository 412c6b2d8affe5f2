"""Contract statuses over time (`storage.contract_status`): which moves the calendar makes,
which contracts it leaves alone, the system audit entry, and one move however many passes or
instances run it."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlmodel import Session, col, select

from storage.audit import list_audit
from storage.contract_status import advance_contract_statuses, status_on
from storage.db import Database
from storage.models import AuditEntry, Contract, ContractStatus, Customer, Member, utcnow
from tests.factories import make_customer, make_member, pk

TODAY = date(2027, 6, 15)
NOTICE = 30


def make_contract(
    session: Session,
    owner: Member,
    status: ContractStatus = ContractStatus.ACTIVE,
    *,
    starts_on: date | None = date(2027, 1, 1),
    ends_on: date | None = date(2027, 12, 31),
    number: str | None = None,
    **values: object,
) -> Contract:
    customer = make_customer(session, owner=owner)
    contract = Contract(
        customer_id=pk(customer),
        owner_id=pk(owner),
        created_by_id=pk(owner),
        number=number or f"HT-{utcnow().timestamp()}-{id(values)}-{status}-{ends_on}",
        title="Forklift service",
        status=status,
        signed_on=date(2026, 12, 1),
        starts_on=starts_on,
        ends_on=ends_on,
        **values,
    )
    session.add(contract)
    session.flush()
    return contract


def advance(db: Database, today: date = TODAY) -> dict[int, tuple[str, str]]:
    return db.run_sync(advance_contract_statuses, today=today, default_notice_days=NOTICE)


def status_of(db: Database, contract_id: int) -> str:
    return db.read_sync(lambda s: s.get_one(Contract, contract_id).status)


@pytest.mark.parametrize(
    ("status", "starts_on", "ends_on", "notice", "expected"),
    [
        ("signed", date(2027, 6, 16), date(2027, 12, 31), None, "signed"),  # not started
        ("signed", TODAY, date(2027, 12, 31), None, "active"),  # starts today
        ("signed", None, date(2027, 12, 31), None, "signed"),  # no start date: left
        ("signed", date(2027, 1, 1), TODAY + timedelta(days=10), None, "expiring"),
        ("signed", date(2027, 1, 1), TODAY - timedelta(days=1), None, "expired"),
        ("active", None, None, None, "active"),  # open-ended
        ("active", None, TODAY + timedelta(days=31), None, "active"),  # notice from tomorrow
        ("active", None, TODAY + timedelta(days=30), None, "expiring"),  # the notice's day
        ("active", None, TODAY + timedelta(days=60), 60, "expiring"),  # its own notice
        ("active", None, TODAY + timedelta(days=10), 5, "active"),  # its own, shorter
        ("active", None, TODAY + timedelta(days=10), 0, "active"),
        ("active", None, TODAY, 0, "expiring"),  # notice 0: expiring on its last day
        ("active", None, TODAY, None, "expiring"),  # the last day is still in force
        ("active", None, TODAY - timedelta(days=1), None, "expired"),
        ("expiring", None, TODAY - timedelta(days=1), None, "expired"),
        ("expiring", None, TODAY + timedelta(days=90), None, "active"),  # end moved later
        ("draft", None, TODAY - timedelta(days=1), None, "draft"),
        ("renewed", None, TODAY - timedelta(days=1), None, "renewed"),
        ("terminated", None, TODAY + timedelta(days=1), None, "terminated"),
        ("expired", None, TODAY + timedelta(days=1), None, "expired"),
    ],
)
def test_status_on_follows_the_dates(
    status: str, starts_on: date | None, ends_on: date | None, notice: int | None, expected: str
) -> None:
    contract = Contract(
        customer_id=1,
        owner_id=1,
        created_by_id=1,
        number="HT-1",
        title="t",
        status=status,
        starts_on=starts_on,
        ends_on=ends_on,
        renewal_notice_days=notice,
    )
    assert status_on(contract, today=TODAY, default_notice_days=NOTICE) == expected


def test_pass_moves_each_contract_once_and_audits_a_system_change(db: Database) -> None:
    def seed(session: Session) -> dict[str, int]:
        owner = make_member(session)
        return {
            "starting": pk(make_contract(session, owner, ContractStatus.SIGNED, starts_on=TODAY)),
            "expiring": pk(make_contract(session, owner, ends_on=TODAY + timedelta(days=7))),
            "expired": pk(make_contract(session, owner, ends_on=TODAY - timedelta(days=1))),
            "running": pk(make_contract(session, owner)),
        }

    ids = db.run_sync(seed)
    assert advance(db) == {
        ids["starting"]: ("signed", "active"),
        ids["expiring"]: ("active", "expiring"),
        ids["expired"]: ("active", "expired"),
    }
    assert status_of(db, ids["running"]) == "active"
    [entry] = db.read_sync(
        lambda s: list_audit(s, entity_type="contract", entity_id=ids["expiring"])
    )
    assert (entry.actor_id, entry.action, entry.changes) == (
        None,
        "update",
        {"status": ["active", "expiring"]},
    )
    assert advance(db) == {}  # a second pass (a restart, another instance) moves nothing
    assert advance(db, TODAY + timedelta(days=8)) == {ids["expiring"]: ("expiring", "expired")}


def test_deleted_contracts_and_those_of_deleted_customers_are_left_alone(db: Database) -> None:
    def seed(session: Session) -> list[int]:
        owner = make_member(session)
        deleted = make_contract(session, owner, ends_on=TODAY - timedelta(days=1))
        deleted.deleted_at = utcnow()
        of_deleted = make_contract(session, owner, ends_on=TODAY - timedelta(days=1))
        session.get_one(Customer, of_deleted.customer_id).deleted_at = utcnow()
        session.flush()
        return [pk(deleted), pk(of_deleted)]

    ids = db.run_sync(seed)
    assert advance(db) == {}
    assert [status_of(db, i) for i in ids] == ["active", "active"]


def test_concurrent_passes_move_and_audit_each_contract_once(db: Database) -> None:
    """Several instances run the pass at the same moment: every move is made and audited by
    exactly one of them (PostgreSQL: the conditional UPDATE; SQLite: BEGIN IMMEDIATE)."""

    def seed(session: Session) -> list[int]:
        owner = make_member(session)
        return [
            pk(make_contract(session, owner, ends_on=TODAY + timedelta(days=i % 40 - 5)))
            for i in range(40)
        ]

    ids = db.run_sync(seed)
    others = [Database(db.url) for _ in range(3)]
    results: list[dict[int, tuple[str, str]]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(others))

    def work(other: Database) -> None:
        start.wait()
        try:
            results.append(advance(other))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert errors == []
    moved = [contract_id for result in results for contract_id in result]
    assert sorted(moved) == sorted(set(moved))  # nobody moved a contract another moved
    entries = db.read_sync(
        lambda s: list(
            s.exec(
                select(AuditEntry.entity_id).where(
                    col(AuditEntry.entity_type) == "contract", col(AuditEntry.entity_id).in_(ids)
                )
            )
        )
    )
    assert sorted(entries) == sorted(moved)
    assert len(moved) == 36  # all but the 4 ending beyond the 30-day notice
