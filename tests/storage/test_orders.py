"""Orders: lines and totals, numbers, status moves and their history, audit, the access rule
(exactly the deal's), hand-over with the customer, soft delete and restore."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import Session, col, select

from storage.access import NotFound, require_order
from storage.agenda import get_agenda
from storage.audit import list_audit
from storage.contracts import ContractCreate, create_contract
from storage.customer_changes import archive_customer, reassign_customer, restore_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.digest import team_digest
from storage.models import (
    Customer,
    Member,
    Order,
    OrderLine,
    OrderStatus,
    OrderStatusChange,
    Reminder,
    utcnow,
)
from storage.order_changes import EditRefused, update_order
from storage.orders import (
    DuplicateNumber,
    OrderCreate,
    OrderLineCreate,
    TransitionRefused,
    advance_order,
    archive_order,
    cancel_order,
    count_orders,
    create_order,
    get_order_view,
    list_orders,
    orders_total,
    restore_order,
    suggest_order_number,
)
from storage.reminders import claim_due
from tests.factories import make_customer, make_member, pk
from tests.storage.test_access import Team, make_team

ON = date(2026, 12, 6)
FORWARD_STEPS = (OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
LINES = (
    OrderLineCreate("X2", Decimal(50), Decimal(1200)),
    OrderLineCreate("cable", Decimal(10), Decimal("30.5")),
)


def order_data(customer: Customer, **values: Any) -> OrderCreate:
    data = OrderCreate(customer_id=pk(customer), ordered_on=ON, lines=LINES, currency="CNY")
    return replace(data, **values)


def new_order(session: Session, actor: Member, customer: Customer, **values: Any) -> Order:
    return create_order(session, actor=actor, data=order_data(customer, **values))


def order_id(order: Order) -> int:
    assert order.id is not None
    return order.id


# --- creating ---------------------------------------------------------------------------------


def test_create_order_stores_lines_total_first_status_and_audit(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        order = new_order(session, sales, customer, delivery_due_on=date(2026, 12, 20))
        view = get_order_view(session, actor=sales, order_id=order_id(order))
        [entry] = list_audit(session, entity_type="order", entity_id=order_id(order))
    assert (order.number, order.status, order.total) == ("DD-2026-0001", "ordered", 60305)
    assert (order.owner_id, order.created_by_id) == (sales.id, sales.id)
    assert [(ln.position, ln.product, ln.amount) for ln in view.lines] == [
        (1, "X2", Decimal("60000.00")),
        (2, "cable", Decimal("305.00")),
    ]
    assert [(m.from_status, m.to_status, m.changed_by) for m in view.moves] == [
        (None, "ordered", sales.display_name)
    ]
    assert entry.action == "create"
    assert entry.changes["total"] == [None, "60305.00"]
    assert entry.changes["lines"] == [
        None,
        ["50 × X2 @ 1200 = 60000.00", "10 × cable @ 30.5 = 305.00"],
    ]
    assert entry.changes["delivery_due_on"] == [None, "2026-12-20"]


def test_order_with_a_typed_total_and_unpriced_lines_keeps_the_total(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        lines = (OrderLineCreate("X2", Decimal(5)), OrderLineCreate("cable"))
        order = new_order(session, sales, customer, lines=lines, total=Decimal("9999.5"))
        only_total = new_order(session, sales, customer, lines=(), total=Decimal(10))
    assert order.total == Decimal("9999.50")
    assert only_total.total == Decimal("10.00")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"total": Decimal(5)}, "total"),  # the priced lines make the total
        ({"lines": (), "total": None}, "line or a total"),
        ({"currency": None}, "currency"),
        ({"lines": (), "total": Decimal(-1)}, "negative"),
        ({"number": "  "}, "blank"),
        ({"delivery_due_on": date(2026, 12, 5)}, "before"),
        ({"status": OrderStatus.CANCELLED}, "cancelled"),
    ],
)
def test_order_data_refuses_what_makes_no_order(values: dict[str, Any], message: str) -> None:
    base = OrderCreate(customer_id=1, ordered_on=ON, lines=LINES, currency="CNY")
    with pytest.raises(ValueError, match=message):
        replace(base, **values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"product": " "}, "product"),
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal(-2)}, "quantity"),
        ({"unit_price": Decimal(-1)}, "price"),
    ],
)
def test_order_line_refuses_what_makes_no_line(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(OrderLineCreate("X2", Decimal(1), Decimal(1)), **values)


def test_numbers_are_suggested_per_year_kept_when_given_and_never_twice(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        first = new_order(session, sales, customer)
        typed = new_order(session, sales, customer, number=" DD-2026-0041 ")
        following = new_order(session, sales, customer)
        next_year = new_order(session, sales, customer, ordered_on=date(2027, 1, 2))
        patterned = create_order(
            session, actor=sales, data=order_data(customer), number_pattern="订单{seq:03d}"
        )
        with pytest.raises(DuplicateNumber):
            new_order(session, sales, customer, number="DD-2026-0041")
        with pytest.raises(DuplicateNumber):
            new_order(session, sales, customer, number="dd-2026-0041")
        assert suggest_order_number(session, today=ON) == "DD-2026-0043"
        new_order(session, sales, customer, number="dd-2026-0043")  # typed in another case
        assert suggest_order_number(session, today=ON) == "DD-2026-0044"
    assert [first.number, typed.number, following.number, next_year.number] == [
        "DD-2026-0001",
        "DD-2026-0041",
        "DD-2026-0042",
        "DD-2027-0001",
    ]
    assert patterned.number == "订单001"


@pytest.mark.parametrize(
    ("numbers", "pattern", "suggested"),
    [
        # the highest by value, whatever the width: a typed number longer than the padding
        (["DD-2026-9999", "DD-2026-10000", "DD-2026-0500"], None, "DD-2026-10001"),
        # leading zeros are no value: 00007 is 7, below 0123
        (["DD-2026-00007", "DD-2026-0123"], None, "DD-2026-0124"),
        (["DD-2026-0000"], None, "DD-2026-0001"),
        (["DD-2026-000009", "DD-2026-00042", "DD-2026-0041", "DD-2026-7"], None, "DD-2026-0043"),
        # not of the pattern: letters or spaces among the digits, another year, nothing after
        (["DD-2026-12A", "DD-2026-9 9", "DD-2025-0900", "DD-2026-"], None, "DD-2026-0001"),
        # a pattern with text after the sequence, in any case
        (["P-7/a-2026", "P-12/B-2026", "P-30/A-2026"], "P-{seq}/A-{year}", "P-31/A-2026"),
        (["单12号", "单9号", "单100"], "单{seq}号", "单13号"),
    ],
)
def test_suggested_number_is_one_past_the_highest_sequence_by_value(
    db: Database, numbers: list[str], pattern: str | None, suggested: str
) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        for number in numbers:
            new_order(session, sales, customer, number=number)
        kwargs = {} if pattern is None else {"pattern": pattern}
        assert suggest_order_number(session, today=ON, **kwargs) == suggested


def test_a_suggestion_looks_past_numbers_not_of_the_pattern_that_sort_above(
    db: Database,
) -> None:
    """More numbers of the same length than one read takes sort above the highest of the
    pattern ("dd-2026-z..." after "dd-2026-0..."): the suggestion reads on below them."""
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        for i in range(25):
            new_order(session, sales, customer, number=f"DD-2026-Z{i:03d}")
        new_order(session, sales, customer, number="DD-2026-0005")
        assert suggest_order_number(session, today=ON) == "DD-2026-0006"


def test_deal_and_contract_must_be_the_customers_own(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        other = make_customer(session, owner=sales)
        deal = create_deal(
            session, actor=sales, data=DealCreate(customer_id=pk(other), title="T", stage="lead")
        )
        contract = create_contract(
            session,
            actor=sales,
            data=ContractCreate(customer_id=pk(other), number="HT-1", title="T"),
        )
        with pytest.raises(NotFound):
            new_order(session, sales, customer, deal_id=deal.id)
        with pytest.raises(NotFound):
            new_order(session, sales, customer, contract_id=contract.id)
        linked = new_order(session, sales, other, deal_id=deal.id, contract_id=contract.id)
    assert (linked.deal_id, linked.contract_id) == (deal.id, contract.id)


def test_manager_records_an_order_for_the_salesperson(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        order = new_order(session, team.manager_a, make_customer(session, owner=team.sales_a))
    assert (order.owner_id, order.created_by_id) == (team.sales_a.id, team.manager_a.id)


def test_order_of_another_salespersons_customer_is_not_found(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        with pytest.raises(NotFound):
            new_order(session, team.sales_a, make_customer(session, owner=team.sales_b))


# --- status -----------------------------------------------------------------------------------


def test_order_moves_through_every_status_and_keeps_its_history(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        order = new_order(session, team.sales_a, make_customer(session, owner=team.sales_a))
        steps = [
            (team.sales_a, OrderStatus.CONFIRMED),
            (team.manager_a, OrderStatus.SHIPPED),
            (team.sales_a, OrderStatus.DELIVERED),
            (team.admin, OrderStatus.PAID),
        ]
        for actor, status in steps:
            advance_order(session, actor=actor, order_id=order_id(order), status=status)
        again = advance_order(
            session, actor=team.sales_a, order_id=order_id(order), status=OrderStatus.PAID
        )
        view = get_order_view(session, actor=team.sales_a, order_id=order_id(order))
        audit = list_audit(session, entity_type="order", entity_id=order_id(order))
    assert again.status == "paid"
    assert [(m.from_status, m.to_status, m.changed_by) for m in view.moves] == [
        (None, "ordered", team.sales_a.display_name),
        ("ordered", "confirmed", team.sales_a.display_name),
        ("confirmed", "shipped", team.manager_a.display_name),
        ("shipped", "delivered", team.sales_a.display_name),
        ("delivered", "paid", team.admin.display_name),
    ]
    assert [e.changes.get("status") for e in audit][:2] == [
        ["delivered", "paid"],
        ["shipped", "delivered"],
    ]
    assert len(audit) == 5  # the repeated press recorded nothing


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), OrderStatus.SHIPPED),  # a skipped step
        ((), OrderStatus.PAID),
        ((OrderStatus.CONFIRMED, OrderStatus.SHIPPED), OrderStatus.CONFIRMED),  # a step back
        ((), OrderStatus.ORDERED),
    ],
)
def test_a_move_the_status_does_not_allow_is_refused(
    db: Database, path: tuple[OrderStatus, ...], refused: OrderStatus
) -> None:
    with db.session() as session:
        sales = make_member(session)
        order = new_order(session, sales, make_customer(session, owner=sales))
        for status in path:
            advance_order(session, actor=sales, order_id=order_id(order), status=status)
        if refused == OrderStatus.ORDERED:  # cancelled: nothing moves it on
            cancel_order(session, actor=sales, order_id=order_id(order), reason="no budget")
            refused = OrderStatus.CONFIRMED
        with pytest.raises(TransitionRefused):
            advance_order(session, actor=sales, order_id=order_id(order), status=refused)


def test_cancel_needs_a_reason_and_is_refused_once_paid(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        order = new_order(session, sales, customer)
        with pytest.raises(ValueError, match="reason"):
            cancel_order(session, actor=sales, order_id=order_id(order), reason=" ")
        cancel_order(session, actor=sales, order_id=order_id(order), reason=" no budget ")
        cancel_order(session, actor=sales, order_id=order_id(order), reason="again")
        paid = new_order(session, sales, customer, status=OrderStatus.PAID)
        with pytest.raises(TransitionRefused):
            cancel_order(session, actor=sales, order_id=order_id(paid), reason="late")
        delivered = new_order(session, sales, customer, status=OrderStatus.DELIVERED)
        cancel_order(session, actor=sales, order_id=order_id(delivered), reason="returned")
        moves = session.exec(
            select(OrderStatusChange.to_status, OrderStatusChange.comment)
            .where(OrderStatusChange.order_id == order.id)
            .order_by(col(OrderStatusChange.id))
        ).all()
        totals = orders_total(session, actor=sales, customer_id=pk(customer))
    assert (order.status, order.cancel_reason) == ("cancelled", "no budget")
    assert moves == [("ordered", None), ("cancelled", "no budget")]
    assert delivered.status == "cancelled"
    assert totals == {"CNY": Decimal("60305.00")}  # only the paid one counts


# --- access -----------------------------------------------------------------------------------


def test_require_order_returns_the_one_asked_for_to_its_owner_manager_and_admin(
    db: Database,
) -> None:
    with db.session() as session:
        team = make_team(session)
        orders = [
            order_id(new_order(session, team.sales_a, make_customer(session, owner=team.sales_a)))
            for _ in range(3)
        ]
        for actor in (team.sales_a, team.manager_a, team.admin):
            for wanted in reversed(orders):
                assert require_order(session, actor=actor, order_id=wanted).id == wanted


def _order_out_of_reach(session: Session, team: Team, case: str) -> int:
    own = make_customer(session, owner=team.sales_a)
    visible = order_id(new_order(session, team.sales_a, own))
    if case == "missing":
        return visible + 1000
    order = new_order(session, team.sales_a, own)
    if case == "deleted":
        order.deleted_at = utcnow()
    elif case == "of_deleted_customer":
        own.deleted_at = utcnow()
    elif case == "others_order":  # the customer is in scope, the order's owner is not
        order.owner_id = pk(team.sales_b)
    elif case == "on_others_customer":  # the order's owner is in scope, the customer is not
        own.owner_id = pk(team.sales_b)
    session.flush()
    return order_id(order)


@pytest.mark.parametrize(
    "case", ["missing", "deleted", "of_deleted_customer", "others_order", "on_others_customer"]
)
def test_require_order_raises_not_found_when_the_order_or_its_customer_is_out_of_reach(
    db: Database, case: str
) -> None:
    """Exactly the deal's rule: the order and its customer alive, both owners in scope."""
    with db.session() as session:
        team = make_team(session)
        wanted = _order_out_of_reach(session, team, case)
        with pytest.raises(NotFound):
            require_order(session, actor=team.sales_a, order_id=wanted)
        for actor in (team.manager_b, team.sales_b, team.loner):
            with pytest.raises(NotFound):
                require_order(session, actor=actor, order_id=wanted)


