"""``python -m syncer_mirror ROOT [--host H] [--port P] [--latency S] [--port-file F] [--token T] [--control]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from syncer_mirror.routes import MAX_PAGE_SIZE
from syncer_mirror.server import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_BODY, serve


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m syncer_mirror",
        description="Serve model repos from a folder as a Hub-compatible mirror (until SIGTERM/SIGINT).",
    )
    parser.add_argument("root", type=Path, help="folder holding <org>/<name>/ repos")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds slept before every answer")
    parser.add_argument("--port-file", type=Path, help="write the mirror URL to this file once listening")
    parser.add_argument("--token", action="append", default=[], help="token granting access to gated repos")
    parser.add_argument(
        "--page-size", type=int, default=MAX_PAGE_SIZE, help="most repos per list_models page"
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        help="seconds before an idle connection is closed (0: never)",
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help="bytes of a request body read before hanging up",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="TEST ONLY: turn on /_mirror/* (request log, reset, fault injection) for anyone who can connect",
    )
    args = parser.parse_args(argv)
    return serve(
        args.root,
        host=args.host,
        port=args.port,
        port_file=args.port_file,
        latency=args.latency,
        tokens=args.token,
        page_size=args.page_size,
        control=args.control,
        idle_timeout=args.idle_timeout,
        max_body=args.max_body,
    )


if __name__ == "__main__":
    raise SystemExit(main())
