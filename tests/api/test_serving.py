"""`crm-bot api` as it runs: uvicorn on the configured address, beside the bot on one SQLite
file; a database that does not answer is a 503 problem, not a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2
from fastapi.testclient import TestClient
from sqlmodel import select

from bot.api.app import create_app
from handlers.i18n import Catalogs
from storage.api_tokens import create_token
from storage.customers import CustomerCreate, create_customer
from storage.db import Database
from storage.migrate import upgrade_database
from storage.models import Customer, Role
from tests.api.conftest import Api, api_config
from tests.factories import make_member

READY_WITHIN_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_token(url: str) -> str:
    """A token of a new admin in the database at `url` (migrated here if it is not)."""
    db = Database(url)
    upgrade_database(db.engine)
    member = db.run_sync(lambda s: make_member(s, role=Role.ADMIN))
    secret = db.run_sync(
        create_token, actor=None, name="erp", member_telegram_id=member.telegram_id
    ).secret
    db.close()
    return secret


@contextmanager
def crm_bot_apis(
    url: str, folder: Path, count: int = 1
) -> Iterator[list[tuple[str, subprocess.Popen[bytes]]]]:
    """`count` `crm-bot api` processes on the database at `url`, each on a free port, started
    together and yielded once all answer (base URL and process); stopped with SIGTERM after."""
    config = folder / "config.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    servers = []
    for port in (free_port() for _ in range(count)):
        command = [
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            "api",
            "--port",
            str(port),
        ]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        servers.append((f"http://127.0.0.1:{port}", process))
    try:
        deadline = time.monotonic() + READY_WITHIN_S
        for base, server in servers:
            while True:
                try:
                    httpx2.get(f"{base}/openapi.json", timeout=2)
                    break
                except httpx2.TransportError:
                    assert server.poll() is None, server.stdout.read() if server.stdout else ""
                    assert time.monotonic() < deadline, "crm-bot api did not start listening"
                    time.sleep(0.2)
        yield servers
    finally:
        for _, server in servers:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)


def test_crm_bot_api_serves_the_document_and_the_token_s_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    secret = admin_token(url)
    with crm_bot_apis(url, tmp_path) as [(base, server)]:
        document = httpx2.get(f"{base}/openapi.json", timeout=5)
        assert document.status_code == 200
        assert "/customers" in document.json()["paths"]
        assert httpx2.get(f"{base}/docs", timeout=5).status_code == 200
        auth = {"Authorization": f"Bearer {secret}"}
        made = httpx2.post(f"{base}/customers", json={"name": "Li"}, headers=auth, timeout=5)
        assert made.status_code == 201
        assert httpx2.get(f"{base}/customers", timeout=5).status_code == 401
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
    # uvicorn shuts down cleanly, then raises the signal again for its default action.
    assert server.returncode in (0, -signal.SIGTERM)
    assert b"Application shutdown complete" in output


def test_two_api_processes_on_postgresql_make_one_record_of_one_key(
    postgres_db: Database, tmp_path: Path
) -> None:
    """Concurrent creates with one Idempotency-Key, spread over two `crm-bot api` processes
    on one database: one customer; every answer is the first one (201, the same body)."""
    url = postgres_db.url
    auth = {"Authorization": f"Bearer {admin_token(url)}", "Idempotency-Key": "erp-4711"}
    with crm_bot_apis(url, tmp_path, count=2) as [(first, _one), (second, _two)]:

        def create(base: str) -> tuple[int, str]:
            made = httpx2.post(f"{base}/customers", json={"name": "Li"}, headers=auth, timeout=10)
            return made.status_code, made.text

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(create, [first, second] * 4))
    assert {status for status, _ in answers} == {201}
    assert len({body for _, body in answers}) == 1
    assert len(postgres_db.read_sync(lambda s: s.exec(select(Customer)).all())) == 1


def test_api_writes_beside_another_writer_on_one_sqlite_file(
    tmp_path: Path, sqlite_template: object, catalogs: Catalogs
) -> None:
    """Two engines on one file, as `crm-bot api` and `crm-bot run` are two processes: every
    write of both lands (BEGIN IMMEDIATE and the busy timeout, no "database is locked")."""
    url = f"sqlite:///{tmp_path / 'crm.sqlite3'}"
    sqlite_template.copy_to(url)  # type: ignore[attr-defined]
    api_db, bot_db = Database(url), Database(url)
    try:
        with TestClient(create_app(api_config(url), api_db, catalogs=catalogs)) as client:
            api = Api(client, api_db)
            sales = api.member("sam", Role.SALES)
            token = api.token("sam", name="sam")

            def through_api(i: int) -> int:
                answer = api.post("/customers", token, json={"name": f"API {i}"})
                return int(answer.status_code)

            def through_bot(i: int) -> None:
                bot_db.run_sync(
                    lambda s: create_customer(s, actor=sales, data=CustomerCreate(name=f"Bot {i}"))
                )

            with ThreadPoolExecutor(max_workers=8) as pool:
                api_answers = pool.map(through_api, range(20))
                list(pool.map(through_bot, range(20)))
                assert set(api_answers) == {201}
        names = api_db.read_sync(lambda s: s.exec(select(Customer.name)).all())
        assert len(names) == 40
    finally:
        api_db.close()
        bot_db.close()


def test_an_unreachable_database_is_a_503_problem(tmp_path: Path, catalogs: Catalogs) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'crm.sqlite3'}"
    db = Database(url)
    try:
        app = create_app(api_config(url), db, catalogs=catalogs)
        # A real server sends the answer; the test client would also re-raise the error.
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.get("/customers", headers={"Authorization": "Bearer crm_x"})
        assert answer.status_code == 503
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "5"
    finally:
        db.close()
