"""Every read and write of the SQL store, as methods of :class:`Store`: no SQL lives anywhere else.

A method is one transaction (or one read session): a crash between two calls leaves each whole or absent.
The one exception is :meth:`Store.save_sync`, which writes catalog, facts and merged records of a run in
**one** transaction, so a run's results are all there or not at all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Engine, Table, bindparam, delete, func, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.orm import Session, sessionmaker

from syncer.catalog import CatalogModel
from syncer.errors import LockLostError, StoreError, StoreUnavailableError
from syncer.listing import Facts, Merged
from syncer.states import RunOutcome, SnapshotState
from syncer.store import lock as _lock
from syncer.store import schema
from syncer.store.models import (
    Base,
    CatalogEntry,
    HubFacts,
    HubSpend,
    ListingEntry,
    ModelPrice,
    PublishedSnapshot,
    SyncFence,
    SyncRun,
)
from syncer.store.schema import JSONText

UPSERT_BATCH = 500
_T = TypeVar("_T")


def _batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in slices of UPSERT_BATCH: one statement each (bind-parameter and IN-list limits)."""
    for start in range(0, len(items), UPSERT_BATCH):
        yield items[start : start + UPSERT_BATCH]


def _text(entry: Any, text: str) -> JSONText | None:
    """An entry's column value: its text encoded when it was merged; None for no entry (which SQLAlchemy's JSON
    type stores as JSON ``null``, as it always did)."""
    return None if entry is None else JSONText(text)


#: SQLAlchemy's errors for a database that cannot be reached or used (refused, missing, connection lost).
CONNECTION_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError)
HEALTH_COLUMNS = ("checked_at", "last_error_kind", "last_error", "consecutive_failures", "stale_since")


@dataclass(frozen=True)
class Prior:
    """What the store knows of one model before a run: its last good facts and its Hub health."""

    facts: Facts | None  # None: never resolved (or no facts row at all)
    has_row: bool  # a facts row exists (resolved once, or failed before)
    consecutive_failures: int
    stale_since: datetime | None
    first_seen_at: datetime | None
    #: the catalog's hugging_face_id the stored facts were looked up for (None: no facts row)
    requested_repo: str | None = None


@dataclass(frozen=True)
class FactsUpdate:
    """What one run learned of one model's checkpoint, to be stored."""

    model_id: str
    requested_repo: str
    revision: str | None
    facts: Facts | None  # fresh facts; None when the lookup failed (the last good ones are kept)
    error_kind: str | None = None
    error: str | None = None
    consecutive_failures: int = 0
    stale_since: datetime | None = None
    #: the fresh facts are the stored ones, key and all: only the row's health columns change
    reused: bool = False


@dataclass(frozen=True)
class StoredMerged:
    """What the store keeps of a model's last merge, without its entries: its merge key, its listing status
    then, what a run reports of the entries (``summary``: listed, context_length, input_modalities) and its
    warnings. The entries themselves are read only when a view must be rendered (:meth:`Store.load_entries`)."""

    key: str
    status: str
    summary: Mapping[str, Any]
    warnings: tuple[str, ...]
    #: the entries' digest (syncer.listing.Merged.digest); None: stored before migration 0006
    digest: str | None = None


@dataclass(frozen=True)
class SnapshotRecord:
    name: str
    sha256: str
    content: str
    published_at: datetime
    status: SnapshotState
    run_id: int | None = None
    note: str | None = None


def _latest_live(name: str, *columns: Any) -> Any:
    """The query of ``columns`` of the snapshot ``name`` last written to the folder (by a run or a rollback)."""
    return (
        select(*columns)
        .where(PublishedSnapshot.name == name, PublishedSnapshot.status.in_(SnapshotState.live()))
        .order_by(PublishedSnapshot.published_at.desc(), PublishedSnapshot.id.desc())
        .limit(1)
    )


