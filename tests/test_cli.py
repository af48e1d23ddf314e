"""The CLI edge: errors become messages and exit codes."""

from __future__ import annotations

import pytest

from syncer import cli


def test_an_unexpected_error_exits_70_with_a_traceback(monkeypatch, capsys, tmp_path) -> None:
    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "_dispatch", broken)
    assert cli.main(["db", "current"]) == cli.EX_INTERNAL == 70
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "internal error" in err


def test_syncer_errors_keep_their_exit_code(monkeypatch, capsys) -> None:
    from syncer.errors import LockHeldError

    def held(*_args: object, **_kwargs: object) -> int:
        raise LockHeldError("since 10:00 on host-a, pid 42 (UTC)")

    monkeypatch.setattr(cli, "_dispatch", held)
    assert cli.main(["sync", "now"]) == 75
    assert "another sync is running since 10:00 on host-a, pid 42 (UTC)" in capsys.readouterr().err


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "sync",
        "db",
        "snapshot",
        "explain",
        "runs",
        "schedule",
        "status",
        "serve",
        "mirror",
        "demo",
    ):
        assert command in out


def test_a_closed_pipe_is_not_an_internal_error(monkeypatch, capfd) -> None:
    # `syncer ... | head`: the reader went away; writing raises BrokenPipeError.
    def closed_pipe(*_args: object, **_kwargs: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_dispatch", closed_pipe)
    assert cli.main(["snapshot", "show"]) == 141
    assert "internal error" not in capfd.readouterr().err


def test_a_misspelt_setting_exits_2_naming_the_closest_one(monkeypatch, capsys, tmp_path) -> None:
    # A typo used to be ignored silently: the worker ran against the default sqlite:///var/syncer.db.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNCER_DATABSE_URL", "postgresql+psycopg://syncer@db/prod")
    assert cli.main(["sync", "now"]) == 2
    err = capsys.readouterr().err
    assert "SYNCER_DATABSE_URL='postgresql+psycopg://syncer@db/prod'" in err
    assert "did you mean SYNCER_DATABASE_URL?" in err
    assert not (tmp_path / "var").exists()  # nothing ran


def test_an_unknown_setting_without_a_near_name_is_refused_too(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYNCER_XYZZY", "1")
    monkeypatch.setenv("SYNCER_HF_HOME", "/srv/hf")  # the Hub's own variable is HF_HOME
    assert cli.main(["status"]) == 2
    err = capsys.readouterr().err
    assert "SYNCER_XYZZY='1': unknown setting; no setting has a similar name" in err
    assert "SYNCER_HF_HOME='/srv/hf': unknown setting; did you mean HF_HOME?" in err


def test_tool_variables_are_not_settings(monkeypatch) -> None:
    from syncer.settings import unknown_variables

    env = {
        "SYNCER_TEST_POSTGRESQL_URL": "x",
        "SYNCER_DEMO_HF_CACHE": "x",
        "SYNCER_CRASH_SEED": "1",
        "SYNCER_BENCH_MODELS": "9",
        "SYNCER_HF_TOKEN": "t",
        "syncer_catalog": "c.toml",
        "HF_ENDPOINT": "http://x",
    }
    assert unknown_variables(env) == []
    assert unknown_variables({"syncer_snapshot_dri": "x"}) == [
        "syncer_snapshot_dri='x': unknown setting; did you mean SYNCER_SNAPSHOT_DIR?"
    ]
