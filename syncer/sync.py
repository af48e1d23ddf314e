"""One sync run, stage by stage: catalog -> Hub -> derive -> merge -> store -> publish.

Stages and their guarantees:

1. load and validate the catalog (nothing touched on error: exit 2);
2. take the single-runner lock and check the schema (exit 75 / exit 2);
3. ask the Hub about each model, concurrently, each failure kept per model;
4. derive and merge in memory (pure functions); a catalog rule that needs the Hub's answer (a context
   cap above the native window) fails the run here, before anything is written;
5. write catalog, facts and merged records in **one** transaction;
6. render, validate and atomically publish both snapshots, then record them and the run.

A model whose Hub lookup fails keeps its last good facts; one never resolved stays out of the
OpenRouter view. The report says which.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, update

from syncer import snapshot as snap
from syncer.catalog import Catalog, CatalogModel, load_catalog
from syncer.db import CatalogEntry, HubFacts, ListingEntry, ModelPrice, PublishedSnapshot, SyncRun
from syncer.derive import DerivationError, derive_facts
from syncer.errors import CatalogError, CatalogIssue, HubDataError, HubError, SyncerError
from syncer.guard import diff_listings, suspicious
from syncer.hub import HubClient, ModelInfo, RepoFacts, RequestBudget, RequestCounter
from syncer.listing import Facts, Merged, catalog_document, merge_model, openrouter_document
from syncer.lock import sync_lock
from syncer.settings import Settings
from syncer.store import (
    check_schema,
    delete_missing,
    latest_snapshot,
    load_catalog_entries,
    load_facts,
    make_engine,
    sessions,
    start_run,
    upsert,
)

log = logging.getLogger("syncer")

SYNCED, UNCHANGED, FAILED, UNRESOLVED, SKIPPED = "synced", "unchanged", "failed", "unresolved", "skipped"
DROPPED = "dropped"
STALE_KINDS = ("not_found", "gated_no_access")


@dataclass
class ModelOutcome:
    model_id: str
    repo: str
    status: str
    commit: str | None = None
    context_length: int | None = None
    input_modalities: list[str] = field(default_factory=list)
    listed: bool = False
    error_kind: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


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

    @property
    def failed(self) -> list[ModelOutcome]:
        return [o for o in self.outcomes if o.status in (FAILED, UNRESOLVED, DROPPED)]

    @property
    def held(self) -> bool:
        return bool(self.held_reasons)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.held else 0

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
            "diff": self.diff,
            "models": [asdict(o) for o in self.outcomes],
        }


ProgressCallback = Callable[[ModelOutcome, int, int], None]


def facts_from_row(row: HubFacts) -> Facts | None:
    if row.commit_sha is None or row.repo_id is None or row.input_modalities is None:
        return None
    return Facts(
        repo_id=row.repo_id,
        commit_sha=row.commit_sha,
        created_at=row.repo_created_at,
        context_length=row.context_length,
        input_modalities=tuple(row.input_modalities),
        output_modalities=tuple(row.output_modalities or ("text",)),
        template_features=tuple(row.template_features) if row.template_features is not None else None,
        pipeline_tag=row.pipeline_tag,
        provenance=dict(row.provenance or {}),
        stale_since=row.stale_since,
    )


def facts_from_hub(repo: RepoFacts) -> Facts:
    """Derive listing facts from a fresh Hub answer; absurd values become a HubDataError."""
    try:
        derived = derive_facts(repo.files)
    except DerivationError as exc:
        raise HubDataError(f"refusing config.json: {exc}") from None
    provenance = {
        "input_modalities": derived.input_modalities.source,
        "output_modalities": derived.output_modalities.source,
        "template_features": derived.template_features.source,
    }
    if derived.context_length is not None:
        provenance["context_length"] = derived.context_length.source
    return Facts(
        repo_id=repo.repo_id,
        commit_sha=repo.sha,
        created_at=repo.created_at,
        context_length=derived.context_length.value if derived.context_length else None,
        input_modalities=tuple(derived.input_modalities.value),
        output_modalities=tuple(derived.output_modalities.value),
        template_features=(
            tuple(derived.template_features.value) if derived.template_features.value is not None else None
        ),
        pipeline_tag=repo.pipeline_tag,
        provenance=provenance,
    )


def make_hub_client(settings: Settings, counter: RequestCounter | None = None) -> HubClient:
    return HubClient(
        endpoint=settings.hf_endpoint,
        token=settings.token,
        cache_dir=settings.hub_cache_dir,
        timeout=settings.hub_timeout,
        retries=settings.hub_retries,
        backoff=settings.hub_retry_backoff,
        model_deadline=settings.hub_model_deadline,
        max_config_bytes=settings.max_config_bytes,
        max_template_bytes=settings.max_template_bytes,
        counter=counter,
        budget=RequestBudget(settings.hub_budget),
    )


def _bulk_listings(
    client: HubClient, models: Sequence[CatalogModel], pool: ThreadPoolExecutor, min_models: int
) -> dict[str, ModelInfo]:
    """Current commits of many repos in one paginated call per author (authors with ``min_models`` or
    more catalog models on the default branch). A failed listing just means per-model calls for those."""
    by_author = Counter(m.hugging_face_id.split("/", 1)[0] for m in models if m.revision is None)
    authors = sorted(a for a, n in by_author.items() if n >= min_models)
    listed: dict[str, ModelInfo] = {}
    for found in pool.map(lambda a: _list_or_empty(client, a), authors):
        listed |= found
    return listed


def _list_or_empty(client: HubClient, author: str) -> dict[str, ModelInfo]:
    try:
        return client.list_author(author=author)
    except HubError as exc:
        log.warning("bulk listing of %s failed (%s); falling back to one call per model", author, exc.kind)
        return {}


def _fetch_all(
    client: HubClient,
    models: Sequence[CatalogModel],
    concurrency: int,
    stop: threading.Event | None = None,
    bulk_min_models: int = 2,
) -> dict[str, Facts | HubError]:
    listed: dict[str, ModelInfo] = {}

    def one(model: CatalogModel) -> Facts | HubError | None:
        if stop is not None and stop.is_set():
            return None  # graceful stop: not looked up, keeps its previous facts (as if skipped)
        try:
            facts = facts_from_hub(
                client.fetch(
                    model_id=model.id,
                    repo_id=model.hugging_face_id,
                    revision=model.revision,
                    listed=listed.get(model.hugging_face_id) if model.revision is None else None,
                )
            )
            if facts.context_length is None and model.context_length is None:
                raise HubDataError(
                    f"config.json at {facts.commit_sha[:7]} declares no usable context length "
                    "(missing, null, non-integer or a no-limit sentinel); set context_length in the catalog"
                )
            return facts
        except HubError as exc:
            exc.model_id = exc.model_id or model.id
            exc.repo = exc.repo or model.hugging_face_id
            return exc

    results: dict[str, Facts | HubError] = {}
    on_hub = [m for m in models if m.hugging_face_id]
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(on_hub) or 1))) as pool:
        if bulk_min_models > 0:
            listed |= _bulk_listings(client, on_hub, pool, bulk_min_models)
        futures = {pool.submit(one, m): m.id for m in on_hub}
        for future in as_completed(futures):
            result = future.result()
            if result is not None:
                results[futures[future]] = result
    return results


def _now() -> datetime:
    return datetime.now(UTC)


def run_sync(
    *,
    settings: Settings,
    catalog_path: Path | None = None,
    only: Sequence[str] = (),
    trigger: str = "manual",
    wait: float = 0.0,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    approve: bool = False,
) -> SyncReport:
    """One full sync. Raises ConfigError/StoreError/LockHeldError/PublishError; per-model Hub errors
    end up in the report instead. When ``stop`` is set mid-run, no new Hub lookup starts: models not
    yet looked up keep their previous facts (as if skipped), and the run still commits and publishes."""
    path = catalog_path or settings.catalog
    catalog = load_catalog(path)
    by_id = catalog.by_id()
    unknown = [i for i in only if i not in by_id]
    if unknown:
        raise CatalogError(
            path,
            [CatalogIssue(str(path), i, "id", "--only names a model not in the catalog") for i in unknown],
        )
    engine = make_engine(settings.database_url)
    try:
        with sync_lock(engine, wait=wait):
            check_schema(engine, create_if_empty=True)
            return _run_locked(settings=settings, catalog=catalog, only=only, trigger=trigger, engine=engine,
                               progress=progress, stop=stop, approve=approve)  # fmt: skip
    finally:
        engine.dispose()


def _run_locked(
    *,
    settings: Settings,
    catalog: Catalog,
    only: Sequence[str],
    trigger: str,
    engine: Any,
    progress: ProgressCallback | None,
    stop: threading.Event | None = None,
    approve: bool = False,
) -> SyncReport:
    started = _now()
    make_session = sessions(engine)
    with make_session.begin() as session:
        # A holder killed mid-run left its row "running"; we hold the lock now, so it is not running.
        session.execute(
            update(SyncRun)
            .where(SyncRun.outcome == "running")
            .values(outcome="interrupted", finished_at=started)
        )
        run = start_run(
            session, started_at=started, trigger=trigger, host=socket.gethostname(), pid=os.getpid()
        )
        run_id = run.id
    try:
        report = _sync_stages(settings=settings, catalog=catalog, only=only, make_session=make_session,
                              run_id=run_id, started=started, progress=progress, stop=stop,
                              approve=approve)  # fmt: skip
    except SyncerError as exc:
        with make_session.begin() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(outcome="error", finished_at=_now(), message=str(exc)[:4000])
            )
        raise
    return report


def _sync_stages(
    *,
    settings: Settings,
    catalog: Catalog,
    only: Sequence[str],
    make_session: Any,
    run_id: int,
    started: datetime,
    progress: ProgressCallback | None,
    stop: threading.Event | None = None,
    approve: bool = False,
) -> SyncReport:
    with make_session() as session:
        previous_rows = load_facts(session)
        previous_entries = load_catalog_entries(session)
    previous = {mid: facts_from_row(row) for mid, row in previous_rows.items()}

    selected = [m for m in catalog.models if not only or m.id in only]
    counter = RequestCounter()
    client = make_hub_client(settings, counter)
    fetched = _fetch_all(client, selected, settings.hub_concurrency, stop, settings.hub_bulk_min_models)
    not_looked_up = sum(1 for m in selected if m.hugging_face_id and m.id not in fetched)

    now = _now()
    merged: dict[str, Merged] = {}
    outcomes: list[ModelOutcome] = []
    facts_rows: list[dict[str, Any]] = []
    issues: list[CatalogIssue] = []
    total = len(catalog.models)
    for index, model in enumerate(catalog.models, start=1):
        result = fetched.get(model.id)
        prior = previous.get(model.id)
        outcome = ModelOutcome(model_id=model.id, repo=model.hugging_face_id, status=SKIPPED)
        if isinstance(result, Facts):
            facts: Facts | None = result
            outcome.status = UNCHANGED if prior is not None and prior == result else SYNCED
            outcome.commit = result.commit_sha
            facts_rows.append(_facts_row(model, result, now))
        elif isinstance(result, HubError):
            facts = prior
            outcome.status = FAILED if prior is not None else UNRESOLVED
            outcome.error_kind, outcome.error = result.kind, str(result)
            outcome.commit = prior.commit_sha if prior else None
            row = _failure_row(model, result, previous_rows.get(model.id), now)
            facts_rows.append(row)
            if prior is not None and row["stale_since"] != prior.stale_since:
                facts = dataclasses.replace(prior, stale_since=row["stale_since"])
            drop_reason = _drop_reason(settings, row, now) if prior is not None else None
            if drop_reason:
                facts, outcome.status = None, DROPPED
                outcome.warnings.append(f"DROPPED from the listing: {drop_reason}")
        else:
            facts = prior
            outcome.commit = prior.commit_sha if prior else None
        first_seen = previous_entries[model.id].first_seen_at if model.id in previous_entries else now
        result_merged = merge_model(
            model=model, facts=facts, catalog_file=str(catalog.path), defaults_keys=catalog.defaulted.get(model.id, frozenset()),
            first_seen_at=first_seen, not_ready_reason=_not_ready_reason(settings, facts, now),
        )  # fmt: skip
        merged[model.id] = result_merged
        issues += result_merged.issues
        outcome.context_length = result_merged.catalog_entry["context_length"]
        outcome.input_modalities = list(result_merged.catalog_entry["input_modalities"])
        outcome.listed = result_merged.openrouter_entry is not None
        outcome.warnings += list(result_merged.warnings)
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome, index, total)
    if issues:
        raise CatalogError(catalog.path, issues)
    message = _run_message(outcomes, not_looked_up)

    openrouter_doc = openrouter_document([m.openrouter_entry for m in merged.values() if m.openrouter_entry])
    catalog_doc = catalog_document([m.catalog_entry for m in merged.values()])
    rendered = {
        snap.OPENROUTER: snap.validated_bytes(snap.OPENROUTER, openrouter_doc),
        snap.CATALOG: snap.validated_bytes(snap.CATALOG, catalog_doc),
    }

    # The publish guard compares with what readers see now (the published file).
    current = snap.read_current(settings.snapshot_dir, snap.OPENROUTER)
    current_doc = _parse_or_none(current)
    listing_diff = diff_listings(current_doc, openrouter_doc)
    held_reasons = (
        []
        if approve or current_doc is None
        else suspicious(
            listing_diff,
            old_count=len(current_doc.get("data", [])),
            still_flagged={m.id for m in catalog.models if m.openrouter is not None},
            max_removed_share=settings.publish_max_removed_share,
        )
    )
    if not approve:
        held_reasons += _catalog_view_reasons(settings, catalog_doc, in_openrouter=set(_ids(current_doc)))

    # Stage 5: one transaction for catalog, facts and merged records.
    with make_session.begin() as session:
        upsert(
            session,
            CatalogEntry,
            [
                {
                    "model_id": m.id,
                    "hugging_face_id": m.hugging_face_id,
                    "revision": m.revision,
                    "definition": m.model_dump(mode="json", exclude={"pricing"}),
                    "first_seen_at": now,
                    "updated_at": now,
                }
                for m in catalog.models
            ],
            key=["model_id"],
            insert_only=["first_seen_at"],
        )
        delete_missing(session, CatalogEntry, keep_ids=catalog.by_id())
        session.execute(delete(ModelPrice))
        upsert(
            session,
            ModelPrice,
            [
                {"model_id": m.id, "price_key": k, "amount": v}
                for m in catalog.models
                for k, v in m.pricing.as_dict().items()
            ],
            key=["model_id", "price_key"],
        )
        upsert(session, HubFacts, facts_rows, key=["model_id"])
        status_of = {o.model_id: o.status for o in outcomes}  # a dict, not a scan per model (quadratic)
        upsert(
            session,
            ListingEntry,
            [
                {
                    "model_id": mid,
                    "status": status_of[mid],
                    "openrouter_entry": m.openrouter_entry,
                    "catalog_entry": m.catalog_entry,
                    "provenance": m.provenance,
                    "warnings": list(m.warnings),
                    "updated_at": now,
                }
                for mid, m in merged.items()
            ],
            key=["model_id"],
        )

    # Stage 6: publish, then record what was published.
    snapshot_dir = settings.snapshot_dir
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    snap.remove_stray_temp_files(snapshot_dir)
    if held_reasons:
        changed = dict.fromkeys(rendered, False)
    else:
        changed = {name: snap.publish_bytes(snapshot_dir, name, data) for name, data in rendered.items()}
    finished = _now()
    report = SyncReport(
        run_id=run_id,
        started_at=started,
        finished_at=finished,
        snapshot_dir=snapshot_dir,
        outcomes=outcomes,
        changed=changed,
        requests=dict(counter.requests),
        message=message,
        held_reasons=held_reasons,
        diff=listing_diff.as_dict(),
        errors=dict(counter.errors),
    )
    with make_session.begin() as session:
        for name, data in rendered.items():
            if held_reasons or changed[name] or _latest_hash(session, name) != snap.content_hash(data):
                session.add(
                    PublishedSnapshot(
                        name=name,
                        sha256=snap.content_hash(data),
                        content=data.decode("utf-8"),
                        published_at=finished,
                        run_id=run_id,
                        status="held" if held_reasons else "published",
                        note="; ".join(held_reasons)[:4000] if held_reasons else None,
                    )
                )
        session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(
                outcome="held" if report.held else ("ok" if report.exit_code == 0 else "partial"),
                finished_at=finished,
                synced=report.count(SYNCED),
                unchanged=report.count(UNCHANGED),
                failed=len(report.failed),
                errors={o.model_id: {"kind": o.error_kind, "error": o.error} for o in report.failed},
                hub_requests=report.requests,
                message=report.message,
            )
        )
    return report


def _ids(document: dict[str, Any] | None) -> list[str]:
    return [str(e.get("id")) for e in (document or {}).get("data", []) if isinstance(e, dict)]


def _catalog_view_reasons(
    settings: Settings, catalog_doc: dict[str, Any], *, in_openrouter: set[str]
) -> list[str]:
    """Price and context rules for the models only the catalog view shows (the OpenRouter view's own diff
    already covers the others); removals from the catalog view are the catalog's deliberate edits."""
    current = _parse_or_none(snap.read_current(settings.snapshot_dir, snap.CATALOG))
    if current is None:
        return []
    diff = diff_listings(current, catalog_doc)
    only_here = dataclasses.replace(
        diff, removed=[], changed=[c for c in diff.changed if c.model_id not in in_openrouter]
    )
    reasons = suspicious(only_here, old_count=0, still_flagged=(), max_removed_share=1.0)
    return [f"catalog view: {reason}" for reason in reasons]


