"""/export end to end: the file holds what the member may see, opened back with csv and
openpyxl; the usage message; `crm-bot export` from the command line."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.emulator import BotApiEmulator
from handlers.i18n import Catalogs
from tests.e2e.helpers import join, shown, start_code
from tests.e2e.test_deal_flow import add_customer
from tests.e2e.user import ScriptedUser


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def read_xlsx(content: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]


async def export(emu: BotApiEmulator, user: ScriptedUser, command: str) -> tuple[str, bytes]:
    """Send the command; the document's name and bytes as Telegram stores them."""
    await user.send(command)
    message = await user.reply()
    assert message.document is not None, user.transcript()
    return message.document.file_name or "", emu.state.files[message.document.file_id].content


def names(rows: list[list[str]]) -> set[str]:
    return {row[1] for row in rows[1:]}


async def test_export_for_a_salesperson_holds_only_their_customers(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    add_customer(db_url, sam, "=Zhang Wei", "+8613800138000", company="Acme")
    add_customer(db_url, admin, "Admin's Customer", "+8613900139000")
    name, content = await export(emu, sam, "/export customers")
    rows = read_csv(content)
    assert name.startswith("customers-")
    assert name.endswith(".csv")
    assert rows[0][:3] == [
        shown(catalogs, "en", f"export.column.{c}") for c in ("id", "name", "phones")
    ]
    assert names(rows) == {"'=Zhang Wei"}
    assert rows[1][2] == "'+8613800138000"
    assert sam.last_bot_message is not None
    assert sam.last_bot_message.caption == shown(catalogs, "en", "export.done.customers", count=1)


@pytest.mark.parametrize(
    ("lang", "one", "two"),
    [
        ("en", "Your customers: 1 row.", "Your customers: 2 rows."),
        ("zh", "您的客户：共 1 行。", "您的客户：共 2 行。"),
    ],
)
async def test_export_caption_counts_rows_in_the_language_s_plural(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str, lang: str, one: str, two: str
) -> None:
    """ "1 rows" was shown (issue 16): the catalogs' plural forms pick the word by count."""
    sam = await join(emu, admin, 2002, "Sam", language_code="zh-hans" if lang == "zh" else "en")
    add_customer(db_url, sam, "Zhang Wei", "+8613800138000")
    await export(emu, sam, "/export customers")
    assert sam.last_bot_message is not None
    assert sam.last_bot_message.caption == one
    add_customer(db_url, sam, "Li Na", "+8613900139000")
    await export(emu, sam, "/export customers")
    assert sam.last_bot_message.caption == two


async def test_export_for_a_manager_holds_the_team(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str
) -> None:
    mia = await join(emu, admin, 3003, "Mia", "A manager")
    await mia.send("/invite")  # a manager's invite is for their team, no role to choose
    lee = ScriptedUser(emu, 3004, "Lee")
    await lee.send(f"/start {start_code((await mia.reply()).text)}")
    await lee.replies(2)
    outsider = await join(emu, admin, 3005, "Out")
    add_customer(db_url, mia, "Mia's", "+8613800138001")
    add_customer(db_url, lee, "李娜", "+8613800138002")
    add_customer(db_url, outsider, "Outside", "+8613800138003")
    _, content = await export(emu, mia, "/export customers")
    assert names(read_csv(content)) == {"Mia's", "李娜"}


async def test_export_as_xlsx_in_chinese(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs, db_url: str
) -> None:
    wang = await join(emu, admin, 2006, "Wang", language_code="zh")
    add_customer(db_url, wang, "张伟", "+8613800138000", company="@公司")
    name, content = await export(emu, wang, "/export customers xlsx")
    rows = read_xlsx(content)
    assert name.endswith(".xlsx")
    assert rows[0][1] == shown(catalogs, "zh", "export.column.name")
    assert (rows[1][1], rows[1][4]) == ("张伟", "@公司")  # a text cell: no formula guard


async def test_export_of_other_kinds_sends_a_header_only_file(
    emu: BotApiEmulator, admin: ScriptedUser, catalogs: Catalogs
) -> None:
    for kind in ("deals", "notes", "purchases"):
        _, content = await export(emu, admin, f"/export {kind}")
        rows = read_csv(content)
        assert len(rows) == 1
        assert rows[0][0] == shown(catalogs, "en", "export.column.id")


@pytest.mark.parametrize("command", ["/export", "/export invoices", "/export deals pdf"])
async def test_export_without_a_kind_explains_usage(
    admin: ScriptedUser, catalogs: Catalogs, command: str
) -> None:
    await admin.send(command)
    assert (await admin.reply()).text == shown(catalogs, "en", "export.usage")


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`main` reads CRM_* variables and reconfigures logging; both are put back."""
    for name in ("CRM_CONFIG", "CRM_BOT_TOKEN", "CRM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = saved


@pytest.mark.usefixtures("cli_environment")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_cli_export_writes_every_customer(
    emu: BotApiEmulator, admin: ScriptedUser, db_url: str, tmp_path: Path, fmt: str
) -> None:
    sam = await join(emu, admin, 2002, "Sam")
    add_customer(db_url, sam, "Sam's", "+8613800138001")
    add_customer(db_url, admin, "Ada's", "+8613800138002")
    config = tmp_path / "config.toml"
    config.write_text(f"[database]\nurl = '{db_url}'\n", encoding="utf-8")
    output = tmp_path / f"out.{fmt}"
    argv = ["--config", str(config), "export", "customers", "--format", fmt, "--output"]
    assert main([*argv, str(output)]) == 0
    content = output.read_bytes()
    rows = read_xlsx(content) if fmt == "xlsx" else read_csv(content)
    assert rows[0][1] == "Name"
    assert names(rows) == {"Sam's", "Ada's"}
