"""The import benchmark still runs end to end at a tiny size and reports against its target."""

from __future__ import annotations

from pathlib import Path

from tests.bench.test_bench_scripts import run_bench


def test_import_bench_imports_every_good_row_and_prints_the_target(tmp_path: Path) -> None:
    output = run_bench(tmp_path, "imports", "--rows", "500")
    lines = {line[:24].strip(): line for line in output.splitlines() if line.strip()}
    assert "target: >= 5,000 rows/s" in lines["run rows/s"]
    assert "rows per CPU-second" in lines["run CPU"]
    assert lines["outcome"].split()[1] == "done"
    assert "peak RSS" in lines
    created = int(lines["outcome"].split("created ")[1].split(",")[0])
    assert 400 < created < 500  # ~2% bad rows and ~3% repeats are not created
