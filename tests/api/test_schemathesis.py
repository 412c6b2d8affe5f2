"""Property tests generated from the API's own OpenAPI document (schemathesis), on SQLite:
whatever a generated request holds, the API never answers 500, and every answer matches the
document (status, content type, headers, body). Bounded examples per operation, so the run
stays well under a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from sqlmodel import Session

from bot.api.app import create_app
from bot.config import Config
from handlers.i18n import Catalogs
from storage.api_tokens import create_token, hash_secret
from storage.contracts import ContractCreate, create_contract
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.deals import DealCreate, create_deal
from storage.models import Role, utcnow
from storage.orders import OrderCreate, OrderLineCreate, create_order
from storage.tickets import Priority, TicketCreate, create_ticket
from tests.api.conftest import api_config
from tests.factories import make_member
from tests.schema_templates import SqliteTemplate

# Left out: `positive_data_acceptance` wants 2xx for any schema-valid body, but the chat's
# parsers rightly refuse much of what a schema can say (a phone "0", a cursor of zeros), with a
# 422 problem naming the field; `ignored_auth` re-sends requests over the network, which the
# in-process client has none of (tests/api/test_customers.py checks 401 itself).
NOT_CHECKED = [positive_data_acceptance, ignored_auth]
EXAMPLES = 6  # per operation: the 37 operations stay well under a minute together


def _document() -> dict[str, object]:
    """The OpenAPI document as served; building it touches no database."""
    return create_app(Config(), cast(Database, None), catalogs=Catalogs()).openapi()


SCHEMA = schemathesis.openapi.from_dict(_document())
SECRET = "crm_schemathesis-" + "x" * 40


@schemathesis.auth(refresh_interval=None, retry_on=[])
class BearerToken:
    """The manager's token (stored under its hash by the fixture): schemathesis knows it, so
    it can also leave it out on purpose and expect the 401."""

    def get(self, _case: Case, _context: object) -> str:
        return SECRET

    def set(self, case: Case, data: str, _context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def api_target(
    tmp_path: Path, sqlite_template: SqliteTemplate, catalogs: Catalogs
) -> Iterator[TestClient]:
    """The API on a SQLite database with a manager, a salesperson, records of each kind, and
    the manager's token."""
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    sqlite_template.copy_to(url)
    db = Database(url)

    def seed(session: Session) -> None:
        manager = make_member(session, role=Role.MANAGER)
        sales = make_member(session, manager=manager)
        for owner in (manager, sales):
            customer = create_customer(
                session,
                actor=owner,
                data=CustomerCreate(name="Li Na", phones=["+8613800138000"], tags=["vip"]),
            )
            assert customer.id is not None
            create_deal(
                session,
                actor=owner,
                data=DealCreate(customer_id=customer.id, title="Pumps", stage="lead"),
            )
            create_contract(
                session,
                actor=owner,
                data=ContractCreate(customer.id, f"HT-{owner.id}", "Supply", currency="CNY"),
            )
            lines = (OrderLineCreate("Pump", Decimal(2), Decimal("10.50")),)
            create_order(
                session,
                actor=owner,
                data=OrderCreate(customer.id, date(2026, 1, 5), lines, currency="CNY"),
            )
            due = utcnow() + timedelta(days=1)
            create_ticket(
                session,
                actor=owner,
                data=TicketCreate(customer.id, "repair", Priority.HIGH, "Pump leaks", due),
            )
        created = create_token(
            session, actor=None, name="fuzz", member_telegram_id=manager.telegram_id
        )
        created.token.token_hash = hash_secret(SECRET)

    db.run_sync(seed)
    app = create_app(api_config(url, rate_per_minute=100_000), db, catalogs=catalogs)
    with TestClient(app) as client:
        yield client
    db.close()


_SENT = ("method", "url", "params", "headers", "json", "content", "data", "files")


@SCHEMA.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: Case, api_target: TestClient) -> None:
    client = api_target
    sent = case.as_transport_kwargs(base_url="http://testserver")
    client.cookies = sent.pop("cookies", None) or {}
    if isinstance(sent.get("data"), str | bytes):
        sent["content"] = sent.pop("data")
    response = client.request(**{k: v for k, v in sent.items() if k in _SENT})
    case.validate_response(response, headers=sent["headers"], excluded_checks=NOT_CHECKED)
