"""Broken infrastructure, as an operator meets it: one clear line, a documented exit status, the run recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import MIRROR_REPOS
from test_lock import syncer_env
from test_status import parse_metrics, run_cli


@pytest.mark.parametrize("shape", ["file", "directory named openrouter.json"])
def test_a_snapshot_dir_that_cannot_hold_the_files_is_exit_73(shape, private_mirror, tmp_path: Path) -> None:
    hub = private_mirror(MIRROR_REPOS)
    textfile = tmp_path / "syncer.prom"
    env = syncer_env(
        f"sqlite:///{tmp_path / 'db.sqlite'}", hub.url, tmp_path, SYNCER_METRICS_TEXTFILE=str(textfile)
    )
    folder = Path(env["SYNCER_SNAPSHOT_DIR"])
    if shape == "file":
        folder.write_text("not a folder")
    else:
        (folder / "openrouter.json").mkdir(parents=True)

    result = run_cli(env, "sync", "now")

    assert result.returncode == 73, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert f"SYNCER_SNAPSHOT_DIR={folder}" in line
    assert ("not a directory" if shape == "file" else "openrouter.json in it is a directory") in line
    runs = json.loads(run_cli(env, "runs", "--json").stdout)
    assert runs[0]["outcome"] == "error" and "SYNCER_SNAPSHOT_DIR" in runs[0]["message"]
    assert parse_metrics(textfile.read_text())[("syncer_last_run_outcome", (("outcome", "error"),))] == 1


def test_an_unreachable_database_is_exit_69_with_the_password_masked(tmp_path: Path) -> None:
    env = syncer_env(
        "postgresql+psycopg://syncer:s3cret-pw@127.0.0.1:9/syncer", "http://127.0.0.1:9", tmp_path
    )
    for args in (("sync", "now"), ("status",), ("status", "--json")):
        result = run_cli(env, *args)
        assert result.returncode == 69, (args, result.stderr)
        assert "s3cret-pw" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    status = json.loads(result.stdout)
    assert (
        status["healthy"] is False
        and "SYNCER_DATABASE_URL=postgresql+psycopg://syncer:***@" in status["problems"][0]
    )


def test_a_postgresql_connection_lost_mid_transaction_records_the_run_as_error(
    server_databases, private_mirror, tmp_path: Path, monkeypatch
) -> None:
    """The real PostgreSQL kills our backend while the run writes its results (pg_terminate_backend)."""
    from conftest import wipe_database

    from syncer.errors import StoreUnavailableError
    from syncer.settings import load_settings
    from syncer.store import schema
    from syncer.sync import run_sync

    url = server_databases["postgresql"]
    wipe_database(url)
    hub = private_mirror(MIRROR_REPOS)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    real_make_engine = schema.make_engine
    killed: list[int] = []

    def make_engine(target: str, **options: bool) -> sa.Engine:
        engine = real_make_engine(target, **options)

        @sa.event.listens_for(engine, "before_cursor_execute")
        def kill(conn, cursor, statement, parameters, context, executemany) -> None:
            if not killed and "INSERT INTO listing_entries" in statement:
                pid = conn.connection.dbapi_connection.info.backend_pid
                killed.append(pid)
                with admin.connect() as other:
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

        return engine

    monkeypatch.setattr(schema, "make_engine", make_engine)
    settings = load_settings(database_url=url, hf_endpoint=hub.url, hf_hub_cache=tmp_path / "cache",
                             snapshot_dir=tmp_path / "snapshots", hub_retry_backoff=0.01)  # fmt: skip
    try:
        with pytest.raises(StoreUnavailableError) as caught:
            run_sync(settings=settings)
        assert killed and caught.value.exit_code == 69
        assert "SYNCER_DATABASE_URL=" in str(caught.value)
        assert not (tmp_path / "snapshots" / "openrouter.json").exists()  # nothing half-published
        with admin.connect() as conn:
            outcome, message = conn.execute(sa.text("SELECT outcome, message FROM sync_runs")).one()
        assert outcome == "error" and "cannot use the database" in message
    finally:
        admin.dispose()
