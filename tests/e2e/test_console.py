"""`crm-bot console` as a newcomer uses it: a subprocess fed typed lines, no token, no network."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from handlers.i18n import Catalogs
from tests.e2e.helpers import first_line


def run_console(tmp_path: Path, lines: list[str], *extra: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "console",
            "--db",
            str(tmp_path / "console.sqlite3"),
            *extra,
        ],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CRM_BOT_TOKEN": ""},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_console_greets_admin_invites_salesperson_and_refuses_stranger(
    tmp_path: Path, catalogs: Catalogs
):
    first = run_console(tmp_path, ["/invite", "1", ":quit"])
    assert first_line(catalogs, "en", "start.welcome.admin", name="Admin") in first
    link = re.search(r"https://t\.me/crm_console_bot\?start=[\w-]+", first)
    assert link, first

    second = run_console(
        tmp_path,
        [":as 2002 Sam", link[0], ":as 3003 Eve", "hello", ":as 1001", "/team", ":quit"],
    )
    assert "You have joined the team as a salesperson." in second
    assert first_line(catalogs, "en", "gate.stranger", user_id=3003) in second
    assert "Sam · salesperson" in second  # the admin's /team, in a second session: data kept


def test_console_speaks_chinese_when_asked(tmp_path: Path, catalogs: Catalogs):
    output = run_console(tmp_path, ["/help", ":quit"], "--lang", "zh")
    assert first_line(catalogs, "zh", "start.welcome.admin", name="Admin") in output
    assert "/invite — 邀请销售或经理" in output


def test_console_sends_a_number_beyond_the_buttons_as_text(tmp_path: Path, catalogs: Catalogs):
    output = run_console(tmp_path, ["/lang", "7", ":quit"])
    assert output.endswith(
        "You (admin) > 7\nbot: " + first_line(catalogs, "en", "plain.hint") + "\n"
        "You (admin) > :quit\n"
    )
