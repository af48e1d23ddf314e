"""``syncer status``: what an operator (or cron's alerting) looks at first.

Healthy means all of: a run confirmed the listing (outcome ``ok`` or ``partial``: at least one Hub lookup
succeeded and the snapshots were published) no longer than ``SYNCER_STATUS_MAX_AGE`` seconds ago; every
snapshot file is there; the last finished run was not held by the publish guard; and no more than half of the
models are failing. Each broken rule is one line of ``problems``. A few models failing are listed (they keep
their last good facts) but do not by themselves make the worker unhealthy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncer import snapshot as snap
from syncer.errors import DatabaseMissingError
from syncer.ops.history import run_as_dict
from syncer.settings import Settings
from syncer.states import RunOutcome
from syncer.store import Store

HEALTHY, STALE = 0, 1


def _run(run: Any, now: datetime) -> dict[str, Any] | None:
    if run is None:
        return None
    age = round((now - (run.finished_at or run.started_at)).total_seconds(), 1)
    return {**run_as_dict(run), "age_seconds": age}


def _failing(row: Any) -> dict[str, Any]:
    return {
        "model_id": row.model_id,
        "repo": row.requested_repo,
        "kind": row.last_error_kind,
        "error": row.last_error,
        "consecutive_failures": row.consecutive_failures,
        "last_checked_at": row.checked_at.isoformat() if row.checked_at else None,
        "last_good_fetch_at": row.fetched_at.isoformat() if row.fetched_at else None,
        "never_resolved": row.commit_sha is None,
    }


def collect_status(*, settings: Settings, max_age: float | None = None) -> dict[str, Any]:
    threshold = settings.status_max_age if max_age is None else max_age
    now = datetime.now(UTC)
    last_success = last_run = last_finished = holder = None
    failing: list[dict[str, Any]] = []
    models = 0
    database_missing = None
    try:
        with Store.open(settings.database_url, create=False) as store:
            if store.current_revision() is not None:
                store.check_schema()
                last_success = store.last_success()
                last_run = store.last_run()
                last_finished = store.last_run(finished=True)
                models = sum(store.listing_states().values())
                failing = [_failing(row) for row in store.failing_models()]
            holder = store.lock_holder()
    except DatabaseMissingError as exc:  # never synced here: as stale as an empty database; nothing created
        database_missing = str(exc)

    snapshots = {}
    for name, file_name in snap.FILE_NAMES.items():
        path = settings.snapshot_dir / file_name
        try:
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except OSError:
            snapshots[name] = {"path": str(path), "exists": False, "written_at": None, "age_seconds": None}
            continue
        snapshots[name] = {
            "path": str(path),
            "exists": True,
            "written_at": written.isoformat(),
            "age_seconds": round((now - written).total_seconds(), 1),
        }

    problems = []
    success = _run(last_success, now)
    if database_missing is not None:
        problems.append(database_missing)
    elif success is None:
        problems.append("no sync run has published snapshots yet")
    elif success["age_seconds"] > threshold:
        problems.append(
            f"last successful run is {success['age_seconds']:.0f}s old (threshold {threshold:.0f}s)"
        )
    problems += [
        f"snapshot {info['path']} is missing" for info in snapshots.values() if success and not info["exists"]
    ]
    if last_finished is not None and last_finished.outcome == RunOutcome.HELD:
        problems.append(
            f"the last run (#{last_finished.id}) was held by the publish guard: review it with "
            "`syncer snapshot diff`, publish it with `syncer sync now --approve` (or fix the catalog)"
        )
    if models and len(failing) * 2 > models:
        problems.append(f"{len(failing)} of {models} models are failing (more than half)")
    return {
        "healthy": not problems,
        "exit_code": HEALTHY if not problems else STALE,
        "checked_at": now.isoformat(),
        "max_age_seconds": threshold,
        "problems": problems,
        "last_success": success,
        "last_run": _run(last_run, now),
        "running": None if holder is None else holder,
        "snapshots": snapshots,
        "failing_models": failing,
    }
