"""Which customer field each spreadsheet column fills, guessed from English and Chinese headers,
including the exports of other CRMs (HubSpot, Salesforce, Pipedrive, Zoho, 纷享销客, 销售易:
"First Name", "Person - Phone - Work", "Account Name", "所属客户", ...).

Headers are compared without case, spaces or punctuation ("E-mail", "e mail", "EMAIL" are
one word). An exact synonym wins over a header that merely contains one ("客户手机号" holds
"手机号"); each field is given to one column only, the first that claims it. Date columns
written like 03/04/2025 are ambiguous until one value has a part above 12 or the member
chooses day-first or month-first for the column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.imports.files import SheetTable

CUSTOMERS, ORDERS = "customers", "orders"  # the kinds of file (`order_rows.guess_kind`)


def kind_of(settings: Mapping[str, Any]) -> str:
    """A batch's CUSTOMERS or ORDERS, from its settings (one from before orders: customers)."""
    return str(settings.get("kind", CUSTOMERS))


TARGETS: tuple[str, ...] = (
    "name",
    "phone",
    "email",
    "company",
    "position",
    "industry",
    "region",
    "birthday",
    "source",
    "category",
    "tags",
    "needs",
    "gender",
    "first_name",
    "last_name",
    "owner",
    "created",
)
"""Customer fields an import can fill; a button carries the index in this tuple. First and
last name (姓, 名) are combined into the name when the file has no full-name column; `owner`
(a member's name) and `created` (when the other CRM created the record) are the record's own
history, not customer fields (`storage.imports.owners`, `storage.imports.rows`)."""

DATE_TARGETS = ("birthday", "created", "ordered_on", "delivery_due_on")  # customer, order

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name", "full name", "customer name", "client name", "contact", "contact name",
        "contact person", "姓名", "名字", "客户名称", "客户姓名", "客户名", "客户", "联系人",
        "联系人姓名", "名称",
        # Pipedrive, Salesforce, Zoho; 纷享销客, 销售易
        "person - name", "person name", "contact full name", "full name (contact)",
        "联系人名称", "联系人全名",
    ),
    "first_name": (
        "first name", "firstname", "given name", "person - first name", "contact first name",
        "名", "名字(名)",
    ),
    "last_name": (
        "last name", "lastname", "surname", "family name", "person - last name",
        "contact last name", "姓", "姓氏",
    ),
    "phone": (
        "phone", "phones", "phone number", "mobile", "mobile phone", "mobile number", "cell",
        "cell phone", "tel", "telephone", "电话", "手机", "手机号", "手机号码", "联系电话",
        "电话号码", "联系方式", "座机",
        "mobile phone number", "person - phone", "person - phone - work",
        "person - phone - mobile", "business phone", "work phone", "other phone",
        "联系人手机", "联系人电话", "手机1", "电话1",
    ),
    "email": (
        "email", "e-mail", "email address", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件",
        "person - email", "person - email - work", "work email", "business email", "联系人邮箱",
    ),
    "company": (
        "company", "company name", "organization", "organisation", "employer", "business",
        "firm", "公司", "公司名称", "单位", "单位名称", "工作单位", "企业", "企业名称",
        "account name", "account", "associated company", "person - organization",
        "organization - name", "所属客户", "客户名称(所属)", "所属公司", "关联客户",
    ),
    "position": (
        "position", "job title", "title", "role", "job", "职位", "职务", "职称", "岗位",
        "person - job title", "designation",
    ),
    "industry": ("industry", "sector", "行业", "所属行业", "行业类别", "account industry"),
    "region": (
        "region", "city", "province", "state", "area", "location", "地区", "城市", "省份", "区域",
        "所在地", "所在地区", "省市",
        "state/region", "mailing city", "mailing state", "mailing state/province",
        "mailing state/province/region", "billing city", "person - city", "省", "市", "省/市",
    ),
    "birthday": (
        "birthday", "date of birth", "birth date", "dob", "born", "生日", "出生日期", "出生年月",
        "生日日期", "birthdate",
    ),
    "source": (
        "source", "lead source", "channel", "来源", "渠道", "客户来源", "获客渠道", "来源渠道",
        "original source", "contact source", "线索来源",
    ),
    "category": (
        "category", "type", "customer type", "level", "grade", "segment", "类别", "分类",
        "客户等级", "客户类别", "客户类型", "客户分类", "等级", "类型",
        "lifecycle stage", "lead status", "rating", "person - label", "客户级别",
    ),
    "tags": ("tags", "tag", "labels", "label", "keywords", "标签", "关键词"),
    "needs": (
        "needs", "need", "notes", "note", "remarks", "remark", "comment", "comments",
        "requirements", "description", "备注", "需求", "说明", "客户需求", "描述",
    ),
    "gender": ("gender", "sex", "性别"),
    "owner": (
        "owner", "contact owner", "record owner", "lead owner", "account owner", "owner name",
        "person - owner", "assigned to", "sales rep", "负责人", "所有人", "客户负责人",
        "归属人", "跟进人", "销售负责人", "负责销售",
    ),
    "created": (
        "create date", "created", "created date", "created time", "created at", "creation date",
        "date created", "created on", "person - person created", "person created",
        "创建时间", "创建日期", "录入时间", "录入日期", "添加时间",
    ),
}  # fmt: skip


