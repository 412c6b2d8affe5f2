"""How an audit entry reads in a customer's History: what a salesperson would write, never
what the database holds.

The audit log (storage/audit.py) keeps raw values: member and customer ids, ISO timestamps in
UTC, stage and choice codes, decimal strings apart from their currency. Each is turned here
into the field's label, a member's or customer's name (`HistoryEntry.names` holds only the
customers and deals the reader may see; any other stays "#id"), a time in the reader's
timezone, an amount with its currency, a translated choice, all in the reader's language.
A created record or a merge lists its values ("Stage: Lead"); an edit shows old → new.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from handlers.context import CrmContext
from handlers.flows import field_parsers as fp
from handlers.formatting import clip, format_date, format_money, format_number, format_when
from handlers.text_limits import MAX_TEXT, fit_html
from storage.customer_changes import REFERENCES, HistoryEntry
from storage.parsing import Money

PER_PAGE = 8
# A value is shown to this many characters, and each entry is held to its share of the page,
# so a page of long edits still fits in one message.
VALUE_CHARS = 150
ENTRY_CHARS = (MAX_TEXT - 300) // PER_PAGE

# Whose field labels name a change, by audited entity: each record's own entry flow.
FLOWS = {"customer": "customer", "deal": "deal", "interaction": "note", "order": "order"}
FLOWS |= {"contract": "contract", "ticket": "ticket"}
# Audited names whose label is another key than `<flow>.field.<name>`.
LABELS = {
    "expected_close_date": "deal.field.close",
    "budget": "deal.field.budget_amount",
    "budget_notes": "deal.field.budget",
    "decision_maker_notes": "deal.field.decision_maker",
    "happened_at": "note.field.happened",
    "outcome": "note.field.notes",
    "purchased_on": "purchase.field.date",  # in the audit of a purchase made before orders
    "owner_id": "records.change.owner",
    "customer_id": "records.change.customer",
    "deal_id": "records.change.deal",
    "closed_at": "records.change.closed_at",
    "close_reason": "records.change.close_reason",
    "location": "records.change.location",
    "renewal_notice_days": "contract.field.notice",
    "assignee_id": "ticket.field.assignee",
    "due_at": "ticket.field.due",
}
MONEY = {"amount": "currency", "budget": "budget_currency", "total": "currency"}  # -> currency
BIRTHDAY_PARTS = ("birthday_month", "birthday_day", "birthday_year")
CHOICES = {"gender": "customer.gender", "source": "customer.source"}
CHOICES |= {"category": "customer.category", "kind": "note.kind", "stage": "deal.stage"}
# A status is named by its record's own catalog: a contract's "active", an order's "shipped".
STATUSES = {"contract": "contract.status", "order": "order.status", "ticket": "ticket.status"}
# A ticket's own choices ("type" and "priority" name other things elsewhere).
TICKET_CHOICES = {"type": "ticket.type", "priority": "ticket.priority"}
TIMES = ("closed_at", "deleted_at", "happened_at", "due_at", "resolved_at")
DATES: tuple[str, ...] = ("expected_close_date", "decision_date", "purchased_on")
DATES += ("signed_on", "starts_on", "ends_on", "terminated_on")  # a contract's
DATES += ("ordered_on", "delivery_due_on")  # an order's
LISTED = ("create", "merge")  # actions whose values are listed rather than shown old → new


def history_lines(context: CrmContext, entry: HistoryEntry) -> list[str]:
    """A blank line, then "when · who · what" and a line per field the entry changed."""
    when = format_when(entry.at, tz=context.tz, lang=context.language)
    action = _label(context, f"records.action.{entry.action}", entry.action)
    if entry.entity_type != "customer":  # one of the customer's deals, notes or orders
        subject = context.t(f"records.subject.{entry.entity_type}", id=entry.entity_id)
        action = context.t("records.history.of", subject=subject, action=action)
    lines = [context.t("records.history.entry", when=when, who=entry.actor_name, action=action)]
    for name, old, new in _changes(entry):
        field = _field_label(context, entry.entity_type, name)
        shown_new = clip(_shown(context, entry, name, new), VALUE_CHARS)
        if entry.action in LISTED and old in (None, 0, False):
            if new in (None, 0, False, "", []):  # a merge that moved no reminders, say
                continue
            lines.append(context.t("records.history.value", field=field, value=shown_new))
            continue
        shown_old = clip(_shown(context, entry, name, old), VALUE_CHARS)
        lines.append(
            context.t("records.history.change", field=field, old=shown_old, new=shown_new)
        )
    return ["", fit_html("\n".join(lines), ENTRY_CHARS)]


def _changes(entry: HistoryEntry) -> list[tuple[str, Any, Any]]:
    """(field, old, new) per change, with what belongs together joined: an amount and its
    currency become one money value, a birthday's parts one birthday, a place one location."""
    pairs = {
        name: tuple(change) if isinstance(change, list) and len(change) == 2 else (None, change)
        for name, change in entry.changes.items()
    }
    for amount, currency in MONEY.items():
        if amount in pairs:
            currencies = pairs.pop(currency, None)
            pairs[amount] = tuple(
                _money(value, currencies[i] if currencies else None)
                for i, value in enumerate(pairs[amount])
            )
    if any(part in pairs for part in BIRTHDAY_PARTS):
        parts = [pairs.pop(part, (None, None)) for part in BIRTHDAY_PARTS]
        pairs["birthday"] = tuple(_birthday(*(part[i] for part in parts)) for i in (0, 1))
    if "latitude" in pairs or "longitude" in pairs:
        lat, lon = pairs.pop("latitude", (None, None)), pairs.pop("longitude", (None, None))
        pairs["location"] = tuple(
            f"{lat[i]}, {lon[i]}" if lat[i] is not None and lon[i] is not None else None
            for i in (0, 1)
        )
    return [(name, old, new) for name, (old, new) in pairs.items()]


