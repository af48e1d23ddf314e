"""Publishing a run's views: render and validate every file, review the change with the guard, write the
files atomically, and describe what was written (or held) for the store.

This is the one way snapshot files are written and snapshot rows are made: a run goes through
:func:`stage_views` (every file written and fsynced, none renamed) then :func:`publish_staged` (the
renames), a rollback through :func:`republish`; both return the :class:`SnapshotRecord` rows to
keep, which the caller stores in the same transaction as the rest of its record.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from syncer import snapshot as snap
from syncer.listing import Merged, catalog_document, openrouter_document, openrouter_v2_document
from syncer.publish.guard import ListingDiff, diff_listings, diff_v2_prices, suspicious
from syncer.stamps import views_stamp
from syncer.states import SnapshotState
from syncer.store import SnapshotRecord


@dataclass(frozen=True)
class Views:
    """Every snapshot file of a run: its document and its validated bytes, by snapshot name."""

    documents: dict[str, dict[str, Any]]
    rendered: dict[str, bytes]


@dataclass(frozen=True)
class Review:
    """The guard's verdict on a run's views against what readers see now."""

    diff: ListingDiff
    held_reasons: list[str] = field(default_factory=list)
    #: the held snapshots (file name -> snapshot id) this run publishes because ``--approve`` approved them
    approved: dict[str, int] = field(default_factory=dict)
    #: who approved them (user@host), recorded with the published snapshots and the run
    approver: str | None = None

    @property
    def held(self) -> bool:
        return bool(self.held_reasons)


def render_views(merged: Mapping[str, Merged]) -> Views:
    """Build, check and render every view (all of them before any is written); raises SnapshotInvalidError
    before anything is written. Each entry was validated when it was merged (``Merged.entry_problems``);
    here the documents' own rules (shape, unique ids, order) are checked and the entries' problems raised."""
    documents = {
        snap.OPENROUTER: openrouter_document(
            [m.openrouter_entry for m in merged.values() if m.openrouter_entry]
        ),
        snap.CATALOG: catalog_document([m.catalog_entry for m in merged.values()]),
        snap.OPENROUTER_V2: openrouter_v2_document(
            [m.openrouter_v2_entry for m in merged.values() if m.openrouter_v2_entry]
        ),
    }
    problems = {
        name: [p for m in merged.values() for p in m.entry_problems.get(name, ())] for name in documents
    }
    # Each entry's line is the text it was encoded to when merged (the same text its digest hashes).
    encoded = {
        id(entry): text
        for m in merged.values()
        for entry, text in zip(
            (m.openrouter_entry, m.catalog_entry, m.openrouter_v2_entry), m.texts, strict=True
        )
        if entry is not None
    }
    return Views(
        documents=documents,
        rendered={n: snap.checked_bytes(n, d, problems[n], encoded) for n, d in documents.items()},
    )


def views_key(digests: Mapping[str, str | None]) -> str | None:
    """The key of every view of a run: the entries digest of each of its models (``Merged.digest``: the
    entries the views list, as built) and the rendering code; every view sorts its entries by id, so the
    catalog's order is not part of it. Equal keys, equal bytes: a model re-merged into the same entries (a
    new commit with the same facts) keeps the live files. None when a digest is unknown (render)."""
    if not digests or any(digest is None for digest in digests.values()):
        return None
    inputs = [views_stamp(), sorted(digests.items())]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def kept_views(folder: Path, key: str | None, live: Mapping[str, tuple[str, str | None]]) -> Views | None:
    """The live files as this run's views, when they are exactly what it would render: every file's last
    published snapshot has this run's views ``key`` (same entries, same rendering code), and the file in the
    folder still has that snapshot's hash. Else None: the views must be rendered."""
    if key is None:
        return None
    rendered = {}
    for name in snap.FILE_NAMES:
        recorded = live.get(name)
        data = snap.read_current(folder, name) if recorded is not None and recorded[1] == key else None
        if recorded is None or data is None or snap.content_hash(data) != recorded[0]:
            return None
        rendered[name] = data
    return Views(documents={}, rendered=rendered)


