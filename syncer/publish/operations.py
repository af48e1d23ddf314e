"""Operator actions on published snapshots: what is pending or changed, the kept history, and rolling back.

Every published (and held) snapshot is kept in the store with its hash; ``rollback`` republishes one of them
atomically, under the sync lock, through the same write path as a run, and records the republication.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncer import snapshot as snap
from syncer.errors import ConfigError, PublishError
from syncer.publish.guard import diff_listings
from syncer.publish.publisher import parse_or_none, republish
from syncer.settings import Settings
from syncer.states import SnapshotState
from syncer.store import Store
from syncer.store.models import PublishedSnapshot


def snapshot_diff(*, settings: Settings) -> dict[str, Any]:
    """The held change if one is pending, else what the last publish changed."""
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        rows = store.snapshots(name=snap.OPENROUTER, limit=50)
    current_file = snap.read_current(settings.snapshot_dir, snap.OPENROUTER)
    if rows and rows[0].status == SnapshotState.HELD:
        held = rows[0]
        diff = diff_listings(parse_or_none(current_file), parse_or_none(held.content))
        return {"state": "pending", "snapshot_id": held.id, "reasons": (held.note or "").split("; "),
                "diff": diff.as_dict()}  # fmt: skip
    published = [r for r in rows if r.status != SnapshotState.HELD]
    if not published:
        return {"state": "none", "diff": None}
    previous = published[1].content if len(published) > 1 else None
    diff = diff_listings(parse_or_none(previous), parse_or_none(published[0].content))
    return {"state": "last", "snapshot_id": published[0].id, "reasons": [], "diff": diff.as_dict()}


def rollback(*, settings: Settings, snapshot_id: int | None = None) -> list[dict[str, Any]]:
    """Republish snapshot ``snapshot_id`` (or, for each file, the one before the current)."""
    with Store.open(settings.database_url) as store:
        store.check_schema()
        with store.lock():
            targets: list[PublishedSnapshot] = []
            if snapshot_id is not None:
                row = store.snapshot(snapshot_id)
                if row is None:
                    raise ConfigError(
                        f"no published snapshot with id {snapshot_id} (see `syncer snapshot list`)"
                    )
                targets = [row]
            else:
                for name in snap.FILE_NAMES:
                    published = store.snapshots(name=name, exclude=(SnapshotState.HELD,), limit=2)
                    if len(published) < 2:
                        raise PublishError(f"no earlier {snap.FILE_NAMES[name]} to roll back to")
                    targets.append(published[1])
            records = [
                republish(
                    settings.snapshot_dir,
                    name=row.name,
                    content=row.content,
                    snapshot_id=row.id,
                    published_at=datetime.now(UTC),
                )
                for row in targets
            ]
            store.record_snapshots(records)
            return [{"name": row.name, "republished": row.id, "sha256": row.sha256} for row in targets]


def list_snapshots(*, settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        rows = store.snapshots(limit=limit)
    return [
        {"id": r.id, "name": r.name, "status": r.status, "sha256": r.sha256,
         "published_at": r.published_at.isoformat(), "run_id": r.run_id, "note": r.note}
        for r in rows
    ]  # fmt: skip
