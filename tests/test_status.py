"""``syncer status`` and the Prometheus metrics (textfile and HTTP), on every database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from conftest import MIRROR_REPOS, PROJECT_ROOT
from test_lock import syncer_env

from syncer.ops.schedule import MetricsServer, SyncScheduler
from syncer.store import make_engine
from syncer.store.models import SyncRun

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A strict reader of the text exposition format: every line a comment or a well-formed sample."""
    samples = {}
    typed = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter")
            typed.add(name)
            continue
        if line.startswith("# HELP "):
            continue
        match = SAMPLE.match(line)
        assert match, f"malformed sample line {line!r}"
        assert match["name"] in typed, f"{match['name']} has no TYPE line before it"
        labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', match["labels"] or "")))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True
    )


def test_status_and_metrics_tell_an_operator_what_happened(database_url, private_mirror, tmp_path):
    hub = private_mirror(MIRROR_REPOS)
    textfile = tmp_path / "node-exporter" / "syncer.prom"
    env = syncer_env(database_url, hub.url, tmp_path, SYNCER_METRICS_TEXTFILE=str(textfile))

    never = run_cli(env, "status", "--json")
    assert never.returncode == 1, never.stderr
    assert json.loads(never.stdout)["last_success"] is None

    assert run_cli(env, "sync", "now").returncode == 0
    healthy = run_cli(env, "status", "--json")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    status = json.loads(healthy.stdout)
    assert status["healthy"] and status["failing_models"] == []
    assert (status["last_success"]["synced"], status["last_success"]["trigger"]) == (6, "manual")
    assert all(s["exists"] for s in status["snapshots"].values())
    metrics = parse_metrics(textfile.read_text())
    assert metrics[("syncer_last_run_models", (("result", "synced"),))] == 6
    assert metrics[("syncer_last_run_hub_requests", (("kind", "api"),))] >= 1
    assert metrics[("syncer_models_failing", ())] == 0
    assert metrics[("syncer_last_run_outcome", (("outcome", "ok"),))] == 1
    assert [p.name for p in textfile.parent.iterdir()] == ["syncer.prom"], "written atomically, no temp left"

    # One model failing: listed by status (still healthy: the listing was published), counted in metrics.
    hub.set_faults({"microsoft/phi-4": {"mode": "status", "status": 503}})
    assert run_cli(env, "sync", "now").returncode == 1
    status_run = run_cli(env, "status")
    assert status_run.returncode == 0, status_run.stdout
    assert "1 model(s) failing" in status_run.stdout and "phi-4" in status_run.stdout
    failing = json.loads(run_cli(env, "status", "--json").stdout)["failing_models"]
    assert [(f["model_id"], f["kind"], f["never_resolved"]) for f in failing] == [
        ("phi-4", "transient", False)
    ]
    metrics = parse_metrics(textfile.read_text())
    assert metrics[("syncer_last_run_hub_errors", (("kind", "transient"),))] == 1
    assert metrics[("syncer_models_failing", ())] == 1
    assert metrics[("syncer_last_run_outcome", (("outcome", "partial"),))] == 1

    engine = make_engine(database_url)
    with engine.connect() as conn:
        last_end = conn.execute(sa.select(sa.func.max(SyncRun.finished_at))).scalar()
    assert metrics[("syncer_last_success_timestamp_seconds", ())] == last_end.timestamp()

    # The last success grows old: status fails (for cron's alerting), and --max-age overrides the threshold.
    with engine.begin() as conn:
        conn.execute(sa.update(SyncRun).values(finished_at=datetime.now(UTC) - timedelta(hours=5)))
    engine.dispose()
    stale = run_cli(env, "status")
    assert stale.returncode == 1 and "STALE" in stale.stdout, stale.stdout
    assert run_cli(env, "status", "--max-age", str(6 * 3600)).returncode == 0


def test_schedule_serves_metrics_over_http(database_url, mirror, make_settings):
    settings = make_settings(database_url=database_url, endpoint=mirror.url)
    scheduler = SyncScheduler(settings)
    server = MetricsServer(settings, scheduler, host="127.0.0.1", port=0).start()
    try:
        scheduler.start(run_now=True)
        from test_lock import wait_until

        wait_until(lambda: scheduler.ticks["ran"] >= 1, timeout=90, what="the --run-now sync")
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=30) as answer:
            assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            metrics = parse_metrics(answer.read().decode())
    finally:
        assert scheduler.stop(grace=60)
        server.stop()
    assert metrics[("syncer_store_up", ())] == 1
    assert metrics[("syncer_scheduler_ticks_total", (("result", "ran"),))] == 1
    assert metrics[("syncer_last_run_models", (("result", "synced"),))] == 6
    assert metrics[("syncer_scheduler_next_run_timestamp_seconds", ())] > datetime.now(UTC).timestamp()


