"""Crash safety: kill -9 at random moments of a real `syncer sync now`, then check the four promises.

1. each snapshot file is the old or the new version, complete and valid;
2. the store is consistent (no half-merged model);
3. no stray temp file is taken for a snapshot;
4. the next run completes normally.
Seeds are printed: rerun one with SYNCER_CRASH_SEED=<seed>.
"""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from catalogs import GEMMA, PHI, QWEN, catalog_toml

from syncer import snapshot
from syncer.errors import PublishError
from syncer.sync import run_sync

MODELS = {"qwen": QWEN, "gemma": GEMMA, "phi": PHI}

KILLS = int(os.environ.get("SYNCER_CRASH_KILLS", "30"))


def _check_store(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            catalog_ids = set(conn.execute(sa.text("SELECT model_id FROM catalog_entries")).scalars())
            listing = dict(
                conn.execute(sa.text("SELECT model_id, openrouter_entry FROM listing_entries")).all()
            )
            prices = {
                (m, k): Decimal(v)
                for m, k, v in conn.execute(
                    sa.text("SELECT model_id, price_key, amount FROM model_prices")
                ).all()
            }
    finally:
        engine.dispose()
    # Catalog, prices and merged records were written in one transaction: all or nothing.
    assert set(listing) == catalog_ids
    for model_id, raw in listing.items():
        entry = json.loads(raw) if isinstance(raw, str) else raw
        if entry:
            assert Decimal(entry["pricing"]["prompt"]) == prices[(model_id, "prompt")], model_id


def _check_files(folder: Path, versions: dict[str, set[bytes]]) -> None:
    for name, file_name in snapshot.FILE_NAMES.items():
        path = folder / file_name
        data = path.read_bytes()
        validate = snapshot.VALIDATORS[name]
        assert validate(json.loads(data)) == []
        assert data in versions[name] or not versions[name], (
            f"{file_name} is neither an old nor a new version"
        )


@pytest.mark.slow
def test_kill_9_at_random_points(repo_tree, private_mirror, tmp_path) -> None:
    root = repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it", "microsoft/phi-4")
    hub = private_mirror(root, latency=0.05)  # stretches the run's Hub stage over a few tenths of a second
    catalog = tmp_path / "catalog.toml"
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    snapshots = tmp_path / "snapshots"
    env = {
        **os.environ,
        "SYNCER_DATABASE_URL": url,
        "SYNCER_SNAPSHOT_DIR": str(snapshots),
        "SYNCER_CATALOG": str(catalog),
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "SYNCER_HUB_CONCURRENCY": "1",
    }
    command = [sys.executable, "-m", "syncer", "sync", "now"]

    def sync_ok(price: str) -> None:
        catalog.write_text(catalog_toml(MODELS, prompt=price))
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr

    sync_ok("0.1")  # cold: creates the schema and fills the Hub cache
    started = time.monotonic()
    sync_ok("0.1")  # warm, like the runs below
    run_seconds = time.monotonic() - started
    # Interpreter start-up and imports are most of a short run: time them (the same imports, no work), and
    # draw the kills between their end and the run's end, so they land in the sync itself.
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import syncer.cli, syncer.sync"], env=env, check=True, timeout=60)
    startup_seconds = time.monotonic() - started
    versions = {n: {(snapshots / f).read_bytes()} for n, f in snapshot.FILE_NAMES.items()}
    base_seed = int(os.environ.get("SYNCER_CRASH_SEED", str(int(time.time()))))
    kills_landed = 0
    for i in range(KILLS):
        seed = base_seed + i
        rng = random.Random(seed)
        price = rng.choice(["0.1", "0.15", "0.2", "0.25"])
        catalog.write_text(catalog_toml(MODELS, prompt=price))
        delay = rng.uniform(min(startup_seconds, 0.8 * run_seconds), 0.98 * run_seconds)
        print(f"crash iteration {i}: seed {seed}, price {price}, kill after {delay:.3f}s", flush=True)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills_landed += 1
        process.wait(timeout=60)
        # The interrupted run may have published the new version: both are acceptable.
        for name, file_name in snapshot.FILE_NAMES.items():
            versions[name].add((snapshots / file_name).read_bytes())
        _check_files(snapshots, versions)
        _check_store(url)
        assert sorted(p.name for p in snapshots.iterdir() if not p.name.startswith(".")) == sorted(
            snapshot.FILE_NAMES.values()
        )
        sync_ok(price)  # the next run completes normally
        assert not list(snapshots.glob(".*.tmp")), "the next run removes stray temp files"
        versions = {n: {(snapshots / f).read_bytes()} for n, f in snapshot.FILE_NAMES.items()}
    print(
        f"kills that landed mid-run: {kills_landed} of {KILLS} (run {run_seconds:.2f}s, start-up {startup_seconds:.2f}s)"
    )
    assert kills_landed >= KILLS // 2, f"most kills must land while the sync is running ({kills_landed})"


@pytest.mark.parametrize("failing_call", ["fsync", "write"])
def test_write_failure_keeps_the_old_snapshot(
    failing_call, mirror, make_settings, tmp_path, monkeypatch
) -> None:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url)
    assert run_sync(settings=settings).exit_code == 0
    before = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}
    changed = tmp_path / "catalog.toml"
    changed.write_text(Path(settings.catalog).read_text().replace('"0.00000013"', '"0.00000014"'))
    code = errno.ENOSPC if failing_call == "write" else errno.EIO

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    # The operating system refusing to store bytes: the one thing a test here cannot cause for real.
    if failing_call == "fsync":
        monkeypatch.setattr(snapshot.os, "fsync", broken)
    else:
        monkeypatch.setattr(snapshot.os, "fdopen", lambda fd, *_a, **_k: os.close(fd) or broken())
    with pytest.raises(PublishError, match=os.strerror(code)):
        run_sync(settings=settings.model_copy(update={"catalog": changed}))
    monkeypatch.undo()

    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == before
    assert not list(settings.snapshot_dir.glob(".*"))
    assert run_sync(settings=settings.model_copy(update={"catalog": changed})).exit_code == 0
