"""Field parsers and displays for flows: the pure parsers of `storage.parsing`/`storage.dates`,
adapted to the engine's `Parser` shape and to JSON-friendly draft values.

Drafts are JSON, so values are stored as plain data: money as {"amount": "12000.50",
"currency": "CNY"}, a date-time as an ISO UTC string, a birthday as {"month", "day", "year"}.
`to_*` helpers turn them back into typed values when the record is built.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from handlers.context import CrmContext
from handlers.flows.flow import Env, Parser
from handlers.formatting import (
    format_birthday,
    format_date,
    format_money,
    format_phone,
    region_name,
)
from handlers.formatting import format_when as format_datetime
from handlers.i18n import Html
from storage.dates import Prefer, parse_when
from storage.parsing import (
    Birthday,
    Money,
    ParseError,
    parse_amount,
    parse_birthday,
    parse_email,
    parse_name,
    parse_phones,
    parse_probability,
    parse_quantity,
    parse_tags,
    parse_text,
    read_as_foreign,
)


def text(field: str) -> Parser:
    def parse(value: str, _env: Env) -> str | ParseError:
        return parse_text(value, field=field)

    return parse


def standard(field: str) -> Parser:
    """Region or industry: the list's value for what was typed ("沪" -> 上海), or the text as
    typed when the list has none (`standard_notice` says so)."""

    def parse(value: str, env: Env) -> str | ParseError:
        typed = parse_text(value, field=field)
        return (
            typed
            if isinstance(typed, ParseError)
            else env.quality.standard(field).match(typed).value
        )

    return parse


def standard_notice(field: str) -> Callable[[str, Env], tuple[str, dict[str, str]] | None]:
    def notice(value: str, env: Env) -> tuple[str, dict[str, str]] | None:
        if env.quality.standard(field).entry(value) is not None:
            return None
        return f"quality.unlisted.{field}", {"value": " ".join(value.split())}

    return notice


def show_standard(field: str) -> Callable[[Any, CrmContext], str]:
    """A standard value in the member's language; one not on the list flagged."""

    def show(value: Any, context: CrmContext) -> str:
        values = context.services.quality.standard(field)
        if values.is_known(str(value)):
            return values.label(str(value), context.language)
        return Html(context.t("quality.unlisted_value", value=str(value)))

    return show


def name(value: str, _env: Env) -> str | ParseError:
    return parse_name(value)


SKIP_WORDS = frozenset({"skip", "跳过"})


def optional_text(field: str) -> Parser:
    """Free text where typing "skip" / "跳过" means no answer, as the Skip button does."""
    parse_it = text(field)

    def parse(value: str, env: Env) -> str | None | ParseError:
        return None if value.strip().casefold() in SKIP_WORDS else parse_it(value, env)

    return parse


def phones(value: str, env: Env) -> list[str] | ParseError:
    return parse_phones(value, region=env.region)


def phones_notice(value: str, env: Env) -> tuple[str, dict[str, str]] | None:
    """ "(415) 253-0000" is valid in China (a Dandong landline) yet typed the American way:
    say how it was read, so a foreign number is not saved as a Chinese one unnoticed."""
    found = read_as_foreign(value, region=env.region)
    if not found:
        return None
    numbers = ", ".join(format_phone(p, region=None) for p in found)
    region = region_name(env.region, lang=env.language)
    return "parse.phone.read_as_local", {"numbers": numbers, "region": region}


def email(value: str, _env: Env) -> str | ParseError:
    return parse_email(value)


def birthday(value: str, env: Env) -> dict[str, int | None] | ParseError:
    parsed = parse_birthday(value, today=env.now.astimezone(env.tz).date())
    if isinstance(parsed, ParseError):
        return parsed
    return {"month": parsed.month, "day": parsed.day, "year": parsed.year}


def tags(value: str, _env: Env) -> list[str] | ParseError:
    return parse_tags(value)


def money(value: str, env: Env) -> dict[str, str] | ParseError:
    parsed = parse_amount(value, default_currency=env.currency)
    if isinstance(parsed, ParseError):
        return parsed
    return {"amount": str(parsed.amount), "currency": parsed.currency}


def probability(value: str, _env: Env) -> int | ParseError:
    return parse_probability(value)


def quantity(value: str, _env: Env) -> str | ParseError:
    parsed = parse_quantity(value)
    return parsed if isinstance(parsed, ParseError) else str(parsed)


def when(prefer: Prefer) -> Parser:
    """A date and time; `prefer` is "future" for follow-ups, "past" for what happened."""

    def parse(value: str, env: Env) -> dict[str, Any] | ParseError:
        if value.strip().casefold() in ("now", "现在", "刚才"):
            return {"at": env.now.isoformat(), "has_time": True}
        parsed = parse_when(value, now=env.now, tz=env.tz, prefer=prefer)
        if isinstance(parsed, ParseError):
            return parsed
        return {"at": parsed.at.isoformat(), "has_time": parsed.has_time}

    return parse


def day(prefer: Prefer) -> Parser:
    """A calendar date (expected close, purchase date), read like `when`."""
    parse_at = when(prefer)

    def parse(value: str, env: Env) -> str | ParseError:
        parsed = parse_at(value, env)
        if isinstance(parsed, ParseError):
            return parsed
        return to_datetime(parsed).astimezone(env.tz).date().isoformat()

    return parse


# --- back to typed values ---------------------------------------------------------------------


def to_money(value: dict[str, str] | None) -> Money | None:
    return None if value is None else Money(Decimal(value["amount"]), value["currency"])


def to_datetime(value: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(value["at"])


def to_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


# --- display ----------------------------------------------------------------------------------

Show = Callable[[Any, CrmContext], str]


def show_phones(value: list[str], context: CrmContext) -> str:
    region = context.services.config.locale.default_region
    return ", ".join(format_phone(p, region=region) for p in value)


def show_birthday(value: dict[str, Any], context: CrmContext) -> str:
    return format_birthday(Birthday(**value), lang=context.language)


def show_money(value: dict[str, str], context: CrmContext) -> str:
    parsed = to_money(value)
    assert parsed is not None
    return format_money(parsed, lang=context.language)


def show_when(value: dict[str, Any], context: CrmContext) -> str:
    at = to_datetime(value)
    if value.get("has_time"):
        return format_datetime(at, tz=context.tz, lang=context.language)
    return format_date(at.astimezone(context.tz).date(), lang=context.language)


def show_date(value: str, context: CrmContext) -> str:
    return format_date(date.fromisoformat(value), lang=context.language)


def show_percent(value: int, _context: CrmContext) -> str:
    return f"{value}%"
