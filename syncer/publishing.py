"""Operator actions on published snapshots: what is pending or changed, and rolling back.

Every published (and held) snapshot is kept in the store with its hash; ``rollback`` republishes one of them
atomically, under the sync lock, and records the republication.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from syncer import snapshot as snap
from syncer.db import PublishedSnapshot
from syncer.errors import ConfigError, PublishError
from syncer.guard import diff_listings
from syncer.lock import sync_lock
from syncer.settings import Settings
from syncer.store import check_schema, make_engine


def _load(text: str | bytes | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def snapshot_diff(*, settings: Settings) -> dict[str, Any]:
    """The held change if one is pending, else what the last publish changed."""
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine, create_if_empty=False)
        with Session(engine) as session:
            rows = list(
                session.scalars(
                    select(PublishedSnapshot)
                    .where(PublishedSnapshot.name == snap.OPENROUTER)
                    .order_by(PublishedSnapshot.id.desc())
                    .limit(50)
                )
            )
        current_file = snap.read_current(settings.snapshot_dir, snap.OPENROUTER)
        if rows and rows[0].status == "held":
            held = rows[0]
            diff = diff_listings(_load(current_file), _load(held.content))
            return {"state": "pending", "snapshot_id": held.id, "reasons": (held.note or "").split("; "),
                    "diff": diff.as_dict()}  # fmt: skip
        published = [r for r in rows if r.status != "held"]
        if not published:
            return {"state": "none", "diff": None}
        previous = published[1].content if len(published) > 1 else None
        diff = diff_listings(_load(previous), _load(published[0].content))
        return {"state": "last", "snapshot_id": published[0].id, "reasons": [], "diff": diff.as_dict()}
    finally:
        engine.dispose()


def rollback(*, settings: Settings, snapshot_id: int | None = None) -> list[dict[str, Any]]:
    """Republish snapshot ``snapshot_id`` (or, for each file, the one before the current)."""
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine, create_if_empty=False)
        with sync_lock(engine), Session(engine) as session:
            if snapshot_id is not None:
                row = session.get(PublishedSnapshot, snapshot_id)
                if row is None:
                    raise ConfigError(
                        f"no published snapshot with id {snapshot_id} (see `syncer snapshot list`)"
                    )
                targets = [row]
            else:
                targets = []
                for name in snap.FILE_NAMES:
                    published = list(
                        session.scalars(
                            select(PublishedSnapshot)
                            .where(PublishedSnapshot.name == name, PublishedSnapshot.status != "held")
                            .order_by(PublishedSnapshot.id.desc())
                            .limit(2)
                        )
                    )
                    if len(published) < 2:
                        raise PublishError(f"no earlier {snap.FILE_NAMES[name]} to roll back to")
                    targets.append(published[1])
            done = []
            for row in targets:
                data = row.content.encode("utf-8")
                snap.validated_bytes(row.name, json.loads(data))  # never republish something invalid
                snap.write_atomic(settings.snapshot_dir / snap.FILE_NAMES[row.name], data)
                session.add(
                    PublishedSnapshot(
                        name=row.name,
                        sha256=row.sha256,
                        content=row.content,
                        published_at=datetime.now(UTC),
                        status="rollback",
                        note=f"rollback to snapshot {row.id}",
                    )
                )
                done.append({"name": row.name, "republished": row.id, "sha256": row.sha256})
            session.commit()
            return done
    finally:
        engine.dispose()


def list_snapshots(*, settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    engine = make_engine(settings.database_url)
    try:
        check_schema(engine, create_if_empty=False)
        with Session(engine) as session:
            rows = session.scalars(
                select(PublishedSnapshot).order_by(PublishedSnapshot.id.desc()).limit(limit)
            )
            return [
                {"id": r.id, "name": r.name, "status": r.status, "sha256": r.sha256,
                 "published_at": r.published_at.isoformat(), "run_id": r.run_id, "note": r.note}
                for r in rows
            ]  # fmt: skip
    finally:
        engine.dispose()


def format_diff(result: dict[str, Any]) -> str:
    from syncer.report import table

    if result["state"] == "none" or not result["diff"]:
        return "nothing published yet"
    diff = result["diff"]
    head = (
        f"PENDING (held by the guard, snapshot {result['snapshot_id']}):"
        if result["state"] == "pending"
        else f"last publish (snapshot {result['snapshot_id']}) changed:"
    )
    lines = [head]
    lines += [f"  reason: {r}" for r in result.get("reasons", []) if r]
    lines.append(f"  added: {', '.join(diff['added']) or '-'}")
    lines.append(f"  removed: {', '.join(diff['removed']) or '-'}")
    if diff["changed"]:
        rows = [(c["model_id"], c["field"], c["old"], c["new"]) for c in diff["changed"]]
        lines.append(table(("model", "field", "old", "new"), rows))
    else:
        lines.append("  no field changed")
    return "\n".join(lines)