def test_metrics_file_is_left_alone_when_not_configured(database_url, mirror, tmp_path):
    env = syncer_env(database_url, mirror.url, tmp_path)
    assert run_cli(env, "sync", "now").returncode == 0
    assert not list(Path(tmp_path).rglob("*.prom"))


def test_an_outage_confirms_nothing_and_status_says_so(database_url, private_mirror, tmp_path):
    """A permanently wrong HF_ENDPOINT: every lookup fails. Today's failure: the run was `partial`, the last
    successful run, refreshed the files' mtime and the last-success metric, and status said OK forever."""
    import os

    hub = private_mirror(MIRROR_REPOS)
    textfile = tmp_path / "syncer.prom"
    env = syncer_env(database_url, hub.url, tmp_path, SYNCER_METRICS_TEXTFILE=str(textfile))
    assert run_cli(env, "sync", "now").returncode == 0
    first_success = parse_metrics(textfile.read_text())[("syncer_last_success_timestamp_seconds", ())]
    snapshots = sorted((tmp_path / "snapshots").iterdir())
    for path in snapshots:
        os.utime(path, (1_000_000_000, 1_000_000_000))  # confirmed long ago

    outage = run_cli({**env, "HF_ENDPOINT": "http://127.0.0.1:9"}, "sync", "now")
    assert outage.returncode == 1, outage.stdout + outage.stderr
    assert "every Hub lookup failed" in outage.stdout
    assert [p.stat().st_mtime for p in snapshots] == [1_000_000_000] * len(snapshots)
    metrics = parse_metrics(textfile.read_text())
    assert metrics[("syncer_last_success_timestamp_seconds", ())] == first_success
    assert metrics[("syncer_last_run_outcome", (("outcome", "error"),))] == 1

    status = json.loads(run_cli(env, "status", "--json").stdout)
    assert status["last_run"]["outcome"] == "error"
    assert status["last_success"]["id"] == status["last_run"]["id"] - 1

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # the confirming run is two hours old now
            conn.execute(
                sa.update(SyncRun)
                .where(SyncRun.id == status["last_success"]["id"])
                .values(finished_at=datetime.now(UTC) - timedelta(hours=2))
            )
    finally:
        engine.dispose()
    stale = run_cli(env, "status", "--max-age", "3600")
    assert stale.returncode == 1, stale.stdout
    assert "STALE" in stale.stdout and "last successful run is" in stale.stdout


def test_status_fails_on_a_held_run_a_missing_file_and_most_models_failing(private_mirror, tmp_path):
    hub = private_mirror(MIRROR_REPOS)
    catalog = tmp_path / "catalog.toml"
    text = (PROJECT_ROOT / "config" / "catalog.toml").read_text()
    catalog.write_text(text)
    env = syncer_env(f"sqlite:///{tmp_path / 'db.sqlite'}", hub.url, tmp_path, SYNCER_CATALOG=str(catalog))
    assert run_cli(env, "sync", "now").returncode == 0
    assert run_cli(env, "status").returncode == 0

    (tmp_path / "snapshots" / "catalog.json").unlink()
    missing = run_cli(env, "status")
    assert missing.returncode == 1 and "catalog.json is missing" in missing.stdout, missing.stdout
    assert run_cli(env, "sync", "now").returncode == 0  # written again

    hub.set_faults({repo: {"mode": "status", "status": 503} for repo in
                    ("Qwen/Qwen3.5-9B", "meta-llama/Llama-3.1-8B-Instruct", "openai/gpt-oss-20b",
                     "google/gemma-2-9b-it")})  # fmt: skip
    assert run_cli(env, "sync", "now").returncode == 1
    failing = run_cli(env, "status")
    assert failing.returncode == 1 and "4 of 6 models are failing" in failing.stdout, failing.stdout
    hub.set_faults({})

    prices = re.findall(r'prompt = "([^"]+)"', text)
    catalog.write_text(text.replace(f'prompt = "{prices[0]}"', 'prompt = "1000"', 1))  # a typo: held
    assert run_cli(env, "sync", "now").returncode == 1
    held = run_cli(env, "status", "--json")
    assert held.returncode == 1
    problems = json.loads(held.stdout)["problems"]
    assert any("held" in p and "sync now --approve" in p for p in problems), problems