def _parse_or_none(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        return None  # a damaged file is replaced, not compared
    return parsed if isinstance(parsed, dict) else None


def _drop_reason(settings: Settings, row: dict[str, Any], now: datetime) -> str | None:
    """A model the Hub says is gone is dropped only after the configured number of runs or days."""
    if row.get("last_error_kind") not in STALE_KINDS:
        return None
    failures = int(row.get("consecutive_failures") or 0)
    if failures >= settings.stale_drop_after_runs:
        return f"{failures} consecutive runs failed with {row['last_error_kind']}"
    since = row.get("stale_since")
    if (
        settings.stale_drop_after_days
        and since
        and now - since >= timedelta(days=settings.stale_drop_after_days)
    ):
        return f"stale since {since:%Y-%m-%d %H:%M} UTC ({row['last_error_kind']})"
    return None


def _not_ready_reason(settings: Settings, facts: Facts | None, now: datetime) -> str | None:
    hours = settings.stale_not_ready_after_hours
    if facts is None or facts.stale_since is None or hours is None:
        return None
    if now - facts.stale_since >= timedelta(hours=hours):
        return f"stale since {facts.stale_since:%Y-%m-%d %H:%M} UTC (more than {hours:g} h)"
    return None


def _run_message(outcomes: Sequence[ModelOutcome], not_looked_up: int) -> str | None:
    parts = []
    looked_up = [o for o in outcomes if o.status not in (SKIPPED,) and o.repo]
    failed = [o for o in looked_up if o.error_kind]
    if looked_up and len(failed) == len(looked_up):
        kinds = Counter(o.error_kind for o in failed).most_common(1)[0][0]
        parts.append(
            f"every Hub lookup failed ({len(failed)} models, mostly {kinds}): the Hub looks unreachable; "
            "every model keeps its last good facts"
        )
    if not_looked_up:
        parts.append(f"stopped early: {not_looked_up} model(s) not looked up")
    return "; ".join(parts) or None


def _latest_hash(session: Any, name: str) -> str | None:
    latest = latest_snapshot(session, name=name)
    return latest.sha256 if latest else None


def _facts_row(model: CatalogModel, facts: Facts, now: datetime) -> dict[str, Any]:
    return {
        "model_id": model.id,
        "requested_repo": model.hugging_face_id,
        "repo_id": facts.repo_id,
        "revision": model.revision,
        "commit_sha": facts.commit_sha,
        "repo_created_at": facts.created_at,
        "gated": None,
        "pipeline_tag": facts.pipeline_tag,
        "context_length": facts.context_length,
        "input_modalities": list(facts.input_modalities),
        "output_modalities": list(facts.output_modalities),
        "template_features": list(facts.template_features) if facts.template_features is not None else None,
        "provenance": dict(facts.provenance),
        "fetched_at": now,
        "checked_at": now,
        "last_error_kind": None,
        "last_error": None,
        "consecutive_failures": 0,
        "stale_since": None,
    }


def _failure_row(
    model: CatalogModel, error: HubError, prior: HubFacts | None, now: datetime
) -> dict[str, Any]:
    """Keep every last good fact; record the failure beside them."""
    if prior is not None:
        row = {c.name: getattr(prior, c.name) for c in HubFacts.__table__.columns}
    else:
        row = {c.name: None for c in HubFacts.__table__.columns}
        row |= {"model_id": model.id, "requested_repo": model.hugging_face_id, "revision": model.revision}
    row["checked_at"] = now
    row["last_error_kind"] = error.kind
    row["last_error"] = str(error)[:4000]
    row["consecutive_failures"] = (row.get("consecutive_failures") or 0) + 1
    if (
        error.kind in ("not_found", "gated_no_access")
        and row.get("stale_since") is None
        and prior is not None
    ):
        row["stale_since"] = now
    return row