def parse_or_none(data: str | bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None  # a damaged file is replaced, not compared
    return parsed if isinstance(parsed, dict) else None


def _ids(document: Mapping[str, Any] | None) -> list[str]:
    return [str(e.get("id")) for e in (document or {}).get("data", []) if isinstance(e, dict)]


def review(
    folder: Path,
    views: Views,
    *,
    still_flagged: Collection[str],
    max_removed_share: float,
    approve: bool,
    pending: Mapping[str, tuple[int, str]] | None = None,
    approver: str | None = None,
) -> Review:
    """Compare with the published files; the reasons to hold the change.

    ``pending`` is the change the guard holds now (file name -> held snapshot id and sha256), the one
    ``syncer snapshot diff`` shows. ``approve`` publishes it only when this run's files are byte for byte
    that held change; a different result is held in its place (a human has not seen it), unless it changes
    nothing at all. With nothing held, ``approve`` has nothing to approve and the guard decides as usual."""
    live = {name: snap.read_current(folder, name) for name in views.rendered}
    unchanged = all(live[name] == data for name, data in views.rendered.items())
    pending = pending or {}
    if unchanged and not (approve and pending):
        # Byte for byte the live files: no entry is added, removed or changed, so no guard rule can fire
        # (each compares these files with the live ones); the comparison itself is skipped.
        return Review(diff=ListingDiff())
    new_doc = views.documents[snap.OPENROUTER]
    current_doc = parse_or_none(live[snap.OPENROUTER])
    listing_diff = diff_listings(current_doc, new_doc)
    if approve and pending:
        hashes = {name: snap.content_hash(data) for name, data in views.rendered.items()}
        if all(hashes.get(name) == digest for name, (_, digest) in pending.items()):
            return Review(
                diff=listing_diff, approved={n: i for n, (i, _) in pending.items()}, approver=approver
            )
        if unchanged:
            return Review(diff=listing_diff)  # the run changes nothing: there is nothing to hold
        ids = ", ".join(str(i) for i, _ in sorted(pending.values()))
        reasons = [
            f"not approved: the held change (snapshot {ids}) is no longer what this run produced; "
            "the new result is held instead: review it with `syncer snapshot diff`"
        ]
        return Review(diff=listing_diff, held_reasons=reasons + _guard_reasons(folder, views, current_doc,
                      listing_diff, still_flagged=still_flagged, max_removed_share=max_removed_share))  # fmt: skip
    return Review(
        diff=listing_diff,
        held_reasons=_guard_reasons(folder, views, current_doc, listing_diff, still_flagged=still_flagged,
                                    max_removed_share=max_removed_share),
    )  # fmt: skip


def _guard_reasons(
    folder: Path,
    views: Views,
    current_doc: dict[str, Any] | None,
    listing_diff: ListingDiff,
    *,
    still_flagged: Collection[str],
    max_removed_share: float,
) -> list[str]:
    reasons = (
        []
        if current_doc is None
        else suspicious(
            listing_diff,
            old_count=len(current_doc.get("data", [])),
            still_flagged=still_flagged,
            max_removed_share=max_removed_share,
        )
    )
    reasons += _catalog_view_reasons(
        folder, views.documents[snap.CATALOG], in_openrouter=set(_ids(current_doc))
    )
    if snap.OPENROUTER_V2 in views.documents:
        reasons += _v2_reasons(folder, views.documents[snap.OPENROUTER_V2])
    return reasons


def _v2_reasons(folder: Path, v2_doc: dict[str, Any]) -> list[str]:
    """Price rules for the prices only the 2.4 document lists (cache writes, reasoning tokens, web search):
    the flat diff watches every other price, and the flat view's models are the 2.4 document's."""
    current = parse_or_none(snap.read_current(folder, snap.OPENROUTER_V2))
    if current is None:
        return []  # nothing published in 2.4 yet (first run, or after an upgrade): nothing to compare
    reasons = suspicious(
        diff_v2_prices(current, v2_doc), old_count=0, still_flagged=(), max_removed_share=1.0
    )
    return [f"{snap.FILE_NAMES[snap.OPENROUTER_V2]}: {reason}" for reason in reasons]


def _catalog_view_reasons(folder: Path, catalog_doc: dict[str, Any], *, in_openrouter: set[str]) -> list[str]:
    """Price and context rules for the models only the catalog view shows (the OpenRouter view's own diff
    already covers the others); removals from the catalog view are the catalog's deliberate edits."""
    current = parse_or_none(snap.read_current(folder, snap.CATALOG))
    if current is None:
        return []
    diff = diff_listings(current, catalog_doc)
    only_here = dataclasses.replace(
        diff, removed=[], changed=[c for c in diff.changed if c.model_id not in in_openrouter]
    )
    reasons = suspicious(only_here, old_count=0, still_flagged=(), max_removed_share=1.0)
    return [f"catalog view: {reason}" for reason in reasons]


def stage_views(folder: Path, views: Views, verdict: Review) -> snap.Staged:
    """Write and fsync every file of the run (whatever views it rendered) beside the live ones, renaming
    none; nothing is staged when the guard held the run. Raises PublishError naming the file that failed,
    with every temp file removed."""
    folder.mkdir(parents=True, exist_ok=True)
    snap.remove_stray_temp_files(folder)
    return snap.stage(folder, {} if verdict.held else views.rendered)


def publish_staged(
    staged: snap.Staged,
    views: Views,
    verdict: Review,
    *,
    run_id: int,
    published_at: datetime,
    live_hashes: Mapping[str, str | None],
    before_rename: Callable[[], None] | None = None,
) -> tuple[dict[str, bool], list[SnapshotRecord]]:
    """Rename every staged file (all, or a PublishError naming which went live); returns which files
    changed and the rows to keep: every held file, and every written file whose bytes differ from the last
    one recorded as live."""
    changed = dict.fromkeys(views.rendered, False) | staged.commit(before_rename)
    records = []
    for name, data in views.rendered.items():
        digest = snap.content_hash(data)
        if verdict.held or changed[name] or live_hashes.get(name) != digest:
            records.append(
                SnapshotRecord(
                    name=name,
                    sha256=digest,
                    content=data.decode("utf-8"),
                    published_at=published_at,
                    run_id=run_id,
                    status=SnapshotState.HELD if verdict.held else SnapshotState.PUBLISHED,
                    note=_note(verdict, name),
                )
            )
    return changed, records


def _note(verdict: Review, name: str) -> str | None:
    if verdict.held:
        return "; ".join(verdict.held_reasons)[:4000]
    if name in verdict.approved:
        return f"approved by {verdict.approver or 'unknown'}: held snapshot {verdict.approved[name]}"
    return None


def republish(
    folder: Path, *, name: str, content: str, snapshot_id: int, published_at: datetime
) -> SnapshotRecord:
    """Write a kept snapshot again (a rollback): validated first, never anything invalid."""
    data = content.encode("utf-8")
    snap.validated_bytes(name, json.loads(data))
    snap.write_atomic(folder / snap.FILE_NAMES[name], data)
    return SnapshotRecord(
        name=name,
        sha256=snap.content_hash(data),
        content=content,
        published_at=published_at,
        status=SnapshotState.ROLLBACK,
        note=f"rollback to snapshot {snapshot_id}",
    )