@pytest.mark.parametrize("move", ["advance", "cancel", "delete", "view"])
def test_every_change_checks_access(db: Database, move: str) -> None:
    with db.session() as session:
        team = make_team(session)
        order = new_order(session, team.sales_b, make_customer(session, owner=team.sales_b))
        call = {
            "advance": lambda: advance_order(
                session, actor=team.sales_a, order_id=order_id(order), status=OrderStatus.CONFIRMED
            ),
            "cancel": lambda: cancel_order(
                session, actor=team.sales_a, order_id=order_id(order), reason="x"
            ),
            "delete": lambda: archive_order(session, actor=team.sales_a, order_id=order_id(order)),
            "view": lambda: get_order_view(session, actor=team.sales_a, order_id=order_id(order)),
        }[move]
        with pytest.raises(NotFound):
            call()
        assert session.get_one(Order, order_id(order)).status == "ordered"


# --- the customer's list, delete and restore, hand-over ---------------------------------------


def test_list_orders_latest_first_a_page_at_a_time(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        days = [date(2026, 1, d) for d in (5, 9, 1, 9)]
        made = [new_order(session, team.sales_a, customer, ordered_on=d) for d in days]
        archive_order(session, actor=team.sales_a, order_id=order_id(made[2]))
        page = list_orders(session, actor=team.sales_a, customer_id=pk(customer), limit=2)
        rest = list_orders(
            session, actor=team.sales_a, customer_id=pk(customer), limit=2, offset=2
        )
        count = count_orders(session, actor=team.sales_a, customer_id=pk(customer))
        with pytest.raises(NotFound):
            list_orders(session, actor=team.sales_b, customer_id=pk(customer))
    assert [o.id for o in page + rest] == [made[3].id, made[1].id, made[0].id]
    assert count == 3


def test_deleted_order_is_gone_until_an_admin_restores_it(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.sales_a, customer)
        archive_order(session, actor=team.sales_a, order_id=order_id(order))
        with pytest.raises(NotFound):
            require_order(session, actor=team.sales_a, order_id=order_id(order))
        for actor in (team.sales_a, team.manager_a, team.manager_b):
            with pytest.raises(NotFound):
                restore_order(session, actor=actor, order_id=order_id(order))
        restore_order(session, actor=team.admin, order_id=order_id(order))
        with pytest.raises(NotFound):  # not deleted any more
            restore_order(session, actor=team.admin, order_id=order_id(order))
        found = require_order(session, actor=team.sales_a, order_id=order_id(order))
        actions = [
            e.action for e in list_audit(session, entity_type="order", entity_id=order_id(order))
        ]
    assert found.deleted_at is None
    assert actions == ["restore", "delete", "create"]


def test_orders_hide_and_come_back_with_their_customer(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.sales_a, customer)
        archive_customer(session, actor=team.sales_a, customer_id=pk(customer))
        with pytest.raises(NotFound):
            require_order(session, actor=team.admin, order_id=order_id(order))
        restore_customer(session, actor=team.admin, customer_id=pk(customer))
        assert require_order(session, actor=team.sales_a, order_id=order_id(order)).id == order.id


def test_reassign_hands_the_orders_to_the_new_owner(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.sales_a, customer)
        reassign_customer(
            session, actor=team.admin, customer_id=pk(customer), new_owner_id=pk(team.sales_b)
        )
        with pytest.raises(NotFound):
            require_order(session, actor=team.sales_a, order_id=order_id(order))
        moved = require_order(session, actor=team.sales_b, order_id=order_id(order))
        line = session.exec(select(OrderLine).where(OrderLine.order_id == order.id)).first()
    assert moved.owner_id == team.sales_b.id
    assert line is not None


# --- the delivery reminder --------------------------------------------------------------------


def delivery_reminders(session: Session, order: Order) -> list[Reminder]:
    return list(session.exec(select(Reminder).where(Reminder.order_id == order.id)))


def test_promised_delivery_reminds_the_owner_that_day_in_their_timezone(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        team.sales_a.timezone = "Asia/Shanghai"
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.manager_a, customer, delivery_due_on=date(2026, 12, 20))
        [reminder] = delivery_reminders(session, order)
        undated = new_order(session, team.sales_a, customer)
        paid = new_order(
            session, team.sales_a, customer, delivery_due_on=ON, status=OrderStatus.PAID
        )
        none = delivery_reminders(session, undated) + delivery_reminders(session, paid)
    assert (reminder.member_id, reminder.customer_id) == (team.sales_a.id, customer.id)
    assert (reminder.kind, reminder.status, reminder.exact_time) == ("delivery", "pending", False)
    assert reminder.due_at == datetime(2026, 12, 19, 16, tzinfo=UTC)  # 20 Dec 00:00 in Shanghai
    assert reminder.text == "DD-2026-0001: 50 × X2 @ 1200 = 60000.00, 10 × cable @ 30.5 = 305.00"
    assert none == []


@pytest.mark.parametrize(
    ("change", "open_after"),
    [
        ("confirm", True),
        ("deliver", False),
        ("cancel", False),
        ("delete", False),
    ],
)
def test_delivery_reminder_is_closed_once_delivered_cancelled_or_deleted(
    db: Database, change: str, open_after: bool
) -> None:
    with db.session() as session:
        sales = make_member(session)
        order = new_order(session, sales, make_customer(session, owner=sales), delivery_due_on=ON)
        oid = order_id(order)
        if change == "deliver":
            for status in FORWARD_STEPS[:3]:
                advance_order(session, actor=sales, order_id=oid, status=status)
        elif change == "confirm":
            advance_order(session, actor=sales, order_id=oid, status=OrderStatus.CONFIRMED)
        elif change == "cancel":
            cancel_order(session, actor=sales, order_id=oid, reason="no budget")
        else:
            archive_order(session, actor=sales, order_id=oid)
        [reminder] = delivery_reminders(session, order)
    assert (reminder.status == "pending") is open_after


def test_restored_order_is_reminded_of_again(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        order = new_order(
            session, team.sales_a, make_customer(session, owner=team.sales_a), delivery_due_on=ON
        )
        archive_order(session, actor=team.sales_a, order_id=order_id(order))
        restore_order(session, actor=team.admin, order_id=order_id(order))
        [reminder] = delivery_reminders(session, order)
    assert (reminder.status, reminder.done_at) == ("pending", None)


def test_delivery_reminder_goes_with_the_customer_to_its_new_owner(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        order = new_order(session, team.sales_a, customer, delivery_due_on=ON)
        reassign_customer(
            session, actor=team.admin, customer_id=pk(customer), new_owner_id=pk(team.sales_b)
        )
        [reminder] = delivery_reminders(session, order)
    assert reminder.member_id == team.sales_b.id


def test_delivery_reminder_is_claimed_once(db: Database) -> None:
    with db.session() as session:
        sales = make_member(session)
        order = new_order(session, sales, make_customer(session, owner=sales), delivery_due_on=ON)
        at = datetime(2026, 12, 6, 12, tzinfo=UTC)
        lease = timedelta(minutes=1)
        first = claim_due(session, now=at, worker="a", limit=10, lease=lease)
        second = claim_due(session, now=at, worker="b", limit=10, lease=lease)
        [reminder] = delivery_reminders(session, order)
    assert [r.id for r in first] == [reminder.id]
    assert second == []


def test_overdue_delivery_is_on_the_agenda_and_in_the_managers_digest(db: Database) -> None:
    with db.session() as session:
        team = make_team(session)
        customer = make_customer(session, owner=team.sales_a)
        late = new_order(session, team.sales_a, customer, delivery_due_on=date(2026, 12, 8))
        made = new_order(session, team.sales_a, customer, delivery_due_on=date(2026, 12, 8))
        for status in FORWARD_STEPS[:3]:
            advance_order(session, actor=team.sales_a, order_id=order_id(made), status=status)
        until = datetime(2026, 12, 11, tzinfo=UTC)
        agenda = get_agenda(
            session,
            actor=team.sales_a,
            first=date(2026, 12, 10),
            last=date(2026, 12, 10),
            until=until,
        )
        digest = team_digest(
            session,
            recipient=team.manager_a,
            since=until - timedelta(days=1),
            until=until,
            today=date(2026, 12, 10),
            stale_days=14,
        )
    assert [item.text for item in agenda.follow_ups] == [
        f"{late.number}: 50 × X2 @ 1200 = 60000.00, 10 × cable @ 30.5 = 305.00"
    ]
    [line] = digest.members
    assert line.overdue_deliveries == 1


# --- editing ----------------------------------------------------------------------------------


def test_update_order_checks_the_edit_as_a_new_order_and_the_delivery_rule(db: Database) -> None:
    today = utcnow().date()
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        order = new_order(session, sales, customer)
        oid = order_id(order)
        with pytest.raises(EditRefused) as past:
            update_order(
                session,
                actor=sales,
                order_id=oid,
                changes={"delivery_due_on": today - timedelta(days=1)},
                today=today,
            )
        with pytest.raises(EditRefused) as total:
            update_order(
                session, actor=sales, order_id=oid, changes={"total": Decimal(5)}, today=today
            )
        with pytest.raises(ValueError, match="not editable"):
            update_order(session, actor=sales, order_id=oid, changes={"status": "x"}, today=today)
        other = make_customer(session, owner=sales)
        deal = create_deal(
            session,
            actor=sales,
            data=DealCreate(customer_id=pk(other), title="Not this one", stage="lead"),
        )
        with pytest.raises(NotFound):
            update_order(
                session, actor=sales, order_id=oid, changes={"deal_id": deal.id}, today=today
            )
        same = update_order(
            session, actor=sales, order_id=oid, changes={"currency": "CNY"}, today=today
        )
        audit = list_audit(session, entity_type="order", entity_id=oid)
        typed = update_order(
            session,
            actor=sales,
            order_id=oid,
            changes={"lines": (OrderLineCreate("X2"),), "total": Decimal(7), "currency": "USD"},
            today=today,
        )
        lines = session.exec(select(OrderLine).where(col(OrderLine.order_id) == oid)).all()
    assert (past.value.field, total.value.field) == ("delivery_due_on", "total")
    assert same.total == order.total
    assert [a.action for a in audit] == ["create"]
    assert (typed.total, typed.currency) == (Decimal("7.00"), "USD")
    assert [(ln.product, ln.amount) for ln in lines] == [("X2", None)]


def test_the_chats_edit_leaves_paid_and_cancelled_orders_alone(db: Database) -> None:
    today = utcnow().date()
    with db.session() as session:
        sales = make_member(session)
        customer = make_customer(session, owner=sales)
        paid = new_order(session, sales, customer, status=OrderStatus.PAID)
        open_one = new_order(session, sales, customer)
        cancelled = new_order(session, sales, customer)
        cancel_order(session, actor=sales, order_id=order_id(cancelled), reason="gone")
        for closed in (paid, cancelled):
            with pytest.raises(EditRefused) as refused:
                update_order(
                    session,
                    actor=sales,
                    order_id=order_id(closed),
                    changes={"currency": "USD"},
                    today=today,
                    open_only=True,
                )
            assert refused.value.field == "status"
        api = update_order(  # the API still may: an integration fixes a paid order's currency
            session, actor=sales, order_id=order_id(paid), changes={"currency": "USD"}, today=today
        )
        chat = update_order(
            session,
            actor=sales,
            order_id=order_id(open_one),
            changes={"currency": "USD"},
            today=today,
            open_only=True,
        )
        assert (api.currency, chat.currency) == ("USD", "USD")
