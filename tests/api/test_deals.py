"""`/deals` through the API: scope as the chat's pipeline lists, the deal flow's parsers, stage
moves with their history, soft delete."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from storage.audit import list_audit
from storage.deals import CLOSED_STAGES, list_open_deals
from storage.models import Deal
from tests.api.conftest import Api


def deal(team: Api, owner: str, customer_id: int, **body: Any) -> dict[str, Any]:
    made = team.post(
        "/deals",
        team.tokens[owner],
        json={"customer_id": customer_id, "title": "50 units", **body},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_each_role_sees_the_deals_the_chat_shows(team: Api) -> None:
    for name in ("admin", "manager", "sam", "sue", "solo"):
        deal(team, name, team.customer(name, f"Customer of {name}"))
    for name in ("admin", "manager", "sam", "sue", "solo"):
        chat = team.db.read_sync(list_open_deals, actor=team.members[name], limit=100)
        listed = team.get("/deals", team.tokens[name]).json()["items"]
        open_ids = {d["id"] for d in listed if d["stage"] not in CLOSED_STAGES}
        assert open_ids == {d.id for d in chat}, name
        assert len(listed) == len(chat), name


def test_create_reads_amounts_as_the_chat_and_records_the_first_stage(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    made = deal(team, "sam", customer_id, amount="50k", probability=60, budget="$3,500")
    assert (made["amount"], made["currency"]) == ("50000.00", "CNY")
    assert (made["budget"], made["budget_currency"]) == ("3500.00", "USD")
    assert made["stage"] == "lead"
    assert [(m["from_stage"], m["to_stage"]) for m in made["stage_history"]] == [(None, "lead")]
    audit = team.db.read_sync(list_audit, entity_type="deal", entity_id=made["id"])
    assert [(a.action, a.actor_id) for a in audit] == [("create", team.members["sam"].id)]


def test_create_refuses_bad_values_naming_the_field(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    token = team.tokens["sam"]
    cases = {
        "amount": {"amount": "-5"},
        "probability": {"probability": 150},
        "stage": {"stage": "dreaming"},
        "title": {"title": "   "},
        "currency": {"amount": "5", "currency": "dollars"},
    }
    for field, body in cases.items():
        refused = team.post(
            "/deals", token, json={"customer_id": customer_id, "title": "T", **body}
        )
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["errors"][0]["field"] == field
    assert team.db.read_sync(lambda s: s.exec(select(Deal)).all()) == []


def test_deal_for_a_customer_outside_scope_is_404(team: Api) -> None:
    foreign = team.customer("sue", "Li Na")
    refused = team.post("/deals", team.tokens["sam"], json={"customer_id": foreign, "title": "T"})
    assert refused.status_code == 404


def test_stage_moves_close_reopen_and_refuse_closed_to_closed(team: Api) -> None:
    made = deal(team, "sam", team.customer("sam", "Li Na"))
    path, token = f"/deals/{made['id']}", team.tokens["sam"]
    won = team.patch(path, token, json={"stage": "won", "close_reason": "best price"})
    assert won.status_code == 200, won.text
    assert won.json()["closed_at"] is not None
    assert won.json()["close_reason"] == "best price"
    assert team.patch(path, token, json={"stage": "lost"}).status_code == 409
    reopened = team.patch(path, token, json={"stage": "proposal"})
    assert reopened.status_code == 200
    body = reopened.json()
    assert body["stage"] == "proposal"
    assert body["closed_at"] is None
    assert [m["to_stage"] for m in body["stage_history"]] == ["lead", "won", "lead", "proposal"]


def test_patch_fields_clears_and_keeps(team: Api) -> None:
    made = deal(team, "sam", team.customer("sam", "Li Na"), amount="100", probability=10)
    path, token = f"/deals/{made['id']}", team.tokens["sam"]
    changed = team.patch(path, token, json={"amount": None, "title": "Renamed"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["amount"], body["currency"], body["probability"]) == (None, None, 10)
    assert body["title"] == "Renamed"
    alone = team.patch(path, token, json={"currency": "USD"})
    assert alone.status_code == 422
    assert alone.json()["errors"][0]["field"] == "currency"


def test_delete_is_soft_and_out_of_reach(team: Api) -> None:
    made = deal(team, "sam", team.customer("sam", "Li Na"))
    path = f"/deals/{made['id']}"
    assert team.get(path, team.tokens["sue"]).status_code == 404
    assert team.delete(path, team.tokens["sue"]).status_code == 404
    assert team.delete(path, team.tokens["sam"]).status_code == 204
    assert team.get(path, team.tokens["sam"]).status_code == 404
    assert team.db.read_sync(lambda s: s.get_one(Deal, made["id"]).deleted_at) is not None


def test_filters_by_stage_and_customer(team: Api) -> None:
    first = team.customer("sam", "First")
    second = team.customer("sam", "Second")
    a = deal(team, "sam", first)
    b = deal(team, "sam", second, stage="proposal")
    token = team.tokens["sam"]
    by_stage = team.get("/deals?stage=proposal", token).json()["items"]
    assert [d["id"] for d in by_stage] == [b["id"]]
    by_customer = team.get(f"/deals?customer_id={first}", token).json()["items"]
    assert [d["id"] for d in by_customer] == [a["id"]]


def test_a_deal_left_with_another_owner_is_seen_as_the_chat_sees_it(team: Api) -> None:
    """A deal whose owner is not its customer's (left behind by an old reassign) is out of
    reach of both salespeople in the chat (`require_deal` needs both in scope): so here."""
    made = deal(team, "sam", team.customer("sam", "Li Na"))
    sue = team.members["sue"].id

    def leave_behind(session: Session) -> None:
        session.get_one(Deal, made["id"]).owner_id = sue  # type: ignore[assignment]

    team.db.run_sync(leave_behind)
    for name in ("sam", "sue", "manager"):
        chat = team.db.read_sync(list_open_deals, actor=team.members[name], limit=100)
        listed = team.get("/deals", team.tokens[name]).json()["items"]
        assert [d["id"] for d in listed] == [d.id for d in chat], name
        found = team.get(f"/deals/{made['id']}", team.tokens[name]).status_code
        assert found == (200 if chat else 404), name
