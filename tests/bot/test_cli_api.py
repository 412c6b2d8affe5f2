"""`crm-bot token create|list|revoke`: the token on the last line, once; and `crm-bot api`'s
arguments and config."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, _parser, main
from bot.config import load_config
from storage.api_tokens import authenticate
from storage.db import Database
from storage.models import Member
from tests.bot.test_cli import clean_environment  # noqa: F401 (autouse: no CRM_* from the shell)
from tests.bot.test_cli_import import setup  # noqa: F401, F811 (a config, a salesperson, the database)


def test_token_create_prints_the_token_on_its_last_line(
    setup: tuple[Path, Member, Database],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, member, db = setup
    argv = ["--config", str(config), "token", "create", "--name", "erp"]
    assert main([*argv, "--as", str(member.telegram_id), "--read-only"]) == 0
    secret = capsys.readouterr().out.splitlines()[-1]
    caller = db.read_sync(authenticate, secret=secret)
    assert caller is not None
    assert (caller.member.id, caller.read_only) == (member.id, True)
    assert main(["--config", str(config), "token", "list"]) == 0
    listed = capsys.readouterr().out
    assert "erp" in listed
    assert "never" in listed
    assert secret not in listed
    assert main(["--config", str(config), "token", "revoke", "erp"]) == 0
    assert db.read_sync(authenticate, secret=secret) is None
    assert main(["--config", str(config), "token", "revoke", "erp"]) == EXIT_CONFIG


def test_token_create_for_a_stranger_or_a_taken_name_fails(
    setup: tuple[Path, Member, Database],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, member, _db = setup
    argv = ["--config", str(config), "token", "create", "--name", "erp", "--as"]
    assert main([*argv, "42"]) == EXIT_CONFIG
    assert "42" in capsys.readouterr().err
    assert main([*argv, str(member.telegram_id)]) == 0
    assert main([*argv, str(member.telegram_id)]) == EXIT_CONFIG
    assert "erp" in capsys.readouterr().err


def test_api_port_comes_from_config_unless_given(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[api]\nport = 9000\nrate_per_minute = 5\n", encoding="utf-8")
    config = load_config(path)
    assert (config.api.listen, config.api.port, config.api.rate_per_minute) == (
        "127.0.0.1",
        9000,
        5,
    )
    assert _parser().parse_args(["api", "--port", "9100"]).port == 9100
    assert _parser().parse_args(["api"]).port is None
