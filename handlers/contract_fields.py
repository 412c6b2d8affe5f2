"""The questions of the contract flow that need more than a parser: a number that must be
free, an end date typed as a duration, the renewal notice's default and the signed files.

Each answer is kept in the draft as plain JSON: dates as ISO strings, a file as
[kind, file_id, file_unique_id, name].
"""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Message

from handlers.context import CrmContext
from handlers.flows import field_parsers as fp
from handlers.flows.flow import Env
from storage.contract_terms import Term, parse_term, term_end
from storage.contracts import next_free_number, suggest_contract_number
from storage.parsing import ParseError, parse_text

NUMBER_MAX = 64  # the column's length
NOTICE_MAX = 366
MB = 1024 * 1024


def number(value: str, _env: Env) -> str | ParseError:
    parsed = parse_text(value, field="title")
    if isinstance(parsed, str) and len(parsed) > NUMBER_MAX:
        return ParseError(
            "parse.text.too_long", {"max": str(NUMBER_MAX), "length": str(len(parsed))}
        )
    return parsed


def _today(context: CrmContext) -> date:
    return context.services.clock().astimezone(context.tz).date()


def _pattern(context: CrmContext) -> str:
    return context.services.config.contracts.number_pattern


async def free_number(context: CrmContext, _values: dict[str, Any], value: str) -> Any:
    """A number another contract has (a deleted one too) is refused, with the next free one."""
    suggestion = await context.db.read(
        next_free_number, number=value, today=_today(context), pattern=_pattern(context)
    )
    if suggestion is None:
        return value
    return ParseError("contract.number_taken", {"number": value, "suggestion": suggestion})


async def suggested_number(context: CrmContext, _values: dict[str, Any]) -> str:
    """What Skip answers: the next number of the configured pattern."""
    return await context.db.read(
        suggest_contract_number, today=_today(context), pattern=_pattern(context)
    )


def any_day(value: str, env: Env) -> str | ParseError:
    """A date before or after today (a contract may have started, or start next month)."""
    parsed = fp.day("future")(value, env)
    if isinstance(parsed, ParseError) and parsed.key == "parse.when.in_past":
        return fp.day("past")(value, env)
    return parsed


def end(value: str, env: Env) -> str | dict[str, int] | ParseError:
    """An end date, or a duration ("1年", "12 months") made a date from the start."""
    term = parse_term(value)
    if term is None:
        return any_day(value, env)
    if isinstance(term, ParseError):
        return term
    return {"months": term.months, "days": term.days}


async def start_before_end(context: CrmContext, values: dict[str, Any], value: str) -> Any:
    ends_on = values.get("ends_on")
    if isinstance(ends_on, str) and ends_on < value:
        return ParseError("contract.start_after_end", {"end": fp.show_date(ends_on, context)})
    return value


async def end_after_start(context: CrmContext, values: dict[str, Any], value: Any) -> Any:
    """A duration counts from the start date; an end before the start is refused."""
    starts_on = values.get("starts_on")
    if isinstance(value, dict):
        if not isinstance(starts_on, str):
            return ParseError("contract.term_needs_start")
        value = term_end(date.fromisoformat(starts_on), Term(**value)).isoformat()
    if isinstance(starts_on, str) and value < starts_on:
        return ParseError("contract.end_before_start", {"start": fp.show_date(starts_on, context)})
    return value


def notice_days(value: str, _env: Env) -> int | ParseError:
    digits = value.strip().removesuffix("天").removesuffix("days").removesuffix("day").strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) > NOTICE_MAX:
        return ParseError("contract.notice_invalid", {"max": str(NOTICE_MAX)})
    return int(digits)


async def default_notice(context: CrmContext, _values: dict[str, Any]) -> int:
    return context.services.config.contracts.renewal_notice_days


def show_notice(value: int, context: CrmContext) -> str:
    return context.t("contract.notice_days", count=value)


def signed_file(message: Message, context: CrmContext) -> list[str] | ParseError | None:
    """A document or the largest size of a photo; above the configured size it is refused
    (through the cloud Bot API a bot cannot download more than 20 MB)."""
    limit = context.services.config.contracts.max_file_mb
    if message.document is not None:
        document = message.document
        kind, file_id, unique_id = "document", document.file_id, document.file_unique_id
        size, name = document.file_size, document.file_name or "document"
    elif message.photo:
        photo = message.photo[-1]
        kind, file_id, unique_id = "photo", photo.file_id, photo.file_unique_id
        size, name = photo.file_size, "photo"
    else:
        return None
    if size is not None and size > limit * MB:
        return ParseError("contract.file_too_big", {"size": f"{size / MB:.0f}", "max": str(limit)})
    return [kind, file_id, unique_id, name]


def not_a_file(_value: str, _env: Env) -> ParseError:
    """Text at the files question: files are sent, and Done ends it."""
    return ParseError("contract.send_a_file")


def show_files(value: list[list[str]], context: CrmContext) -> str:
    names = ", ".join(item[3] for item in value)
    return context.t("contract.files_shown", count=len(value), names=names)
