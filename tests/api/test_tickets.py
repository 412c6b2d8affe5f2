"""`/tickets` through the API: the ticket card's scope (the deal's rule plus the assignee's
door), creation as the ticket flow records it, moves, reopen, reassign and edits under
If-Match (with history, comments and audit), filters, text search and cursor, soft delete."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from storage.audit import list_audit
from storage.models import Reminder, Ticket, utcnow
from storage.reminders import NoticeKind, ReminderKind, ReminderStatus, TicketNotice, describe
from storage.webhook_models import WebhookEvent
from storage.webhooks import create_endpoint
from tests.api.conftest import Api


def ticket(team: Api, who: str, customer_id: int, **body: Any) -> dict[str, Any]:
    sent = {"customer_id": customer_id, "type": "repair", "description": "Pump leaks", **body}
    made = team.post("/tickets", team.tokens[who], json=sent)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_create_numbers_assigns_the_owner_by_sla_and_replays_its_key(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    key = {"Idempotency-Key": "t-1"}
    sent = {"customer_id": customer_id, "type": "repair", "description": "Pump leaks"}
    first = team.post("/tickets", team.tokens["manager"], json=sent, headers=key)
    again = team.post("/tickets", team.tokens["manager"], json=sent, headers=key)
    made = first.json()
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, made)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (made["number"][:3], made["status"]) == ("GD-", "open")
    assert (made["assignee_id"], made["owner_id"]) == (team.members["sam"].id,) * 2
    due = datetime.fromisoformat(made["due_at"])
    assert timedelta(days=3) - timedelta(minutes=1) < due - utcnow() <= timedelta(days=3)
    assert [(m["from_status"], m["to_status"]) for m in made["status_history"]] == [(None, "open")]
    audit = team.db.read_sync(list_audit, entity_type="ticket", entity_id=made["id"])
    assert [a.action for a in audit] == ["create"]
    planned = select(Reminder.member_id).where(col(Reminder.kind) == ReminderKind.TICKET)
    assert team.db.read_sync(lambda s: s.exec(planned).all()) == [team.members["sam"].id] * 2
    assert len(team.db.read_sync(lambda s: s.exec(select(Ticket)).all())) == 1


def test_create_refuses_naming_the_field_and_hides_what_is_out_of_scope(team: Api) -> None:
    mine, theirs = team.customer("sam", "Li Na"), team.customer("solo", "Wang Wei")
    past = (utcnow() - timedelta(hours=1)).isoformat()
    cases: dict[str, dict[str, Any]] = {
        "type": {"type": "sabotage"},
        "description": {"description": "   "},
        "due_at": {"due_at": past},
        "priority": {"priority": "whenever"},
    }
    for field, body in cases.items():
        sent = {"customer_id": mine, "type": "repair", "description": "x"} | body
        refused = team.post("/tickets", team.tokens["sam"], json=sent)
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field, field
    sent = {"customer_id": theirs, "type": "repair", "description": "x"}
    missing = {"customer_id": 999_999, "type": "repair", "description": "x"}
    hidden = team.post("/tickets", team.tokens["sam"], json=sent)
    absent = team.post("/tickets", team.tokens["sam"], json=missing)
    assert (hidden.status_code, hidden.json()) == (absent.status_code, absent.json())
    assert hidden.status_code == 404
    foreign = {"customer_id": mine, "type": "repair", "description": "x", "assignee_id": 999}
    assert team.post("/tickets", team.tokens["sam"], json=foreign).status_code == 404


def test_scope_is_the_deal_rule_plus_the_assignee_of_that_ticket_only(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    given = ticket(team, "admin", customer_id, assignee_id=team.members["solo"].id)
    kept = ticket(team, "sam", customer_id)
    listed = {
        name: {t["id"] for t in team.get("/tickets", team.tokens[name]).json()["items"]}
        for name in team.tokens
    }
    assert listed == {
        "admin": {given["id"], kept["id"]},
        "manager": {given["id"], kept["id"]},
        "sam": {given["id"], kept["id"]},
        "sue": set(),
        "solo": {given["id"]},
    }
    hidden = team.get(f"/tickets/{kept['id']}", team.tokens["solo"])
    absent = team.get("/tickets/999999", team.tokens["solo"])
    assert (hidden.status_code, hidden.json()) == (404, absent.json())
    assert team.get(f"/customers/{customer_id}", team.tokens["solo"]).status_code == 404
    assert team.get(f"/tickets/{given['id']}", team.tokens["solo"]).status_code == 200
    patched = team.patch(f"/tickets/{kept['id']}", team.tokens["solo"], json={"priority": "low"})
    deleted = team.delete(f"/tickets/{kept['id']}", team.tokens["sue"])
    assert (patched.status_code, deleted.status_code) == (404, 404)


def test_filters_text_search_and_cursor(team: Api) -> None:
    first, second = team.customer("sam", "Li Na"), team.customer("sue", "Wang Wei")
    urgent = ticket(team, "sam", first, priority="urgent", description="Valve broke")
    question = ticket(team, "sue", second, type="question", description="Invoice copy?")
    late = ticket(team, "manager", first, assignee_id=team.members["manager"].id)

    def late_by_a_day(session: Any) -> None:
        row = session.get(Ticket, late["id"])
        row.due_at = utcnow() - timedelta(days=1)
        session.add(row)

    team.db.run_sync(late_by_a_day)
    token = team.tokens["manager"]

    def found(**params: Any) -> list[int]:
        answer = team.get("/tickets", token, params=params)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()["items"]]

    assert found(priority="urgent") == [urgent["id"]]
    assert found(type="question") == [question["id"]]
    assert found(customer_id=second) == [question["id"]]
    assert found(owner_id=team.members["sue"].id) == [question["id"]]
    assert found(assignee_id=team.members["manager"].id) == [late["id"]]
    assert found(overdue="true") == [late["id"]]
    assert found(q="valve") == [urgent["id"]]
    assert found(q=urgent["number"].lower()) == [urgent["id"]]
    assert found(status="resolved") == []
    since = team.get(f"/tickets/{question['id']}", token).json()["updated_at"]
    assert set(found(updated_since=since)) >= {question["id"], late["id"]}
    pages: list[list[int]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = team.get("/tickets", token, params=params).json()
        pages.append([t["id"] for t in page["items"]])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert pages == [[urgent["id"], question["id"]], [late["id"]]]


def test_patch_moves_reopens_reassigns_and_edits_under_if_match(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    events = ["ticket.updated", "ticket.status_changed", "ticket.resolved", "ticket.assigned"]
    team.db.run_sync(create_endpoint, url="http://127.0.0.1:9/hook", events=events)
    made = ticket(team, "sam", customer_id)
    path, token = f"/tickets/{made['id']}", team.tokens["manager"]
    etag = team.get(path, token).headers["ETag"]
    due = (utcnow() + timedelta(hours=6)).astimezone(UTC).isoformat()
    edited = team.patch(
        path,
        token,
        json={"priority": "high", "due_at": due, "description": "Pump leaks badly"},
        headers={"If-Match": etag},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["priority"], edited.json()["description"]) == (
        "high",
        "Pump leaks badly",
    )
    stale = team.patch(path, token, json={"priority": "low"}, headers={"If-Match": etag})
    assert (stale.status_code, stale.headers["ETag"]) == (412, edited.headers["ETag"])
    closed = team.patch(path, token, json={"status": "closed"})
    assert (closed.status_code, closed.json()["errors"][0]["field"]) == (409, "status")
    moved = team.patch(path, token, json={"status": "resolved", "comment": "Seal replaced"})
    assert moved.json()["status_history"][-1]["comment"] == "Seal replaced"
    assert moved.json()["resolved_at"] is not None
    no_reason = team.patch(path, token, json={"status": "open"})
    assert (no_reason.status_code, no_reason.json()["errors"][0]["field"]) == (422, "comment")
    reopened = team.patch(path, token, json={"status": "open", "comment": "Leaks again"})
    assert reopened.json()["status"] == "open"
    noted = team.patch(path, token, json={"comment": "Technician on Monday"})
    assert [c["text"] for c in noted.json()["comments"]] == ["Technician on Monday"]
    outside = team.patch(path, token, json={"assignee_id": team.members["solo"].id})
    assert (outside.status_code, outside.json()["errors"][0]["field"]) == (422, "assignee_id")
    given = team.patch(path, token, json={"assignee_id": team.members["sue"].id})
    assert given.json()["assignee_id"] == team.members["sue"].id
    audit = team.db.read_sync(list_audit, entity_type="ticket", entity_id=made["id"])
    assert [a.action for a in audit].count("update") == 4
    in_order = select(WebhookEvent.type).order_by(col(WebhookEvent.id))
    written = team.db.read_sync(lambda s: s.exec(in_order).all())
    assert written == [
        "ticket.updated",  # priority, due time, description
        "ticket.resolved",
        "ticket.status_changed",  # the reopen
        "ticket.updated",  # the comment
        "ticket.assigned",
    ]
    assert team.delete(path, token, headers={"If-Match": given.headers["ETag"]}).status_code == 204
    assert team.get(path, token).status_code == 404
    assert team.get(path, team.tokens["admin"]).status_code == 404


def notices(team: Api) -> list[tuple[str, NoticeKind, TicketNotice | None]]:
    """Each ticket notice queued, oldest first: for whom, what, and what its message says."""
    names = {m.id: name for name, m in team.members.items()}
    rows = select(Reminder).where(col(Reminder.kind) == ReminderKind.TICKET_NOTICE)

    def read(session: Any) -> list[tuple[str, NoticeKind, TicketNotice | None]]:
        found = list(session.exec(rows.order_by(col(Reminder.id))))
        assert all(r.status == ReminderStatus.PENDING and r.exact_time for r in found)
        views = describe(session, found)
        return [(names[v.reminder.member_id], v.notice.what, v.notice) for v in views]  # type: ignore[union-attr]

    return team.db.read_sync(read)


def test_create_and_reassign_queue_one_notice_each_for_whom_the_chat_tells(team: Api) -> None:
    """The API has no bot: the notices are reminders of the change's transaction, for
    `crm-bot run` to deliver: the assignee, the manager of a new urgent ticket, the previous
    assignee of a reassign; never the actor, never twice (a replayed create, a reassign to the
    same member), and a change made before delivery does not swallow them."""
    customer_id = team.customer("sam", "Li Na")
    key = {"Idempotency-Key": "urgent-1"}
    sent = {
        "customer_id": customer_id,
        "type": "repair",
        "description": "Fire",
        "priority": "urgent",
    }
    made = team.post("/tickets", team.tokens["admin"], json=sent, headers=key).json()
    team.post("/tickets", team.tokens["admin"], json=sent, headers=key)
    number = made["number"]
    assert notices(team) == [
        ("sam", NoticeKind.ASSIGNED, TicketNotice(NoticeKind.ASSIGNED, number, "admin", "sam")),
        ("manager", NoticeKind.URGENT, TicketNotice(NoticeKind.URGENT, number, "admin", "sam")),
    ]
    path, token = f"/tickets/{made['id']}", team.tokens["manager"]
    for _ in range(2):
        team.patch(path, token, json={"assignee_id": team.members["sue"].id})
    team.patch(path, token, json={"priority": "high", "status": "resolved", "comment": "Done"})
    assert notices(team)[2:] == [
        ("sue", NoticeKind.ASSIGNED, TicketNotice(NoticeKind.ASSIGNED, number, "manager", "sue")),
        (
            "sam",
            NoticeKind.UNASSIGNED,
            TicketNotice(NoticeKind.UNASSIGNED, number, "manager", "sue"),
        ),
    ]
    own = ticket(team, "sam", customer_id)  # the assignee is the actor: nobody to tell
    team.patch(
        f"/tickets/{own['id']}", team.tokens["sam"], json={"assignee_id": team.members["sam"].id}
    )
    assert len(notices(team)) == 4
