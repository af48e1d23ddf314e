"""Operating the CLI the way an operator does: read-only commands, help, version, progress, summaries."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MIRROR_REPOS
from test_lock import syncer_env

READ_ONLY = [["status"], ["runs"], ["db", "current"], ["explain", "qwen3-5-9b"], ["snapshot", "list"]]


def run_cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args], env=env, cwd=cwd, capture_output=True, text=True
    )


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    database = tmp_path / "var" / "sub" / "syncer.db"
    env = syncer_env(f"sqlite:///{database}", "http://127.0.0.1:9", tmp_path)
    done = run_cli(env, *command, cwd=tmp_path)
    assert not database.parent.exists(), f"{command} created {database.parent}"
    assert f"no database at {database}" in done.stdout + done.stderr
    # status: never synced is stale (1), like an empty database; the others: 2 with the message, no traceback
    assert done.returncode == (1 if command == ["status"] else 2), done.stderr
    assert "Traceback" not in done.stderr


def test_read_only_commands_read_an_existing_database(tmp_path: Path, private_mirror) -> None:
    hub = private_mirror(MIRROR_REPOS)
    database = tmp_path / "syncer.db"
    env = syncer_env(f"sqlite:///{database}", hub.url, tmp_path)
    assert run_cli(env, "sync", "now", cwd=tmp_path).returncode == 0
    for command in READ_ONLY:
        done = run_cli(env, *command, cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr)
    runs = json.loads(run_cli(env, "runs", "--json", cwd=tmp_path).stdout)
    assert [run["outcome"] for run in runs] == ["ok"]


def test_every_setting_the_code_reads_is_in_the_readme_table() -> None:
    from syncer.settings import Settings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)`(?: / `([A-Z_]+)`)?", table, flags=re.M))
    names = {name for pair in documented for name in pair if name}
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = [str(c) for c in alias.choices] if alias is not None else []  # type: ignore[union-attr]
        wanted = choices[0] if choices else f"SYNCER_{field_name.upper()}"
        assert wanted in names, (
            f"{wanted} (Settings.{field_name}) is missing from the README's settings table"
        )
