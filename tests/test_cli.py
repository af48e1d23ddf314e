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
