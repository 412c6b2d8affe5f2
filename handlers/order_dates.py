"""The order entry's promised delivery checked against the calendar and the order date: one
already past, or before the order date, is asked again with what is wrong and an example (the
rule is `storage.orders.delivery_due_problem`). New orders from /order are "ordered", so for
them a past promise is always refused; one delivered is marked so on its card. The order date
is never after today (it is read as a past day), so a promise not past is never before it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from handlers.context import CrmContext
from handlers.flows import field_parsers as fp
from handlers.flows.flow import env_of
from storage.models import OrderStatus
from storage.orders import delivery_due_problem
from storage.parsing import ParseError

EXAMPLE_AHEAD = timedelta(days=14)  # the example date offered: two weeks from today


def member_today(context: CrmContext) -> date:
    """Today in the member's timezone: the day the delivery rule counts from."""
    env = env_of(context)
    return env.now.astimezone(env.tz).date()


def _problem(context: CrmContext, due: str, ordered_on: Any) -> ParseError | None:
    today = member_today(context)
    problem = delivery_due_problem(
        due=date.fromisoformat(due),
        ordered_on=date.fromisoformat(ordered_on) if isinstance(ordered_on, str) else None,
        status=OrderStatus.ORDERED,
        today=today,
    )
    if problem is None:
        return None
    return ParseError(
        f"order.delivery.{problem}",
        {
            "due": fp.show_date(due, context),
            "ordered": fp.show_date(ordered_on, context) if isinstance(ordered_on, str) else "",
            "example": fp.show_date((today + EXAMPLE_AHEAD).isoformat(), context),
        },
    )


async def due_ahead(context: CrmContext, values: dict[str, Any], value: str) -> Any:
    """The promised delivery date: today or later, and not before the order date."""
    return _problem(context, value, values.get("ordered_on")) or value
