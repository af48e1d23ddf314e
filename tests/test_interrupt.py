"""Ctrl-C/SIGTERM on `syncer sync now`: a real subprocess against a slow mirror."""

from __future__ import annotations

import hashlib
import signal
import subprocess

import pytest
from conftest import MIRROR_REPOS
from test_lock import runs, start_syncer, syncer_env, wait_until


def _files(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_sync_now_records_interrupted_and_writes_nothing(sig, private_mirror, tmp_path):
    # Before: SIGTERM killed the process mid-run (row left `running`), and Ctrl-C raised KeyboardInterrupt
    # wherever it landed; neither said it was stopping.
    database_url = f"sqlite:///{tmp_path / 'syncer.db'}"
    fast = private_mirror(MIRROR_REPOS)
    first = start_syncer(
        "sync", "now", env=syncer_env(database_url, fast.url, tmp_path), log=tmp_path / "1.log"
    )
    assert first.wait(timeout=300) in (0, 1), (tmp_path / "1.log").read_text()
    before = _files(tmp_path / "snapshots")

    slow = private_mirror(MIRROR_REPOS, latency=0.5)
    env = syncer_env(database_url, slow.url, tmp_path, SYNCER_HUB_CONCURRENCY="1",
                     HF_HUB_CACHE=str(tmp_path / "cold-cache"))  # fmt: skip
    log = tmp_path / "2.log"
    proc = start_syncer("sync", "now", env=env, log=log)
    try:
        wait_until(lambda: slow.requests(), timeout=120, what="the run to be busy with the Hub")
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = log.read_text()
    assert code == 130, out
    assert f"syncer: {sig.name}: stopping after the lookups in flight; nothing will be published" in out
    assert f"stopped by {sig.name} after looking up" in out
    history = runs(database_url)
    assert history[-1].outcome == "interrupted" and "stopped by" in history[-1].message
    assert _files(tmp_path / "snapshots") == before  # nothing published, no temp file left behind


def test_a_second_ctrl_c_exits_at_once(private_mirror, tmp_path):
    database_url = f"sqlite:///{tmp_path / 'syncer.db'}"
    slow = private_mirror(MIRROR_REPOS, latency=2.0)
    env = syncer_env(database_url, slow.url, tmp_path, SYNCER_HUB_CONCURRENCY="1")
    log = tmp_path / "run.log"
    proc = start_syncer("sync", "now", env=env, log=log)
    try:
        wait_until(lambda: slow.requests(), timeout=120, what="the run to be busy with the Hub")
        proc.send_signal(signal.SIGINT)
        wait_until(lambda: "stopping" in log.read_text(), timeout=60, what="the first signal's message")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    out = log.read_text()
    assert code == 130, out
    assert "syncer: second SIGINT: exiting now" in out
    assert not (tmp_path / "snapshots").exists() or not list((tmp_path / "snapshots").iterdir())
