"""Record numbers suggested from a pattern such as "HT-{year}-{seq:04d}" (contracts) or
"DD-{year}-{seq:04d}" (orders): one past the highest sequence of that year used so far.

Deleted records count, since their numbers stay taken (the number column is unique)."""

from __future__ import annotations

import re
from datetime import date
from string import Formatter
from typing import Any

from sqlmodel import Session, col, select


def suggest_number(session: Session, *, column: Any, today: date, pattern: str) -> str:
    """The next free number of `pattern` for `today`'s year among the values of `column`.

    The pattern names `{year}` (optional) and `{seq}` (once, with any integer format); a
    pattern naming anything else is a configuration error (ValueError)."""
    prefix, regex = _parse_pattern(pattern, today.year)
    used = session.exec(select(column).where(col(column).startswith(prefix, autoescape=True)))
    matches = (regex.fullmatch(number) for number in used)
    seq = max((int(m.group("seq")) for m in matches if m), default=0)
    return pattern.format(year=today.year, seq=seq + 1)


def check_pattern(pattern: str) -> None:
    """Raise ValueError for a pattern `suggest_number` cannot use (for configuration)."""
    _parse_pattern(pattern, 2000)


def _parse_pattern(pattern: str, year: int) -> tuple[str, re.Pattern[str]]:
    """The literal text before `{seq}` (for an indexed prefix match) and a regex that reads
    the sequence back out of a number made with the pattern."""
    parts: list[str] = []
    has_seq = False
    for literal, name, spec, _conversion in Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name == "year":
            parts.append(re.escape(format(year, spec or "")))
        elif name == "seq" and not has_seq:
            has_seq = True
            parts.append(r"(?P<seq>\d+)")
        else:
            raise ValueError(f"number pattern {pattern!r}: unexpected {{{name}}}")
    if not has_seq:
        raise ValueError(f"number pattern {pattern!r} needs a {{seq}}")
    prefix = Formatter().vformat(pattern.split("{seq", 1)[0], (), {"year": year})
    return prefix, re.compile("".join(parts))
