"""Reading order lines typed in one message, and a currency typed by name or code.

A member types the lines of an order as they would in a chat, one or several in a message,
separated by commas, semicolons, 、 or new lines:

    50 x X2 @ 1200, 10 x cable @ 30        (quantity x product @ unit price)
    X2 x 50 @ ¥1,200                        (product x quantity)
    50个X2 单价1200; X2 50台 1200元          (a measure word after the quantity, 单价 or 元)
    cable                                   (a product alone: no quantity, no price)

A unit price may carry its currency ("¥1,200", "$30", "1200元"); without one it is in the
currency the order is in. A line that cannot be read is a `ParseError` naming it, so the
member is asked again with an example; a quantity of zero is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import list_currencies

from storage.parsing import (
    MAX_LENGTHS,
    Money,
    ParseError,
    clean_text,
    parse_amount,
    parse_quantity,
)

MAX_LINES = 50
# Between lines: a comma, unless it is a thousands separator ("1,200"); and always ，；;、 or a
# new line.
_SPLIT = re.compile(r"[，；;、\n]|,(?!\d{3}(?!\d))")
_NUM = r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]+"
# "50 x X2", "50x X2", "50×X2": an x between spaces (or after the number), or × / *.
_TIMES_AFTER_QTY = r"(?:\s*[xX]\s+|\s*[×*]\s*)"
_TIMES_BEFORE_QTY = r"(?:\s+[xX]\s*|\s*[×*]\s*)"
# What a quantity is counted in, when it is typed in Chinese after the number.
_MEASURE = "个台件套箱只把张条支米吨包瓶桶盒批辆块片份袋卷双对"
_PRICE_CUE = re.compile(r"(?:@|\bat\b|单价|价格|每[个台件套只]?)\s*[:：]?\s*(?P<price>\S.*)$")
_MONEY_END = re.compile(
    r"(?P<price>(?:¥|\$|€|£|HK\$|US\$|RMB|CNY|USD|EUR)\s*[\d,.]+[kK万]?"
    r"|[\d,.]+\s*[kK万]?\s*(?:元|块|美元|欧元|RMB|CNY|USD|EUR))$"
)
_LEADING_QTY = re.compile(rf"^(?P<qty>{_NUM}){_TIMES_AFTER_QTY}(?P<rest>.+)$")
_TRAILING_QTY = re.compile(rf"^(?P<rest>.+?){_TIMES_BEFORE_QTY}(?P<qty>{_NUM})$")
_NO_PRODUCT = re.compile(rf"^(?:{_NUM})?\s*[x×X*]?$")
_ZH_QTY = re.compile(rf"(?P<qty>{_NUM})\s*(?P<unit>[{_MEASURE}])")
_CURRENCY_NAMES = {
    "¥": "CNY", "RMB": "CNY", "元": "CNY", "人民币": "CNY", "块": "CNY",
    "$": "USD", "美元": "USD", "美金": "USD", "€": "EUR", "欧元": "EUR",
    "£": "GBP", "英镑": "GBP", "港币": "HKD", "港元": "HKD", "日元": "JPY",
}  # fmt: skip


@dataclass(frozen=True)
class ParsedLine:
    """One line as read; `currency` is the unit price's own, when it was typed with one."""

    product: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    currency: str | None = None


def parse_order_lines(text: str) -> list[ParsedLine] | ParseError:
    """Every line of the message, in order, or the first one that cannot be read."""
    items = [item.strip() for item in _SPLIT.split(clean_text(text)) if item.strip()]
    if not items:
        return ParseError("parse.order_line.empty")
    if len(items) > MAX_LINES:
        return ParseError("parse.order_line.too_many", {"max": str(MAX_LINES)})
    lines: list[ParsedLine] = []
    for item in items:
        line = parse_order_line(item)
        if isinstance(line, ParseError):
            return line
        lines.append(line)
    currencies = {line.currency for line in lines if line.currency}
    if len(currencies) > 1:
        return ParseError("parse.order_line.mixed_currencies")
    return lines


def parse_order_line(item: str) -> ParsedLine | ParseError:
    """One line: the unit price comes off its end, then the quantity, and what is left is
    the product."""
    rest, price = _take_price(item.strip())
    if isinstance(price, ParseError):
        return ParseError("parse.order_line.invalid", {"line": item})
    rest, quantity = _take_quantity(rest)
    if isinstance(quantity, ParseError):
        return quantity if quantity.key == "parse.quantity.not_positive" else _unreadable(item)
    product = rest.strip(" -:：,，")
    if _NO_PRODUCT.match(product) or len(product) > MAX_LENGTHS["product"]:
        return _unreadable(item)
    if quantity is None and price is not None:
        quantity = Decimal(1)
    return ParsedLine(
        product=product,
        quantity=quantity,
        unit_price=price.amount if price else None,
        currency=price.currency if price and price.currency else None,
    )


def _unreadable(item: str) -> ParseError:
    return ParseError("parse.order_line.invalid", {"line": item})


def _take_price(item: str) -> tuple[str, Money | ParseError | None]:
    """(the text before the price, the price) for "... @ 1200", "... 单价1200", "... 1200元"."""
    cue = _PRICE_CUE.search(item)
    match = cue or _MONEY_END.search(item)
    if match is None:
        return item, None
    typed = match["price"].strip()
    explicit = bool(re.search(r"[¥$€£元块]|RMB|CNY|USD|EUR|HKD|GBP", typed, re.IGNORECASE))
    money = parse_amount(typed, default_currency="XXX")
    if isinstance(money, ParseError):
        return item, money
    currency = money.currency if explicit else None
    return item[: match.start()].strip(), Money(money.amount, currency or "")


def _take_quantity(rest: str) -> tuple[str, Decimal | ParseError | None]:
    """The quantity "50 x ...", "...50台..." or "... x 50" (in that order: "X2" is a product)."""
    if m := _LEADING_QTY.match(rest):
        return m["rest"], parse_quantity(m["qty"])
    if m := _ZH_QTY.search(rest):
        left = (rest[: m.start()] + " " + rest[m.end() :]).strip()
        return left, parse_quantity(m["qty"])
    if m := _TRAILING_QTY.match(rest):
        return m["rest"], parse_quantity(m["qty"])
    return rest, None


def parse_currency(text: str) -> str | ParseError:
    """A currency by ISO code ("usd") or by name or sign ("美元", "¥")."""
    typed = clean_text(text).strip()
    code = _CURRENCY_NAMES.get(typed) or _CURRENCY_NAMES.get(typed.upper()) or typed.upper()
    if re.fullmatch(r"[A-Z]{3}", code) and code in list_currencies():
        return code
    return ParseError("parse.currency.unknown", {"currency": typed[:20]})
