"""The ``syncer`` command (click): each command parses, calls one library function, prints.

Errors become messages and exit codes here and only here. Exit codes: 0 success; 1 snapshots published but
some models failed (or a run was held/partial); 2 bad catalog, settings, usage or schema; 75 another sync
holds the lock; 130 interrupted; 141 the reader of our output went away; 70 an unexpected internal error.

Library modules are imported inside each command, so that ``syncer --help`` and the light commands never
load the pipeline or huggingface_hub.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from syncer.errors import SyncerError

if TYPE_CHECKING:
    from types import FrameType

    from syncer.settings import Settings

EX_INTERNAL = 70

ABOUT = """Keep an inference provider's model listings true to the Hugging Face Hub.

syncer reads the house catalog (a TOML file of models, prices and quantizations), looks every model's
checkpoint up on the Hub, stores catalog and facts in a SQL database, and publishes the listing snapshots
that the models API serves: openrouter.json (OpenRouter's provider format) and catalog.json (the plain
/v1/models catalog). Start with `syncer demo`, then `syncer sync now`; settings come from SYNCER_*
variables (see the README).
"""


def _settings() -> Settings:
    from syncer.logs import configure_logging
    from syncer.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format)
    return settings


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


def _show(value: Any, *, as_json: bool, text: Callable[[Any], str]) -> None:
    """A command's result: JSON for scripts, or its text for a person."""
    if as_json:
        _print_json(value)
    else:
        click.echo(text(value))


@click.group(help=ABOUT, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="syncer", prog_name="syncer", message="%(prog)s %(version)s")
def syncer() -> None:
    pass


# -- sync ----------------------------------------------------------------------------------------------
@syncer.group(help="Run a sync.")
def sync() -> None:
    pass


@sync.command("now", help="One full sync now: catalog -> Hub -> store -> snapshots.")
@click.option("--catalog", type=click.Path(path_type=Path), help="Catalog file (default: $SYNCER_CATALOG).")
@click.option(
    "--only", "only", multiple=True, metavar="ID [ID ...]",
    help="Refresh only these model ids from the Hub (the snapshots still hold every model).",
)  # fmt: skip
@click.argument("more_ids", nargs=-1, metavar="")
@click.option("--wait", type=float, default=0.0, metavar="SECONDS", help="Wait this long for a running sync.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--approve", is_flag=True, help="Publish even what the publish guard would hold.")
def sync_now(
    *,
    catalog: Path | None,
    only: tuple[str, ...],
    more_ids: tuple[str, ...],
    wait: float,
    as_json: bool,
    approve: bool,
) -> int:
    # `--only a b c`: click options take one value each; the ids after the first arrive as arguments.
    if more_ids and not only:
        raise click.UsageError(f"unexpected argument {more_ids[0]!r} (model ids go after --only)")
    from syncer.cli.present import Progress, summary, warning_rows
    from syncer.ops.run import run_and_record
    from syncer.states import Trigger

    progress = Progress()
    stop, stopped_by = _stop_on_signals()
    try:
        report = run_and_record(
            settings=_settings(),
            catalog_path=catalog,
            only=[*only, *more_ids],
            trigger=Trigger.MANUAL,
            wait=wait,
            progress=progress,
            on_lookup=progress.lookup,
            approve=approve,
            stop=stop,
            interrupt=lambda: stopped_by[0] if stopped_by else None,
        )
    finally:
        _restore_signals()
    if as_json:
        _print_json(report.as_dict() | {"warnings": warning_rows(report)})
    else:
        click.echo(summary(report))
    return report.exit_code


_previous_handlers: dict[int, Any] = {}


def _stop_on_signals() -> tuple[threading.Event, list[str]]:
    """SIGINT/SIGTERM stop the run: no new Hub lookup starts, the ones in flight finish (each bounded by
    SYNCER_HUB_TIMEOUT), nothing is committed or published. A second signal exits at once (130); the next run
    records the unfinished one as interrupted and removes its temp files."""
    stop, stopped_by = threading.Event(), []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            sys.stderr.write(f"syncer: second {name}: exiting now\n")
            sys.stderr.flush()
            os._exit(130)
        stopped_by.append(name)
        stop.set()
        sys.stderr.write(
            f"syncer: {name}: stopping after the lookups in flight; nothing will be published"
            f" ({name} again to exit at once)\n"
        )
        sys.stderr.flush()

    if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
        for sig in (signal.SIGINT, signal.SIGTERM):
            _previous_handlers[sig] = signal.signal(sig, on_signal)
    return stop, stopped_by