def facts_from_row(row: HubFacts | Row[Any]) -> Facts | None:
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
        derived_from=row.derived_from,
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str],
    insert_only: Sequence[str] = (),
) -> None:
    """Insert or update ``rows`` in batches: one round trip per batch, on every supported database.

    Columns in ``insert_only`` are written when the row is new and kept when it exists.
    """
    if not rows:
        return
    table = _table(model)
    dialect = session.get_bind().dialect.name
    columns = [c for c in rows[0] if c not in key and c not in insert_only]
    # One statement, compiled once (and cached), executed per batch with the rows as parameters: PyMySQL
    # rewrites it to one multi-row INSERT, psycopg pipelines it, SQLite runs it in-process. (A multi-VALUES
    # statement built per batch was compiled afresh each time, bind parameter by bind parameter: about
    # 0.5 s of CPU per 1,000 models, most of a warm sync.)
    stmt: Any
    # Each dialect's insert is imported here, for the database in use only (start-up imports none of them).
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        pg_stmt = postgresql.insert(table)
        stmt = pg_stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: pg_stmt.excluded[c] for c in columns}
        )
    elif dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        lite_stmt = sqlite.insert(table)
        stmt = lite_stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: lite_stmt.excluded[c] for c in columns}
        )
    elif dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects import mysql

        my_stmt = mysql.insert(table)
        stmt = my_stmt.on_duplicate_key_update({c: my_stmt.inserted[c] for c in columns})
    else:  # pragma: no cover - settings refuse other URLs
        raise StoreError(f"unsupported database {dialect}")
    for batch in _batches(rows):
        session.execute(stmt, list(batch))


def delete_missing(session: Session, model: type[Base], *, keep_ids: Iterable[str]) -> list[str]:
    """Delete rows whose ``model_id`` is not in ``keep_ids``; returns the ids deleted."""
    keep = set(keep_ids)
    column = _table(model).c.model_id
    existing = session.scalars(select(column)).all()
    gone = sorted(set(existing) - keep)
    if gone:
        session.execute(delete(_table(model)).where(column.in_(gone)))
    return gone


def _facts_row(update: FactsUpdate, facts: Facts, now: datetime) -> dict[str, Any]:
    return {
        "model_id": update.model_id,
        "requested_repo": update.requested_repo,
        "repo_id": facts.repo_id,
        "revision": update.revision,
        "commit_sha": facts.commit_sha,
        "repo_created_at": facts.created_at,
        "gated": None,
        "pipeline_tag": facts.pipeline_tag,
        "context_length": facts.context_length,
        "input_modalities": list(facts.input_modalities),
        "output_modalities": list(facts.output_modalities),
        "template_features": list(facts.template_features) if facts.template_features is not None else None,
        "provenance": dict(facts.provenance),
        "derived_from": facts.derived_from,
        "fetched_at": now,
        "checked_at": now,
        "last_error_kind": None,
        "last_error": None,
        "consecutive_failures": 0,
        "stale_since": None,
    }


def _failure_row(update: FactsUpdate, now: datetime) -> dict[str, Any]:
    """Only the health columns change; every last good fact stays (``requested_repo``/``revision`` are
    written for a model seen for the first time and kept otherwise)."""
    return {
        "model_id": update.model_id,
        "requested_repo": update.requested_repo,
        "revision": update.revision,
        "checked_at": now,
        "last_error_kind": update.error_kind,
        "last_error": (update.error or "")[:4000],
        "consecutive_failures": update.consecutive_failures,
        "stale_since": update.stale_since,
    }