def _money(amount: Any, currency: Any) -> Money | Decimal | None:
    """An audited amount with its currency when the entry has it (an edit of the amount
    alone does not), as a number otherwise; None for none."""
    if amount is None:
        return None
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return None
    return Money(value, currency) if isinstance(currency, str) and currency else value


def _birthday(month: Any, day: Any, year: Any) -> dict[str, Any] | None:
    return {"month": month, "day": day, "year": year} if month and day else None


def _field_label(context: CrmContext, entity_type: str, name: str) -> str:
    flow = FLOWS.get(entity_type, "customer")
    for key in (LABELS.get(name, ""), f"{flow}.field.{name}", f"records.change.{name}"):
        if key and _has(context, key):
            return context.t(key)
    return name


def _shown(context: CrmContext, entry: HistoryEntry, name: str, value: Any) -> str:
    """One audited value as the reader reads it; nothing is "—"."""
    if value in (None, "", []):
        return "—"
    if isinstance(value, bool):
        return context.t("records.history.yes" if value else "records.history.no")
    if name in REFERENCES and isinstance(value, int):
        kind = REFERENCES[name]
        return entry.names.get(f"{kind}:{value}") or context.t("records.history.id", id=value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return _number(context, name, value)
    show = _SHOW.get(name)
    if show is not None:
        try:
            return show(context, value)
        except (TypeError, ValueError, InvalidOperation):  # an entry written before a change
            pass
    if isinstance(value, list):
        return ", ".join(_shown(context, entry, name, item) for item in value)
    if name == "status" and entry.entity_type in STATUSES:
        return _label(context, f"{STATUSES[entry.entity_type]}.{value}", str(value))
    if entry.entity_type == "ticket" and name in TICKET_CHOICES:
        return _label(context, f"{TICKET_CHOICES[name]}.{value}", str(value))
    if name in CHOICES:
        return _label(context, f"{CHOICES[name]}.{value}", str(value))
    return str(value)


def _number(context: CrmContext, name: str, value: int | Decimal) -> str:
    """A percentage, an amount of no known currency, a count ("Notes moved: 3")."""
    if name == "probability":
        return fp.show_percent(int(value), context)
    return format_number(value, lang=context.language)


def _when(context: CrmContext, value: str) -> str:
    return format_when(datetime.fromisoformat(value), tz=context.tz, lang=context.language)


def _date(context: CrmContext, value: str) -> str:
    return format_date(date.fromisoformat(value[:10]), lang=context.language)


def _photos(context: CrmContext, value: list[Any]) -> str:
    return format_number(len(value), lang=context.language)


_SHOW: dict[str, Callable[[CrmContext, Any], str]] = {
    **dict.fromkeys(TIMES, _when),
    **dict.fromkeys(DATES, _date),
    "amount": lambda context, m: format_money(m, lang=context.language),
    "budget": lambda context, m: format_money(m, lang=context.language),
    "total": lambda context, m: format_money(m, lang=context.language),
    "quantity": lambda context, q: format_number(Decimal(q), lang=context.language),
    "birthday": lambda context, b: fp.show_birthday(b, context),
    "phones": lambda context, p: fp.show_phones(list(p), context),
    "photos": _photos,
}


def _label(context: CrmContext, key: str, fallback: str) -> str:
    return context.t(key) if _has(context, key) else fallback


def _has(context: CrmContext, key: str) -> bool:
    translator = context.translator
    return translator is not None and translator.has(key)
