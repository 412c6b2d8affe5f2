"""The kinds `/export` and `crm-bot export` accept, and the scoped query behind each (a module
of its own: the tickets' rows live with the ticket figures, which build on `storage.export`)."""

from __future__ import annotations

from collections.abc import Callable

from storage.export import (
    ExportTable,
    list_contract_rows,
    list_customer_rows,
    list_deal_rows,
    list_note_rows,
    list_order_rows,
    list_purchase_rows,
)
from storage.ticket_figures import list_ticket_rows

EXPORTERS: dict[str, Callable[..., ExportTable]] = {
    "customers": list_customer_rows,
    "deals": list_deal_rows,
    "notes": list_note_rows,
    "purchases": list_purchase_rows,
    "contracts": list_contract_rows,
    "orders": list_order_rows,
    "tickets": list_ticket_rows,
}
"""In the order the usage message lists them."""