class Store:
    """The SQL store of one database URL. Open it with :meth:`open` (a context manager that disposes of
    the engine), or wrap an engine you own."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._held: _lock.HeldLock | None = None

    @classmethod
    @contextlib.contextmanager
    def open(cls, url: str, *, create: bool = True) -> Iterator[Store]:
        """The store of ``url`` for the body; a database that cannot be reached or used (down, missing,
        refused, a connection lost mid-transaction) becomes a StoreUnavailableError naming the URL
        (password masked) and the cause. ``create=False`` (read-only commands): a missing SQLite file is
        a DatabaseMissingError, and neither it nor its folder is created."""
        engine = schema.make_engine(url, create=create)
        store = cls(engine)
        try:
            yield store
        except CONNECTION_ERRORS as exc:
            raise store._unavailable(exc) from exc
        finally:
            engine.dispose()

    def unavailable(self, exc: BaseException) -> StoreUnavailableError | None:
        """``exc`` as the StoreUnavailableError it means (a connection refused, lost or unusable), or None
        when it is not the database's: for callers that must record a run before re-raising."""
        return self._unavailable(exc) if isinstance(exc, CONNECTION_ERRORS) else None

    def _unavailable(self, exc: sa_exc.DBAPIError) -> StoreUnavailableError:
        return StoreUnavailableError(
            self.engine.url.render_as_string(hide_password=True), _first_line(exc.orig or exc)
        )

    # -- schema and lock ---------------------------------------------------------------------------------
    def check_schema(self, *, create_if_empty: bool = False) -> None:
        schema.check_schema(self.engine, create_if_empty=create_if_empty)

    def current_revision(self) -> str | None:
        return schema.current_revision(self.engine)

    def upgrade(self, revision: str = "head") -> None:
        schema.upgrade(self.engine, revision)

    @contextlib.contextmanager
    def lock(self, *, wait: float = 0.0) -> Iterator[_lock.HeldLock]:
        """The single-runner lock (raises LockHeldError when another run holds it past ``wait``). While it
        is held, the fenced writes (``fence=run_id``) and :meth:`check_fence` also ask it whether it is."""
        with _lock.sync_lock(self.engine, wait=wait) as held:
            self._held = held
            try:
                yield held
            finally:
                self._held = None

    def check_fence(self, run_id: int) -> None:
        """Raise LockLostError unless run ``run_id`` still holds the lock: the fence row names it and the
        lock's own connection (or file) still holds the lock. For the publish, just before each rename."""
        with self._sessions.begin() as session:
            self._fence(session, run_id)

    def _fence(self, session: Session, run_id: int) -> None:
        """Inside a write's transaction: claim the fence row for ``run_id`` (a conditional UPDATE, which
        holds the row until the transaction ends, so a run taking the lock over waits for this write),
        then ask the lock itself."""
        claimed = cast(
            "CursorResult[Any]",
            session.execute(
                update(SyncFence)
                .where(SyncFence.id == 1, SyncFence.run_id == run_id)
                .values(checks=SyncFence.checks + 1)
            ),
        )
        if claimed.rowcount != 1:
            holder = session.scalar(select(SyncFence.run_id).where(SyncFence.id == 1))
            raise LockLostError(
                f"the fence names run {holder} now" if holder is not None else "the fence row is gone",
                run_id=run_id,
            )
        if self._held is None:
            raise LockLostError("the lock is not held by this process", run_id=run_id)
        try:
            self._held.check()
        except LockLostError as exc:
            raise LockLostError(exc.cause, run_id=run_id) from exc

    def lock_holder(self) -> dict[str, Any] | None:
        return _lock.lock_holder(self.engine)

    # -- runs --------------------------------------------------------------------------------------------
    def begin_run(self, *, started_at: datetime, trigger: str, host: str, pid: int) -> int:
        """Record a new run as running; a run still marked running is not (we hold the lock): its holder
        was killed mid-run, so it becomes interrupted."""
        with self._sessions.begin() as session:
            session.execute(
                update(SyncRun)
                .where(SyncRun.outcome == RunOutcome.RUNNING)
                .values(outcome=RunOutcome.INTERRUPTED, finished_at=started_at)
            )
            run = SyncRun(
                started_at=started_at, trigger=trigger, host=host, pid=pid, outcome=RunOutcome.RUNNING
            )
            session.add(run)
            session.flush()
            # The fencing token: this run holds the lock now (a holder that lost it finds another id).
            upsert(session, SyncFence, [{"id": 1, "run_id": run.id, "taken_at": started_at, "checks": 0}],
                   key=["id"])  # fmt: skip
            return run.id

    def fail_run(
        self, run_id: int, *, finished_at: datetime, message: str, outcome: RunOutcome = RunOutcome.ERROR
    ) -> bool:
        """Record a run that aborted (``error``, or ``lost_lock``: only its own row is written, unfenced);
        best effort (the error being reported may be the database's own: then the next run relabels this
        one). Returns whether it was recorded."""
        try:
            with self._sessions.begin() as session:
                session.execute(
                    update(SyncRun)
                    .where(SyncRun.id == run_id)
                    .values(outcome=outcome, finished_at=finished_at, message=message[:4000])
                )
        except sa_exc.SQLAlchemyError:
            return False
        return True

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: RunOutcome,
        finished_at: datetime,
        synced: int,
        unchanged: int,
        failed: int,
        errors: Mapping[str, Any],
        hub_requests: Mapping[str, int],
        message: str | None,
        snapshots: Sequence[SnapshotRecord] = (),
        settle_held: Iterable[str] = (),
        approved: Iterable[int] = (),
        fence: bool = False,
        views_keys: Mapping[str, str] | None = None,
    ) -> None:
        """Record the end of a run, and the snapshots it published or held, in one transaction. The held
        snapshots of the files named in ``settle_held`` are settled first: ``approved`` ones (published by
        this run's ``--approve``) become approved, the others rejected (this run replaced them). ``fence``:
        only while run ``run_id`` still holds the lock (else LockLostError, nothing written)."""
        with self._sessions.begin() as session:
            if fence:
                self._fence(session, run_id)
            _settle_held(session, settle_held, approved)
            for record in snapshots:
                session.add(_snapshot_row(record))
            session.flush()
            for name, key in (views_keys or {}).items():  # the live file is this run's: these keys give it
                latest = session.scalar(_latest_live(name, PublishedSnapshot.id))
                if latest is not None:
                    session.execute(
                        update(PublishedSnapshot).where(PublishedSnapshot.id == latest).values(views_key=key)
                    )
            session.execute(
                update(SyncRun)
                .where(SyncRun.id == run_id)
                .values(
                    outcome=outcome,
                    finished_at=finished_at,
                    synced=synced,
                    unchanged=unchanged,
                    failed=failed,
                    errors=dict(errors),
                    hub_requests=dict(hub_requests),
                    message=message,
                )
            )

    def recent_runs(self, *, limit: int) -> list[SyncRun]:
        with self._sessions() as session:
            return list(session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)))

    def last_run(self, *, finished: bool = False) -> SyncRun | None:
        query = select(SyncRun)
        if finished:
            query = query.where(SyncRun.finished_at.is_not(None))
        with self._sessions() as session:
            return session.scalars(query.order_by(SyncRun.id.desc()).limit(1)).first()

    def last_success(self) -> SyncRun | None:
        """The last run that published its snapshots."""
        with self._sessions() as session:
            return session.scalars(
                select(SyncRun)
                .where(SyncRun.outcome.in_(RunOutcome.completed()))
                .order_by(SyncRun.id.desc())
                .limit(1)
            ).first()

    def running_run(self) -> SyncRun | None:
        with self._sessions() as session:
            return session.scalars(
                select(SyncRun)
                .where(SyncRun.outcome == RunOutcome.RUNNING)
                .order_by(SyncRun.id.desc())
                .limit(1)
            ).first()

    # -- a run's state and results -------------------------------------------------------------------------
    def load_prior(self) -> dict[str, Prior]:
        """Every model's last good facts, Hub health and first-seen time, in one read."""
        with self._sessions() as session:
            # Plain rows, not ORM objects: the same columns, a fraction of the CPU (10,000 models per run).
            rows = {row.model_id: row for row in session.execute(select(_table(HubFacts)))}
            first_seen = {
                model_id: seen
                for model_id, seen in session.execute(
                    select(CatalogEntry.model_id, CatalogEntry.first_seen_at)
                )
            }
        prior = {}
        for model_id in set(rows) | set(first_seen):
            row = rows.get(model_id)
            prior[model_id] = Prior(
                facts=facts_from_row(row) if row is not None else None,
                has_row=row is not None,
                consecutive_failures=int(row.consecutive_failures or 0) if row is not None else 0,
                stale_since=row.stale_since if row is not None else None,
                first_seen_at=first_seen.get(model_id),
                requested_repo=row.requested_repo if row is not None else None,
            )
        return prior

    def save_sync(
        self,
        *,
        models: Sequence[CatalogModel],
        facts: Sequence[FactsUpdate],
        merged: Mapping[str, Merged],
        statuses: Mapping[str, str],
        now: datetime,
        fence: int | None = None,
        reused: Mapping[str, bool] | None = None,
        digests: Mapping[str, str] | None = None,
    ) -> None:
        """Catalog, prices, facts and merged records of one run, in one transaction; with ``fence`` (a run
        id), only while that run still holds the lock, checked in the same transaction (else
        LockLostError, nothing written). ``reused``: models whose stored entries the run reused (the merge
        key covers the catalog model, its prices and its facts), each with whether its status changed:
        their catalog, price and entry rows are left as they are, but for the status (and the entries digest
        given in ``digests``, for rows stored before it existed)."""
        reused = reused or {}
        unchanged = set(reused)
        changed = [m for m in models if m.id not in unchanged]
        with self._sessions.begin() as session:
            if fence is not None:
                self._fence(session, fence)
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
                    for m in changed
                ],
                key=["model_id"],
                insert_only=["first_seen_at"],
            )
            removed = delete_missing(session, CatalogEntry, keep_ids=(m.id for m in models))
            if unchanged:  # the changed models' prices are written afresh; the removed models' go
                for batch in _batches([*removed, *(m.id for m in changed)]):
                    session.execute(delete(ModelPrice).where(ModelPrice.model_id.in_(batch)))
            else:
                session.execute(delete(ModelPrice))
            upsert(
                session,
                ModelPrice,
                [
                    {"model_id": m.id, "price_key": k, "amount": v}
                    for m in changed
                    for k, v in m.pricing.as_dict().items()
                ],
                key=["model_id", "price_key"],
            )
            fresh = [_facts_row(u, u.facts, now) for u in facts if u.facts is not None and not u.reused]
            upsert(session, HubFacts, fresh, key=["model_id"])
            confirmed = [u.model_id for u in facts if u.facts is not None and u.reused]
            for batch in _batches(confirmed):  # facts kept: the health columns only
                session.execute(
                    update(HubFacts)
                    .where(HubFacts.model_id.in_(batch))
                    .values(fetched_at=now, checked_at=now, last_error_kind=None, last_error=None,
                            consecutive_failures=0, stale_since=None)
                )  # fmt: skip
            failures = [_failure_row(u, now) for u in facts if u.facts is None]
            upsert(session, HubFacts, failures, key=["model_id"], insert_only=["requested_repo", "revision"])
            upsert(
                session,
                ListingEntry,
                [
                    {
                        "model_id": model_id,
                        "status": statuses[model_id],
                        "openrouter_entry": _text(m.openrouter_entry, m.texts[0]),
                        "catalog_entry": JSONText(m.texts[1]),
                        "provenance": m.provenance,
                        "warnings": list(m.warnings),
                        "updated_at": now,
                        "openrouter_v2_entry": _text(m.openrouter_v2_entry, m.texts[2]),
                        "merged_from": m.key,
                        "entries_digest": m.digest,
                        "summary": {
                            "listed": m.openrouter_entry is not None,
                            "context_length": m.catalog_entry.get("context_length"),
                            "input_modalities": list(m.catalog_entry.get("input_modalities") or ()),
                        },
                    }
                    for model_id, m in merged.items()
                    if model_id not in unchanged
                ],
                key=["model_id"],
            )
            moved: dict[str, list[str]] = {}  # reused entries whose status changed, by their new status
            for model_id, status_changed in reused.items():
                if status_changed:
                    moved.setdefault(statuses[model_id], []).append(model_id)
            for status, ids in moved.items():
                for batch in _batches(ids):
                    session.execute(
                        update(ListingEntry)
                        .where(ListingEntry.model_id.in_(batch))
                        .values(status=status, updated_at=now)
                    )
            if digests:
                table = _table(ListingEntry)
                session.execute(
                    update(table)
                    .where(table.c.model_id == bindparam("id"))
                    .values(entries_digest=bindparam("digest")),
                    [{"id": model_id, "digest": digest} for model_id, digest in digests.items()],
                )

    def load_merged(self) -> dict[str, StoredMerged]:
        """Every model's stored merge key, status, summary and warnings (the models a run may reuse), in one
        read of small columns."""
        columns = (ListingEntry.model_id, ListingEntry.merged_from, ListingEntry.status, ListingEntry.summary,
                   ListingEntry.warnings, ListingEntry.entries_digest)  # fmt: skip
        query = select(*columns).where(
            ListingEntry.merged_from.is_not(None), ListingEntry.summary.is_not(None)
        )
        with self._sessions() as session:
            rows = session.execute(query).all()
        return {
            model_id: StoredMerged(
                key=key, status=status, summary=summary, warnings=tuple(warnings), digest=digest
            )
            for model_id, key, status, summary, warnings, digest in rows
            if key is not None and isinstance(summary, dict)
        }

    def load_entries(self, model_ids: Iterable[str]) -> dict[str, Merged]:
        """The stored entries of ``model_ids`` (reused by a run that must render a view), without their
        provenance (half the bytes): a reused entry's row keeps its own, and ``explain`` reads it there."""
        wanted = list(model_ids)
        columns = (ListingEntry.model_id, ListingEntry.openrouter_entry, ListingEntry.catalog_entry,
                   ListingEntry.openrouter_v2_entry, ListingEntry.warnings, ListingEntry.merged_from)  # fmt: skip
        found: dict[str, Merged] = {}
        with self._sessions() as session:
            for batch in _batches(wanted):
                for model_id, entry, catalog_entry, v2_entry, warnings, key in session.execute(
                    select(*columns).where(ListingEntry.model_id.in_(batch))
                ):
                    found[model_id] = Merged(
                        model_id=model_id,
                        openrouter_entry=entry,
                        catalog_entry=catalog_entry,
                        openrouter_v2_entry=v2_entry,
                        provenance={},  # left in the row, which a reused entry never rewrites
                        warnings=tuple(warnings),
                        key=key,
                    )
        return found

    def listing_entry(self, model_id: str) -> tuple[ListingEntry | None, HubFacts | None]:
        with self._sessions() as session:
            return session.get(ListingEntry, model_id), session.get(HubFacts, model_id)

    def load_prices(self) -> dict[str, dict[str, Any]]:
        prices: dict[str, dict[str, Any]] = {}
        with self._sessions() as session:
            for row in session.scalars(select(ModelPrice)):
                prices.setdefault(row.model_id, {})[row.price_key] = row.amount
        return prices

    # -- health ------------------------------------------------------------------------------------------
    def failing_models(self) -> list[HubFacts]:
        """Models whose last Hub lookup failed (they keep their last good facts)."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(HubFacts).where(HubFacts.consecutive_failures > 0).order_by(HubFacts.model_id)
                )
            )

    def failing_count(self) -> int:
        with self._sessions() as session:
            count = session.scalar(
                select(func.count()).select_from(HubFacts).where(HubFacts.consecutive_failures > 0)
            )
        return int(count or 0)

    def listing_states(self) -> dict[str, int]:
        with self._sessions() as session:
            return {
                str(status): int(count)
                for status, count in session.execute(
                    select(ListingEntry.status, func.count()).group_by(ListingEntry.status)
                )
            }

    # -- snapshots ---------------------------------------------------------------------------------------
    def live_views(self, names: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """Per file name, the hash and the views key of the snapshot last written to the folder."""
        found = {}
        with self._sessions() as session:
            for name in names:
                row = session.execute(
                    _latest_live(name, PublishedSnapshot.sha256, PublishedSnapshot.views_key)
                ).first()
                if row is not None:
                    found[name] = (row[0], row[1])
        return found

    def snapshots(
        self, *, name: str | None = None, exclude: Sequence[str] = (), limit: int = 20
    ) -> list[PublishedSnapshot]:
        """The newest snapshot rows first (of one file when ``name`` is given)."""
        query = select(PublishedSnapshot)
        if name is not None:
            query = query.where(PublishedSnapshot.name == name)
        if exclude:
            query = query.where(PublishedSnapshot.status.not_in(list(exclude)))
        with self._sessions() as session:
            return list(session.scalars(query.order_by(PublishedSnapshot.id.desc()).limit(limit)))

    def snapshot(self, snapshot_id: int) -> PublishedSnapshot | None:
        with self._sessions() as session:
            return session.get(PublishedSnapshot, snapshot_id)

    def pending_held(self) -> dict[str, PublishedSnapshot]:
        """The snapshot of each file that the guard holds now (its newest row is held), by file name."""
        with self._sessions() as session:
            newest = (
                select(PublishedSnapshot.name, func.max(PublishedSnapshot.id).label("id"))
                .group_by(PublishedSnapshot.name)
                .subquery()
            )
            rows = session.scalars(
                select(PublishedSnapshot)
                .join(newest, PublishedSnapshot.id == newest.c.id)
                .where(PublishedSnapshot.status == SnapshotState.HELD)
            )
            return {row.name: row for row in rows}

    # -- the shared Hub rate window ----------------------------------------------------------------------
    def hub_spent_since(self, since: datetime) -> list[tuple[str, datetime, int]]:
        """(kind, sent at, requests) of every Hub request any run of this database recorded since ``since``."""
        with self._sessions() as session:
            rows = session.execute(
                select(HubSpend.kind, HubSpend.sent_at, HubSpend.requests)
                .where(HubSpend.sent_at >= since)
                .order_by(HubSpend.sent_at)
            ).all()
        return [(kind, sent_at, requests) for kind, sent_at, requests in rows]

    def record_hub_spend(
        self, spent: Sequence[tuple[str, datetime, int]], *, prune_before: datetime, run_id: int | None = None
    ) -> None:
        """Add a run's Hub requests to the shared window and drop rows that have left it."""
        with self._sessions.begin() as session:
            session.execute(delete(HubSpend).where(HubSpend.sent_at < prune_before))
            if spent:
                session.execute(
                    _table(HubSpend).insert(),
                    [{"kind": k, "sent_at": at, "requests": n, "run_id": run_id} for k, at, n in spent],
                )

    def hub_ledger(self, run_id: int | None = None) -> HubLedger:
        """This store as the Hub budget's ledger (``syncer.hub.SpendLedger``), spend attributed to ``run_id``."""
        return HubLedger(self, run_id)

    def record_snapshots(self, records: Sequence[SnapshotRecord]) -> None:
        """Keep republished snapshots (a rollback); a change held for those files is rejected by it."""
        with self._sessions.begin() as session:
            _settle_held(session, {r.name for r in records}, ())
            for record in records:
                session.add(_snapshot_row(record))


