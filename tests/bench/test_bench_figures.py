"""The latency, throughput, start-up and seeding benchmarks still run and report real numbers.

Each script runs as `python -m bench <name>` at a tiny size, with its figures captured through
CRM_BENCH_FIGURES; the seeded-database cache goes to a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bench.figures import FIGURES_ENV, Figure
from bench.run_all import reminder_figures, search_figures

BACKENDS = os.environ.get("CRM_TEST_BACKENDS", "sqlite,postgresql").split(",")


def run_bench(tmp_path: Path, *args: str) -> tuple[str, dict[str, Figure]]:
    sink = tmp_path / "figures.jsonl"
    env = {**os.environ, FIGURES_ENV: str(sink), "CRM_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    # 1 = ran, but a figure missed its target (at tiny sizes the floor is noisy): the figures
    # are still all there, and a crash would have written none.
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    assert sink.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    rows = [Figure(**json.loads(row)) for row in sink.read_text().splitlines()]
    return result.stdout, {row.name: row for row in rows}


def assert_measured(figures: dict[str, Figure], *names: str) -> None:
    for name in names:
        value = figures[name].value
        assert isinstance(value, int | float), name
        assert math.isfinite(value), name
        assert value > 0, name


def test_seed_fills_members_and_customers_and_reuses_the_cache(tmp_path: Path):
    env = {**os.environ, "CRM_BENCH_CACHE": str(tmp_path)}
    command = [sys.executable, "-m", "bench", "seed", "--customers", "60"]
    first = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    again = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    assert first.stdout.startswith("seeded 60 customers on sqlite")
    assert "(from the cache)" in again.stdout
    (cached,) = tmp_path.glob("customers-60-*.sqlite3")
    with sqlite3.connect(cached) as conn:
        assert conn.execute("SELECT count(*) FROM customer").fetchone() == (60,)
        assert conn.execute("SELECT count(*) FROM customer_search").fetchone() == (60,)
        assert conn.execute("SELECT count(*) FROM member").fetchone() == (211,)


def test_latency_prints_each_kind_beside_the_floor(tmp_path: Path):
    output, figures = run_bench(
        tmp_path, "latency", "--customers", "60", "--samples", "5", "--warmup", "1"
    )
    assert_measured(figures, "latency floor (PTB echo) p50", "latency floor (PTB echo) p99")
    for bot in ("echo", "our"):  # stamped before the emulator's own handling, shown apart
        assert_measured(figures, f"emulator's handling of {bot} replies p50 (not counted)")
    for kind in ("entry", "search", "card"):
        assert_measured(figures, f"latency {kind} p50", f"latency {kind} p99")
        ratio = figures[f"latency {kind} p99 / floor p99"]
        assert ratio.target == "p99 <= 2x floor at 1,000,000 customers"
        assert ratio.ok is (ratio.value <= 2)
        assert f"latency {kind} p99 / floor p99" in output


@pytest.mark.parametrize("backend", BACKENDS)
def test_throughput_counts_updates_and_no_errors(tmp_path: Path, backend: str):
    _, figures = run_bench(
        tmp_path,
        "throughput",
        *("--customers", "60", "--members", "5", "--rounds", "1", "--backend", backend),
    )
    label = f"throughput {backend}, Telegram limits"
    assert figures[f"{label}: members working at once"].value == 5
    assert_measured(figures, f"{label}: updates/s", f"{label}: p50", f"{label}: p99")
    assert figures[f"{label}: errors"].value == 0
    assert figures[f"{label}: database is locked"].ok is True


def test_startup_times_the_real_process_and_reads_its_memory(tmp_path: Path):
    _, figures = run_bench(tmp_path, "startup", "--customers", "60", "--runs", "1")
    assert_measured(
        figures,
        "start-up sqlite: to first getUpdates",
        "start-up sqlite: to first answer (median)",
        "start-up sqlite: VmRSS",
        "start-up sqlite: VmHWM (peak)",
    )
    assert figures["start-up sqlite: VmRSS"].value > 20  # MB: a Python process with the bot


def test_run_all_gathers_figures_into_a_results_table(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    env = {**os.environ, "CRM_BENCH_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "search", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )
    # Exit 1 is a missed target (a loaded machine is slower); what counts here is that the
    # script ran through and wrote its table. Targets are read from the bench's output.
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    table = results.read_text()
    assert "| figure | value | target | result |" in table
    assert "| search sqlite 2,000 admin name p95 |" in table
    assert "python-telegram-bot 22." in table


def test_older_scripts_output_is_read_back_as_figures():
    search = search_figures(
        "\nsqlite, 1,000 customers (filled in 0 s)\n"
        "  admin name         p50    1.99 ms   p95    5.30 ms   (target p95 < 50 ms: ok)\n"
        "  sales company      p50    1.17 ms   p95   61.64 ms   (target p95 < 50 ms: OVER)\n"
    )
    assert [(f.name, f.value, f.ok) for f in search] == [
        ("search sqlite 1,000 admin name p95", 5.30, True),
        ("search sqlite 1,000 sales company p95", 61.64, False),
    ]
    reminders = reminder_figures(
        "lost                                0   target: 0\n"
        "delivery time                 10.4 s   target: ≈ 10 s at ≤ 1000/s\n"
    )
    assert [(f.name, f.value, f.unit, f.ok) for f in reminders] == [
        ("reminders lost", 0.0, "", True),
        ("reminders delivery time", 10.4, "s", None),
    ]
