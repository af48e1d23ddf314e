"""The publish room: render and validate the views, review them with the guard, write them atomically, and
the operator's actions on what was published (diff, list, rollback).

The files themselves (names, serialisation, atomic write, reading) are :mod:`syncer.snapshot`, which the
read-only server shares; this room is the only writer of snapshot files and snapshot rows.
"""

from __future__ import annotations

from syncer.publish.guard import FieldChange, ListingDiff, diff_listings, suspicious
from syncer.publish.operations import list_snapshots, rollback, snapshot_diff
from syncer.publish.publisher import (
    Review,
    Views,
    kept_views,
    parse_or_none,
    publish_staged,
    render_views,
    review,
    stage_views,
    views_key,
)

__all__ = [
    "FieldChange",
    "ListingDiff",
    "Review",
    "Views",
    "diff_listings",
    "kept_views",
    "list_snapshots",
    "parse_or_none",
    "publish_staged",
    "render_views",
    "review",
    "rollback",
    "snapshot_diff",
    "stage_views",
    "suspicious",
    "views_key",
]
