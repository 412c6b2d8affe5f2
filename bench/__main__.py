"""`python -m bench`: every benchmark and one table of results (see bench/run_all.py).

`python -m bench <name> [options]` runs one script, `bench/<name>.py` (its `main`).
"""

from __future__ import annotations

import importlib
import sys


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        from bench.run_all import main as run_all

        return run_all(sys.argv[1:])
    name = sys.argv[1]
    module = importlib.import_module(f"bench.{name}")
    sys.argv = [f"python -m bench {name}", *sys.argv[2:]]  # the script parses sys.argv itself
    return int(module.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
