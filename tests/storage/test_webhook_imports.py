"""Imports write their audit in bulk, and their webhook events with it: created and updated
customers, an undo's deletions, and a failed import's customers said to be gone."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from storage.db import Database
from storage.imports import BatchStatus, DuplicateMode, undo_batch
from storage.imports.models import ImportBatch
from storage.models import Role, utcnow
from storage.webhook_models import WebhookEvent
from storage.webhooks import create_endpoint
from tests.factories import pk
from tests.storage.import_helpers import add_member, csv_bytes, import_now

TYPES = ["customer.created", "customer.updated", "customer.deleted"]


def subscribe(db: Database, events: list[str]) -> None:
    db.run_sync(create_endpoint, url="http://127.0.0.1:9/hook", events=events)


def events(db: Database) -> list[tuple[str, str | None]]:
    rows = db.read_sync(
        lambda s: list(s.exec(select(WebhookEvent).order_by(col(WebhookEvent.id))))
    )
    return [(e.type, e.payload.get("name")) for e in rows]


def test_an_import_writes_created_and_updated_events(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    subscribe(db, TYPES)
    import_now(db, admin, csv_bytes("张伟,13800138000,zw@example.com,Acme"))
    assert events(db) == [("customer.created", "张伟")]
    import_now(
        db, admin, csv_bytes("张伟,13800138000,new@example.com,Acme"), mode=DuplicateMode.UPDATE
    )
    assert events(db)[1] == ("customer.updated", "张伟")
    payload = db.read_sync(
        lambda s: s.exec(select(WebhookEvent).order_by(col(WebhookEvent.id).desc())).first()
    ).payload
    assert (payload["email"], payload["phones"]) == ("new@example.com", ["+8613800138000"])


def test_an_import_writes_nothing_without_a_subscription(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    subscribe(db, ["deal.won"])
    import_now(db, admin, csv_bytes("张伟,13800138000,,Acme", "李娜,13900139000,,Acme"))
    assert events(db) == []


def test_undoing_an_import_says_its_customers_are_deleted(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    subscribe(db, TYPES)
    batch = import_now(db, admin, csv_bytes("张伟,13800138000,,Acme"))
    db.run_sync(
        undo_batch, actor=admin, batch_id=pk(batch), now=utcnow(), undo_period=timedelta(hours=1)
    )
    assert [t for t, _ in events(db)] == ["customer.created", "customer.deleted"]
    deleted = db.read_sync(
        lambda s: s.exec(select(WebhookEvent).where(WebhookEvent.type == "customer.deleted")).one()
    )
    assert deleted.payload["deleted_at"] is not None


def test_a_failed_import_says_the_customers_it_had_created_are_gone(db: Database) -> None:
    admin = add_member(db, Role.ADMIN)
    subscribe(db, TYPES)

    def fail_on_second(batch: ImportBatch) -> None:
        if batch.processed_rows > 1:
            raise ValueError("stop")

    content = csv_bytes("A,13900139000,,X", "B,13700137000,,Y")
    done = import_now(db, admin, content, chunk_rows=1, progress=fail_on_second)
    assert done.status == BatchStatus.FAILED
    found = db.read_sync(
        lambda s: [
            (e.type, e.record_id)
            for e in s.exec(select(WebhookEvent).order_by(col(WebhookEvent.id)))
        ]
    )
    created = [record_id for kind, record_id in found if kind == "customer.created"]
    assert created
    assert [(kind, record_id) for kind, record_id in found if kind == "customer.deleted"] == [
        ("customer.deleted", record_id) for record_id in created
    ]
