"""`/notes` and `/reminders` through the API: notes scoped through their customer with the
note flow's rules and follow-up; reminders personal, snoozed and done as in the chat."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select

from storage.audit import list_audit
from storage.interactions import list_recent_interactions
from storage.models import Customer, Interaction, Reminder, utcnow
from storage.reminders import list_pending_reminders
from tests.api.conftest import Api


def note(team: Api, who: str, customer_id: int, **body: Any) -> dict[str, Any]:
    sent = {"customer_id": customer_id, "kind": "visit", "summary": "Met the buyer", **body}
    made = team.post("/notes", team.tokens[who], json=sent)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_notes_are_seen_by_whoever_sees_the_customer(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    made = note(team, "manager", customer_id)
    assert made["owner_id"] == team.members["manager"].id
    for name in ("sam", "manager", "admin"):
        chat = team.db.read_sync(
            list_recent_interactions, actor=team.members[name], customer_id=customer_id
        )
        listed = team.get(f"/notes?customer_id={customer_id}", team.tokens[name]).json()
        assert [n["id"] for n in listed["items"]] == [n.id for n in chat], name
    for name in ("sue", "solo"):
        assert team.get("/notes", team.tokens[name]).json()["items"] == []
        assert team.get(f"/notes/{made['id']}", team.tokens[name]).status_code == 404


def test_note_moves_last_contact_and_sets_a_follow_up(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    happened = utcnow() - timedelta(hours=2)
    due = utcnow() + timedelta(days=2)
    note(
        team,
        "sam",
        customer_id,
        happened_at=happened.isoformat(),
        follow_up_at=due.isoformat(),
        outcome="wants a quote",
    )
    customer = team.db.read_sync(lambda s: s.get_one(Customer, customer_id))
    assert customer.last_contact_at == happened
    reminders = team.db.read_sync(list_pending_reminders, actor=team.members["sam"])
    assert [(r.customer_id, r.due_at, r.text) for r in reminders] == [
        (customer_id, due, "Met the buyer")
    ]


def test_note_refuses_bad_kind_empty_summary_and_naive_time(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    token = team.tokens["sam"]
    base = {"customer_id": customer_id, "kind": "visit", "summary": "x"}
    for field, change in (
        ("kind", {"kind": "telepathy"}),
        ("summary", {"summary": "  "}),
        ("happened_at", {"happened_at": "2026-01-01T10:00:00"}),
        ("longitude", {"latitude": 31.2}),
    ):
        refused = team.post("/notes", token, json={**base, **change})
        assert refused.status_code == 422, field
        assert refused.json()["errors"][0]["field"] == field
    assert team.db.read_sync(lambda s: s.exec(select(Interaction)).all()) == []


def test_note_patch_and_delete_are_audited(team: Api) -> None:
    made = note(team, "sam", team.customer("sam", "Li Na"))
    path, token = f"/notes/{made['id']}", team.tokens["sam"]
    changed = team.patch(path, token, json={"kind": "call", "outcome": None})
    assert changed.status_code == 200
    assert changed.json()["kind"] == "call"
    assert team.delete(path, token).status_code == 204
    assert team.get(path, token).status_code == 404
    audit = team.db.read_sync(list_audit, entity_type="interaction", entity_id=made["id"])
    assert [a.action for a in audit] == ["delete", "update", "create"]


def test_reminders_are_personal(team: Api) -> None:
    due = (utcnow() + timedelta(days=1)).isoformat()
    made = team.post("/reminders", team.tokens["sam"], json={"text": "Call Li", "due_at": due})
    assert made.status_code == 201, made.text
    path = f"/reminders/{made.json()['id']}"
    assert team.get(path, team.tokens["sam"]).status_code == 200
    for name in ("manager", "admin", "sue"):
        assert team.get(path, team.tokens[name]).status_code == 404
        assert team.get("/reminders", team.tokens[name]).json()["items"] == []
        assert team.patch(path, team.tokens[name], json={"status": "done"}).status_code == 404
    chat = team.db.read_sync(list_pending_reminders, actor=team.members["sam"])
    listed = team.get("/reminders", team.tokens["sam"]).json()["items"]
    assert [r["id"] for r in listed] == [r.id for r in chat]


def test_reminder_about_a_foreign_customer_is_404(team: Api) -> None:
    foreign = team.customer("sue", "Li Na")
    due = (utcnow() + timedelta(days=1)).isoformat()
    refused = team.post(
        "/reminders", team.tokens["sam"], json={"text": "x", "due_at": due, "customer_id": foreign}
    )
    assert refused.status_code == 404
    assert team.db.read_sync(lambda s: s.exec(select(Reminder)).all()) == []


def test_snooze_done_and_delete_as_done(team: Api) -> None:
    token = team.tokens["sam"]
    due = utcnow() + timedelta(days=1)
    made = team.post("/reminders", token, json={"text": "Call Li", "due_at": due.isoformat()})
    path = f"/reminders/{made.json()['id']}"
    later = due + timedelta(days=3)
    snoozed = team.patch(path, token, json={"due_at": later.isoformat()})
    assert snoozed.status_code == 200
    assert snoozed.json()["status"] == "pending"
    done = team.patch(path, token, json={"status": "done"})
    assert done.json()["status"] == "done"
    assert team.get("/reminders", token).json()["items"] == []
    assert len(team.get("/reminders?status=done", token).json()["items"]) == 1
    second = team.post("/reminders", token, json={"text": "Again", "due_at": due.isoformat()})
    assert team.delete(f"/reminders/{second.json()['id']}", token).status_code == 204
    assert team.get(f"/reminders/{second.json()['id']}", token).json()["status"] == "done"
