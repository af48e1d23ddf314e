"""Benchmark `syncer serve` against nginx serving the same 1,000-model OpenRouter snapshot.

    .venv/bin/python bench/serve_bench.py [--duration 8] [--connections 64] [--workers 1 2]

Builds a 1,000-model snapshot (valid entries replicated with distinct ids), starts `syncer serve` (once per
``--workers`` value) and nginx (the distribution's package; installed with apt-get when missing) on loopback,
and drives each with wrk (64 connections) for full responses, gzip responses (nginx: gzip_static of the same
pre-compressed file) and 304s (If-None-Match). Prints one table
with requests/s, p99 latency and the targets: at least a third of nginx's throughput for full responses, p99
under 20 ms. Measures only; never fails on a missed target.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncer.formats import validate_catalog_document, validate_openrouter_document  # noqa: E402
from syncer.formats.openrouter_v2 import validate_openrouter_v2_document  # noqa: E402
from syncer.snapshot import render, write_atomic  # noqa: E402

MODELS = 1000
TARGET_SHARE = 1 / 3
TARGET_P99_MS = 20.0

EXAMPLE_ENTRY: dict[str, Any] = {  # the spec's example entry, used when no snapshot was published yet
    "id": "qwen3-5-9b",
    "hugging_face_id": "Qwen/Qwen3.5-9B",
    "name": "Qwen3.5 9B",
    "created": 1778976000,
    "input_modalities": ["text", "image", "video"],
    "output_modalities": ["text"],
    "quantization": "fp8",
    "context_length": 262144,
    "max_output_length": 32768,
    "pricing": {
        "prompt": "0.00000009",
        "completion": "0.00000013",
        "image": "0",
        "request": "0",
        "input_cache_read": "0.000000045",
    },
    "supported_sampling_parameters": [
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "frequency_penalty",
        "presence_penalty",
        "repetition_penalty",
        "stop",
        "seed",
        "max_tokens",
        "logit_bias",
    ],
    "supported_features": ["tools", "json_mode", "structured_outputs", "reasoning"],
    "is_ready": True,
    "openrouter": {"slug": "qwen/qwen3.5-9b"},
    "datacenters": [{"country_code": "JP"}],
}


def build_snapshots(folder: Path) -> bytes:
    """Write openrouter.json (1,000 models), a matching catalog.json and an empty openrouter-v2.json; return
    the OpenRouter bytes."""
    published = ROOT / "var" / "snapshots" / "openrouter.json"
    templates = [EXAMPLE_ENTRY]
    if published.exists():
        templates = json.loads(published.read_bytes())["data"] or templates
    entries = []
    for i in range(MODELS):
        entry = copy.deepcopy(templates[i % len(templates)])
        entry["id"] = f"bench-{i:04d}-{entry['id']}"
        entry["openrouter"] = {"slug": f"bench/{entry['id']}"}
        entries.append(entry)
    entries.sort(key=lambda e: e["id"])
    openrouter = {"data": entries}
    catalog = {
        "object": "list",
        "data": [
            {"id": e["id"], "object": "model", "created": e["created"], "owned_by": "bench"} for e in entries
        ],
    }
    assert not validate_openrouter_document(openrouter) and not validate_catalog_document(catalog)
    data = render(openrouter)
    write_atomic(folder / "openrouter.json", data)
    write_atomic(folder / "catalog.json", render(catalog))
    # The third file a run writes (``/healthz`` is 503 while one is missing); this bench serves the flat view.
    v2: dict[str, Any] = {"data": []}
    assert not validate_openrouter_v2_document(v2)
    write_atomic(folder / "openrouter-v2.json", render(v2))
    write_atomic(folder / "openrouter.json.gz", gzip.compress(data, 6))  # for nginx's gzip_static
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """Status, headers (case-insensitive ``.get``) and body."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def ensure_tools() -> None:
    missing = [pkg for pkg, exe in (("nginx", "nginx"), ("wrk", "wrk")) if not shutil.which(exe)]
    if not missing:
        return
    print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", *missing]
    if subprocess.run(install, env=env, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, capture_output=True)
        subprocess.run(install, env=env, check=True, capture_output=True)