def _restore_signals() -> None:
    for sig, handler in _previous_handlers.items():
        signal.signal(sig, handler)
    _previous_handlers.clear()


# -- db ------------------------------------------------------------------------------------------------
@syncer.group(help="The database schema.")
def db() -> None:
    pass


@db.command("upgrade", help="Migrate the database to the latest schema (under the sync lock).")
def db_upgrade() -> int:
    from syncer.store import Store

    with Store.open(_settings().database_url) as store:
        with store.lock(wait=300):
            store.upgrade()
        click.echo(f"database at {store.current_revision()} (head)")
    return 0


@db.command("current", help="Print the schema revision of the database and of this code.")
def db_current() -> int:
    from syncer.store import Store, head_revision

    with Store.open(_settings().database_url, create=False) as store:
        click.echo(f"database: {store.current_revision() or 'empty'}; code: {head_revision()}")
    return 0


# -- snapshot ------------------------------------------------------------------------------------------
@syncer.group(help="Published snapshots.")
def snapshot() -> None:
    pass


@snapshot.command("show", help="Print the current snapshot file.")
@click.option(
    "--format", "fmt", type=click.Choice(["openrouter", "catalog", "openrouter-v2"]), default="openrouter", show_default=True,
    help="Which view.",
)  # fmt: skip
def snapshot_show(fmt: str) -> int:
    from syncer import snapshot as snap

    settings = _settings()
    data = snap.read_current(settings.snapshot_dir, fmt)
    if data is None:
        click.echo(
            f"syncer: error: no {fmt} snapshot in {settings.snapshot_dir}: run `syncer sync now`", err=True
        )
        return 1
    sys.stdout.write(data.decode("utf-8"))
    return 0


