"""Operating the CLI the way an operator does: read-only commands, help, version, progress, summaries."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    # readable at 120 columns: long values cut with an ellipsis, `--json` whole
    for command in (["runs"], ["explain", "qwen3-5-9b"]):
        text = run_cli(env, *command, cwd=tmp_path).stdout
        assert max(len(line) for line in text.splitlines()) <= 120, text
    explained = run_cli(env, "explain", "qwen3-5-9b", cwd=tmp_path).stdout
    whole = json.loads(run_cli(env, "explain", "qwen3-5-9b", "--json", cwd=tmp_path).stdout)
    longest = max((str(f["source"]) for f in whole["fields"]), key=len)
    assert len(longest) > 60 and longest not in explained and "…" in explained


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


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_advances_while_the_hub_is_asked(tmp_path: Path, private_mirror, make_settings) -> None:
    from syncer.catalog import load_catalog
    from syncer.cli.present import Progress
    from syncer.sync import run_sync

    # One lookup at a time, each answer 50 ms late: the bar of model i is drawn while model i+1 is still being
    # asked. (With sixteen lookups at once against an instant mirror, every model can be done before the first
    # bar is drawn on a loaded machine: the bar would be right, and this test would have nothing to see.)
    mirror = private_mirror(MIRROR_REPOS, latency=0.05)
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url, hub_concurrency=1
    )
    on_hub = [m for m in load_catalog(settings.catalog).models if m.hugging_face_id]
    terminal = _Terminal()
    progress = Progress(terminal)
    frames: list[tuple[str, int]] = []  # (the bar as drawn, requests the mirror had answered by then)

    def lookup(event: Any) -> None:
        progress.lookup(event)
        frames.append((terminal.getvalue().rsplit("\r", 1)[-1], len(mirror.requests())))

    report = run_sync(settings=settings, progress=progress, on_lookup=lookup)
    assert report.exit_code == 0
    total = len(on_hub)
    assert [f"{i}/{total} models resolved" in bar for i, (bar, _) in enumerate(frames, 1)] == [True] * total
    assert all(", 0 failed, " in bar for bar, _ in frames)
    used = [int(re.search(r"(\d+) Hub requests", bar)[1]) for bar, _ in frames]  # type: ignore[index]
    assert used == sorted(used) and 0 < used[0] < used[-1], used
    # drawn while the Hub was still being asked: the first frame came before the mirror's last answer
    assert frames[0][1] < len(mirror.requests())
    assert terminal.getvalue().endswith("\n")


def test_without_a_terminal_one_line_per_lookup_and_one_json_summary(tmp_path: Path, private_mirror) -> None:
    hub = private_mirror(MIRROR_REPOS)
    env = syncer_env(f"sqlite:///{tmp_path / 'db.sqlite'}", hub.url, tmp_path, SYNCER_LOG_FORMAT="json")
    done = run_cli(env, "sync", "now", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    lookups = [r for r in records if r.get("status") == "resolved"]
    merged = [r for r in records if r.get("status") == "synced"]
    assert lookups and len(lookups) == len(merged)
    assert records.index(lookups[-1]) < records.index(merged[0]), "lookup lines come as the Hub answers"
    assert all(r["time"] and r["commit"] and r["hub_requests"] > 0 for r in lookups)
    (summary,) = [r for r in records if "run" in r]
    run = summary["run"]
    assert {"run_id", "trigger", "outcome", "counts", "hub_requests", "duration_seconds"} <= set(run)
    assert (run["trigger"], run["outcome"], run["counts"]["failed"]) == ("manual", "ok", 0)
    assert run["counts"]["synced"] == len(merged)
    assert sum(run["hub_requests"].values()) == lookups[-1]["hub_requests"] > 0
    assert isinstance(run["duration_seconds"], float)


def test_readme_links_stay_inside_the_repository() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        assert target.startswith("#") or (root / target.split("#")[0]).exists(), target
    assert "../" not in readme, "a path outside the repository"


def test_every_option_has_help_and_the_tool_describes_itself() -> None:
    import click

    from syncer.cli import syncer

    def walk(command: click.Command, path: str) -> Iterator[tuple[str, click.Parameter]]:
        for param in command.params:
            yield path, param
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, f"{path} {name}")

    missing = [
        f"{path} {param.opts[0]}"
        for path, param in walk(syncer, "syncer")
        if isinstance(param, click.Option) and not param.hidden and not param.help
    ]
    assert missing == []
    assert (syncer.help or "").startswith("Keep an inference provider's model listings true")
