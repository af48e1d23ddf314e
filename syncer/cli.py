"""The ``syncer`` command: parses arguments, calls the library, prints, and maps errors to exit codes.

Exit codes: 0 success; 1 snapshots published but some models failed (or a run was held/partial);
2 bad catalog, settings, usage or schema; 75 another sync holds the lock; 70 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from syncer.errors import SyncerError

EX_INTERNAL = 70
log = logging.getLogger("syncer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="syncer", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = commands.add_parser("sync", help="run a sync").add_subparsers(dest="action", required=True)
    now = sync.add_parser("now", help="one full sync now")
    now.add_argument("--catalog", type=Path, help="catalog file (default: $SYNCER_CATALOG)")
    now.add_argument("--only", nargs="+", default=[], metavar="ID", help="refresh only these model ids")
    now.add_argument("--wait", type=float, default=0.0, metavar="SECONDS", help="wait for a running sync")
    now.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    now.add_argument("--approve", action="store_true", help="publish even what the publish guard would hold")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="action", required=True)
    db.add_parser("upgrade", help="migrate the database to the latest schema")
    db.add_parser("current", help="print the schema revision of the database and of this code")

    snapshot = commands.add_parser("snapshot", help="published snapshots").add_subparsers(
        dest="action", required=True
    )
    show = snapshot.add_parser("show", help="print the current snapshot")
    show.add_argument("--format", choices=("openrouter", "catalog"), default="openrouter")
    diff = snapshot.add_parser("diff", help="what the guard holds, or what the last publish changed")
    diff.add_argument("--json", action="store_true")
    rollback = snapshot.add_parser(
        "rollback", help="republish an earlier snapshot (default: the previous one)"
    )
    rollback.add_argument("snapshot_id", nargs="?", type=int, metavar="ID")
    listing = snapshot.add_parser("list", help="published and held snapshots kept in the store")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")

    explain = commands.add_parser("explain", help="where every listed value of a model came from")
    explain.add_argument("model_id")
    explain.add_argument("--json", action="store_true")

    runs = commands.add_parser("runs", help="recent sync runs")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true")

    serve = commands.add_parser("serve", help="serve the snapshots: the read-only models API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--access-log", action="store_true", help="log every request")

    schedule = commands.add_parser("schedule", help="run the sync on $SYNCER_SCHEDULE until SIGTERM")
    schedule.add_argument("--run-now", action="store_true", help="also sync once at start")
    schedule.add_argument("--metrics-port", type=int, metavar="P", help="serve Prometheus metrics on P")
    schedule.add_argument("--metrics-host", default="0.0.0.0", help="address for --metrics-port")  # noqa: S104
    schedule.add_argument("--metrics-port-file", type=Path, help=argparse.SUPPRESS)

    status = commands.add_parser("status", help="last successful run, snapshot age, models failing")
    status.add_argument("--max-age", type=float, metavar="SECONDS", help="default: $SYNCER_STATUS_MAX_AGE")
    status.add_argument("--json", action="store_true")

    mirror = commands.add_parser("mirror", help="serve a folder of repos as a Hub-compatible mirror")
    mirror.add_argument("root", type=Path, help="folder holding <org>/<name>/ repos")
    mirror.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    mirror.add_argument("--port", type=int, default=8090, help="port to listen on (0 picks a free port)")
    mirror.add_argument("--port-file", type=Path, help="write the mirror URL to this file once listening")
    mirror.add_argument("--latency", type=float, default=0.0, help="seconds slept before every answer")
    mirror.add_argument(
        "--token",
        action="append",
        default=[],
        help="token granting access to gated/private repos (repeatable)",
    )
    mirror.add_argument(
        "--page-size", type=int, help="most repos per list_models page (default and most: 1000)"
    )
    mirror.add_argument(
        "--idle-timeout", type=float, help="seconds before an idle connection is closed (default 5; 0: never)"
    )
    mirror.add_argument(
        "--max-body", type=int, help="bytes of a request body read before hanging up (default 1 MiB)"
    )

    commands.add_parser("demo", help="sync the example catalog against the bundled mirror (offline)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except SyncerError as exc:
        print(f"syncer: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("syncer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `syncer ... | head`: the reader left; not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception:  # an unexpected internal error: say so, distinctly from exit 1 ("some models failed")
        import traceback

        traceback.print_exc()
        print("syncer: internal error (a bug): please report it with the traceback above", file=sys.stderr)
        return EX_INTERNAL


def _dispatch(args: argparse.Namespace) -> int:
    from syncer.settings import load_settings

    if args.command == "mirror":
        from syncer_mirror import serve as serve_mirror

        tuning = {k: getattr(args, k) for k in ("page_size", "idle_timeout", "max_body")}
        return serve_mirror(
            args.root,
            host=args.host,
            port=args.port,
            port_file=args.port_file,
            latency=args.latency,
            tokens=args.token,
            **{k: v for k, v in tuning.items() if v is not None},
        )
    if args.command == "demo":
        from syncer.demo import run_demo

        return run_demo()

    settings = load_settings()
    from syncer.report import configure_logging

    configure_logging(settings.log_format)

    if args.command == "serve":
        from syncer.serve import serve

        return serve(
            settings, host=args.host, port=args.port, workers=args.workers, access_log=args.access_log
        )
    if args.command == "sync":
        return _sync_now(args, settings)
    if args.command == "db":
        from syncer import store

        engine = store.make_engine(settings.database_url)
        try:
            if args.action == "upgrade":
                from syncer.lock import sync_lock

                with sync_lock(engine, wait=300):
                    store.upgrade(engine)
                print(f"database at {store.current_revision(engine)} (head)")
            else:
                print(f"database: {store.current_revision(engine) or 'empty'}; code: {store.head_revision()}")
        finally:
            engine.dispose()
        return 0
    if args.command == "snapshot" and args.action != "show":
        return _snapshot_admin(args, settings)
    if args.command == "snapshot":
        from syncer import snapshot

        data = snapshot.read_current(settings.snapshot_dir, args.format)
        if data is None:
            print(
                f"syncer: error: no {args.format} snapshot in {settings.snapshot_dir}: run `syncer sync now`",
                file=sys.stderr,
            )
            return 1
        sys.stdout.write(data.decode("utf-8"))
        return 0
    if args.command == "explain":
        from syncer.explain import explain_model, format_explanation

        explanation = explain_model(settings=settings, model_id=args.model_id)
        print(json.dumps(explanation, indent=2) if args.json else format_explanation(explanation))
        return 0
    if args.command == "runs":
        from syncer.history import format_runs, list_runs

        runs = list_runs(settings=settings, limit=args.limit)
        print(json.dumps(runs, indent=2) if args.json else format_runs(runs))
        return 0
    if args.command == "schedule":
        from syncer.schedule import serve as serve_schedule

        return serve_schedule(settings, run_now=args.run_now, metrics_port=args.metrics_port,
                     metrics_host=args.metrics_host, port_file=args.metrics_port_file)  # fmt: skip
    if args.command == "status":
        from syncer.status import collect_status, format_status

        status = collect_status(settings=settings, max_age=args.max_age)
        print(json.dumps(status, indent=2) if args.json else format_status(status))
        return int(status["exit_code"])
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


def _snapshot_admin(args: argparse.Namespace, settings: object) -> int:
    from syncer import publishing
    from syncer.report import table
    from syncer.settings import Settings

    assert isinstance(settings, Settings)
    if args.action == "diff":
        result = publishing.snapshot_diff(settings=settings)
        print(json.dumps(result, indent=2, default=str) if args.json else publishing.format_diff(result))
        return 0
    if args.action == "rollback":
        for done in publishing.rollback(settings=settings, snapshot_id=args.snapshot_id):
            print(
                f"republished {done['name']}.json from snapshot {done['republished']} ({done['sha256'][:12]})"
            )
        return 0
    rows = publishing.list_snapshots(settings=settings, limit=args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(table(("id", "file", "status", "published (UTC)", "sha256", "run", "note"),
                    [(r["id"], r["name"], r["status"], r["published_at"][:19], r["sha256"][:12], r["run_id"],
                      (r["note"] or "")[:50]) for r in rows]))  # fmt: skip
    return 0


def _sync_now(args: argparse.Namespace, settings: object) -> int:
    from syncer.report import Progress, summary, warning_rows
    from syncer.schedule import run_and_record
    from syncer.settings import Settings

    assert isinstance(settings, Settings)
    report = run_and_record(
        settings=settings,
        catalog_path=args.catalog,
        only=args.only,
        trigger="manual",
        wait=args.wait,
        progress=Progress(),
        approve=args.approve,
    )
    if args.json:
        print(json.dumps(report.as_dict() | {"warnings": warning_rows(report)}, indent=2))
    else:
        print(summary(report))
    return report.exit_code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
