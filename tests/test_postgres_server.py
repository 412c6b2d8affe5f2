"""The suite's own PostgreSQL when the machine has none (what a newcomer's first run gets)."""

from __future__ import annotations

import psycopg
import pytest

from tests import postgres_server
from tests.postgres_server import CHILD_VARIABLES, URL_VARIABLE, answers, choose_postgres


def test_an_explicit_url_is_used_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLE, "postgresql://someone@db.example:5432/crm")
    assert choose_postgres().url == "postgresql://someone@db.example:5432/crm"


def test_without_a_server_the_run_starts_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CHILD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(postgres_server, "MACHINE_URL", "postgresql://postgres@127.0.0.1:9/test")
    choice = choose_postgres()
    try:
        assert choice.note is not None
        assert "throwaway" in choice.note
        assert answers(choice.url)
        with psycopg.connect(choice.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # search needs it
            assert conn.execute("SELECT similarity('Zhang', 'Zhong')").fetchone() is not None
    finally:
        postgres_server.stop_started(choice.url)
    assert not answers(choice.url)
