"""`make bench`: run every benchmark script under bench/ (``*_bench.py``) in turn and print their tables.

Benchmarks measure; they never gate `make test`. Each script prints its own table and exits 0 when it ran.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main() -> int:
    scripts = sorted(BENCH_DIR.glob("*_bench.py"))
    if not scripts:
        print("no benchmarks found under bench/", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script), *sys.argv[1:]], check=False)
        print(f"--- {script.name}: exit {result.returncode} in {time.monotonic() - started:.1f}s", flush=True)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"benchmarks that failed to run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
