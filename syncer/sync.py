"""One sync run, stage by stage: catalog -> Hub -> derive -> merge -> store -> publish.

Stages and their guarantees:

1. load and validate the catalog (nothing touched on error: exit 2);
2. take the single-runner lock and check the schema (exit 75 / exit 2);
3. ask the Hub about each model, concurrently, each failure kept per model (:mod:`syncer.resolve`);
4. derive and merge in memory (pure functions, :mod:`syncer.merge`); a catalog rule that needs the Hub's
   answer (a context cap above the native window) fails the run here, before anything is written;
5. render and validate both views, and let the guard review them (:mod:`syncer.publish`);
6. write catalog, facts and merged records in **one** transaction (:mod:`syncer.store`);
7. publish both snapshots atomically, then record them and the run.

Fencing: a run that lost the lock mid-run (its database session killed, the SQLite lock file replaced)
writes nothing more: the store writes check the lock in their own transaction, the publish checks it
before each rename, and the run ends with LockLostError (exit 75), recorded as ``lost_lock``.

A model whose Hub lookup fails keeps its last good facts; one never resolved stays out of the
OpenRouter view. The report says which.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncer import publish
from syncer import snapshot as snap
from syncer.catalog import Catalog, CatalogModel, load_catalog
from syncer.errors import (
    CatalogError,
    CatalogIssue,
    HubError,
    LockLostError,
    RunInterruptedError,
    StoreError,
    SyncerError,
)
from syncer.listing import Facts, Merged
from syncer.merge import (
    EarlyMerge,
    Merge,
    ModelOutcome,
    ProgressCallback,
    StalePolicy,
    is_outage,
    merge_all,
    merge_one,
    run_message,
)
from syncer.resolve import HubEta, LookupCallback, make_hub_client, resolve_models
from syncer.settings import Settings
from syncer.stamps import merge_stamp
from syncer.states import ModelStatus, RunOutcome, Trigger
from syncer.store import Prior, SnapshotRecord, Store, StoredMerged

__all__ = ["HubEta", "ModelOutcome", "ProgressCallback", "SyncReport", "run_sync"]


@dataclass
class SyncReport:
    run_id: int | None
    started_at: datetime
    finished_at: datetime | None
    snapshot_dir: Path
    outcomes: list[ModelOutcome]
    changed: dict[str, bool]
    requests: dict[str, int]
    message: str | None = None
    held_reasons: list[str] = field(default_factory=list)
    diff: dict[str, Any] | None = None
    errors: dict[str, int] = field(default_factory=dict)
    #: no Hub lookup succeeded: the run confirmed nothing, so it published nothing (outcome ``error``)
    outage: bool = False

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status in ModelStatus.failures()]

    @property
    def held(self) -> bool:
        return bool(self.held_reasons)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.held else 0

    @property
    def outcome(self) -> RunOutcome:
        if self.outage:
            return RunOutcome.ERROR
        if self.held:
            return RunOutcome.HELD
        return RunOutcome.OK if self.exit_code == 0 else RunOutcome.PARTIAL

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "exit_code": self.exit_code,
            "snapshots": {n: str(self.snapshot_dir / f) for n, f in snap.FILE_NAMES.items()},
            "changed": self.changed,
            "hub_requests": self.requests,
            "hub_errors": self.errors,
            "message": self.message,
            "held": self.held_reasons,
            "outage": self.outage,
            "diff": self.diff,
            "models": [asdict(o) for o in self.outcomes],
        }


def _now() -> datetime:
    return datetime.now(UTC)


def run_sync(
    *,
    settings: Settings,
    catalog_path: Path | None = None,
    only: Sequence[str] = (),
    trigger: str = Trigger.MANUAL,
    wait: float = 0.0,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    approve: bool = False,
    on_lookup: LookupCallback | None = None,
    hub_eta: Callable[[HubEta], None] | None = None,
    interrupt: Callable[[], str | None] | None = None,
) -> SyncReport:
    """One full sync. Raises ConfigError/StoreError/LockHeldError/PublishError; per-model Hub errors
    end up in the report instead. When ``stop`` is set mid-run, no new Hub lookup starts: models not
    yet looked up keep their previous facts (as if skipped), and the run still commits and publishes; unless
    ``interrupt`` names the signal that set it: then the run commits and publishes nothing, is recorded
    ``interrupted`` and raises RunInterruptedError (``sync now`` under Ctrl-C)."""
    path = catalog_path or settings.catalog
    catalog = load_catalog(path)
    unknown = [i for i in only if i not in catalog.by_id()]
    if unknown:
        raise CatalogError(
            path,
            [CatalogIssue(str(path), i, "id", "--only names a model not in the catalog") for i in unknown],
        )
    with Store.open(settings.database_url) as store, store.lock(wait=wait):
        store.check_schema(create_if_empty=True)
        started = _now()
        run_id = store.begin_run(
            started_at=started, trigger=trigger, host=socket.gethostname(), pid=os.getpid()
        )
        try:
            return _run(settings, store, catalog, run_id=run_id, started=started, only=only,
                        progress=progress, stop=stop, approve=approve, on_lookup=on_lookup,
                        hub_eta=hub_eta, interrupt=interrupt)  # fmt: skip
        except RunInterruptedError as exc:
            store.fail_run(run_id, finished_at=_now(), message=str(exc), outcome=RunOutcome.INTERRUPTED)
            raise
        except SyncerError as exc:
            lost = isinstance(exc, LockLostError)
            store.fail_run(run_id, finished_at=_now(), message=str(exc),
                           outcome=RunOutcome.LOST_LOCK if lost else RunOutcome.ERROR)  # fmt: skip
            raise
        except Exception as exc:  # the store's own connection errors become StoreUnavailableError
            unavailable = store.unavailable(exc)
            store.fail_run(run_id, finished_at=_now(),
                           message=str(unavailable or f"internal error: {type(exc).__name__}: {exc}"))  # fmt: skip
            if unavailable is not None:
                raise unavailable from exc
            raise


def _run(
    settings: Settings,
    store: Store,
    catalog: Catalog,
    *,
    run_id: int,
    started: datetime,
    only: Sequence[str],
    progress: ProgressCallback | None,
    stop: threading.Event | None,
    approve: bool,
    on_lookup: LookupCallback | None = None,
    hub_eta: Callable[[HubEta], None] | None = None,
    interrupt: Callable[[], str | None] | None = None,
) -> SyncReport:
    snap.check_folder(settings.snapshot_dir)  # a folder that cannot take the files fails now (exit 73)

    # Stage 3: the Hub. Each answer is merged (stage 4, pure) as it arrives, while other lookups are under way.
    now = _now()  # the run's time, for every timestamp it writes
    policy = StalePolicy(settings.stale_drop_after_runs, settings.stale_drop_after_days,
                         settings.stale_not_ready_after_hours)  # fmt: skip
    stamp = merge_stamp()
    prior: dict[str, Prior] = {}
    stored: dict[str, StoredMerged] = {}
    loaded = False
    early: dict[str, EarlyMerge] = {}

    def load_stored() -> dict[str, Facts]:
        """The store's last facts and merges, read while the first Hub requests are under way (called by
        resolve_models once they are sent, before any answer is merged)."""
        nonlocal loaded
        if not loaded:
            prior.update(store.load_prior())
            stored.update(store.load_merged())
            loaded = True
        return {i: p.facts for i, p in prior.items() if p.facts}

    def merge_now(model: CatalogModel, answer: Facts | HubError) -> None:
        early[model.id] = (answer, merge_one(model, answer, prior.get(model.id), catalog=catalog, policy=policy,
                                             now=now, stored=stored.get(model.id), stamp=stamp))  # fmt: skip

    selected = [m for m in catalog.models if not only or m.id in only]
    client = make_hub_client(settings, ledger=store.hub_ledger(run_id))
    fetched = resolve_models(client, selected, concurrency=settings.hub_concurrency, stop=stop,
                             bulk_min_models=settings.hub_bulk_min_models, on_lookup=on_lookup,
                             eta=hub_eta, known=load_stored, on_result=merge_now)  # fmt: skip
    load_stored()  # read already, unless no lookup ran
    not_looked_up = sum(1 for m in selected if m.hugging_face_id and m.id not in fetched)
    signal_name = interrupt() if interrupt is not None and stop is not None and stop.is_set() else None
    if signal_name:
        raise RunInterruptedError(signal_name, len(fetched), len(selected))

    # Stage 4: derive and merge, in memory (the models not merged yet: not looked up, not on the Hub).
    merged = merge_all(catalog, fetched, prior, policy=policy, now=now, progress=progress,
                       stored=stored, stamp=stamp, early=early)  # fmt: skip
    if merged.issues:
        raise CatalogError(catalog.path, merged.issues)

    # Stage 5: render, validate and review the views (an approval publishes only the held change itself).
    # When every model's entries are the stored ones and the live files are what they render, the live
    # bytes are this run's views: no entry is read, nothing rendered (an approval always renders).
    key = publish.views_key(merged.digests())
    live = store.live_views(snap.FILE_NAMES)  # what is live now; only this run (holding the lock) changes it
    views = None if approve else publish.kept_views(settings.snapshot_dir, key, live)
    backfill: dict[str, str] = {}  # digests of reused entries stored before migration 0006
    if views is None:
        entries = _entries(store, catalog, merged)
        views = publish.render_views(entries)  # every entry valid, or SnapshotInvalidError
        if key is None:  # a digest was unknown: the rendered entries give every one
            backfill = {
                i: entries[i].digest for i, s in merged.kept.items() if s.digest is None and i in entries
            }
            key = publish.views_key({i: m.digest for i, m in entries.items()})
    pending = {name: (row.id, row.sha256) for name, row in store.pending_held().items()} if approve else {}
    verdict = publish.review(
        settings.snapshot_dir,
        views,
        still_flagged={m.id for m in catalog.models if m.openrouter is not None},
        max_removed_share=settings.publish_max_removed_share,
        approve=approve,
        pending=pending,
        approver=_approver() if approve else None,
    )

    # Stage 6: every file written and fsynced beside the live ones before anything is committed or renamed
    # (a full disk fails the run here: no file renamed, no row committed, the store and the files agree).
    outage = is_outage(merged.outcomes)
    staged = None if outage else publish.stage_views(settings.snapshot_dir, views, verdict)
    try:
        # Stage 7: one transaction for catalog, facts and merged records.
        store.save_sync(models=catalog.models, facts=merged.facts, merged=merged.merged,
                        statuses=merged.statuses, now=now, fence=run_id, reused=merged.reused,
                        digests=backfill)  # fmt: skip
    except BaseException:
        if staged is not None:
            staged.discard()
        raise

    # Stage 8: rename every staged file, then record what was published and the run, together. A run in
    # which no Hub lookup succeeded confirmed nothing: the files keep their bytes and their age.
    finished = _now()
    if staged is None:
        changed, records = dict.fromkeys(views.rendered, False), list[SnapshotRecord]()
    else:
        live_hashes = {name: live[name][0] if name in live else None for name in views.rendered}
        changed, records = publish.publish_staged(
            staged, views, verdict, run_id=run_id, published_at=finished, live_hashes=live_hashes,
            before_rename=lambda: store.check_fence(run_id),
        )  # fmt: skip
    report = SyncReport(
        run_id=run_id,
        started_at=started,
        finished_at=finished,
        snapshot_dir=settings.snapshot_dir,
        outcomes=merged.outcomes,
        changed=changed,
        requests=dict(client.counter.requests),
        message=_join(
            run_message(merged.outcomes, not_looked_up), _approval_message(approve, pending, verdict)
        ),
        held_reasons=verdict.held_reasons,
        diff=verdict.diff.as_dict(),
        errors=dict(client.counter.errors),
        outage=outage,
    )
    store.finish_run(
        run_id,
        outcome=report.outcome,
        finished_at=finished,
        synced=report.count(ModelStatus.SYNCED),
        unchanged=report.count(ModelStatus.UNCHANGED),
        failed=len(report.failed),
        errors={o.model_id: {"kind": o.error_kind, "error": o.error} for o in report.failed},
        hub_requests=report.requests,
        message=report.message,
        snapshots=records,
        settle_held=() if outage else views.rendered,
        approved=verdict.approved.values(),
        fence=True,
        views_keys=dict.fromkeys(views.rendered, key)
        if key and staged is not None and not verdict.held
        else None,
    )
    return report


def _entries(store: Store, catalog: Catalog, merged: Merge) -> dict[str, Merged]:
    """Every model's entries, in catalog order: the ones merged by this run, and the reused ones from the store."""
    stored = store.load_entries(merged.kept) if merged.kept else {}
    missing = sorted(set(merged.kept) - set(stored))
    if missing:  # the run holds the lock: nothing else writes these rows
        raise StoreError(f"the stored entries of {', '.join(missing[:5])} vanished during the run")
    every = stored | merged.merged
    return {m.id: every[m.id] for m in catalog.models if m.id in every}


def _approver() -> str:
    """Who approves: the login name (the invoking user under sudo) and the host."""
    try:
        user = os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's random uid)
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def _approval_message(
    approve: bool, pending: dict[str, tuple[int, str]], verdict: publish.Review
) -> str | None:
    if not approve:
        return None
    if verdict.approved:
        ids = ", ".join(str(i) for i in sorted(verdict.approved.values()))
        return f"approved by {verdict.approver}: published held snapshot {ids}"
    if pending:
        ids = ", ".join(str(i) for i, _ in sorted(pending.values()))
        return f"--approve refused: the held snapshot {ids} is not what this run produced"
    return "--approve: no change was held, nothing to approve"


def _join(*parts: str | None) -> str | None:
    return "; ".join(p for p in parts if p) or None
