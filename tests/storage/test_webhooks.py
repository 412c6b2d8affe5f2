"""The webhook outbox: which changes become which events, written with the change or not at
all, only for enabled endpoints subscribed to the type, with the record's public fields."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from storage.contracts import ContractCreate, create_contract, sign_contract
from storage.customer_changes import archive_customer, merge_customers, update_customer
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, change_stage, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import ContractStatus, Member, Reminder, Role, TicketStatus, utcnow
from storage.reminders import mark_sent
from storage.tickets import (
    Priority,
    TicketCreate,
    add_comment,
    create_ticket,
    move_ticket,
    reassign_ticket,
)
from storage.webhook_models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from storage.webhooks import (
    EVENT_TYPES,
    UnknownEndpoint,
    add_endpoint,
    check_url,
    create_endpoint,
    event_types,
    parse_event_types,
    remove_endpoint,
)
from tests.factories import make_customer, make_member, pk

STAGES = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]


def subscribe(session: Session, *events: str, enabled: bool = True) -> WebhookEndpoint:
    endpoint = create_endpoint(session, url="http://127.0.0.1:9/hook", events=list(events))
    endpoint.enabled = enabled
    session.flush()
    return endpoint


def events(db: Database) -> list[WebhookEvent]:
    return db.read_sync(
        lambda s: list(s.exec(select(WebhookEvent).order_by(col(WebhookEvent.id))))
    )


def deliveries(db: Database) -> list[WebhookDelivery]:
    return db.read_sync(
        lambda s: list(s.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.id))))
    )


def admin(session: Session) -> Member:
    return make_member(session, role=Role.ADMIN)


@pytest.mark.parametrize(
    ("entity", "action", "changes", "expected"),
    [
        ("customer", "create", {"name": [None, "Li"]}, ("customer.created",)),
        ("customer", "update", {"name": ["Li", "Lee"]}, ("customer.updated",)),
        ("customer", "reassign", {"owner": ["A", "B"]}, ("customer.updated",)),
        ("customer", "restore", {"deleted_at": ["x", None]}, ("customer.updated",)),
        ("customer", "delete", {"deleted_at": [None, "x"]}, ("customer.deleted",)),
        ("customer", "merge", {"merged_into": [None, 3]}, ("customer.merged",)),
        ("customer", "merge", {"merged_from": [None, 4]}, ()),
        ("deal", "create", {"stage": [None, "lead"]}, ("deal.created",)),
        ("deal", "create", {"stage": [None, "won"]}, ("deal.created", "deal.won")),
        ("deal", "update", {"stage": ["lead", "won"]}, ("deal.won",)),
        ("deal", "update", {"stage": ["lead", "lost"]}, ("deal.lost",)),
        ("deal", "update", {"stage": ["lead", "proposal"]}, ("deal.stage_changed",)),
        ("deal", "update", {"stage": ["won", "lead"]}, ("deal.stage_changed",)),
        ("deal", "update", {"title": ["a", "b"]}, ("deal.updated",)),
        ("deal", "delete", {}, ("deal.deleted",)),
        ("interaction", "create", {}, ("note.created",)),
        ("interaction", "update", {}, ("note.updated",)),
        ("interaction", "delete", {}, ("note.deleted",)),
        ("order", "create", {}, ("order.created",)),
        ("order", "update", {"status": ["shipped", "delivered"]}, ("order.delivered",)),
        ("order", "delete", {}, ("order.deleted",)),
        ("contract", "create", {"status": [None, "signed"]}, ("contract.created",)),
        ("contract", "update", {"status": ["draft", "signed"]}, ("contract.signed",)),
        ("contract", "update", {"status": ["active", "renewed"]}, ("contract.renewed",)),
        ("contract", "update", {"title": ["a", "b"]}, ("contract.updated",)),
        ("ticket", "create", {"status": [None, "open"]}, ("ticket.created",)),
        ("ticket", "update", {"status": ["open", "waiting"]}, ("ticket.status_changed",)),
        ("ticket", "update", {"status": ["closed", "open"]}, ("ticket.status_changed",)),
        ("ticket", "update", {"status": ["open", "resolved"]}, ("ticket.resolved",)),
        ("ticket", "update", {"assignee_id": [1, 2]}, ("ticket.assigned",)),
        ("ticket", "update", {"priority": ["low", "high"]}, ("ticket.updated",)),
        ("ticket", "comment", {"comment": [None, "x"]}, ("ticket.updated",)),
        ("ticket", "restore", {"deleted_at": ["x", None]}, ("ticket.updated",)),
        ("ticket", "delete", {"deleted_at": [None, "x"]}, ("ticket.deleted",)),
        ("reminder", "update", {"status": ["pending", "done"]}, ()),
        ("member", "update", {"role": ["sales", "admin"]}, ()),
        ("invite", "invite", {}, ()),
    ],
)
def test_event_types_of_audit_entries(
    entity: str, action: str, changes: dict[str, list[object]], expected: tuple[str, ...]
) -> None:
    assert event_types(entity, action, changes) == expected
    assert set(expected) <= set(EVENT_TYPES)


def test_create_customer_writes_event_and_delivery_with_public_fields(db: Database) -> None:
    with db.session() as session:
        endpoint = subscribe(session, "customer.created")
        member = make_member(session)
        customer = create_customer(
            session,
            actor=member,
            data=CustomerCreate(name="Zhang Wei", phones=["+8613800138000"], tags=["vip"]),
        )
    (event,) = events(db)
    assert (event.type, event.record_type, event.record_id) == (
        "customer.created",
        "customer",
        pk(customer),
    )
    assert event.payload["name"] == "Zhang Wei"
    assert event.payload["phones"] == ["+8613800138000"]
    assert event.payload["tags"] == ["vip"]
    assert event.payload["owner_id"] == pk(member)
    assert event.payload["created_at"].endswith("+00:00")
    assert "import_batch_id" not in event.payload
    (delivery,) = deliveries(db)
    assert (delivery.endpoint_id, delivery.event_id, delivery.status) == (
        endpoint.id,
        event.id,
        "pending",
    )
    assert delivery.give_up_at - delivery.created_at == timedelta(days=1)


def test_no_event_without_an_enabled_subscribed_endpoint(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "deal.won")
        subscribe(session, "customer.created", enabled=False)
        create_customer(session, actor=make_member(session), data=CustomerCreate(name="Li"))
    assert events(db) == []
    assert deliveries(db) == []


def test_deliveries_only_for_the_endpoints_subscribed_to_the_type(db: Database) -> None:
    with db.session() as session:
        wants = subscribe(session, "customer.created", "customer.updated")
        subscribe(session, "customer.updated")
        create_customer(session, actor=make_member(session), data=CustomerCreate(name="Li"))
    assert [d.endpoint_id for d in deliveries(db)] == [wants.id]


def test_a_rolled_back_change_leaves_no_event(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "customer.created")
        member = make_member(session)

    def create_then_fail(session: Session) -> None:
        create_customer(session, actor=member, data=CustomerCreate(name="Li"))
        raise RuntimeError("the transaction fails after the change")

    with pytest.raises(RuntimeError):
        db.run_sync(create_then_fail)
    assert events(db) == []
    assert deliveries(db) == []


def test_deal_won_and_stage_changed_events_carry_amount_as_string(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "deal.won", "deal.stage_changed")
        member = make_member(session)
        customer = make_customer(session, owner=member)
        deal = create_deal(
            session,
            actor=member,
            data=DealCreate(
                customer_id=pk(customer),
                title="50 units",
                stage="lead",
                amount=Decimal("50000.5"),
                currency="CNY",
                expected_close_date=date(2027, 3, 1),
            ),
        )
        deal_id = deal.id
        change_stage(
            session, actor=member, deal_id=pk(deal), stage="proposal", reason=None, stages=STAGES
        )
        change_stage(
            session, actor=member, deal_id=pk(deal), stage="won", reason="price", stages=STAGES
        )
    stage_changed, won = events(db)
    assert (stage_changed.type, won.type) == ("deal.stage_changed", "deal.won")
    assert won.record_id == deal_id
    assert won.payload["stage"] == "won"
    assert won.payload["amount"] == "50000.50"
    assert won.payload["expected_close_date"] == "2027-03-01"
    assert won.payload["close_reason"] == "price"


def test_note_contract_and_delete_events(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "note.created", "contract.signed", "customer.deleted")
        member = make_member(session)
        customer = make_customer(session, owner=member)
        create_interaction(
            session,
            actor=member,
            data=InteractionCreate(
                customer_id=pk(customer), kind="call", happened_at=utcnow(), summary="quote"
            ),
        )
        contract = create_contract(
            session,
            actor=member,
            data=ContractCreate(customer_id=pk(customer), number="HT-1", title="Supply"),
        )
        sign_contract(
            session, actor=member, contract_id=contract.id or 0, signed_on=date(2027, 1, 2)
        )
        archive_customer(session, actor=member, customer_id=pk(customer))
    assert [(e.type, e.record_type) for e in events(db)] == [
        ("note.created", "note"),
        ("contract.signed", "contract"),
        ("customer.deleted", "customer"),
    ]
    assert events(db)[1].payload["signed_on"] == "2027-01-02"
    assert events(db)[2].payload["deleted_at"] is not None


def test_update_without_a_change_writes_no_event(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "customer.updated")
        member = make_member(session)
        customer = make_customer(session, owner=member, name="Li")
        update_customer(session, actor=member, customer_id=pk(customer), changes={"name": "Li"})
        update_customer(session, actor=member, customer_id=pk(customer), changes={"name": "Lee"})
    (event,) = events(db)
    assert (event.type, event.payload["name"]) == ("customer.updated", "Lee")


def test_merge_is_one_event_of_the_duplicate_naming_the_survivor(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "customer.merged")
        boss = admin(session)
        survivor = make_customer(session, owner=boss)
        duplicate = make_customer(session, owner=boss)
        merge_customers(session, actor=boss, survivor_id=pk(survivor), duplicate_id=pk(duplicate))
    (event,) = events(db)
    assert (event.type, event.record_id) == ("customer.merged", pk(duplicate))
    assert event.payload["merged_into_id"] == pk(survivor)


def test_reminder_due_is_written_when_the_reminder_is_sent(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "reminder.due")
        member = make_member(session)
        reminder = Reminder(
            member_id=pk(member), kind="follow_up", text="Call Li", due_at=utcnow(), claimed_by="w"
        )
        session.add(reminder)
        session.flush()
        reminder_id = pk(reminder)
    assert events(db) == []
    assert db.run_sync(mark_sent, reminder_id=reminder_id, worker="w", at=utcnow())
    (event,) = events(db)
    assert (event.type, event.record_id, event.payload["text"]) == (
        "reminder.due",
        reminder_id,
        "Call Li",
    )
    assert event.payload["status"] == "sent"
    assert "claimed_by" not in event.payload
    assert not db.run_sync(mark_sent, reminder_id=reminder_id, worker="w", at=utcnow())
    assert len(events(db)) == 1


def test_ticket_changes_write_their_events_with_the_change(db: Database) -> None:
    with db.session() as session:
        subscribe(session, "ticket.created", "ticket.assigned", "ticket.resolved")
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        customer = make_customer(session, owner=sales)
        due = utcnow() + timedelta(days=1)
        ticket = create_ticket(
            session,
            actor=manager,
            data=TicketCreate(pk(customer), "repair", Priority.HIGH, "Pump leaks", due),
        )
        assert ticket.id is not None
        reassign_ticket(session, actor=manager, ticket_id=ticket.id, assignee_id=pk(manager))
        add_comment(session, actor=manager, ticket_id=ticket.id, text="on it")  # not subscribed
        move_ticket(session, actor=manager, ticket_id=ticket.id, status=TicketStatus.RESOLVED)
    written = events(db)
    assert [e.type for e in written] == ["ticket.created", "ticket.assigned", "ticket.resolved"]
    assert {e.record_type for e in written} == {"ticket"}
    assert written[0].payload["assignee_id"] == sales.id
    assert written[-1].payload["status"] == "resolved"
    assert written[-1].payload["description"] == "Pump leaks"


def test_parse_event_types() -> None:
    assert parse_event_types("customer.created, deal.won") == ["customer.created", "deal.won"]
    assert parse_event_types("*") == list(EVENT_TYPES)
    with pytest.raises(ValueError, match="deal.wonn"):
        parse_event_types("deal.wonn")
    with pytest.raises(ValueError, match="none given"):
        parse_event_types(" , ")
    tickets = [t for t in EVENT_TYPES if t.startswith("ticket.")]
    assert parse_event_types("ticket.*") == tickets
    assert parse_event_types("deal.won,ticket.*,ticket.resolved") == ["deal.won", *tickets]
    assert parse_event_types("reminder.*,*") == list(dict.fromkeys(["reminder.due", *EVENT_TYPES]))
    with pytest.raises(ValueError, match=r"tickets\.\*"):
        parse_event_types("tickets.*")


def test_add_endpoint_is_for_active_admins(db: Database) -> None:
    with db.session() as session:
        boss, seller = admin(session), make_member(session)
        left = make_member(session, role=Role.ADMIN, active=False)
        for refused in (seller, left):
            with pytest.raises(UnknownEndpoint):
                add_endpoint(session, actor=refused, url="https://x.example/h", events=["*"])
        added = add_endpoint(session, actor=boss, url=" https://x.example/h ", events=["deal.*"])
        assert (added.url, added.created_by_id) == ("https://x.example/h", boss.id)
        assert added.events == [t for t in EVENT_TYPES if t.startswith("deal.")]
    assert db.read_sync(lambda s: len(list(s.exec(select(WebhookEndpoint))))) == 1


@pytest.mark.parametrize("url", ["ftp://x/y", "example.com/hook", "http://", "javascript:x"])
def test_check_url_refuses_what_is_not_http(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        check_url(url)


def test_endpoint_secret_is_a_standard_webhooks_secret(db: Database) -> None:
    from standardwebhooks import Webhook

    with db.session() as session:
        first = subscribe(session, "deal.won")
        second = subscribe(session, "deal.won")
    assert first.secret.startswith("whsec_")
    assert first.secret != second.secret
    Webhook(first.secret)  # a secret the library accepts


def test_remove_endpoint_removes_its_deliveries(db: Database) -> None:
    with db.session() as session:
        endpoint = subscribe(session, "customer.created")
        kept = subscribe(session, "customer.created")
        create_customer(session, actor=make_member(session), data=CustomerCreate(name="Li"))
    db.run_sync(remove_endpoint, endpoint_id=pk(endpoint))
    assert [d.endpoint_id for d in deliveries(db)] == [kept.id]
    assert len(events(db)) == 1


def test_a_contract_running_out_by_the_calendar_is_a_contract_status_event(db: Database) -> None:
    from storage.contract_status import advance_contract_statuses

    with db.session() as session:
        subscribe(session, "contract.expiring", "contract.expired")
        member = make_member(session)
        customer = make_customer(session, owner=member)
        contract = create_contract(
            session,
            actor=member,
            data=ContractCreate(
                customer_id=pk(customer),
                number="HT-9",
                title="Supply",
                status=ContractStatus.ACTIVE,
                signed_on=date(2027, 1, 1),
                starts_on=date(2027, 1, 1),
                ends_on=date(2027, 12, 31),
            ),
        )
        contract_id = contract.id
    db.run_sync(advance_contract_statuses, today=date(2027, 12, 20), default_notice_days=30)
    db.run_sync(advance_contract_statuses, today=date(2028, 1, 2), default_notice_days=30)
    assert [(e.type, e.record_id, e.payload["status"]) for e in events(db)] == [
        ("contract.expiring", contract_id, "expiring"),
        ("contract.expired", contract_id, "expired"),
    ]
