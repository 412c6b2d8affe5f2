"""The "which customer?" step shared by deals, notes and purchases.

The member types part of a name, company or email, or the last digits of a phone; matches
come back as buttons (only customers they may see). Recently touched customers are offered
before anything is typed. The answer is stored as {"id": "<customer id>", "label": "..."};
the id is re-checked through the access rule when the record is saved.
"""

from __future__ import annotations

from typing import Any

from handlers.context import CrmContext
from handlers.flows.flow import Field, Option
from storage.customers import recent_customers
from storage.models import Customer
from storage.search.find import find_customers


def label(customer: Customer) -> str:
    return f"{customer.name} · {customer.company}" if customer.company else customer.name


async def search(context: CrmContext, text: str) -> list[Option]:
    found = await context.db.read(
        find_customers,
        actor=context.require_member(),
        query=text,
        region=context.services.config.locale.default_region,
    )
    return [(str(c.id), label(c)) for c in found]


async def suggest(context: CrmContext, _values: dict[str, Any]) -> list[Option]:
    found = await context.db.read(recent_customers, actor=context.require_member(), limit=5)
    return [(str(c.id), label(c)) for c in found]


def customer_field(name: str = "customer") -> Field:
    """A required customer step; a flow started from a customer card arrives prefilled."""
    return Field(name, required=True, search=search, suggest=suggest)


def picked_id(value: dict[str, str]) -> int:
    return int(value["id"])
