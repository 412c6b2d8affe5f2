"""The benchmark scripts still run: tiny sizes, real code paths, figures printed with targets.

They are measured by hand (`python -m bench ...`), so nothing else would notice a script
broken by a schema or API change. Each run seeds into a cache folder of its own, never the
machine's shared `$TMPDIR/crm-bench`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_bench(tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "CRM_BENCH_CACHE": str(tmp_path / "cache")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_search_bench_prints_each_query_kind_with_its_target(tmp_path: Path):
    output = run_bench(
        tmp_path, "search", "--sizes", "300", "--backends", "sqlite", "--queries", "5"
    )
    for kind in ("name", "pinyin", "company", "/find name", "/find order", "/find contract"):
        assert kind in output
    assert "target p95 < 50 ms" in output


def test_reminder_bench_delivers_all_without_loss_or_doubles(tmp_path: Path):
    output = run_bench(tmp_path, "reminders", "--count", "30", "--fast")
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert lines["lost"].split()[1] == "0"
    assert lines["duplicated"].split()[1] == "0"


def test_dedupe_bench_finds_the_planted_duplicates(tmp_path: Path):
    output = run_bench(tmp_path, "dedupe", "--customers", "2000", "--planted", "0.05")
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert "target < 60 s" in lines["wall"]
    assert lines["recall"].split()[1] == "100.00%"
    assert "false" in lines


def test_review_queue_bench_prints_admin_and_manager_times(tmp_path: Path):
    output = run_bench(tmp_path, "review_queue", "--customers", "300", "--repeat", "2")
    lines = {line.split(": ", 1)[1].split("  ")[0]: line for line in output.splitlines()}
    for when in ("first", "again"):
        assert "target: < 1 s" in lines[f"manager {when}"]
        assert "target" not in lines[f"admin {when}"]
    assert "admin duplicate items" in lines
