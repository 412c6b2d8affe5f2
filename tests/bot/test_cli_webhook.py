"""`crm-bot webhook add | list | remove`: the secret on the last line, bad input, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from standardwebhooks import Webhook

from bot.cli import main
from storage.webhook_models import WebhookEndpoint
from tests.bot.test_cli import clean_environment  # noqa: F401 (autouse: no CRM_* from the shell)
from tests.e2e.helpers import rows


def config(tmp_path: Path, db_url: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n', encoding="utf-8")
    return str(path)


def webhook(tmp_path: Path, db_url: str, *args: str) -> int:
    return main(["--config", config(tmp_path, db_url), "webhook", *args])


def test_add_prints_the_signing_secret_last_and_list_shows_the_endpoint(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://erp.example.com/hook"
    assert webhook(tmp_path, db_url, "add", url, "--events", "customer.created,deal.won") == 0
    secret = capsys.readouterr().out.splitlines()[-1]
    (endpoint,) = rows(db_url, WebhookEndpoint)
    assert secret == endpoint.secret
    assert secret.startswith("whsec_")
    Webhook(secret)
    assert (endpoint.url, endpoint.events, endpoint.enabled) == (
        url,
        ["customer.created", "deal.won"],
        True,
    )
    assert webhook(tmp_path, db_url, "list") == 0
    assert capsys.readouterr().out == f"{endpoint.id}\ton\t{url}\tcustomer.created,deal.won\n"


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("https://x.example/h", "customer.made", "unknown event types: customer.made"),
        ("ftp://x.example/h", "deal.won", "not an http(s) URL"),
    ],
)
def test_add_refuses_bad_input_on_one_line(
    tmp_path: Path,
    db_url: str,
    capsys: pytest.CaptureFixture[str],
    url: str,
    events: str,
    message: str,
) -> None:
    assert webhook(tmp_path, db_url, "add", url, "--events", events) == 2
    error = capsys.readouterr().err.splitlines()[-1]  # after the migration's log lines
    assert error.startswith("webhook error: ")
    assert message in error
    assert rows(db_url, WebhookEndpoint) == []


def test_remove_deletes_the_endpoint_and_an_unknown_id_is_an_error(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook(tmp_path, db_url, "add", "http://127.0.0.1:8000/h", "--events", "*")
    (endpoint,) = rows(db_url, WebhookEndpoint)
    capsys.readouterr()
    assert webhook(tmp_path, db_url, "remove", str(endpoint.id)) == 0
    assert capsys.readouterr().out == f"endpoint {endpoint.id} removed\n"
    assert rows(db_url, WebhookEndpoint) == []
    assert webhook(tmp_path, db_url, "remove", str(endpoint.id)) == 1
    assert capsys.readouterr().err.splitlines()[-1] == f"webhook error: no endpoint {endpoint.id}"


def test_add_works_on_a_new_database(
    tmp_path: Path, blank_db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert webhook(tmp_path, blank_db_url, "add", "http://h.example/x", "--events", "*") == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("whsec_")
    assert len(rows(blank_db_url, WebhookEndpoint)) == 1
