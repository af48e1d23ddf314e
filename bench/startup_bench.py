"""Benchmark `syncer sync now` start-up: interpreter start to the first Hub request, and what it imports.

    .venv/bin/python bench/startup_bench.py [--runs 5] [--source DIR]

Starts the mirror over the fixture repos with no latency, makes a SQLite store at head with one cold
`sync now` of the example catalog, then runs `sync now` (warm, nothing changed) ``--runs`` times in fresh
interpreters. For each run it records the wall time of the whole command and the time from ``Popen`` to the
first request the mirror sees (the mirror's log is polled every millisecond). One more run under
``python -X importtime`` gives the total import time and the cumulative time of the heavy packages.
``--source DIR`` puts DIR first on ``PYTHONPATH`` (a copy of an older ``syncer/`` and ``migrations/``) to
measure a before/after pair on the same machine. Prints medians and the load average; measures only.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer_mirror import HubMirror  # noqa: E402

HEAVY = (
    "syncer.store",
    "sqlalchemy",
    "alembic",
    "sqlalchemy.dialects.postgresql",
    "sqlalchemy.dialects.mysql",
    "apscheduler",
    "prometheus_client",
    "huggingface_hub",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncer-startup-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with HubMirror(ROOT / "mirror" / "repos", control=True, latency=0.0).start() as mirror:
            env = {
                **os.environ,
                "SYNCER_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
                "SYNCER_SNAPSHOT_DIR": str(tmp / "snapshots"),
                "SYNCER_CATALOG": str(ROOT / "config" / "catalog.toml"),
                "HF_ENDPOINT": mirror.url,
                "HF_HOME": str(tmp / "hf-home"),
                "HF_HUB_CACHE": str(tmp / "hf-cache"),
                "HF_HUB_DISABLE_TELEMETRY": "1",
                "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
            }
            env.pop("HF_TOKEN", None)
            if args.source is not None:
                env["PYTHONPATH"] = os.pathsep.join([str(args.source.resolve()), env.get("PYTHONPATH", "")])
            command = [sys.executable, "-m", "syncer", "sync", "now"]
            cold = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if cold.returncode not in (0, 3):
                print(cold.stderr, file=sys.stderr)
                return 1
            walls: list[float] = []
            firsts: list[float] = []
            for _ in range(args.runs):
                mirror.reset()
                started = time.monotonic()
                process = subprocess.Popen(
                    command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                first = None
                while process.poll() is None:
                    if first is None and mirror.requests():
                        first = time.monotonic() - started
                    time.sleep(0.001)
                walls.append(time.monotonic() - started)
                firsts.append(first if first is not None else float("nan"))
            traced = subprocess.run(
                [sys.executable, "-X", "importtime", "-m", "syncer", "sync", "now"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
    total_us, cumulative = 0, dict[str, int]()
    for line in traced.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            total_us += int(match.group(1))
            cumulative.setdefault(match.group(4), int(match.group(2)))
    load = os.getloadavg()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f}")
    print(f"source: {args.source or ROOT}")
    print(f"wall time of `sync now` (warm, at head), median of {args.runs}: {statistics.median(walls):.3f} s")
    print(f"  runs: {', '.join(f'{w:.3f}' for w in walls)}")
    print(f"Popen to first Hub request, median of {args.runs}: {statistics.median(firsts):.3f} s")
    print(f"  runs: {', '.join(f'{f:.3f}' for f in firsts)}")
    print(f"imports (-X importtime, one run): {total_us / 1e6:.3f} s in all")
    for name in HEAVY:
        shown = f"{cumulative[name] / 1e6:.3f} s" if name in cumulative else "not imported"
        print(f"  {name}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