def fold(text: str) -> str:
    """Letters, digits and CJK only, case-folded: the form headers are compared in."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


# Words generic enough to sit inside unrelated headers ("客户经理", "hotel") match only exactly.
_EXACT_ONLY = {"客户", "名称", "类型", "等级", "企业", "单位", "说明", "描述", "分类", "类别"}
# A column about the record's owner, creator or dates ("Contact owner", "负责人", "Create Date",
# "Created by") is never one of the customer's own fields, whatever word it contains: it is
# the owner or created column when it says so exactly, else left for the notes.
_NOT_CUSTOMER = re.compile(r"owner|负责人|所有人|创建人|created|createdate|创建时间|创建日期")
_HISTORY = ("owner", "created")


@dataclass(frozen=True)
class Vocabulary:
    """The header words of one kind of record (customers, orders): exact synonyms, and those
    long and specific enough to count when a header merely contains them."""

    exact: dict[str, str]
    contained: list[tuple[str, str]]
    history: re.Pattern[str]  # headers about the record's owner or dates, not its own fields
    history_targets: tuple[str, ...]  # the only targets such a header may name, exactly

    @classmethod
    def of(
        cls,
        synonyms: dict[str, tuple[str, ...]],
        exact_only: set[str],
        history: re.Pattern[str],
        history_targets: tuple[str, ...] = (),
    ) -> Vocabulary:
        exact = {fold(word): target for target, words in synonyms.items() for word in words}
        contained = sorted(
            (
                (word, target)
                for word, target in exact.items()
                if word not in exact_only and len(word) >= (5 if word.isascii() else 2)
            ),
            key=lambda item: len(item[0]),
            reverse=True,
        )
        return cls(exact, contained, history, history_targets)

    def guess(self, headers: Sequence[str]) -> list[str | None]:
        """One target (or None: ignore) per column; a target is used once."""
        keys = [fold(h) for h in headers]
        history = [bool(self.history.search(key)) for key in keys]
        targets: list[str | None] = [None] * len(headers)
        used: set[str] = set()
        for i, key in enumerate(keys):
            target = self.exact.get(key)
            if history[i] and target not in self.history_targets:
                target = None
            if target is not None and target not in used:
                targets[i] = target
                used.add(target)
        for i, key in enumerate(keys):
            if targets[i] is not None or not key or history[i]:
                continue
            for word, target in self.contained:
                if word in key and target not in used:
                    targets[i] = target
                    used.add(target)
                    break
        return targets


CUSTOMER_WORDS = Vocabulary.of(_SYNONYMS, _EXACT_ONLY, _NOT_CUSTOMER, _HISTORY)


def guess_targets(headers: Sequence[str]) -> list[str | None]:
    """One customer target (or None: ignore) per column; a target is used once."""
    return CUSTOMER_WORDS.guess(headers)


# "a/b/yyyy", maybe with a time after it (a created date: "3/1/2024 10:00 AM")
_SLASHED = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?=$|[ T])")


def day_first_of(values: Sequence[str]) -> bool | None:
    """True/False when some "a/b/yyyy" value has a part above 12; None when none decides."""
    for value in values:
        m = _SLASHED.match(value.strip())
        if m is None:
            continue
        first, second = int(m[1]), int(m[2])
        if first > 12 >= second:
            return True
        if second > 12 >= first:
            return False
    return None


def _has_slashed(values: Sequence[str]) -> bool:
    return any(_SLASHED.match(v.strip()) for v in values)


def date_columns(targets: Sequence[str | None]) -> list[int]:
    return [i for i, target in enumerate(targets) if target in DATE_TARGETS]


def ambiguous_date_columns(table: SheetTable, targets: Sequence[str | None]) -> list[int]:
    """Date columns with "a/b/yyyy" values where nothing tells day-first from month-first."""
    found = []
    for column in date_columns(targets):
        values = [row[column] for row in table.rows]
        if _has_slashed(values) and day_first_of(values) is None:
            found.append(column)
    return found


def decided_date_orders(
    table: SheetTable, targets: Sequence[str | None], chosen: dict[str, bool]
) -> dict[int, bool]:
    """Day-first per date column: the member's choice, else what the values show."""
    orders: dict[int, bool] = {}
    for column in date_columns(targets):
        if str(column) in chosen:
            orders[column] = chosen[str(column)]
        elif (found := day_first_of([row[column] for row in table.rows])) is not None:
            orders[column] = found
    return orders
