"""`sync now` start-up imports only what the run needs (issue 17), and the at-head check that makes it so.

A warm `sync now` against an at-head SQLite store used to import alembic (the schema check), the PostgreSQL
and MySQL dialects (the upserts and a column type) and APScheduler (``run_and_record`` lived beside the
scheduler). The subprocess test below runs the real command in a fresh interpreter and records
``sys.modules`` at exit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from syncer.errors import SchemaAheadError, SchemaBehindError
from syncer.store import schema
from syncer.store.schema import MIGRATIONS_DIR, check_schema, head_revision, make_engine, upgrade
from syncer_mirror import HubMirror

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = PROJECT_ROOT / "config" / "catalog.toml"

# Runs `python -m syncer` in this interpreter and writes the sorted module names at exit, after the command.
WRAPPER = (
    "import atexit, json, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
    "runpy.run_module('syncer', run_name='__main__', alter_sys=True)\n"
)
NOT_NEEDED = ("alembic", "apscheduler", "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.mysql")


def _env(url: str, endpoint: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    env.update(
        {
            "SYNCER_DATABASE_URL": url,
            "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
            "SYNCER_CATALOG": str(EXAMPLE_CATALOG),
            "SYNCER_HUB_RETRY_BACKOFF": "0.01",
            "HF_ENDPOINT": endpoint,
            "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        }
    )
    return env


def _sync_now_modules(env: dict[str, str], out: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), "sync", "now"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(out.read_text())
    return modules


def test_sync_now_at_head_imports_no_alembic_scheduler_or_unused_dialect(
    mirror: HubMirror, tmp_path: Path
) -> None:
    env = _env(f"sqlite:///{tmp_path / 'db.sqlite'}", mirror.url, tmp_path)
    # The first run migrates the fresh database: that one needs alembic, and does import it.
    cold = _sync_now_modules(env, tmp_path / "cold.json")
    assert "alembic" in cold
    assert (tmp_path / "snapshots" / "openrouter.json").is_file()
    mirror.reset()
    warm = _sync_now_modules(env, tmp_path / "warm.json")
    assert mirror.requests(), "the warm run reached the Hub"
    loaded = [m for m in warm if any(m == name or m.startswith(name + ".") for name in NOT_NEEDED)]
    assert loaded == []
    assert "sqlalchemy.dialects.sqlite" in warm  # the dialect the URL uses is there, and only that one


def test_the_parsed_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    assert schema._parsed_head() == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head_revision() == schema._parsed_head()


def _copy_migrations(tmp_path: Path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_history_the_parser_cannot_read_falls_back_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = _copy_migrations(tmp_path)
    monkeypatch.setattr(schema, "MIGRATIONS_DIR", copy)
    head = schema._parsed_head()
    assert head is not None
    # A merge revision: down_revision is a tuple, which the line parser does not read.
    (copy / "versions" / "0099_merge.py").write_text(
        f'revision = "0099"\ndown_revision = ("{head}",)\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    assert schema._parsed_head() is None
    assert head_revision() == "0099"  # Alembic's answer


def test_behind_and_ahead_are_still_told_apart(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        upgrade(engine, "0001")
        with pytest.raises(SchemaBehindError) as behind:
            check_schema(engine, create_if_empty=True)
        assert (behind.value.current, behind.value.head) == ("0001", head_revision())
        upgrade(engine)
        check_schema(engine, create_if_empty=False)  # at head: passes
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
        with pytest.raises(SchemaAheadError):
            check_schema(engine, create_if_empty=False)
    finally:
        engine.dispose()
