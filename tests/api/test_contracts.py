"""`/contracts` writes through the API: created as the contract flow records it (number from
the pattern, a term made an end date, status from the dates), edited and moved as the card's
Edit, Mark signed, Activate and Terminate, soft deleted; and text search on the lists of
deals, notes and contracts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from storage.audit import list_audit
from storage.models import utcnow
from tests.api.conftest import Api


def contract(team: Api, owner: str, customer_id: int, **body: Any) -> dict[str, Any]:
    made = team.post("/contracts", team.tokens[owner], json={"customer_id": customer_id, **body})
    assert made.status_code == 201, made.text
    return dict(made.json())


def field_of(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.json()["errors"][0]["field"]


def test_create_as_the_flow_records_it(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    token = team.tokens["sam"]
    made = contract(
        team,
        "sam",
        customer_id,
        title="Supply",
        amount="120000",
        signed_on="2026-01-10",
        starts_on="2026-02-01",
        term="1年",
        terms="30 days net",
    )
    year = utcnow().year
    assert made["number"] == f"HT-{year}-0001"
    assert (made["amount"], made["currency"], made["status"]) == ("120000.00", "CNY", "active")
    assert (made["ends_on"], made["renewal_notice_days"]) == ("2027-01-31", 30)
    assert made["owner_id"] == team.members["sam"].id
    audit = team.db.read_sync(list_audit, entity_type="contract", entity_id=made["id"])
    assert [a.action for a in audit] == ["create"]
    draft = contract(team, "manager", customer_id, title="Annex", number="HT-X")
    assert (draft["status"], draft["owner_id"]) == ("draft", team.members["sam"].id)
    # The same Idempotency-Key answers the first create again; a number taken is a 409.
    body = {"customer_id": customer_id, "title": "Spare parts"}
    headers = {"Idempotency-Key": "contract-1"}
    first = team.post("/contracts", token, json=body, headers=headers)
    again = team.post("/contracts", token, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    taken = team.post("/contracts", token, json={**body, "number": "HT-X"})
    assert field_of(taken) == (409, "number")
    for refused, field in (
        ({"term": "forever", "starts_on": "2026-01-01"}, "term"),
        ({"term": "12 months"}, "term"),
        ({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "ends_on"),
        ({"signed_on": (utcnow() + timedelta(days=3)).date().isoformat()}, "signed_on"),
        ({"amount": "lots"}, "amount"),
        ({"title": " "}, "title"),
    ):
        assert field_of(team.post("/contracts", token, json={**body, **refused})) == (422, field)
    # Out of scope is a 404 like missing, a deal must be the customer's, a reader may not write.
    other = team.customer("sue", "Wang Wei")
    assert team.post("/contracts", token, json={**body, "customer_id": other}).status_code == 404
    deal = team.post("/deals", team.tokens["sue"], json={"customer_id": other, "title": "Pumps"})
    wrong_deal = {**body, "deal_id": deal.json()["id"]}
    assert team.post("/contracts", team.tokens["manager"], json=wrong_deal).status_code == 404
    reader = team.token("sam", name="reader", read_only=True)
    assert team.post("/contracts", reader, json=body).status_code == 403


def test_edit_moves_and_delete_as_the_card(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    token = team.tokens["sam"]
    made = contract(team, "sam", customer_id, title="Supply", amount="¥3,500", number="HT-1")
    path = f"/contracts/{made['id']}"
    tag = team.get(path, token).headers["ETag"]
    edited = team.patch(
        path, token, json={"title": "Supply 2026", "starts_on": "2026-01-01", "term": "6 months"}
    )
    assert (edited.json()["title"], edited.json()["ends_on"]) == ("Supply 2026", "2026-06-30")
    assert edited.json()["amount"] == "3500.00"
    stale = team.patch(path, token, json={"title": "x"}, headers={"If-Match": tag})
    assert stale.status_code == 412
    assert field_of(team.patch(path, token, json={"status": "signed"})) == (422, "signed_on")
    assert field_of(team.patch(path, token, json={"status": "active"})) == (409, "status")
    signed = team.patch(path, token, json={"status": "signed", "signed_on": "2026-01-05"})
    assert (signed.json()["status"], signed.json()["signed_on"]) == ("signed", "2026-01-05")
    assert team.patch(path, token, json={"status": "active"}).json()["status"] == "active"
    early = {"status": "terminated", "terminated_on": "2026-01-01"}
    assert field_of(team.patch(path, token, json=early)) == (422, "terminated_on")
    assert field_of(team.patch(path, token, json={"status": "terminated"})) == (
        422,
        "terminated_on",
    )
    ended = team.patch(
        path,
        token,
        json={**early, "terminated_on": "2026-03-01", "termination_reason": "Moved away"},
    )
    assert (ended.json()["status"], ended.json()["termination_reason"]) == (
        "terminated",
        "Moved away",
    )
    assert field_of(team.patch(path, token, json={"status": "active"})) == (409, "status")
    assert field_of(team.patch(path, token, json={"ends_on": "2025-01-01"})) == (422, "ends_on")
    assert field_of(team.patch(path, token, json={"signed_on": None})) == (422, "signed_on")
    assert team.patch(path, team.tokens["sue"], json={"title": "x"}).status_code == 404
    assert team.delete(path, team.tokens["sue"]).status_code == 404
    assert team.delete(path, token).status_code == 204
    assert team.get(path, token).status_code == 404
    audit = team.db.read_sync(list_audit, entity_type="contract", entity_id=made["id"])
    assert [a.action for a in audit][0] == "delete"  # newest first


def test_text_search_on_deals_notes_and_contracts(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    token = team.tokens["sam"]
    for title in ("Water pumps", "Valves"):
        team.post("/deals", token, json={"customer_id": customer_id, "title": title})
        contract(team, "sam", customer_id, title=title, terms="50% upfront")
    note = {"customer_id": customer_id, "kind": "call", "summary": "Called about PUMPS"}
    for body in (note, {**note, "summary": "Visit", "outcome": "Order of valves"}):
        assert team.post("/notes", token, json=body).status_code == 201
    for path, q, found in (
        ("/deals", "pump", ["Water pumps"]),
        ("/contracts", "valve", ["Valves"]),
        ("/contracts", "UPFRONT", ["Water pumps", "Valves"]),
        ("/notes", "pump", ["Called about PUMPS"]),
        ("/notes", "valves", ["Visit"]),
        ("/deals", "100%", []),
    ):
        items = team.get(path, token, params={"q": q}).json()["items"]
        assert [i.get("title", i.get("summary")) for i in items] == found, (path, q)
    assert team.get("/contracts", team.tokens["sue"], params={"q": "valve"}).json()["items"] == []
