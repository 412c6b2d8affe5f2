"""Exports read as a person reads them, in the member's language, and import back as they
were: every field of a customer survives export -> import in English and Chinese, as CSV
(formula guard included) and as XLSX; the import preview shows labels, not codes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from storage.customers import CustomerCreate, create_customer
from storage.deals import DealCreate, create_deal
from storage.interactions import InteractionCreate, create_interaction
from storage.models import Customer, CustomerPhone, Member
from tests.e2e.helpers import join, rows, shown
from tests.e2e.test_deal_flow import with_member
from tests.e2e.test_export import export, read_csv, read_xlsx
from tests.e2e.test_import import finish, press, to_preview, upload
from tests.e2e.user import ScriptedUser

FULL = CustomerCreate(
    name="Zhang Wei",
    phones=["+8613800138000", "+8613900139000"],
    email="zhang@example.com",
    company="=Acme",  # guarded in the CSV, plain in the XLSX, as it was after the import
    position="CTO",
    industry="零售",  # standard values are stored as the list's own, as entry and import do
    region="上海",
    gender="male",
    birthday_month=3,
    birthday_day=5,
    birthday_year=1988,
    source="event",
    category="potential",
    tags=["vip", "北京"],
    needs="50 chairs, delivered before May",
)
SPARSE = CustomerCreate(
    name="李娜",
    phones=["+8613700137000"],
    gender="female",
    birthday_month=2,
    birthday_day=29,  # no year: the leap day still reads back
    source="微信群",  # a team's own channel is kept as written
    category="loyal",
)
EVERY_LANGUAGE_AND_FORMAT = pytest.mark.parametrize(
    ("lang", "fmt"), [(lang, fmt) for lang in ("en", "zh") for fmt in ("csv", "xlsx")]
)
COMPARED = [f.name for f in dataclasses.fields(CustomerCreate) if f.name != "photos"]


def add(db_url: str, user: ScriptedUser, data: CustomerCreate) -> int:
    def make(session: Session, member: Member) -> int:
        customer = create_customer(session, actor=member, data=data)
        assert customer.id is not None
        return customer.id

    return int(with_member(db_url, user, make))


def stored(db_url: str, customer: Customer) -> dict[str, Any]:
    """The customer's fields as CustomerCreate names them, phones included."""
    phones = [p.e164 for p in rows(db_url, CustomerPhone) if p.customer_id == customer.id]
    values = {name: getattr(customer, name, None) for name in COMPARED if name != "phones"}
    return {**values, "phones": sorted(phones), "tags": list(customer.tags or [])}


def expected(data: CustomerCreate) -> dict[str, Any]:
    values = {name: getattr(data, name) for name in COMPARED}
    return {**values, "phones": sorted(data.phones)}


@EVERY_LANGUAGE_AND_FORMAT
async def test_an_export_imports_back_as_it_was(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str, fmt: str
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code=lang)
    for data in (FULL, SPARSE):
        add(db_url, wang, data)
    name, content = await export(emu, wang, f"/export customers {fmt}")
    review = await upload(wang, name, content)
    preview = await to_preview(wang, review, lang)
    preview = await press(wang, preview, shown(catalogs, lang, "import.mode.create"))
    await finish(wang, preview, lang)
    customers = sorted(
        (c for c in rows(db_url, Customer) if c.deleted_at is None), key=lambda c: c.id or 0
    )
    assert len(customers) == 4, wang.transcript()
    imported = [stored(db_url, c) for c in customers[2:]]
    assert imported == [expected(FULL), expected(SPARSE)]


def _customer_deal_and_note(db_url: str, user: ScriptedUser) -> None:
    def make(session: Session, member: Member) -> None:
        customer = create_customer(session, actor=member, data=FULL)
        assert customer.id is not None
        create_deal(
            session,
            actor=member,
            data=DealCreate(customer_id=customer.id, title="50 chairs", stage="negotiation"),
        )
        happened = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
        note = InteractionCreate(customer_id=customer.id, kind="visit", happened_at=happened)
        create_interaction(session, actor=member, data=note)

    with_member(db_url, user, make)


LABELS = {
    "en": {
        "gender": "Male",
        "source": "Event",
        "category": "Potential",
        "birthday": "5 March 1988",
    },
    "zh": {"gender": "男", "source": "活动", "category": "潜在客户", "birthday": "1988年3月5日"},
}


@EVERY_LANGUAGE_AND_FORMAT
async def test_an_export_shows_labels_in_the_members_language(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str, lang: str, fmt: str
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code=lang)
    _customer_deal_and_note(db_url, wang)
    read = read_xlsx if fmt == "xlsx" else read_csv

    def by_header(kind: str) -> dict[str, str]:
        header, row = read(files[kind])
        return dict(zip(header, row, strict=True))

    files = {kind: (await export(emu, wang, f"/export {kind} {fmt}"))[1] for kind in KINDS}
    customer = by_header("customers")
    for column, label in LABELS[lang].items():
        assert customer[shown(catalogs, lang, f"export.column.{column}")] == label
    phones = customer[shown(catalogs, lang, "export.column.phones")]
    # The formula guard is for CSV; an XLSX cell typed as text shows the number as it is.
    assert phones == (
        "+8613800138000; +8613900139000" if fmt == "xlsx" else "'+8613800138000; +8613900139000"
    )
    stage = by_header("deals")[shown(catalogs, lang, "export.column.stage")]
    assert stage == shown(catalogs, lang, "deal.stage.negotiation")
    kind = by_header("notes")[shown(catalogs, lang, "export.column.kind")]
    assert kind == shown(catalogs, lang, "note.kind.visit")
    # Every field has its column, under a header in the member's language.
    for kind, columns in EVERY_FIELD.items():
        headers = set(by_header(kind))
        assert {shown(catalogs, lang, f"export.column.{c}") for c in columns} <= headers


EVERY_FIELD = {
    "customers": ("birthday", "tags", "needs", "contact_cadence_days", "last_contact_at"),
    "deals": (
        "budget",
        "decision_date",
        "budget_notes",
        "decision_maker_notes",
        "close_reason",
        "probability",
    ),
    "notes": ("outcome", "latitude", "longitude"),
}


KINDS = ("customers", "deals", "notes")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["Source: Website", "Gender: Male", "Category: Loyal"]),
        ("zh", ["来源：网站", "性别：男", "类别：忠实客户"]),
    ],
)
async def test_the_import_preview_shows_labels_not_codes(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str, lang: str, expected: list[str]
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code=lang)
    content = "Name,Source,Gender,Category\nZhang Wei,website,男,Loyal\n".encode()
    preview = await to_preview(wang, await upload(wang, "people.csv", content), lang)
    for text in expected:
        assert text in preview.text, preview.text
