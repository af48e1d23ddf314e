"""Run history: what ``syncer runs`` shows."""

from __future__ import annotations

from typing import Any

from syncer.settings import Settings
from syncer.store import Store
from syncer.store.models import SyncRun


def list_runs(*, settings: Settings, limit: int) -> list[dict[str, Any]]:
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        return [run_as_dict(run) for run in store.recent_runs(limit=limit)]


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
