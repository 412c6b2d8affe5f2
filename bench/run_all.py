"""`python -m bench [--quick]`: every benchmark, one table of figures with targets, RESULTS.md.

Each benchmark runs in its own process (`python -m bench <name> ...`, the same command a
person would type), so one's memory or event loop never colours the next. Scripts built on
`bench.figures` hand their figures over as JSON lines; the older scripts' printed lines
are read back (search, reminders), and an imports script that does neither is shown as it
printed. A script that is missing or fails is reported as such, never given a number.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.figures import FIGURES_ENV, Figure, line

RESULTS = Path(__file__).with_name("RESULTS.md")
SEARCH_LINE = re.compile(
    r"^\s+(\w+)\s+([\w-]+)\s+p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms\s+"
    r"\(target (p95 < \d+ ms): (ok|OVER)\)"
)
SEARCH_HEADER = re.compile(r"^(\w+), ([\d,]+) customers")
REMINDER_LINE = re.compile(r"^(\S.{0,21}?)\s{2,}(\S.*?)\s+target: (.*)$")
NUMBER = re.compile(r"-?\d[\d,]*\.?\d*")
WANTED_IMPORT_LINES = {
    "rows": "",
    "run rows/s": "rows/s",
    "end-to-end rows/s": "rows/s",
    "peak RSS": "MB",
}


@dataclass
class Job:
    """One benchmark command, its arguments at full size and at --quick size."""

    name: str
    full: list[str]
    quick: list[str]
    figures: list[Figure] = field(default_factory=list)
    output: str = ""
    returncode: int | None = None
    seconds: float = 0.0

    def args(self, quick: bool) -> list[str]:
        return self.quick if quick else self.full


def jobs(customers: int, pg_customers: int) -> list[Job]:
    """The benchmarks, in order; full sizes use `customers` (1,000,000 by default), and
    `pg_customers` on PostgreSQL (seeded afresh each time, about 4 minutes per million)."""
    size, pg_size = str(customers), str(pg_customers)
    quick_throughput = ["throughput", "--customers", "2000", "--members", "20", "--rounds", "2"]
    return [
        Job(
            "latency",
            ["latency", "--customers", size],
            ["latency", "--customers", "2000", "--samples", "20", "--warmup", "3"],
        ),
        Job(
            "throughput",
            ["throughput", "--customers", size, "--backend", "sqlite"],
            quick_throughput,
        ),
        Job(
            "throughput",
            ["throughput", "--customers", size, "--backend", "sqlite", "--no-limiter"],
            [*quick_throughput, "--no-limiter"],
        ),
        Job(
            "throughput",
            ["throughput", "--customers", pg_size, "--backend", "postgresql"],
            [*quick_throughput, "--backend", "postgresql"],
        ),
        Job(
            "startup",
            ["startup", "--customers", size],
            ["startup", "--customers", "2000", "--runs", "1"],
        ),
        Job(
            "search",
            ["search", "--sizes", size, "--backends", "sqlite", "--queries", "200"],
            ["search", "--sizes", "2000", "--backends", "sqlite", "--queries", "20"],
        ),
        Job(
            "search",
            ["search", "--sizes", pg_size, "--backends", "postgresql", "--queries", "200"],
            ["search", "--sizes", "2000", "--backends", "postgresql", "--queries", "20"],
        ),
        Job(
            "reminders",
            ["reminders", "--count", "10000", "--fast"],
            ["reminders", "--count", "100", "--fast"],
        ),
        Job("imports", ["imports", "--rows", "100000"], ["imports", "--rows", "500"]),
        Job("dedupe", ["dedupe", "--customers", size], ["dedupe", "--customers", "2000"]),
        Job(
            "review_queue",
            ["review_queue", "--customers", size, "--repeat", "2"],
            ["review_queue", "--customers", "2000", "--repeat", "2"],
        ),
    ]


def search_figures(output: str) -> list[Figure]:
    rows, where = [], ""
    for text in output.splitlines():
        if header := SEARCH_HEADER.match(text):
            where = f"{header[1]} {header[2]}"
        elif found := SEARCH_LINE.match(text):
            who, kind, _p50, p95, target, verdict = found.groups()
            rows.append(
                Figure(
                    f"search {where} {who} {kind} p95", float(p95), "ms", target, verdict == "ok"
                )
            )
    return rows


def reminder_figures(output: str) -> list[Figure]:
    rows = []
    for text in output.splitlines():
        if not (found := REMINDER_LINE.match(text)):
            continue
        label, value, target = (part.strip() for part in found.groups())
        number = NUMBER.search(value)
        if number is None:
            continue
        unit = value[number.end() :].strip()
        # Exact targets only: the delivery time's "≈ N s" is a guide, not a pass mark.
        ok = value == target if label in ("lost", "duplicated", "marked sent in DB") else None
        name = "reminders due at once" if label == "reminders" else f"reminders {label}"
        rows.append(Figure(name, float(number[0].replace(",", "")), unit, target, ok))
    return rows


def imports_figures(output: str) -> list[Figure]:
    """bench/imports.py prints `label (24) value (16)   target` lines."""
    rows = []
    for text in output.splitlines():
        label, value, target = text[:24].strip(), text[25:41].strip(), text[44:].strip()
        if label not in WANTED_IMPORT_LINES or not (number := NUMBER.match(value)):
            continue
        amount = float(number[0].replace(",", ""))
        unit = value[number.end() :].strip() or WANTED_IMPORT_LINES[label]
        ok: bool | None = None
        if floor := re.search(r">= ([\d,]+)", target):
            ok = amount >= float(floor[1].replace(",", ""))
        target = target.removeprefix("target: ") if target.startswith("target: ") else ""
        rows.append(Figure(f"imports {label}", amount, unit, target, ok))
    return rows


def run_job(job: Job, quick: bool) -> None:
    """Run one benchmark in its own process, echoing its output, and collect its figures."""
    if importlib.util.find_spec(f"bench.{job.name}") is None:
        job.output = f"bench/{job.name}.py is missing: no figures"
        sys.stdout.write(job.output + "\n")
        return
    command = [sys.executable, "-m", "bench", *job.args(quick)]
    sys.stdout.write(f"\n$ python -m bench {' '.join(job.args(quick))}\n")
    sys.stdout.flush()
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, FIGURES_ENV: sink.name},
        )
        assert process.stdout is not None
        lines = []
        for text in process.stdout:
            sys.stdout.write(text)
            sys.stdout.flush()
            lines.append(text)
        job.returncode = process.wait()
        job.seconds = time.perf_counter() - started
        job.output = "".join(lines)
        job.figures = [Figure(**json.loads(row)) for row in sink.read().splitlines() if row]
    if not job.figures and job.name == "search":
        job.figures = search_figures(job.output)
    elif not job.figures and job.name == "reminders":
        job.figures = reminder_figures(job.output)
    elif not job.figures and job.name == "imports":
        job.figures = imports_figures(job.output)


def table(done: list[Job]) -> list[str]:
    rows = ["| figure | value | target | result |", "|---|---:|---|---|"]
    for job in done:
        for figure in job.figures:
            rows.append(
                f"| {figure.name} | {figure.shown()} | {figure.target} | {figure.verdict} |"
            )
        if not job.figures:
            what = "missing" if job.returncode is None else f"exit {job.returncode}, no figures"
            rows.append(f"| {' '.join(job.args(False)[:1])} | — | — | {what} |")
        elif job.returncode:
            rows.append(f"| {job.name} (script exit code) | {job.returncode} | 0 | FAIL |")
    return rows


def machine() -> list[str]:
    cpu = next(
        (
            row.split(":", 1)[1].strip()
            for row in Path("/proc/cpuinfo").read_text().splitlines()
            if row.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(row.split()[1]) / 1024 / 1024
            for row in Path("/proc/meminfo").read_text().splitlines()
            if row.startswith("MemTotal")
        ),
        0.0,
    )
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {memory:.0f} GB RAM, {platform.platform()}",
        f"- Python {platform.python_version()};"
        f" python-telegram-bot {version('python-telegram-bot')};"
        f" SQLAlchemy {version('sqlalchemy')}; SQLite {sqlite3.sqlite_version};"
        f" psycopg {version('psycopg')}",
    ]


def write_results(path: Path, done: list[Job], quick: bool, command: str, notes: str) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {now} ({'quick sizes' if quick else 'full sizes'}).",
        "",
        *machine(),
        "- Commands and run times: "
        + "; ".join(f"`{' '.join(j.args(quick))}` {j.seconds:.0f} s" for j in done),
        "",
        *table(done),
        "",
    ]
    if notes:
        text += ["## Notes", "", notes.strip(), ""]
    path.write_text("\n".join(text), encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick check")
    parser.add_argument("--customers", type=int, default=1_000_000, help="full-size customers")
    parser.add_argument(
        "--pg-customers", type=int, default=1_000_000, help="full-size customers on PostgreSQL"
    )
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    parser.add_argument(
        "--results",
        type=Path,
        help=f"where to write the results (default: {RESULTS} for a full run, none for --quick)",
    )
    parser.add_argument("--notes", type=Path, help="a file whose text is added under Notes")
    args = parser.parse_args(argv)
    chosen = set(args.only.split(",")) if args.only else None
    todo = [
        job
        for job in jobs(args.customers, args.pg_customers)
        if chosen is None or job.name in chosen
    ]
    for job in todo:
        run_job(job, args.quick)
    sys.stdout.write("\n" + "\n".join(line(f) for job in todo for f in job.figures) + "\n")
    for job in todo:
        if not job.figures:
            sys.stdout.write(f"{job.name}: no figures ({job.output.strip()[-200:]})\n")
    results = args.results or (None if args.quick else RESULTS)
    if results is not None:
        notes = args.notes.read_text(encoding="utf-8") if args.notes else ""
        command = "python -m bench " + " ".join(argv)
        write_results(results, todo, args.quick, command.strip(), notes)
        sys.stdout.write(f"results written to {results}\n")
    failed = any(f.ok is False for job in todo for f in job.figures) or any(
        job.returncode or not job.figures for job in todo
    )
    return 1 if failed else 0
