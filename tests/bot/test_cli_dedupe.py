"""`crm-bot dedupe --report FILE`: every cluster of likely duplicates, as CSV or XLSX."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import EXIT_CONFIG, main
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.migrate import upgrade_database
from tests.bot.test_cli import clean_environment  # noqa: F401 (autouse: no CRM_* from the shell)
from tests.factories import make_member


@pytest.fixture
def config(tmp_path: Path, db_url: str) -> Path:
    """A config for `db_url` with two clusters: a shared phone, and 张伟/章伟 at one company."""
    db = Database(db_url)
    upgrade_database(db.engine)

    def seed(session: object) -> None:
        owner = make_member(session, display_name="Lin")  # type: ignore[arg-type]
        for name, phones, company in (
            ("Zhang Wei", ["+8613800138000"], None),
            ("Wei Zhang", ["+8613800138000"], None),
            ("张伟", [], "华为技术有限公司"),
            ("章伟", [], "华为技术"),
            ("Li Na", [], "Acme"),
        ):
            data = CustomerCreate(name=name, phones=phones, company=company)
            create_customer(session, actor=owner, data=data)  # type: ignore[arg-type]

    db.run_sync(seed)
    db.close()
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return path


def test_cli_dedupe_writes_every_cluster_to_a_csv(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "dupes.csv"
    assert main(["--config", str(config), "dedupe", "--report", str(report)]) == 0
    assert "2 clusters" in capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["Cluster", "Why", "ID", "Name"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("1", "phone", "Zhang Wei"),
        ("1", "phone", "Wei Zhang"),
        ("2", "pinyin", "张伟"),
        ("2", "pinyin", "章伟"),
    ]
    assert rows[1][4].endswith("+8613800138000")  # defused like every export
    assert rows[1][7] == "Lin"


def test_cli_dedupe_writes_xlsx_by_the_extension(tmp_path: Path, config: Path) -> None:
    report = tmp_path / "dupes.XLSX"
    assert main(["--config", str(config), "dedupe", "--report", str(report)]) == 0
    sheet = load_workbook(report, read_only=True).active
    assert sheet is not None
    names = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Zhang Wei", "Wei Zhang", "张伟", "章伟"]


def test_cli_dedupe_refuses_another_extension(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "dupes.txt"
    assert main(["--config", str(config), "dedupe", "--report", str(report)]) == EXIT_CONFIG
    assert ".csv or .xlsx" in capsys.readouterr().err
    assert not report.exists()
