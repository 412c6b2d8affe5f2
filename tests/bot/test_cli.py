"""`crm-bot` in-process: exit codes, what it prints, and that it never prints secrets."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, main
from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_database
from tests import conftest
from tests.e2e.helpers import free_port
from tests.factories import make_customer, make_member

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:CLI-secret-token"
PASSWORD = "pg-s3cret-pw"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No config or secret from the developer's shell; the root logger is restored after
    `main` reconfigures it."""
    for name in ("CRM_CONFIG", "CRM_BOT_TOKEN", "CRM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = saved


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_with_database(tmp_path: Path, url: str) -> Path:
    return config_file(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\n[database]\nurl = "{url}"\n[access]\nadmins = [1, 2]\n',
    )


def with_password(url: str) -> str:
    """`url` with a password (the test server trusts local connections, so any will do)."""
    user, _, rest = url.removeprefix("postgresql://").partition("@")
    return f"postgresql://{user}:{PASSWORD}@{rest}"


def test_check_config_prints_summary_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_with_database(tmp_path, with_password(conftest.POSTGRES.url))
    assert main(["--config", str(path), "check-config"]) == 0
    out, err = capsys.readouterr()
    [line] = out.splitlines()
    assert line.startswith("config OK: mode=polling, database=postgresql://")
    assert "127.0.0.1" in line
    assert "admins=2" in line
    assert TOKEN not in out + err
    assert PASSWORD not in out + err


@pytest.mark.parametrize("away", ["refused", "missing-folder"])
def test_check_config_with_the_database_away_is_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], away: str
) -> None:
    url = (
        f"postgresql://crm:{PASSWORD}@127.0.0.1:{free_port()}/crm"
        if away == "refused"
        else f"sqlite:///{tmp_path / 'no-such-folder' / 'crm.sqlite3'}"
    )
    assert main(["--config", str(config_with_database(tmp_path, url)), "check-config"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("config error: database.url: ")
    assert "not reachable" in line
    assert PASSWORD not in line


def test_check_config_reports_each_bad_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(
        tmp_path,
        f'[telegram]\ntoken = "{TOKEN}"\nmode = "pigeon"\n[locale]\ntimezone = "Nowhere/City"\n',
    )
    assert main(["--config", str(path), "check-config"]) == EXIT_CONFIG == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert sorted(line.partition(": ")[2].partition(":")[0] for line in lines) == [
        "locale.timezone",
        "telegram.mode",
    ]
    assert all(line.startswith("config error: ") for line in lines)


def test_check_config_names_missing_token_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, "[access]\nadmins = [1]\n")
    assert main(["--config", str(path), "check-config"]) == EXIT_CONFIG
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("config error: telegram.token: ")


def test_check_config_reports_missing_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "absent.toml"), "check-config"]) == EXIT_CONFIG
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("config error: ")
    assert "absent.toml" in line


def test_db_upgrade_brings_database_to_head(
    tmp_path: Path, blank_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, f"[database]\nurl = '{blank_db_url}'\n")
    assert main(["--config", str(path), "db", "upgrade"]) == 0
    assert capsys.readouterr().out == f"database at revision {head_revision()}\n"
    database = Database(blank_db_url)
    try:
        assert current_revision(database.engine) == head_revision()
    finally:
        database.close()


def test_module_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in ("run", "console", "db", "check-config", "webhook"):
        assert f"    {command} " in result.stdout


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    return path


def test_cli_backup_writes_a_verified_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live_db = Database(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    upgrade_database(live_db.engine)
    with live_db.session() as session:
        make_customer(session, owner=make_member(session))
    live_db.close()
    target = tmp_path / "backups"
    target.mkdir()
    config = _config(tmp_path, live_db.url)
    assert main(["--config", str(config), "backup", str(target)]) == 0
    [copy] = target.iterdir()
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM customer").fetchone()[0] == 1
    assert "integrity ok" in capsys.readouterr().out


def test_cli_backup_of_postgresql_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "postgresql://crm@db.example.com/crm")
    assert main(["--config", str(config), "backup", str(tmp_path / "x.sqlite3")]) == EXIT_CONFIG
    assert "pg_dump" in capsys.readouterr().err
