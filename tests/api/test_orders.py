"""`/orders` through the API: the order card's scope, creation with lines as the order flow
records it, status moves as the card's buttons (with history and audit), filters and text
search, soft delete, idempotent creates and versioned moves."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from sqlmodel import select

from storage.access import NotFound
from storage.audit import list_audit
from storage.models import Order, OrderStatusChange, Reminder, utcnow
from storage.orders import list_orders
from tests.api.conftest import Api

LINES = [{"product": "Pump", "quantity": "2", "unit_price": "10.50"}, {"product": "Valve"}]


def order(team: Api, owner: str, customer_id: int, **body: Any) -> dict[str, Any]:
    made = team.post(
        "/orders", team.tokens[owner], json={"customer_id": customer_id, "lines": LINES, **body}
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_create_records_lines_total_number_and_first_status(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    made = order(team, "sam", customer_id, ordered_on="2026-03-01")
    assert [(ln["product"], ln["amount"]) for ln in made["lines"]] == [
        ("Pump", "21.00"),
        ("Valve", None),
    ]
    assert (made["total"], made["currency"], made["status"]) == ("21.00", "CNY", "ordered")
    assert made["number"] == "DD-2026-0001"
    assert [(m["from_status"], m["to_status"]) for m in made["status_history"]] == [
        (None, "ordered")
    ]
    audit = team.db.read_sync(list_audit, entity_type="order", entity_id=made["id"])
    assert [(a.action, a.actor_id) for a in audit] == [("create", team.members["sam"].id)]


def test_each_role_sees_the_orders_the_chat_shows(team: Api) -> None:
    customers = {name: team.customer(name, f"Customer of {name}") for name in team.tokens}
    for name, customer_id in customers.items():
        order(team, name, customer_id)
    for name in team.tokens:
        listed = {o["id"] for o in team.get("/orders", team.tokens[name]).json()["items"]}
        shown: set[int | None] = set()
        for customer_id in customers.values():
            with contextlib.suppress(NotFound):  # the card of a customer they do not see
                chat = team.db.read_sync(
                    list_orders, actor=team.members[name], customer_id=customer_id, limit=100
                )
                shown |= {o.id for o in chat}
        assert listed == shown, name


def test_create_refuses_bad_values_naming_the_field(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    cases: dict[str, dict[str, Any]] = {
        "lines": {"lines": []},
        "lines[0].quantity": {"lines": [{"product": "Pump", "quantity": "-1"}]},
        "lines[0].unit_price": {"lines": [{"product": "Pump", "unit_price": "lots"}]},
        "lines[0].product": {"lines": [{"product": "  "}]},
        "total": {"lines": LINES, "total": "5"},
        "delivery_due_on": {"ordered_on": "2026-03-02", "delivery_due_on": "2026-03-01"},
        "status": {"status": "cancelled"},
        "currency": {"currency": "dollars"},
    }
    for field, body in cases.items():
        sent = {"customer_id": customer_id, "lines": LINES, **body}
        refused = team.post("/orders", team.tokens["sam"], json=sent)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field, field
    assert team.db.read_sync(lambda s: s.exec(select(Order)).all()) == []


def test_a_taken_number_is_409_naming_it(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    order(team, "sam", customer_id, number="A-1")
    taken = team.post(
        "/orders",
        team.tokens["sam"],
        json={"customer_id": customer_id, "total": "5", "number": "A-1"},
    )
    assert taken.status_code == 409
    assert taken.json()["errors"][0]["field"] == "number"


def test_order_for_a_customer_outside_scope_is_404(team: Api) -> None:
    foreign = team.customer("sue", "Li Na")
    refused = team.post("/orders", team.tokens["sam"], json={"customer_id": foreign, "total": "5"})
    assert refused.status_code == 404
    made = order(team, "sue", foreign)
    assert team.get(f"/orders/{made['id']}", team.tokens["sam"]).status_code == 404
    assert team.patch(f"/orders/{made['id']}", team.tokens["sam"], json={}).status_code == 404


def test_status_moves_one_step_are_recorded_and_others_refused(team: Api) -> None:
    made = order(team, "sam", team.customer("sam", "Li Na"))
    path, token = f"/orders/{made['id']}", team.tokens["sam"]
    moved = team.patch(path, token, json={"status": "confirmed", "comment": "by phone"})
    assert moved.status_code == 200, moved.text
    history = moved.json()["status_history"]
    assert [(m["to_status"], m["comment"]) for m in history] == [
        ("ordered", None),
        ("confirmed", "by phone"),
    ]
    again = team.patch(path, token, json={"status": "confirmed"})
    assert len(again.json()["status_history"]) == 2  # a repeated press changes nothing
    skipped = team.patch(path, token, json={"status": "paid"})
    assert skipped.status_code == 409
    assert skipped.json()["errors"][0]["field"] == "status"
    audit = team.db.read_sync(list_audit, entity_type="order", entity_id=made["id"])
    assert sorted(a.action for a in audit) == ["create", "update"]


def test_cancel_needs_a_reason_and_keeps_it(team: Api) -> None:
    made = order(team, "sam", team.customer("sam", "Li Na"))
    path, token = f"/orders/{made['id']}", team.tokens["sam"]
    bare = team.patch(path, token, json={"status": "cancelled"})
    assert bare.status_code == 422
    assert bare.json()["errors"][0]["field"] == "comment"
    cancelled = team.patch(path, token, json={"status": "cancelled", "comment": "too dear"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "too dear",
    )
    assert team.patch(path, token, json={"status": "confirmed"}).status_code == 409


def test_filters_status_owner_customer_and_search(team: Api) -> None:
    first, second = team.customer("sam", "First"), team.customer("sam", "Second")
    a = order(team, "sam", first, number="PO-777")
    b = order(team, "sam", second, lines=[{"product": "Blue widget"}])
    team.patch(f"/orders/{b['id']}", team.tokens["sam"], json={"status": "confirmed"})
    c = order(team, "manager", team.customer("manager", "Third"))

    def ids(query: str, who: str = "manager") -> list[int]:
        answer = team.get(f"/orders?{query}", team.tokens[who])
        assert answer.status_code == 200, answer.text
        return [o["id"] for o in answer.json()["items"]]

    assert ids("status=confirmed") == [b["id"]]
    assert ids(f"customer_id={first}") == [a["id"]]
    assert ids(f"owner_id={team.members['manager'].id}") == [c["id"]]
    assert ids("q=po-7") == [a["id"]]
    assert ids("q=WIDGET") == [b["id"]]
    assert ids("q=%25") == []  # a LIKE wildcard is a character like any other
    assert ids("q=widget", who="sue") == []


def test_pages_follow_the_cursor(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    made = [order(team, "sam", customer_id)["id"] for _ in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = team.get(f"/orders?{query}", team.tokens["sam"]).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_delete_is_soft_and_out_of_reach(team: Api) -> None:
    made = order(team, "sam", team.customer("sam", "Li Na"))
    path = f"/orders/{made['id']}"
    assert team.delete(path, team.tokens["sue"]).status_code == 404
    assert team.delete(path, team.tokens["sam"]).status_code == 204
    assert team.get(path, team.tokens["sam"]).status_code == 404
    assert team.db.read_sync(lambda s: s.get_one(Order, made["id"]).deleted_at) is not None


def test_idempotency_key_makes_one_order(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    body = {"customer_id": customer_id, "lines": LINES}
    headers = {"Idempotency-Key": "order-1"}
    first = team.post("/orders", team.tokens["sam"], json=body, headers=headers)
    again = team.post("/orders", team.tokens["sam"], json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(team.db.read_sync(lambda s: s.exec(select(Order)).all())) == 1


def test_if_match_refuses_a_move_on_a_stale_version(team: Api) -> None:
    made = order(team, "sam", team.customer("sam", "Li Na"))
    path, token = f"/orders/{made['id']}", team.tokens["sam"]
    tag = team.get(path, token).headers["ETag"]
    assert (
        team.patch(
            path, token, json={"status": "confirmed"}, headers={"If-Match": tag}
        ).status_code
        == 200
    )
    stale = team.patch(path, token, json={"status": "shipped"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    moves = team.db.read_sync(lambda s: s.exec(select(OrderStatusChange)).all())
    assert [m.to_status for m in moves] == ["ordered", "confirmed"]


def test_patch_edits_lines_total_dates_and_links_as_a_new_order_is_checked(team: Api) -> None:
    customer_id, other_id = team.customer("sam", "Li Na"), team.customer("sam", "Wang Wei")
    made = order(team, "sam", customer_id, ordered_on="2026-03-01")
    path, token = f"/orders/{made['id']}", team.tokens["sam"]
    deal = team.post("/deals", token, json={"customer_id": customer_id, "title": "Pumps"}).json()
    theirs = team.post("/deals", token, json={"customer_id": other_id, "title": "X"}).json()
    due = (utcnow().date() + timedelta(days=10)).isoformat()
    sent = {
        "lines": [{"product": "Pump", "quantity": "3", "unit_price": "10"}],
        "ordered_on": "2026-03-02",
        "delivery_due_on": due,
        "deal_id": deal["id"],
    }
    edited = team.patch(path, token, json=sent)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert [(ln["product"], ln["amount"]) for ln in body["lines"]] == [("Pump", "30.00")]
    assert (body["total"], body["ordered_on"], body["delivery_due_on"]) == (
        "30.00",
        "2026-03-02",
        due,
    )
    assert body["deal_id"] == deal["id"]
    reminders = team.db.read_sync(
        lambda s: s.exec(select(Reminder).where(Reminder.order_id == made["id"])).all()
    )
    assert [r.due_at.date().isoformat() <= due for r in reminders] == [True]
    cases: dict[str, dict[str, Any]] = {
        "total": {"total": "5"},
        "delivery_due_on": {"delivery_due_on": "2026-03-01"},
        "ordered_on": {"ordered_on": None},
        "currency": {"currency": None},
        "lines[0].unit_price": {"lines": [{"product": "Pump", "unit_price": "$5"}]},
    }
    for field, change in cases.items():
        refused = team.patch(path, token, json=change)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field, field
    assert team.patch(path, token, json={"deal_id": theirs["id"]}).status_code == 404
    unpriced = team.patch(path, token, json={"lines": [{"product": "Valve"}], "total": "99"})
    assert (unpriced.json()["total"], unpriced.json()["lines"][0]["amount"]) == ("99.00", None)
    cleared = team.patch(path, token, json={"deal_id": None, "delivery_due_on": None})
    assert (cleared.json()["deal_id"], cleared.json()["delivery_due_on"]) == (None, None)
    audit = team.db.read_sync(list_audit, entity_type="order", entity_id=made["id"])[::-1]
    assert [a.action for a in audit] == ["create", "update", "update", "update"]
    assert set(audit[1].changes) == {"lines", "total", "ordered_on", "delivery_due_on", "deal_id"}
    assert (
        team.db.read_sync(
            lambda s: s.exec(select(Reminder).where(Reminder.order_id == made["id"])).all()
        )
        == []
    )
