"""The API's input values through the chat's own parsers (storage/parsing.py): a phone to
E.164 in the team's region, an email normalised, text cleaned and held to the chat's
lengths, a birthday with or without the year, an amount with its currency, a probability.
One set of rules for chat, import and API; a refusal names the field (`FieldRefused`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.api.problems import FieldRefused
from storage.parsing import (
    Birthday,
    Money,
    ParseError,
    clean_text,
    parse_amount,
    parse_birthday,
    parse_email,
    parse_name,
    parse_phone,
    parse_probability,
    parse_tags,
    parse_text,
)

MAX_NUMBER = 64  # the number columns' length, as the order and contract flows hold them


def _ok(field: str, value: object) -> object:
    if isinstance(value, ParseError):
        raise FieldRefused(field, value)
    return value


def name(value: str) -> str:
    parsed = parse_name(value)
    if isinstance(parsed, ParseError):
        raise FieldRefused("name", parsed)
    return parsed


def text(field: str, value: str | None, *, limit: str | None = None) -> str | None:
    """Optional free text; blank is None. `limit` names the chat's length rule if it is not
    the field's own name ("notes", "summary")."""
    if value is None:
        return None
    parsed = parse_text(value, field=limit or field, required=False)
    if isinstance(parsed, ParseError):
        raise FieldRefused(field, parsed)
    return parsed or None


def required_text(field: str, value: str, *, limit: str | None = None) -> str:
    parsed = parse_text(value, field=limit or field)
    if isinstance(parsed, ParseError):
        raise FieldRefused(field, parsed)
    return parsed


def number(value: str | None) -> str | None:
    """A record's own number (an order's, a contract's), cleaned and held to its column's
    length; None takes the next of the configured pattern."""
    if value is None:
        return None
    cleaned = clean_text(value).strip()
    if not cleaned or len(cleaned) > MAX_NUMBER:
        raise FieldRefused("number", f"1 to {MAX_NUMBER} characters")
    return cleaned


def phones(values: list[str], *, region: str) -> list[str]:
    found: list[str] = []
    for index, value in enumerate(values):
        parsed = parse_phone(value, region=region)
        if isinstance(parsed, ParseError):
            raise FieldRefused(f"phones[{index}]", parsed)
        if parsed not in found:
            found.append(parsed)
    return found


def email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    parsed = parse_email(value)
    if isinstance(parsed, ParseError):
        raise FieldRefused("email", parsed)
    return parsed


def tags(values: list[str]) -> list[str]:
    if not values:
        return []
    parsed = parse_tags(", ".join(values))
    if isinstance(parsed, ParseError):
        raise FieldRefused("tags", parsed)
    return parsed


def choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise FieldRefused(field, f"one of {', '.join(allowed)}")
    return value


def birthday(value: str | None, *, today: date) -> Birthday | None:
    """ "1990-03-05", or "03-05" without the year, as the chat and import read them."""
    if value is None:
        return None
    parsed = parse_birthday(value, today=today)
    if isinstance(parsed, ParseError):
        raise FieldRefused("birthday", parsed)
    return parsed


def money(field: str, amount: str | None, currency: str | None, *, default: str) -> Money | None:
    """An amount as the chat reads it ("12000.50", "50k", "¥3,500"); `currency` (ISO 4217)
    is the currency when the amount names none, else the team's."""
    if amount is None:
        return None
    if currency is not None and not (len(currency) == 3 and currency.isascii()):
        raise FieldRefused(f"{field}_currency" if field != "amount" else "currency", "ISO 4217")
    parsed = parse_amount(amount, default_currency=(currency or default).upper())
    if isinstance(parsed, ParseError):
        raise FieldRefused(field, parsed)
    if currency is not None and parsed.currency != currency.upper():
        raise FieldRefused(field, f"names {parsed.currency}, not {currency.upper()}")
    return parsed


def probability(value: int | None) -> int | None:
    if value is None:
        return None
    parsed = parse_probability(str(value))
    if isinstance(parsed, ParseError):
        raise FieldRefused("probability", parsed)
    return parsed


def amount_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
