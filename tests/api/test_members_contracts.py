"""`/members` and reading `/contracts` through the API: scoped as `/team` and the customer
card show them."""

from __future__ import annotations

from storage.contracts import ContractCreate, create_contract, list_contracts
from storage.members import list_members
from tests.api.conftest import Api
from tests.factories import pk


def test_members_are_what_team_shows(team: Api) -> None:
    for name in ("admin", "manager", "sam", "solo"):
        chat = team.db.read_sync(list_members, actor=team.members[name])
        listed = team.get("/members", team.tokens[name]).json()["items"]
        assert sorted(m["id"] for m in listed) == sorted(m.id for m in chat), name
    sue = team.members["sue"].id
    assert team.get(f"/members/{sue}", team.tokens["sam"]).status_code == 404
    assert team.get(f"/members/{sue}", team.tokens["manager"]).json()["role"] == "sales"


def test_contracts_follow_their_customer(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    sam = team.members["sam"]
    data = ContractCreate(customer_id=customer_id, number="HT-2026-0001", title="Supply")
    contract = team.db.run_sync(lambda s: create_contract(s, actor=sam, data=data))
    for name in ("sam", "manager", "admin"):
        chat = team.db.read_sync(list_contracts, actor=team.members[name], customer_id=customer_id)
        listed = team.get("/contracts", team.tokens[name]).json()["items"]
        assert [c["id"] for c in listed] == [c.id for c in chat], name
    got = team.get(f"/contracts/{pk(contract)}", team.tokens["manager"])
    assert got.json()["number"] == "HT-2026-0001"
    assert got.json()["status"] == "draft"
    for name in ("sue", "solo"):
        assert team.get("/contracts", team.tokens[name]).json()["items"] == []
        assert team.get(f"/contracts/{pk(contract)}", team.tokens[name]).status_code == 404
    assert team.get("/contracts?status=active", team.tokens["sam"]).json()["items"] == []
    assert team.post("/contracts", team.tokens["sam"], json={}).status_code == 422
