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


def invite_link(tmp_path: Path) -> str:
    """A first console session in which the admin invites a salesperson: the link."""
    output = run_console(tmp_path, ["/invite", "1", ":quit"])
    link = re.search(r"https://t\.me/crm_console_bot\?start=[\w-]+", output)
    assert link, output
    return link[0]


def test_console_greets_admin_invites_salesperson_and_refuses_stranger(
    tmp_path: Path, catalogs: Catalogs
):
    first = run_console(tmp_path, [":quit"])
    assert first_line(catalogs, "en", "start.welcome.admin", name="Admin") in first
    link = invite_link(tmp_path)

    second = run_console(
        tmp_path,
        [":as 2002 Sam", link, ":as 3003 Eve", "hello", ":as 1001", "/team", ":quit"],
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
        "You (admin) > 7\nbot (msg 6): " + first_line(catalogs, "en", "plain.hint") + "\n"
        "You (admin) > :quit\n"
    )


def test_console_shows_the_pop_up_a_button_press_answers_with(tmp_path: Path, catalogs: Catalogs):
    link = invite_link(tmp_path)
    output = run_console(tmp_path, [":as 2002 Sam", link, ":as 1001", "/team", "2", "1", ":quit"])
    # Sam's card, then "Make admin": Telegram shows "Saved." over the chat.
    assert f"bot (pop-up): {catalogs.translator('en')('team.saved')}\n" in output


def test_console_presses_a_button_of_an_earlier_message(tmp_path: Path, catalogs: Catalogs):
    output = run_console(
        tmp_path, ["/lang", "/invite", ":press 4 2", ":press 4 9", ":press 99 1", ":quit"]
    )
    assert "bot (msg 4): " + first_line(catalogs, "en", "lang.choose") in output
    assert first_line(catalogs, "zh", "lang.set") in output  # the /lang message's 中文
    assert "(message 4 has no button 9)" in output
    assert "(no message 99 here)" in output


def test_console_reply_to_a_card_adds_a_note_and_files_are_saved(
    tmp_path: Path, catalogs: Catalogs
):
    output = run_console(
        tmp_path,
        [
            *("/newcustomer", "Zhang Wei", "3", "1"),  # name, Review, Save
            "/customer 1",  # the card: message 11
            ":reply 11 Called about pumps",
            "/export customers",
            ":quit",
        ],
    )
    assert first_line(catalogs, "en", "lookup.note_saved") in output
    saved = re.search(r"\(file saved: (.+)\)", output)
    assert saved, output
    path = Path(saved[1])
    assert path.parent == tmp_path / "console-files"
    assert "Zhang Wei" in path.read_text(encoding="utf-8-sig")


def test_console_as_sets_the_language_and_keeps_known_names(tmp_path: Path, catalogs: Catalogs):
    run_console(tmp_path, [":as 2002 Sam", "hello", ":quit"])
    output = run_console(tmp_path, [":as 2002", ":as 3003 李娜 zh", "hello", ":users", ":quit"])
    assert "(you are now Sam, Telegram id 2002)" in output  # known from the first session
    assert "(you are now 李娜, Telegram id 3003)" in output
    assert first_line(catalogs, "zh", "gate.stranger", user_id=3003) in output
    assert "  2002: Sam\n" in output


def test_console_users_of_an_earlier_session_still_get_the_bots_messages(
    tmp_path: Path, catalogs: Catalogs
):
    """Sam joined before the restart and says nothing after it: the bot still reaches him
    (Telegram knows him), and `:as` shows what came while you were someone else."""
    link = invite_link(tmp_path)
    run_console(tmp_path, [":as 2002 Sam", link, ":quit"])
    output = run_console(
        tmp_path,
        [
            *("/newcustomer", "Zhang Wei", "3", "1"),
            *("/customer 1", "10", "1"),  # the card's Reassign, to Sam
            ":as 2002",
            ":quit",
        ],
    )
    told = catalogs.translator("en")(
        "records.reassign.told_new", actor="Admin", name="Zhang Wei", id=1
    )
    assert f"(you are now Sam, Telegram id 2002)\nbot (msg 4): {told}\n" in output