def _settle_held(session: Session, names: Iterable[str], approved: Iterable[int]) -> None:
    names, approved = list(names), list(approved)
    if not names:
        return
    held = (PublishedSnapshot.name.in_(names), PublishedSnapshot.status == SnapshotState.HELD)
    if approved:
        session.execute(
            update(PublishedSnapshot)
            .where(*held, PublishedSnapshot.id.in_(approved))
            .values(status=SnapshotState.APPROVED)
        )
    session.execute(update(PublishedSnapshot).where(*held).values(status=SnapshotState.REJECTED))


@dataclass(frozen=True)
class HubLedger:
    """The shared Hub rate window of one database, in the shape :class:`syncer.hub.RequestBudget` takes."""

    store: Store
    run_id: int | None = None

    def spent_since(self, since: datetime) -> list[tuple[str, datetime, int]]:
        return self.store.hub_spent_since(since)

    def record_spent(self, spent: Sequence[tuple[str, datetime, int]], *, prune_before: datetime) -> None:
        self.store.record_hub_spend(spent, prune_before=prune_before, run_id=self.run_id)


def _snapshot_row(record: SnapshotRecord) -> PublishedSnapshot:
    return PublishedSnapshot(
        name=record.name,
        sha256=record.sha256,
        content=record.content,
        published_at=record.published_at,
        run_id=record.run_id,
        status=record.status,
        note=record.note,
    )
