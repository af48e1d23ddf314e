"""Run history: what ``syncer runs`` shows."""

from __future__ import annotations

from typing import Any

from syncer.db import SyncRun
from syncer.settings import Settings
from syncer.store import check_schema, make_engine, recent_runs, sessions


def list_runs(*, settings: Settings, limit: int) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine, create_if_empty=False)
        with sessions(engine)() as session:
            return [run_as_dict(run) for run in recent_runs(session, limit=limit)]
    finally:
        engine.dispose()


def run_as_dict(run: SyncRun) -> dict[str, Any]:
    """One run of the history, as `syncer runs --json` and `syncer status --json` show it."""
    return {
        "id": run.id,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "trigger": run.trigger,
        "host": run.host,
        "pid": run.pid,
        "outcome": run.outcome,
        "synced": run.synced,
        "unchanged": run.unchanged,
        "failed": run.failed,
        "errors": run.errors or {},
        "hub_requests": run.hub_requests or {},
        "message": run.message,
    }


def format_runs(runs: list[dict[str, Any]]) -> str:
    from syncer.report import table

    if not runs:
        return "no runs yet"
    rows = [
        (
            r["id"],
            r["started_at"][:19].replace("T", " "),
            _duration(r),
            r["trigger"],
            f"{r['host']}:{r['pid']}",
            r["outcome"],
            r["synced"],
            r["unchanged"],
            r["failed"],
            ", ".join(sorted(r["errors"]))[:60],
        )
        for r in runs
    ]
    return table(("run", "started (UTC)", "took", "trigger", "host:pid", "outcome", "synced", "unchanged",
                  "failed", "failing models"), rows)  # fmt: skip


def _duration(run: dict[str, Any]) -> str:
    from datetime import datetime

    if not run["finished_at"]:
        return "-"
    took = datetime.fromisoformat(run["finished_at"]) - datetime.fromisoformat(run["started_at"])
    return f"{took.total_seconds():.1f}s"
