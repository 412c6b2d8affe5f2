"""`crm-bot import FILE --owner MEMBER`: mapping, modes, date order, error file, exit codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.cli import EXIT_CONFIG, main
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Customer, Member, Order
from tests.bot.test_cli import clean_environment  # noqa: F401 (autouse: no CRM_* from the shell)
from tests.factories import make_member

FILE = "姓名,手机,邮箱,生日,Notes\n张伟,13800138000,zw@example.com,03/04/1990,VIP\nBad,123,,,\n"


@pytest.fixture
def setup(tmp_path: Path, db_url: str) -> Iterator[tuple[Path, Member, Database]]:
    """A config for `db_url`, a salesperson with a username, and the database."""
    db = Database(db_url)
    upgrade_database(db.engine)
    member = db.run_sync(lambda s: make_member(s))
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    yield config, member, db
    db.close()


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "客户.csv"
    path.write_bytes(text.encode(encoding))
    return path


def names(db: Database) -> dict[str, Customer]:
    return {c.name: c for c in db.read_sync(lambda s: list(s.exec(select(Customer))))}


def test_cli_import_creates_customers_and_writes_the_error_file(
    tmp_path: Path, setup: tuple[Path, Member, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    config, member, db = setup
    path = write(tmp_path, FILE, "gbk")
    argv = ["--config", str(config), "import", str(path), "--owner", f"@{member.username}"]
    assert main([*argv, "--day-first", "--map", "Notes=needs"]) == 0
    out = capsys.readouterr().out
    assert "生日 -> birthday" in out
    assert "Notes -> needs" in out
    assert "done: 1 created, 0 updated, 0 skipped, 1 rejected" in out
    customer = names(db)["张伟"]
    assert (customer.owner_id, customer.needs) == (member.id, "VIP")
    assert (customer.birthday_day, customer.birthday_month) == (3, 4)
    errors = tmp_path / "客户.errors.csv"
    rows = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["姓名", "手机", "邮箱", "生日", "Notes", "reason"]
    assert rows[1][:2] == ["Bad", "123"]
    assert rows[1][-1]  # the reason, in words


def test_cli_import_of_orders_makes_them_for_the_owner_once(
    tmp_path: Path, setup: tuple[Path, Member, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    config, member, db = setup

    def customer(session: Session) -> None:
        owner = session.get_one(Member, member.id)
        create_customer(session, actor=owner, data=CustomerCreate(name="张伟"))

    db.run_sync(customer)
    path = tmp_path / "订单.csv"
    path.write_text("订单号,客户,产品,数量,单价\nDD-1,张伟,X2,50,1200\nDD-2,李四,桌子,1,800\n")
    argv = ["--config", str(config), "import", str(path), "--owner", str(member.id)]
    assert main(argv) == 0
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "订单号 -> number" in out
    assert "done: 1 created, 0 updated, 0 skipped, 1 rejected" in out
    assert "done: 0 created, 0 updated, 1 skipped, 1 rejected" in out
    orders = db.read_sync(lambda s: list(s.exec(select(Order))))
    assert [(o.number, o.owner_id, o.total) for o in orders] == [("DD-1", member.id, 60000)]
    errors = tmp_path / "订单.errors.csv"
    rows = list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))
    assert rows[1][-1] == "no customer of yours with this name, phone or company"


def test_cli_import_twice_creates_nothing_new(
    tmp_path: Path, setup: tuple[Path, Member, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    config, member, db = setup
    path = write(tmp_path, FILE)
    argv = [
        "--config",
        str(config),
        "import",
        str(path),
        "--owner",
        str(member.id),
        "--month-first",
    ]
    assert main(argv) == 0
    assert main([*argv, "--mode", "update"]) == 0
    assert "done: 0 created, 0 updated, 1 skipped, 1 rejected" in capsys.readouterr().out
    assert len(names(db)) == 1
    assert names(db)["张伟"].birthday_month == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--day-first or --month-first"),
        (["--day-first", "--map", "Nope=name"], "no column headed 'Nope'"),
        (["--day-first", "--map", "Notes=shoe_size"], "field must be one of"),
        (["--day-first", "--map", "姓名=ignore"], "no column is mapped to name"),
    ],
)
def test_cli_import_usage_problems_exit_2_and_import_nothing(
    tmp_path: Path,
    setup: tuple[Path, Member, Database],
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    config, member, db = setup
    path = write(tmp_path, FILE)
    argv = ["--config", str(config), "import", str(path), "--owner", str(member.telegram_id)]
    assert main([*argv, *extra]) == EXIT_CONFIG == 2
    assert message in capsys.readouterr().err
    assert names(db) == {}


def test_cli_import_refuses_an_unknown_owner_or_missing_file(
    tmp_path: Path, setup: tuple[Path, Member, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, _ = setup
    path = write(tmp_path, FILE)
    assert main(["--config", str(config), "import", str(path), "--owner", "@nobody"]) == 2
    assert "no active member" in capsys.readouterr().err
    missing = str(tmp_path / "missing.csv")
    assert main(["--config", str(config), "import", missing, "--owner", "1"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_import_refuses_an_unreadable_file(
    tmp_path: Path, setup: tuple[Path, Member, Database], capsys: pytest.CaptureFixture[str]
) -> None:
    config, member, _ = setup
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert main(["--config", str(config), "import", str(path), "--owner", str(member.id)]) == 2
    assert "(empty)" in capsys.readouterr().err
