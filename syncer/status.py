"""``syncer status``: what an operator (or cron's alerting) looks at first.

Healthy means: a run published its snapshots (outcome ``ok`` or ``partial``) no longer than
``SYNCER_STATUS_MAX_AGE`` seconds ago. Models failing are listed (they keep their last good facts) but do not
by themselves make the worker unhealthy: the threshold is about the listing going stale as a whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from syncer.history import run_as_dict
from syncer.settings import Settings

HEALTHY, STALE = 0, 1


def _run(run: Any, now: datetime) -> dict[str, Any] | None:
    if run is None:
        return None
    age = round((now - (run.finished_at or run.started_at)).total_seconds(), 1)
    return {**run_as_dict(run), "age_seconds": age}


def collect_status(*, settings: Settings, max_age: float | None = None) -> dict[str, Any]:
    from syncer import snapshot as snap
    from syncer.db import HubFacts, SyncRun
    from syncer.lock import lock_holder
    from syncer.metrics import COMPLETED
    from syncer.store import check_schema, current_revision, make_engine, sessions

    threshold = settings.status_max_age if max_age is None else max_age
    now = datetime.now(UTC)
    engine = make_engine(settings.database_url)
    try:
        last_success = last_run = None
        failing: list[dict[str, Any]] = []
        if current_revision(engine) is not None:
            check_schema(engine, create_if_empty=False)
            with sessions(engine)() as session:
                last_success = session.scalars(
                    select(SyncRun).where(SyncRun.outcome.in_(COMPLETED)).order_by(SyncRun.id.desc()).limit(1)
                ).first()
                last_run = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()
                for row in session.scalars(
                    select(HubFacts).where(HubFacts.consecutive_failures > 0).order_by(HubFacts.model_id)
                ):
                    failing.append(
                        {
                            "model_id": row.model_id,
                            "repo": row.requested_repo,
                            "kind": row.last_error_kind,
                            "error": row.last_error,
                            "consecutive_failures": row.consecutive_failures,
                            "last_checked_at": row.checked_at.isoformat() if row.checked_at else None,
                            "last_good_fetch_at": row.fetched_at.isoformat() if row.fetched_at else None,
                            "never_resolved": row.commit_sha is None,
                        }
                    )
        holder = lock_holder(engine)
    finally:
        engine.dispose()

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
    if success is None:
        problems.append("no sync run has published snapshots yet")
    elif success["age_seconds"] > threshold:
        problems.append(
            f"last successful run is {success['age_seconds']:.0f}s old (threshold {threshold:.0f}s)"
        )
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


def format_status(status: dict[str, Any]) -> str:
    from syncer.lock import describe_holder
    from syncer.report import table

    lines = [f"status: {'OK' if status['healthy'] else 'STALE'}"]
    lines += [f"  problem: {p}" for p in status["problems"]]
    success = status["last_success"]
    if success:
        lines.append(
            f"last successful run: #{success['id']} finished {success['finished_at'][:19].replace('T', ' ')} UTC"
            f" ({_age(success['age_seconds'])} ago, {success['outcome']}, {success['trigger']} on {success['host']}): "
            f"{success['synced']} synced, {success['unchanged']} unchanged, {success['failed']} failed"
        )  # fmt: skip
    else:
        lines.append("last successful run: never")
    last = status["last_run"]
    if last and (not success or last["id"] != success["id"]):
        lines.append(
            f"last run: #{last['id']} {last['outcome']} ({last['trigger']} on {last['host']}, pid {last['pid']})"
            + (f": {last['message'].splitlines()[0]}" if last["message"] else "")
        )
    if status["running"] is not None:
        lines.append(f"running now: {describe_holder(status['running'] or None)}")
    for name, info in status["snapshots"].items():
        if info["exists"]:
            lines.append(f"snapshot {name}: written {_age(info['age_seconds'])} ago ({info['path']})")
        else:
            lines.append(f"snapshot {name}: missing ({info['path']})")
    failing = status["failing_models"]
    if failing:
        lines.append(f"\n{len(failing)} model(s) failing:")
        rows = [
            (
                f["model_id"],
                f["kind"] or "-",
                f["consecutive_failures"],
                "never resolved" if f["never_resolved"] else (f["last_good_fetch_at"] or "-")[:19].replace("T", " "),
                (f["error"] or "").splitlines()[0][:80] if f["error"] else "",
            )
            for f in failing
        ]  # fmt: skip
        lines.append(table(("model", "kind", "failures in a row", "last good facts (UTC)", "error"), rows))
    else:
        lines.append("models failing: none")
    return "\n".join(lines)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"
