"""Lost-lock fencing: a sync that lost the single-runner lock mid-run neither commits nor publishes.

Reproduced the way production loses a lock: the lock's database session is killed from outside
(``pg_terminate_backend``, as a failover or a pooler's idle timeout does; ``KILL`` of the ``GET_LOCK``
connection on MariaDB), or on SQLite the lock file is deleted (a second run then creates and locks a new
file at the same path). Sync A is a real ``syncer sync now`` process held inside the Hub stage by a
hanging mirror answer; sync B, a second process, takes the lock over with an operator's new prices. A must
exit 75 with "lost the sync lock", and B's prices and snapshot must survive.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from catalogs import GEMMA, PHI, QWEN, catalog_toml
from conftest import MIRROR_REPOS, PROJECT_ROOT
from test_lock import runs, start_syncer, syncer_env, wait_until

from syncer.store import make_engine
from syncer.store.lock import PG_LOCK_KEY, mysql_lock_name
from syncer.store.models import ModelPrice

MODELS = {"qwen": QWEN, "gemma": GEMMA, "phi": PHI}
OLD, NEW = "0.1", "0.3"  # the operator triples the prompt price while A is stuck
HANG = 15  # seconds A's lookup of PHI hangs (only its first request: B is not slowed down)


def _kill_lock_session(database_url: str) -> None:
    """End the database session that holds the sync lock, from outside, as a failover does."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.url.get_backend_name() == "postgresql":
                killed = conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l WHERE l.locktype = 'advisory' "
                        "AND l.granted AND l.objsubid = 1 "
                        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
                    ),
                    {"k": PG_LOCK_KEY},
                ).all()
                assert killed == [(True,)], killed
            else:
                holder = conn.execute(
                    sa.text("SELECT IS_USED_LOCK(:n)"), {"n": mysql_lock_name(engine)}
                ).scalar()
                assert holder is not None, "nobody holds the GET_LOCK lock"
                conn.execute(sa.text(f"KILL {int(holder)}"))
    finally:
        engine.dispose()


def _prices(database_url: str) -> dict[str, Decimal]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(ModelPrice.model_id, ModelPrice.amount).where(ModelPrice.price_key == "prompt")
            ).all()
    finally:
        engine.dispose()
    return {model_id: Decimal(amount) for model_id, amount in rows}


def _listed_prompt_prices(folder: Path) -> dict[str, str]:
    document = json.loads((folder / "openrouter.json").read_bytes())
    return {entry["id"]: entry["pricing"]["prompt"] for entry in document["data"]}


def _lose_the_lock_mid_run(
    database_url: str, private_mirror, tmp_path: Path, lose: Callable[[], None]
) -> None:
    hub = private_mirror(MIRROR_REPOS)
    hub.set_faults({PHI: {"mode": "hang", "seconds": HANG, "times": 1}})
    old, new = tmp_path / "old.toml", tmp_path / "new.toml"
    old.write_text(catalog_toml(MODELS, prompt=OLD))
    new.write_text(catalog_toml(MODELS, prompt=NEW))
    env = {"SYNCER_HUB_TIMEOUT": "60", "SYNCER_HUB_MODEL_DEADLINE": "100"}
    env_a = syncer_env(database_url, hub.url, tmp_path, SYNCER_CATALOG=str(old), **env)
    env_b = syncer_env(database_url, hub.url, tmp_path, SYNCER_CATALOG=str(new), **env)

    a = start_syncer("sync", "now", env=env_a, log=tmp_path / "a.log")
    try:
        wait_until(lambda: hub.faults().get(PHI, {}).get("times") == 0, what="A to be stuck on the Hub")
        assert [r.outcome for r in runs(database_url)] == ["running"]
        lose()
        b = subprocess.run(
            [sys.executable, "-m", "syncer", "sync", "now", "--wait", "30"],
            env=env_b,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert b.returncode == 0, b.stdout + b.stderr
        code = a.wait(timeout=180)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
    out_a = (tmp_path / "a.log").read_text()

    assert code == 75, out_a
    assert "lost the sync lock" in out_a
    # B's prices survive, in the store and in the live snapshot.
    assert _prices(database_url) == dict.fromkeys(MODELS, Decimal(NEW))
    snapshots = tmp_path / "snapshots"
    assert set(_listed_prompt_prices(snapshots).values()) == {NEW}
    assert [p.name for p in snapshots.iterdir() if p.name.startswith(".")] == []  # A's temp files gone
    # Both runs recorded: B ok, A lost_lock (not interrupted, not ok).
    history = runs(database_url)
    assert sorted(r.outcome for r in history) == ["lost_lock", "ok"], [
        (r.outcome, r.message) for r in history
    ]
    lost = next(r for r in history if r.outcome == "lost_lock")
    assert "lost the sync lock" in (lost.message or "")
    assert lost.finished_at is not None


def test_a_sync_whose_lock_session_was_killed_neither_commits_nor_publishes(
    database_url, private_mirror, tmp_path
):
    if database_url.startswith("sqlite"):
        pytest.skip("a database session to kill exists on PostgreSQL and MariaDB; SQLite: the next test")
    _lose_the_lock_mid_run(database_url, private_mirror, tmp_path, lambda: _kill_lock_session(database_url))


def test_a_sqlite_sync_whose_lock_file_was_replaced_neither_commits_nor_publishes(
    database_url, private_mirror, tmp_path
):
    if not database_url.startswith("sqlite"):
        pytest.skip("the lock file is SQLite's")
    database = Path(make_engine(database_url).url.database or "")
    lock_file = database.with_name(database.name + ".lock")

    def lose() -> None:
        assert lock_file.exists()
        lock_file.unlink()  # an operator's cleanup, a tmp reaper: the next run locks a new file

    _lose_the_lock_mid_run(database_url, private_mirror, tmp_path, lose)
