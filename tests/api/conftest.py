"""The HTTP API on a test database (both backends), called through FastAPI's TestClient, with
members of each role and a token for each."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from bot.api.app import create_app
from bot.config import ApiConfig, Config, DatabaseConfig
from handlers.i18n import Catalogs
from storage.api_tokens import create_token, revoke_token
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.models import Member, Role
from tests.factories import make_member, pk


@dataclass
class Api:
    """A client of the API and the database behind it."""

    client: TestClient
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    def member(self, name: str, role: Role, manager: str | None = None) -> Member:
        def add(session: Session) -> Member:
            boss = self.members[manager] if manager else None
            return make_member(session, role=role, manager=boss, display_name=name)

        self.members[name] = self.db.run_sync(add)
        return self.members[name]

    def token(self, member: str, *, name: str | None = None, read_only: bool = False) -> str:
        created = self.db.run_sync(
            create_token,
            actor=None,
            name=name or f"{member}-{len(self.tokens)}",
            member_telegram_id=self.members[member].telegram_id,
            read_only=read_only,
        )
        self.tokens[name or member] = created.secret
        return created.secret

    def revoke(self, name: str) -> None:
        self.db.run_sync(revoke_token, actor=None, name=name)

    def customer(self, owner: str, name: str, **values: Any) -> int:
        actor = self.members[owner]
        made = self.db.run_sync(
            lambda s: create_customer(s, actor=actor, data=CustomerCreate(name=name, **values))
        )
        return pk(made)

    def call(self, method: str, path: str, token: str | None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, token: str | None, **kwargs: Any) -> Any:
        return self.call("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None, **kwargs: Any) -> Any:
        return self.call("POST", path, token, **kwargs)

    def patch(self, path: str, token: str | None, **kwargs: Any) -> Any:
        return self.call("PATCH", path, token, **kwargs)

    def delete(self, path: str, token: str | None, **kwargs: Any) -> Any:
        return self.call("DELETE", path, token, **kwargs)


def api_config(db_url: str, **api: Any) -> Config:
    return Config(database=DatabaseConfig(url=db_url), api=ApiConfig(**api))


@pytest.fixture
def api(db_url: str, catalogs: Catalogs) -> Iterator[Api]:
    db = Database(db_url)
    app = create_app(api_config(db_url), db, catalogs=catalogs)
    with TestClient(app) as client:
        yield Api(client, db)
    db.close()


@pytest.fixture
def team(api: Api) -> Api:
    """An admin; a manager with two salespeople; a salesperson of no team."""
    api.member("admin", Role.ADMIN)
    api.member("manager", Role.MANAGER)
    api.member("sam", Role.SALES, manager="manager")
    api.member("sue", Role.SALES, manager="manager")
    api.member("solo", Role.SALES)
    for name in ("admin", "manager", "sam", "sue", "solo"):
        api.token(name, name=name)
    return api
