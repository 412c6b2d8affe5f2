"""Standard values and required fields in the customer entry: a region or industry typed any
way is stored as the list's value and shown in the member's language; one not on the list is
kept and flagged; fields the team requires (`[quality] required`) are asked without Skip."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest

from bot.config import QualityConfig
from bot.emulator import BotApiEmulator
from handlers import deal
from handlers.flows.rules import with_rules
from handlers.i18n import Catalogs
from handlers.records import deals as records_deals
from storage.models import Customer
from storage.quality.rules import rules_from
from tests.conftest import ADMIN_ID, RunningBot
from tests.e2e.helpers import answer, join, rows, shown
from tests.e2e.test_deal_flow import add_customer, pick_customer
from tests.e2e.test_import import finish, to_preview, upload
from tests.e2e.test_record_edits import answer_and_wait, edit
from tests.e2e.test_record_edits import save as save_edit
from tests.e2e.test_records import customer, seed
from tests.e2e.user import ScriptedUser
from tests.storage.test_import_crm_exports import EXPORTS


async def to_industry(user: ScriptedUser, name: str = "Zhang Wei", skip: str = "Skip »") -> None:
    """Name and phone typed, email, company and position skipped: industry is asked next."""
    await user.send("/newcustomer")
    await user.replies(2)
    await answer(user, name)
    await answer(user, "13800138000")
    for _ in range(3):
        await user.press(skip)
        await user.reply()


async def save(user: ScriptedUser, review: str = "Review ✓", ok: str = "✅ Save") -> str:
    await user.press(review)
    summary = await user.reply()
    await user.press(ok, message=summary)
    await user.reply()
    return summary.text


async def test_region_and_industry_are_read_to_the_lists(admin: ScriptedUser, db_url: str):
    await to_industry(admin)
    await answer(admin, "零售业")
    await answer(admin, "沪")
    summary = await save(admin)
    assert "Industry: Retail" in summary.splitlines()
    assert "Region: Shanghai" in summary.splitlines()
    (customer,) = rows(db_url, Customer)
    assert (customer.industry, customer.region) == ("零售", "上海")


async def test_a_chinese_member_sees_the_chinese_names(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
):
    li = await join(emu, admin, 2002, "李娜", language_code="zh-hans")
    await to_industry(li, "张伟", "跳过 »")
    await answer(li, "retail")
    await answer(li, "Shanghai City")
    summary = await save(li, "完成并查看 ✓", "✅ 保存")
    assert "行业：零售" in summary.splitlines()
    assert "地区：上海" in summary.splitlines()
    (customer,) = rows(db_url, Customer)
    assert (customer.industry, customer.region) == ("零售", "上海")


async def test_a_region_not_on_the_list_is_kept_and_flagged(
    admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await to_industry(admin)
    await answer(admin, "Retail")
    reply = await answer(admin, "Atlantis")
    assert reply.startswith(shown(catalogs, "en", "quality.unlisted.region", value="Atlantis"))
    assert reply.endswith(shown(catalogs, "en", "customer.ask.gender"))
    summary = await save(admin)
    assert "Region: Atlantis ⚠️ not on the list" in summary.splitlines()
    assert [c.region for c in rows(db_url, Customer)] == ["Atlantis"]


@pytest.fixture
async def strict_bot(emu: BotApiEmulator, db_url: str) -> AsyncIterator[RunningBot]:
    """A team that requires a phone, a company and a source for every customer, and an
    amount for every deal."""
    required = {
        "customer": ["name", "phone", "company", "source"],
        "deal": ["title", "stage", "amount"],
    }
    bot = RunningBot(emu, db_url, quality=QualityConfig(required=required))
    await bot.start()
    yield bot
    await bot.stop()
    assert not bot.errors


@pytest.fixture
def strict_admin(emu: BotApiEmulator, strict_bot: RunningBot) -> ScriptedUser:
    return ScriptedUser(emu, ADMIN_ID, "Ada", language_code="en")


async def test_required_fields_are_asked_without_skip(strict_admin: ScriptedUser, db_url: str):
    user = strict_admin
    await user.send("/newcustomer")
    await user.replies(2)
    await user.send("Zhang Wei")
    ask_phone = await user.reply()
    assert "Skip »" not in ask_phone.button_labels
    assert "Review ✓" not in ask_phone.button_labels
    await answer(user, "13800138000")
    await user.press("Skip »")  # email is optional
    ask_company = await user.reply()
    assert "Skip »" not in ask_company.button_labels
    await user.press("« Back", message=ask_company)  # back still works
    await user.reply()
    await user.press("Skip »")
    await user.reply()
    await user.send("Acme")
    await user.reply()
    for _ in range(4):  # position, industry, region, gender
        await user.press("Skip »")
        await user.reply()
    await user.press("Skip »")  # birthday
    ask_source = await user.reply()
    assert "Skip »" not in ask_source.button_labels
    assert "Review ✓" not in ask_source.button_labels
    await user.press("Referral", message=ask_source)
    ask_category = await user.reply()
    assert "Review ✓" in ask_category.button_labels  # every required field is in
    await user.press("Review ✓")
    summary = await user.reply()
    await user.press("✅ Save", message=summary)
    await user.reply()
    (customer,) = rows(db_url, Customer)
    assert (customer.company, customer.source) == ("Acme", "referral")


async def test_a_pressed_skip_on_a_required_field_saves_nothing(
    strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    """A stale Skip (from before the rule) on a required question does nothing; /cancel
    still discards the entry."""
    user = strict_admin
    await user.send("/newcustomer")
    await user.replies(2)
    await user.send("Zhang Wei")
    ask_phone = await user.reply()
    reply = await answer(user, "12345")  # bad input: asked again, still without Skip
    assert reply.startswith(shown(catalogs, "en", "parse.phone.invalid", region="China"))
    assert await answer(user, "/cancel") == shown(catalogs, "en", "cancel.done")
    assert ask_phone.button_labels  # Back and Cancel only
    assert rows(db_url, Customer) == []


async def test_newdeal_asks_a_required_amount_without_skip(
    strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    user = strict_admin
    add_customer(db_url, user, "Zhang Wei", "+8613800138000", company="Acme")
    await user.send("/newdeal")
    await user.replies(2)
    await pick_customer(user, "zhang", "Zhang Wei · Acme")
    await user.send("50 office chairs")
    ask_amount = await user.reply()
    assert ask_amount.text == shown(catalogs, "en", "deal.ask.amount")
    assert "Skip »" not in ask_amount.button_labels
    assert "Review ✓" not in ask_amount.button_labels
    again = await answer(user, "lots")  # not an amount: explained, asked again
    assert again.endswith(shown(catalogs, "en", "deal.ask.amount"))
    assert await answer(user, "50k") == shown(catalogs, "en", "deal.ask.budget_amount")


async def test_required_rules_hold_after_a_restart(
    strict_admin: ScriptedUser, strict_bot: RunningBot, db_url: str
):
    user = strict_admin
    await user.send("/newcustomer")
    await user.replies(2)
    await answer(user, "Zhang Wei")
    await strict_bot.restart()
    await user.send("13800138000")
    await user.reply()
    await user.press("Skip »")  # email
    ask_company = await user.reply()
    assert "Skip »" not in ask_company.button_labels


async def test_import_rows_missing_a_required_field_go_to_the_error_file(
    emu: BotApiEmulator, strict_admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    content = (
        "Name,Phone,Company,Source,Region\n"
        "Zhang Wei,13800138000,Acme,转介绍,上海市\n"
        "Li Na,,Beta,website,北京\n"
        "Wang Fang,13700137000,,website,Atlantis\n"
    ).encode()
    preview = await to_preview(strict_admin, await upload(strict_admin, "crm.csv", content))
    result = await finish(strict_admin, preview)
    assert "Rejected: 2" in result.text
    document = await strict_admin.reply()
    assert document.document is not None
    table = csv.reader(
        io.StringIO(emu.state.files[document.document.file_id].content.decode("utf-8-sig"))
    )
    assert [row[-1] for row in list(table)[1:]] == [
        shown(catalogs, "en", "import.reason.missing_phone"),
        shown(catalogs, "en", "import.reason.missing_company"),
    ]
    (zhang,) = rows(db_url, Customer)
    assert (zhang.name, zhang.region, zhang.source) == ("Zhang Wei", "上海", "referral")


async def test_editing_the_region_reads_it_to_the_list(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
):
    await admin.send("/help")
    await admin.reply()
    sales = await join(emu, admin, 2002, "Li Na")
    customer_id = seed(db_url, 2002, "Zhang Wei", region="Pudong")
    question = await edit(sales, catalogs, customer_id, "region")
    assert "Now: Pudong ⚠️ not on the list" in question.text
    summary = await answer_and_wait(sales, "shanghai")
    assert "Region: Shanghai" in summary.text.splitlines()
    await save_edit(sales, catalogs, summary)
    assert customer(db_url, customer_id).region == "上海"


def test_required_deal_fields_are_marked_in_the_deal_flows() -> None:
    rules = rules_from(required={"deal": ["amount", "close_date"]}, weights={})
    for flow in (deal.FLOW, *records_deals.FEATURE.flows):
        marked = with_rules(flow, rules)
        required = {f.name for f in marked.fields if f.required}
        assert {"amount", "close"} <= required, flow.name
    assert not next(f for f in deal.FLOW.fields if f.name == "amount").required  # a copy


@pytest.mark.parametrize("export", ["hubspot", "pipedrive", "split_chinese"])
async def test_another_crms_export_imports_without_mapping_by_hand(
    admin: ScriptedUser, db_url: str, export: str
) -> None:
    preview = await to_preview(
        admin, await upload(admin, f"{export}.csv", EXPORTS[export].encode())
    )
    result = await finish(admin, preview)
    assert "Created: 1" in result.text
    (imported,) = rows(db_url, Customer)
    assert (imported.name, imported.company) == (
        "张伟" if export == "split_chinese" else "Wei Zhang",
        "Acme",
    )