def start_nginx(work: Path, www: Path, port: int) -> subprocess.Popen[bytes]:
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
worker_processes auto;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {work}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location = /v1/models {{
            default_type application/json;
            gzip_static on;
            gzip_vary on;
            try_files /openrouter.json =404;
        }}
    }}
}}
"""
    )
    proc = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(work), "-e", str(work / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/v1/models")
    except RuntimeError:
        stop(proc)
        raise
    return proc


def start_syncer(snapshots: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SYNCER_SNAPSHOT_DIR": str(snapshots)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/healthz")
    except RuntimeError:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url: str, *, duration: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+([0-9.]+)(us|ms|s)\s*$", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "p99_ms": float(p99.group(1)) * _UNITS[p99.group(2)] if p99 else float("nan"),
        "non_2xx_3xx": float(bad.group(1)) if bad else 0.0,
        "socket_errors": float(sum(int(n) for n in errors.groups())) if errors else 0.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1, 2], help="syncer serve --workers values"
    )
    args, _unknown = parser.parse_known_args()  # bench/run.py forwards its own arguments to every script

    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="syncer-serve-bench-"))
    work.chmod(0o755)  # nginx's workers run as nobody
    (work / "nginx-tmp").mkdir()
    snapshots = work / "snapshots"
    data = build_snapshots(snapshots)
    print(
        f"snapshot: {MODELS} models, {len(data):,} bytes ({len(gzip.compress(data, 6)):,} gzipped: the entries are "
        f"replicas, so it compresses far better than a real listing); {os.cpu_count()} CPUs; "
        f"wrk -t 2 -c {args.connections} -d {args.duration:g}s on the same machine"
    )

    rows: list[tuple[str, str, dict[str, float]]] = []

    def measure(label: str, url: str) -> None:
        status, headers, body = fetch(url)
        assert status == 200 and body == data, f"{label} does not serve the snapshot byte for byte"
        etag = headers.get("ETag") or ""
        status_304, _h, _b = fetch(url, {"If-None-Match": etag})
        assert status_304 == 304, f"{label}: If-None-Match {etag} gave {status_304}"
        gzip_status, gzip_headers, _body = fetch(url, {"Accept-Encoding": "gzip"})
        assert gzip_status == 200 and gzip_headers.get("Content-Encoding") == "gzip", f"{label}: no gzip"
        for kind, extra in (
            ("full", {}),
            ("gzip", {"Accept-Encoding": "gzip"}),
            ("304", {"If-None-Match": etag}),
        ):
            rows.append(
                (
                    label,
                    kind,
                    run_wrk(url, duration=args.duration, connections=args.connections, headers=extra),
                )
            )
            print(f"  measured {label} {kind}", flush=True)

    nginx_port = free_port()
    nginx = start_nginx(work, snapshots, nginx_port)
    try:
        measure("nginx (static file)", f"http://127.0.0.1:{nginx_port}/v1/models")
    finally:
        stop(nginx)
    for workers in args.workers:
        port = free_port()
        server = start_syncer(snapshots, port, workers)
        try:
            measure(
                f"syncer serve --workers {workers}", f"http://127.0.0.1:{port}/v1/models?format=openrouter"
            )
        finally:
            stop(server)

    nginx = {kind: r["rps"] for label, kind, r in rows if label.startswith("nginx")}
    header = (
        f"{'server':<26} {'response':<8} {'req/s':>10} {'vs nginx':>9} {'p99 ms':>8} {'errors':>7}  target"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for label, kind, r in rows:
        share = r["rps"] / nginx[kind]
        errors = int(r["non_2xx_3xx"] + r["socket_errors"])
        if label.startswith("nginx"):
            verdict = "(reference)"
        else:
            parts = []
            if kind == "full":
                parts.append(
                    f"throughput {'met' if share >= TARGET_SHARE else 'MISSED'} (>= {TARGET_SHARE:.2f}x)"
                )
            parts.append(f"p99 {'met' if r['p99_ms'] < TARGET_P99_MS else 'MISSED'} (< {TARGET_P99_MS:g} ms)")
            verdict = ", ".join(parts)
        print(
            f"{label:<26} {kind:<8} {r['rps']:>10,.0f} {share:>8.2f}x {r['p99_ms']:>8.2f} {errors:>7}  {verdict}"
        )
    floor = args.connections / (TARGET_P99_MS / 1000)
    print(
        f"\nnote: with {args.connections} connections always busy, p99 < {TARGET_P99_MS:g} ms needs more than "
        f"{floor:,.0f} req/s (Little's law), i.e. {floor * len(data) / 1e9:.1f} GB/s of uncompressed bodies: "
        "compare the full rows with nginx's own p99."
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
