"""The single-runner lock, across real processes, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import EXAMPLE_CATALOG, MIRROR_REPOS, PROJECT_ROOT

from syncer.errors import LockHeldError
from syncer.formats import validate_catalog_document, validate_openrouter_document
from syncer.store import head_revision, make_engine, upgrade
from syncer.store.lock import lock_holder, sync_lock
from syncer.store.models import CatalogEntry, HubFacts, PublishedSnapshot, SyncRun
from syncer.sync import run_sync

HOLDER_RE = r"another sync is running since \d\d:\d\d on (?P<host>\S+), pid (?P<pid>\d+) \(UTC\)"
HANG_REPO = "microsoft/phi-4"


def syncer_env(database_url: str, endpoint: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        {
            "SYNCER_DATABASE_URL": database_url,
            "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
            "SYNCER_CATALOG": str(EXAMPLE_CATALOG),
            "SYNCER_HUB_RETRY_BACKOFF": "0.01",
            "HF_ENDPOINT": endpoint,
            "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        }
    )
    env.update(extra)
    return env


def start_syncer(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "syncer", *args],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition: Callable[[], Any], *, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def runs(database_url: str) -> list[Any]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("sync_runs"):
                return []
            return list(conn.execute(sa.select(SyncRun).order_by(SyncRun.id)).all())
    finally:
        engine.dispose()


def count(database_url: str, model: Any) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(model)).scalar() or 0)
    finally:
        engine.dispose()


def assert_snapshots_whole(folder: Path) -> None:
    """Both files present and valid, no temp file left beside them."""
    assert sorted(p.name for p in folder.iterdir()) == [
        "catalog.json",
        "openrouter-v2.json",
        "openrouter.json",
    ]
    assert validate_openrouter_document(json.loads((folder / "openrouter.json").read_bytes())) == []
    assert validate_catalog_document(json.loads((folder / "catalog.json").read_bytes())) == []


def test_two_sync_now_processes_started_together_one_syncs_the_other_exits_75(
    database_url, private_mirror, tmp_path
):
    hub = private_mirror(MIRROR_REPOS, latency=1.0)  # a run takes seconds: the two overlap
    env = syncer_env(database_url, hub.url, tmp_path)
    procs = [start_syncer("sync", "now", env=env, log=tmp_path / f"out{i}.log") for i in range(2)]
    codes = [p.wait(timeout=180) for p in procs]
    outputs = [(tmp_path / f"out{i}.log").read_text() for i in range(2)]

    assert sorted(codes) == [0, 75], outputs
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    match = re.search(HOLDER_RE, outputs[loser])
    assert match, outputs[loser]
    assert (match["host"], int(match["pid"])) == (socket.gethostname(), procs[winner].pid)

    # Store and snapshots exactly as after one run.
    history = runs(database_url)
    assert [(r.outcome, r.synced, r.failed, r.pid) for r in history] == [("ok", 6, 0, procs[winner].pid)]
    assert count(database_url, PublishedSnapshot) == 3  # openrouter.json, openrouter-v2.json, catalog.json
    assert count(database_url, HubFacts) == 6
    assert_snapshots_whole(tmp_path / "snapshots")


def test_killed_lock_holder_releases_the_lock_and_leaves_nothing_half_written(
    database_url, private_mirror, tmp_path
):
    hub = private_mirror(MIRROR_REPOS)
    hub.set_faults({HANG_REPO: {"mode": "hang", "seconds": 120}})
    env = syncer_env(
        database_url, hub.url, tmp_path, SYNCER_HUB_TIMEOUT="60", SYNCER_HUB_MODEL_DEADLINE="100"
    )
    holder = start_syncer("sync", "now", env=env, log=tmp_path / "holder.log")
    try:
        wait_until(
            lambda: any(r.outcome == "running" for r in runs(database_url)), what="the holder's run to start"
        )
        wait_until(lambda: len(hub.requests()) >= 5, what="the holder to be busy with the Hub")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)

    # Nothing of the killed run is visible: its stages never committed, nothing was published.
    assert count(database_url, HubFacts) == 0
    assert count(database_url, CatalogEntry) == 0
    snapshots = tmp_path / "snapshots"
    assert not snapshots.exists() or [p for p in snapshots.iterdir() if not p.name.startswith(".")] == []

    hub.set_faults({})
    nxt = start_syncer("sync", "now", "--wait", "60", env=env, log=tmp_path / "next.log")
    assert nxt.wait(timeout=180) == 0, (tmp_path / "next.log").read_text()

    assert_snapshots_whole(snapshots)
    assert count(database_url, HubFacts) == 6
    listed = subprocess.run(
        [sys.executable, "-m", "syncer", "runs", "--json"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    )
    history = json.loads(listed.stdout)
    assert [(r["pid"], r["outcome"]) for r in history] == [(nxt.pid, "ok"), (holder.pid, "interrupted")]
    assert history[1]["finished_at"] is not None
    shown = subprocess.run(
        [sys.executable, "-m", "syncer", "runs"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "interrupted" in shown.stdout


def test_a_held_lock_names_its_holder_and_wait_waits_for_it(
    database_url, private_mirror, make_settings, tmp_path
):
    hub = private_mirror(MIRROR_REPOS)
    hub.set_faults({HANG_REPO: {"mode": "hang", "seconds": 4}})  # the holder finishes on its own
    settings = make_settings(database_url=database_url, endpoint=hub.url, hub_timeout=30.0)
    holder_done: list[Any] = []
    holder = threading.Thread(target=lambda: holder_done.append(run_sync(settings=settings)), daemon=True)
    holder.start()
    wait_until(lambda: any(r.outcome == "running" for r in runs(database_url)), what="the holder's run")

    with pytest.raises(LockHeldError) as caught:
        run_sync(settings=settings)
    match = re.search(HOLDER_RE, str(caught.value))
    assert match, str(caught.value)
    assert (match["host"], int(match["pid"])) == (socket.gethostname(), os.getpid())
    engine = make_engine(database_url)
    try:
        assert lock_holder(engine) is not None
    finally:
        engine.dispose()

    env = syncer_env(database_url, hub.url, tmp_path, SYNCER_HUB_TIMEOUT="30")
    waiter = start_syncer("sync", "now", "--wait", "120", env=env, log=tmp_path / "waiter.log")
    assert waiter.wait(timeout=180) == 0, (tmp_path / "waiter.log").read_text()
    holder.join(timeout=60)
    assert holder_done and holder_done[0].exit_code == 0

    history = runs(database_url)
    assert [(r.outcome, r.pid) for r in history] == [("ok", os.getpid()), ("ok", waiter.pid)]
    assert history[1].started_at >= history[0].finished_at, "the waiter ran after the holder, never beside it"
    engine = make_engine(database_url)
    try:
        assert lock_holder(engine) is None
    finally:
        engine.dispose()


def test_db_upgrade_takes_the_sync_lock(database_url, tmp_path):
    engine = make_engine(database_url)
    env = syncer_env(database_url, "http://127.0.0.1:9", tmp_path)
    try:
        with sync_lock(engine):
            upgrader = start_syncer("db", "upgrade", env=env, log=tmp_path / "upgrade.log")
            time.sleep(2.0)  # room to (wrongly) migrate without the lock
            assert upgrader.poll() is None, (tmp_path / "upgrade.log").read_text()
            with engine.connect() as conn:
                assert not sa.inspect(conn).has_table("alembic_version")
        assert upgrader.wait(timeout=120) == 0, (tmp_path / "upgrade.log").read_text()
        with engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
            )
    finally:
        engine.dispose()


def test_schema_ahead_is_refused_by_sync_now_and_status(database_url, tmp_path):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    finally:
        engine.dispose()
    env = syncer_env(database_url, "http://127.0.0.1:9", tmp_path)
    for command in (["sync", "now"], ["status"]):
        done = subprocess.run(
            [sys.executable, "-m", "syncer", *command],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "schema ahead" in done.stderr
    assert runs_without_schema_check(database_url) == 0
    assert not (tmp_path / "snapshots").exists()


def runs_without_schema_check(database_url: str) -> int:
    return count(database_url, SyncRun)
