"""The benchmark scripts still run: tiny sizes, real code paths, figures printed with targets.

They are measured by hand (`python -m bench ...`), so nothing else would notice a script
broken by a schema or API change.
"""

from __future__ import annotations

import subprocess
import sys


def run_bench(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_search_bench_prints_each_query_kind_with_its_target():
    output = run_bench("search", "--sizes", "300", "--backends", "sqlite", "--queries", "5")
    for kind in ("name", "pinyin", "company"):
        assert kind in output
    assert "target p95 < 50 ms" in output


def test_reminder_bench_delivers_all_without_loss_or_doubles():
    output = run_bench("reminders", "--count", "30", "--fast")
    lines = {line.split()[0]: line for line in output.splitlines() if line.strip()}
    assert lines["lost"].split()[1] == "0"
    assert lines["duplicated"].split()[1] == "0"