@snapshot.command("diff", help="What the guard holds, or what the last publish changed.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
def snapshot_diff(as_json: bool) -> int:
    from syncer.cli.present import format_diff
    from syncer.publish import snapshot_diff as diff

    result = diff(settings=_settings())
    _show(result, as_json=as_json, text=format_diff)
    return 0


@snapshot.command("rollback", help="Republish an earlier snapshot (default: the one before the current).")
@click.argument("snapshot_id", required=False, type=int, metavar="[ID]")
def snapshot_rollback(snapshot_id: int | None) -> int:
    from syncer.publish import rollback

    for done in rollback(settings=_settings(), snapshot_id=snapshot_id):
        click.echo(
            f"republished {done['name']}.json from snapshot {done['republished']} ({done['sha256'][:12]})"
        )
    return 0


@snapshot.command("list", help="Published and held snapshots kept in the store.")
@click.option("--limit", type=int, default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def snapshot_list(limit: int, as_json: bool) -> int:
    from syncer.cli.present import format_snapshots
    from syncer.publish import list_snapshots

    rows = list_snapshots(settings=_settings(), limit=limit)
    _show(rows, as_json=as_json, text=format_snapshots)
    return 0


# -- operations ----------------------------------------------------------------------------------------
@syncer.command("explain", help="Where every listed value of a model came from.")
@click.argument("model_id")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON (values whole).")
def explain(model_id: str, as_json: bool) -> int:
    from syncer.cli.present import format_explanation
    from syncer.ops.explain import explain_model

    explanation = explain_model(settings=_settings(), model_id=model_id)
    _show(explanation, as_json=as_json, text=format_explanation)
    return 0


@syncer.command("runs", help="Recent sync runs.")
@click.option("--limit", type=int, default=20, show_default=True, help="How many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print them as JSON.")
def runs(limit: int, as_json: bool) -> int:
    from syncer.cli.present import format_runs
    from syncer.ops.history import list_runs

    found = list_runs(settings=_settings(), limit=limit)
    _show(found, as_json=as_json, text=format_runs)
    return 0


@syncer.command("status", help="Last successful run, snapshot age, models failing; exit 1 when stale.")
@click.option("--max-age", type=float, metavar="SECONDS", help="Default: $SYNCER_STATUS_MAX_AGE.")
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
def status(max_age: float | None, as_json: bool) -> int:
    from syncer.cli.present import format_status
    from syncer.ops.status import collect_status

    try:
        result = collect_status(settings=_settings(), max_age=max_age)
    except SyncerError as exc:
        if not as_json:
            raise
        # A script reading `status --json` gets JSON whatever broke (the database, a setting).
        _print_json({"healthy": False, "exit_code": exc.exit_code, "problems": [str(exc)],
                     "error": {"type": type(exc).__name__, "message": str(exc)}})  # fmt: skip
        return exc.exit_code
    _show(result, as_json=as_json, text=format_status)
    return int(result["exit_code"])


@syncer.command("schedule", help="Run the sync on $SYNCER_SCHEDULE until SIGTERM.")
@click.option("--run-now", is_flag=True, help="Also sync once at start.")
@click.option("--metrics-port", type=int, metavar="P", help="Serve Prometheus metrics at /metrics on port P.")
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address for --metrics-port (0.0.0.0: every interface, e.g. for a scraper outside the pod).",
)
@click.option(
    "--metrics-port-file",
    type=click.Path(path_type=Path),
    help="Write the metrics port to this file once listening (for --metrics-port 0).",
)
def schedule(
    run_now: bool, metrics_port: int | None, metrics_host: str, metrics_port_file: Path | None
) -> int:
    from syncer.ops.schedule import serve as serve_schedule

    return serve_schedule(_settings(), run_now=run_now, metrics_port=metrics_port, metrics_host=metrics_host,
                          port_file=metrics_port_file)  # fmt: skip


@syncer.command("serve", help="Serve the snapshots: the read-only models API.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8080, show_default=True, help="Port to bind.")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--access-log", is_flag=True, help="Log every request.")
def serve(host: str, port: int, workers: int, access_log: bool) -> int:
    from syncer.serve import serve as serve_api

    return serve_api(_settings(), host=host, port=port, workers=workers, access_log=access_log)


@syncer.command("mirror", help="Serve a folder of repos as a Hub-compatible mirror (tests, demos, air gaps).")
@click.argument("root", type=click.Path(path_type=Path), metavar="ROOT")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface)."
)
@click.option(
    "--port", type=int, default=8090, show_default=True, help="Port to listen on (0 picks a free port)."
)
@click.option(
    "--port-file", type=click.Path(path_type=Path), help="Write the mirror URL to this file once listening."
)
@click.option(
    "--latency", type=float, default=0.0, show_default=True, help="Seconds slept before every answer."
)
@click.option(
    "--token", "tokens", multiple=True, help="Token granting access to gated/private repos (repeatable)."
)
@click.option("--page-size", type=int, help="Most repos per list_models page (default and most: 1000).")
@click.option(
    "--idle-timeout", type=float, help="Seconds before an idle connection is closed (default 5; 0: never)."
)
@click.option("--max-body", type=int, help="Bytes of a request body read before hanging up (default 1 MiB).")
def mirror(
    *,
    root: Path,
    host: str,
    port: int,
    port_file: Path | None,
    latency: float,
    tokens: tuple[str, ...],
    page_size: int | None,
    idle_timeout: float | None,
    max_body: int | None,
) -> int:
    from syncer_mirror import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY, MAX_PAGE_SIZE
    from syncer_mirror import serve as serve_mirror

    return serve_mirror(
        root,
        host=host,
        port=port,
        port_file=port_file,
        latency=latency,
        tokens=list(tokens),
        page_size=MAX_PAGE_SIZE if page_size is None else page_size,
        idle_timeout=DEFAULT_IDLE_TIMEOUT if idle_timeout is None else idle_timeout,
        max_body=DEFAULT_MAX_BODY if max_body is None else max_body,
    )


@syncer.command("demo", help="Sync the example catalog against the bundled mirror (offline).")
def demo() -> int:
    from syncer.cli.demo import run_demo

    return run_demo()


# -- the edge --------------------------------------------------------------------------------------------
def _dispatch(argv: Sequence[str]) -> int:
    """Parse ``argv`` and run the command; its return value is the exit status. ``--help``, ``--version``
    and usage errors end the process (SystemExit 0, or 2 for a usage error) before any command runs."""
    try:
        # make_context + invoke rather than main(): main() would swallow --help's exit and our exit codes.
        with syncer.make_context("syncer", list(argv)) as ctx:
            result = syncer.invoke(ctx)
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _dispatch(sys.argv[1:] if argv is None else argv)
    except SyncerError as exc:
        click.echo(f"syncer: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("syncer: interrupted", err=True)
        return 130
    except BrokenPipeError:  # `syncer ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception:  # an unexpected internal error: say so, distinctly from exit 1 ("some models failed")
        import traceback

        traceback.print_exc()
        click.echo("syncer: internal error (a bug): please report it with the traceback above", err=True)
        return EX_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
