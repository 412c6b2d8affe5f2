"""Idempotent creates, versions (ETag / If-Match) and the per-token rate limit, including
requests that race each other."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from bot.api import housekeeping
from bot.api.app import create_app
from handlers.i18n import Catalogs
from storage.api_models import IdempotentRequest
from storage.api_tokens import IDEMPOTENCY_RETENTION, prune_idempotent
from storage.customer_changes import update_customer
from storage.db import Database
from storage.models import Customer, Role, utcnow
from tests.api.conftest import Api, api_config


def customers(api: Api) -> list[Customer]:
    return list(api.db.read_sync(lambda s: s.exec(select(Customer)).all()))


def test_repeated_key_returns_the_first_answer_and_makes_nothing(team: Api) -> None:
    key = {"Idempotency-Key": "order-4711"}
    first = team.post("/customers", team.tokens["sam"], json={"name": "Li"}, headers=key)
    again = team.post("/customers", team.tokens["sam"], json={"name": "Li"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(customers(team)) == 1


def test_same_key_with_another_body_is_a_problem(team: Api) -> None:
    key = {"Idempotency-Key": "k1"}
    team.post("/customers", team.tokens["sam"], json={"name": "Li"}, headers=key)
    other = team.post("/customers", team.tokens["sam"], json={"name": "Wang"}, headers=key)
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert [c.name for c in customers(team)] == ["Li"]


def test_keys_are_per_token_and_per_resource(team: Api) -> None:
    key = {"Idempotency-Key": "k1"}
    team.post("/customers", team.tokens["sam"], json={"name": "Li"}, headers=key)
    team.post("/customers", team.tokens["sue"], json={"name": "Li"}, headers=key)
    assert len(customers(team)) == 2
    own = customers(team)[0].id
    refused = team.post(
        "/notes",
        team.tokens["sam"],
        json={"customer_id": own, "kind": "call", "summary": "x"},
        headers=key,
    )
    assert refused.status_code == 422  # another request under a used key


def test_a_failed_create_does_not_use_up_its_key(team: Api) -> None:
    key = {"Idempotency-Key": "k2"}
    bad = team.post("/customers", team.tokens["sam"], json={"name": "!!"}, headers=key)
    assert bad.status_code == 422
    good = team.post("/customers", team.tokens["sam"], json={"name": "!!"}, headers=key)
    assert good.status_code == 422
    fixed = team.post("/customers", team.tokens["sam"], json={"name": "Li"}, headers=key)
    assert fixed.status_code == 201


def test_racing_creates_with_one_key_make_one_record(team: Api) -> None:
    def post(_: int) -> Any:
        return team.post(
            "/customers",
            team.tokens["sam"],
            json={"name": "Racer"},
            headers={"Idempotency-Key": "race"},
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(12)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len(customers(team)) == 1


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    path, token = f"/customers/{customer_id}", team.tokens["sam"]
    seen = team.get(path, token).headers["etag"]
    changed = team.patch(path, token, json={"company": "Acme"}, headers={"If-Match": seen})
    assert changed.status_code == 200
    assert changed.headers["etag"] != seen
    stale = team.patch(path, token, json={"company": "Other"}, headers={"If-Match": seen})
    assert stale.status_code == 412
    assert stale.headers["etag"] == changed.headers["etag"]
    assert team.delete(path, token, headers={"If-Match": seen}).status_code == 412
    assert team.get(path, token).json()["company"] == "Acme"
    assert team.patch(path, token, json={"region": "East"}, headers={"If-Match": "*"}).is_success


def test_a_change_in_the_chat_makes_the_version_stale(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    path, token = f"/customers/{customer_id}", team.tokens["sam"]
    seen = team.get(path, token).headers["etag"]
    sam = team.members["sam"]
    team.db.run_sync(
        lambda s: update_customer(s, actor=sam, customer_id=customer_id, changes={"name": "X"})
    )
    stale = team.patch(path, token, json={"name": "Y"}, headers={"If-Match": seen})
    assert stale.status_code == 412
    assert team.get(path, token).json()["name"] == "X"


def test_racing_patches_with_one_version_let_exactly_one_through(team: Api) -> None:
    customer_id = team.customer("sam", "Li Na")
    path, token = f"/customers/{customer_id}", team.tokens["sam"]
    seen = team.get(path, token).headers["etag"]

    def patch(i: int) -> int:
        answer = team.patch(path, token, json={"company": f"C{i}"}, headers={"If-Match": seen})
        return int(answer.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(patch, range(8)))
    assert statuses == [200] + [412] * 7


def test_rate_limit_answers_429_with_retry_after_per_token(
    db_url: str, catalogs: Catalogs
) -> None:
    db = Database(db_url)
    try:
        app = create_app(api_config(db_url, rate_per_minute=3), db, catalogs=catalogs)
        with TestClient(app) as client:
            api = Api(client, db)
            api.member("sam", Role.SALES)
            api.member("sue", Role.SALES)
            sam, sue = api.token("sam", name="sam"), api.token("sue", name="sue")
            assert [api.get("/customers", sam).status_code for _ in range(3)] == [200] * 3
            limited = api.get("/customers", sam)
            assert limited.status_code == 429
            assert limited.headers["content-type"] == "application/problem+json"
            assert 1 <= int(limited.headers["retry-after"]) <= 20
            assert api.get("/customers", sue).status_code == 200
    finally:
        db.close()


async def test_crm_bot_api_prunes_idempotency_keys_a_day_old(
    team: Api, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crm-bot api` prunes as `crm-bot run` does: a key a day old is forgotten, a new one kept;
    the app with housekeeping starts and stops its pass with the server."""
    for key in ("old", "new"):
        sent = {"name": f"Li {key}"}
        made = team.post(
            "/customers", team.tokens["sam"], json=sent, headers={"Idempotency-Key": key}
        )
        assert made.status_code == 201, made.text

    def age(session: Session) -> None:
        row = session.exec(select(IdempotentRequest).where(IdempotentRequest.key == "old")).one()
        row.created_at = utcnow() - IDEMPOTENCY_RETENTION - timedelta(seconds=1)

    def keys(session: Session) -> list[str]:
        return list(session.exec(select(IdempotentRequest.key)))

    team.db.run_sync(age)
    loop, pruned = asyncio.get_running_loop(), asyncio.Event()

    def prune(session: Session) -> int:
        forgotten = prune_idempotent(session)
        loop.call_soon_threadsafe(pruned.set)
        return forgotten

    monkeypatch.setattr(housekeeping, "prune_idempotent", prune)
    task = asyncio.create_task(housekeeping.prune_forever(team.db, first=timedelta(0)))
    await asyncio.wait_for(pruned.wait(), timeout=10)
    task.cancel()
    assert team.db.read_sync(keys) == ["new"]
    app = create_app(api_config(db_url), team.db, catalogs=Catalogs(), housekeeping=True)
    with TestClient(app) as client:
        assert client.get("/openapi.json").status_code == 200
