"""`/customers` through the API: what each role's token sees is what the chat's lists show
them, writes go through the chat's parsers, storage calls and audit log."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sqlmodel import select

from storage.audit import list_audit
from storage.customers import recent_customers
from storage.models import Customer, CustomerPhone, utcnow
from tests.api.conftest import Api

PROBLEM = "application/problem+json"


def ids(response: object) -> set[int]:
    return {item["id"] for item in response.json()["items"]}  # type: ignore[attr-defined]


def seed(team: Api) -> dict[str, int]:
    return {
        name: team.customer(name, f"Customer of {name}")
        for name in ("admin", "manager", "sam", "sue", "solo")
    }


def test_list_shows_each_role_what_the_chat_shows(team: Api) -> None:
    seed(team)
    for name in ("admin", "manager", "sam", "sue", "solo"):
        chat = team.db.read_sync(recent_customers, actor=team.members[name], limit=100)
        listed = team.get("/customers", team.tokens[name])
        assert listed.status_code == 200
        assert ids(listed) == {c.id for c in chat}, name


def test_scopes_are_own_team_and_all(team: Api) -> None:
    made = seed(team)
    assert ids(team.get("/customers", team.tokens["sam"])) == {made["sam"]}
    assert ids(team.get("/customers", team.tokens["manager"])) == {
        made["manager"],
        made["sam"],
        made["sue"],
    }
    assert ids(team.get("/customers", team.tokens["admin"])) == set(made.values())


def test_get_outside_scope_is_404_like_a_missing_one(team: Api) -> None:
    made = seed(team)
    foreign = team.get(f"/customers/{made['sue']}", team.tokens["sam"])
    missing = team.get("/customers/999999", team.tokens["sam"])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.headers["content-type"] == PROBLEM
    assert team.get(f"/customers/{made['sue']}", team.tokens["manager"]).status_code == 200


def test_no_token_wrong_token_and_revoked_token_are_401(team: Api) -> None:
    assert team.get("/customers", None).status_code == 401
    assert team.get("/customers", "crm_not-a-token").status_code == 401
    assert team.get("/customers", team.tokens["sam"]).status_code == 200
    team.revoke("sam")
    revoked = team.get("/customers", team.tokens["sam"])
    assert revoked.status_code == 401
    assert revoked.headers["content-type"] == PROBLEM
    assert revoked.headers["www-authenticate"] == "Bearer"


def test_create_normalises_phones_and_audits_as_the_member(team: Api) -> None:
    made = team.post(
        "/customers",
        team.tokens["sam"],
        json={
            "name": "  Zhang   Wei ",
            "phones": ["138 0013 8000", "+1 650 253 0000"],
            "email": "Zhang@EXAMPLE.com",
            "tags": ["vip", "#华东"],
            "birthday": "03-05",
            "gender": "male",
        },
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["name"] == "Zhang Wei"
    assert body["phones"] == ["+8613800138000", "+16502530000"]
    assert body["email"] == "Zhang@example.com"
    assert body["tags"] == ["vip", "华东"]
    assert body["birthday"] == "03-05"
    assert body["owner_id"] == team.members["sam"].id
    assert made.headers["etag"]
    audit = team.db.read_sync(list_audit, entity_type="customer", entity_id=body["id"])
    assert [(a.action, a.actor_id) for a in audit] == [("create", team.members["sam"].id)]
    assert team.get(f"/customers/{body['id']}", team.tokens["sam"]).json() == body


def test_create_refuses_a_bad_phone_naming_the_field(team: Api) -> None:
    refused = team.post(
        "/customers", team.tokens["sam"], json={"name": "Li", "phones": ["+86 138", "12"]}
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "phones[0]"
    assert problem["errors"][0]["code"].startswith("parse.phone.")
    assert team.db.read_sync(lambda s: s.exec(select(Customer)).all()) == []


def test_create_refuses_a_name_without_letters_and_unknown_fields(team: Api) -> None:
    no_letter = team.post("/customers", team.tokens["sam"], json={"name": "123"})
    assert no_letter.json()["errors"][0] == {
        "field": "name",
        "detail": no_letter.json()["errors"][0]["detail"],
        "code": "parse.name.no_letter",
    }
    unknown = team.post("/customers", team.tokens["sam"], json={"name": "Li", "colour": "red"})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "colour"


def test_problem_detail_speaks_chinese_when_asked(team: Api) -> None:
    refused = team.post(
        "/customers",
        team.tokens["sam"],
        json={"name": "Li", "email": "not an email"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert refused.json()["errors"][0]["field"] == "email"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.json()["errors"][0]["detail"])


def test_read_only_token_cannot_write(team: Api) -> None:
    reader = team.token("sam", name="reader", read_only=True)
    assert team.get("/customers", reader).status_code == 200
    refused = team.post("/customers", reader, json={"name": "Li"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert team.db.read_sync(lambda s: s.exec(select(Customer)).all()) == []


def test_patch_changes_only_given_fields_and_audits(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na", company="Acme", email="li@acme.com")
    changed = team.patch(
        f"/customers/{customer_id}",
        team.tokens["sam"],
        json={"company": None, "phones": ["13800138000"], "tags": ["key"]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["company"] is None
    assert body["email"] == "li@acme.com"
    assert body["phones"] == ["+8613800138000"]
    assert body["tags"] == ["key"]
    audit = team.db.read_sync(list_audit, entity_type="customer", entity_id=customer_id)
    assert audit[0].action == "update"
    assert set(audit[0].changes) == {"company", "phones", "tags"}


def test_patch_of_a_foreign_customer_is_404_and_changes_nothing(team: Api) -> None:
    customer_id = team.customer("sue", "Li Na")
    refused = team.patch(f"/customers/{customer_id}", team.tokens["sam"], json={"name": "X"})
    assert refused.status_code == 404
    name = team.db.read_sync(lambda s: s.get_one(Customer, customer_id).name)
    assert name == "Li Na"


def test_patch_owner_reassigns_like_the_chat(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    sue = team.members["sue"].id
    refused = team.patch(f"/customers/{customer_id}", team.tokens["sam"], json={"owner_id": sue})
    assert refused.status_code == 404  # salespeople do not reassign (chat: not found)
    moved = team.patch(f"/customers/{customer_id}", team.tokens["manager"], json={"owner_id": sue})
    assert moved.status_code == 200
    assert moved.json()["owner_id"] == sue
    assert team.get(f"/customers/{customer_id}", team.tokens["sam"]).status_code == 404


def test_delete_is_soft_and_hides_the_customer(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    assert team.delete(f"/customers/{customer_id}", team.tokens["sam"]).status_code == 204
    assert team.get(f"/customers/{customer_id}", team.tokens["sam"]).status_code == 404
    assert team.delete(f"/customers/{customer_id}", team.tokens["sam"]).status_code == 404
    kept = team.db.read_sync(lambda s: s.get_one(Customer, customer_id))
    assert kept.deleted_at is not None


def test_cursor_pages_through_everything_once(team: Api) -> None:
    made = {team.customer("sam", f"C{i}") for i in range(7)}
    seen: list[int] = []
    cursor = None
    while True:
        query = "/customers?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = team.get(query, team.tokens["sam"]).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(made)


def test_forged_cursor_is_a_problem_naming_cursor(team: Api) -> None:
    refused = team.get("/customers?cursor=!!!", team.tokens["sam"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cursor"


def test_filters_updated_since_owner_and_tag(team: Api) -> None:
    tagged = team.customer("sam", "Tagged", tags=["vip", "east"])
    plain = team.customer("sue", "Plain")
    token = team.tokens["manager"]
    assert ids(team.get("/customers?tag=vip", token)) == {tagged}
    assert ids(team.get("/customers?tag=vi", token)) == set()
    sue = team.members["sue"].id
    assert ids(team.get(f"/customers?owner_id={sue}", token)) == {plain}
    later = quote((utcnow() + timedelta(minutes=1)).isoformat())
    assert ids(team.get(f"/customers?updated_since={later}", token)) == set()
    earlier = quote((utcnow() - timedelta(minutes=1)).isoformat())
    assert ids(team.get(f"/customers?updated_since={earlier}", token)) == {tagged, plain}


def test_search_finds_by_phone_within_scope(team: Api) -> None:
    own = team.customer("sam", "Wang Fang", phones=["+8613800138000"])
    team.customer("sue", "Wang Fang", phones=["+8613800138001"])
    found = team.get("/customers?q=Wang", team.tokens["sam"])
    assert ids(found) == {own}
    by_phone = team.get("/customers?q=138 0013 8000", team.tokens["sam"])
    assert ids(by_phone) == {own}
    phones = team.db.read_sync(lambda s: s.exec(select(CustomerPhone)).all())
    assert len(phones) == 2


def test_create_with_an_existing_phone_or_email_is_409_naming_the_customer(team: Api) -> None:
    own = team.customer("sam", "Li Na", phones=["+8613800138000"], email="li@acme.com")
    team.customer("solo", "Wang Wei", phones=["+8613900139000"])
    token = team.tokens["sam"]
    by_phone = team.post("/customers", token, json={"name": "Li", "phones": ["138 0013 8000"]})
    assert by_phone.status_code == 409, by_phone.text
    assert by_phone.headers["content-type"] == "application/problem+json"
    assert by_phone.json()["errors"] == [
        {"field": "phones", "detail": f"customer {own} (Li Na) has it", "code": "duplicate"}
    ]
    by_email = team.post("/customers", token, json={"name": "Li", "email": "LI@acme.com"})
    assert by_email.json()["errors"][0]["field"] == "email"
    foreign = team.post("/customers", token, json={"name": "W", "phones": ["+8613900139000"]})
    assert foreign.status_code == 409
    assert foreign.json()["errors"][0]["detail"] == "a customer of solo has it"  # no id
    count = len(team.db.read_sync(lambda s: s.exec(select(Customer)).all()))
    assert count == 2


def test_allow_duplicate_adds_it_anyway(team: Api) -> None:
    team.customer("sam", "Li Na", phones=["+8613800138000"])
    added = team.post(
        "/customers?allow_duplicate=true",
        team.tokens["sam"],
        json={"name": "Li Na", "phones": ["+8613800138000"]},
    )
    assert added.status_code == 201, added.text
    assert len(team.db.read_sync(lambda s: s.exec(select(Customer)).all())) == 2
