"""Operator actions on published snapshots: what is pending or changed, the kept history, and rolling back.

Every published (and held) snapshot is kept in the store with its hash; ``rollback`` republishes one of them
atomically, under the sync lock, through the same write path as a run, and records the republication.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncer import snapshot as snap
from syncer.errors import ConfigError, PublishError
from syncer.publish.guard import diff_listings, diff_v2_prices
from syncer.publish.publisher import parse_or_none, republish
from syncer.settings import Settings
from syncer.states import SnapshotState
from syncer.store import Store
from syncer.store.models import PublishedSnapshot


def snapshot_diff(*, settings: Settings) -> dict[str, Any]:
    """The held change if one is pending, else what the last publish changed. ``diff`` is the OpenRouter
    view's; ``catalog_diff`` the catalog view's (a hold on a model only the catalog view lists shows there);
    ``openrouter_v2_diff`` the prices only the 2.4 document lists, by pricing identity (pending only)."""
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        pending = store.pending_held()
        rows = store.snapshots(name=snap.OPENROUTER, limit=50)
        catalog_rows = store.snapshots(name=snap.CATALOG, exclude=_NOT_LIVE, limit=2)
    if pending:
        held = pending.get(snap.OPENROUTER) or next(iter(pending.values()))
        diffs = {
            name: diff_listings(
                parse_or_none(snap.read_current(settings.snapshot_dir, name)), parse_or_none(row.content)
            ).as_dict()
            for name, row in pending.items()
        }
        v2_row = pending.get(snap.OPENROUTER_V2)
        v2_diff = (
            None
            if v2_row is None
            else diff_v2_prices(
                parse_or_none(snap.read_current(settings.snapshot_dir, snap.OPENROUTER_V2)),
                parse_or_none(v2_row.content),
            ).as_dict()
        )
        return {"state": "pending", "snapshot_id": held.id,
                "snapshot_ids": {name: row.id for name, row in pending.items()},
                "reasons": (held.note or "").split("; "),
                "diff": diffs.get(snap.OPENROUTER), "catalog_diff": diffs.get(snap.CATALOG),
                "openrouter_v2_diff": v2_diff}  # fmt: skip
    published = [r for r in rows if r.status in SnapshotState.live()]
    if not published:
        return {"state": "none", "diff": None, "catalog_diff": None}
    previous = published[1].content if len(published) > 1 else None
    diff = diff_listings(parse_or_none(previous), parse_or_none(published[0].content))
    catalog_diff = (
        diff_listings(
            parse_or_none(catalog_rows[1].content) if len(catalog_rows) > 1 else None,
            parse_or_none(catalog_rows[0].content),
        ).as_dict()
        if catalog_rows
        else None
    )
    return {"state": "last", "snapshot_id": published[0].id, "reasons": [], "diff": diff.as_dict(),
            "catalog_diff": catalog_diff}  # fmt: skip


_NOT_LIVE = tuple(set(SnapshotState) - set(SnapshotState.live()))


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
                if row.status not in SnapshotState.live():
                    raise ConfigError(_not_republishable(row))
                targets = [row]
            else:
                for name in snap.FILE_NAMES:
                    published = store.snapshots(name=name, exclude=_NOT_LIVE, limit=2)
                    if len(published) < 2:
                        raise PublishError(f"no earlier {snap.FILE_NAMES[name]} to roll back to")
                    targets.append(published[1])
            snap.check_folder(settings.snapshot_dir)
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


def _not_republishable(row: PublishedSnapshot) -> str:
    """Why snapshot ``row`` is refused: rollback republishes only what readers were once served."""
    if row.status == SnapshotState.HELD:
        why = ("is held by the publish guard and was never published; review it with `syncer snapshot diff` "
               "and publish it with `syncer sync now --approve`")  # fmt: skip
    elif row.status == SnapshotState.APPROVED:
        why = "was held, then approved: roll back to the published copy instead (see `syncer snapshot list`)"
    else:
        why = f"is {row.status}: it was held by the publish guard and never published"
    return (
        f"refusing to roll back to snapshot {row.id} ({snap.FILE_NAMES[row.name]}): it {why}; nothing changed"
    )


def list_snapshots(*, settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    with Store.open(settings.database_url, create=False) as store:
        store.check_schema()
        rows = store.snapshots(limit=limit)
    return [
        {"id": r.id, "name": r.name, "status": r.status, "sha256": r.sha256,
         "published_at": r.published_at.isoformat(), "run_id": r.run_id, "note": r.note}
        for r in rows
    ]  # fmt: skip
