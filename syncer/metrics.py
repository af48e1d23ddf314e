"""Metrics in the Prometheus text exposition format (version 0.0.4), read from the store.

The same families are written as a textfile for node_exporter's textfile collector after every run
(``SYNCER_METRICS_TEXTFILE``, written atomically) and served by ``syncer schedule --metrics-port``, which
adds the scheduler's own counters. Everything comes from the store, so whichever process or replica ran
the sync, every reader agrees.

    syncer_last_success_timestamp_seconds            end of the last run that published (ok or partial); 0: never
    syncer_last_run_timestamp_seconds                end of the last finished run, whatever its outcome
    syncer_last_run_duration_seconds                 how long it took
    syncer_last_run_outcome{outcome}                 1 for its outcome (ok, partial, error, interrupted)
    syncer_last_run_models{result}                   synced / unchanged / failed in that run
    syncer_last_run_hub_requests{kind}               Hub requests it made (api, resolve)
    syncer_last_run_hub_errors{kind}                 models it failed, by error kind (transient, not_found, ...)
    syncer_models{state}                             catalog models by their state in the listing
    syncer_models_failing                            models whose last Hub lookup failed (they keep last good facts)
    syncer_snapshot_timestamp_seconds{name}          when each snapshot file was last replaced
    syncer_scheduler_ticks_total{result}             (HTTP only) ticks: ran, lock_held, overlap, missed, error
    syncer_scheduler_run_in_progress                 (HTTP only) 1 while a scheduled run is going
    syncer_scheduler_next_run_timestamp_seconds      (HTTP only) the next tick
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from syncer.settings import Settings

log = logging.getLogger("syncer.metrics")

COMPLETED = ("ok", "partial")  # the run published its snapshots


@dataclass
class Family:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, float(value)))
        return self


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def render(families: list[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(
                f"{family.name}{{{label_text}}} {_number(value)}"
                if labels
                else f"{family.name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def store_families(engine: Engine, snapshot_dir: Path) -> list[Family]:
    """The metric families the store and the snapshot folder tell."""
    from syncer import snapshot as snap
    from syncer.db import HubFacts, ListingEntry, SyncRun
    from syncer.store import sessions

    with sessions(engine)() as session:
        last_success = session.scalars(
            select(SyncRun).where(SyncRun.outcome.in_(COMPLETED)).order_by(SyncRun.id.desc()).limit(1)
        ).first()
        last = session.scalars(
            select(SyncRun).where(SyncRun.finished_at.is_not(None)).order_by(SyncRun.id.desc()).limit(1)
        ).first()
        states = dict(
            session.execute(select(ListingEntry.status, func.count()).group_by(ListingEntry.status)).all()
        )
        failing = session.scalar(
            select(func.count()).select_from(HubFacts).where(HubFacts.consecutive_failures > 0)
        )

    families = [
        Family("syncer_last_success_timestamp_seconds", "gauge",
               "End of the last sync run that published its snapshots (0: never).").add(
            _ts(last_success.finished_at if last_success else None)),
    ]  # fmt: skip
    run_families = [
        Family("syncer_last_run_timestamp_seconds", "gauge", "End of the last finished sync run."),
        Family("syncer_last_run_duration_seconds", "gauge", "Duration of the last finished sync run."),
        Family("syncer_last_run_outcome", "gauge", "Outcome of the last finished sync run (1 = this one)."),
        Family("syncer_last_run_models", "gauge", "Models of the last finished run by result."),
        Family(
            "syncer_last_run_hub_requests", "gauge", "Hub requests made by the last finished run, by kind."
        ),
        Family("syncer_last_run_hub_errors", "gauge", "Models the last finished run failed, by error kind."),
    ]
    if last is not None and last.finished_at is not None:
        ts, duration, outcome, models, requests, errors = run_families
        ts.add(_ts(last.finished_at))
        duration.add(max(0.0, (last.finished_at - last.started_at).total_seconds()))
        for name in ("ok", "partial", "error", "interrupted"):
            outcome.add(1 if last.outcome == name else 0, outcome=name)
        models.add(last.synced, result="synced").add(last.unchanged, result="unchanged")
        models.add(last.failed, result="failed")
        for kind, count in sorted((last.hub_requests or {}).items()):
            requests.add(count, kind=str(kind))
        error_kinds = Counter(
            str((e or {}).get("kind") or "unknown")
            for e in (last.errors or {}).values()
            if isinstance(e, dict)
        )
        for kind, count in sorted(error_kinds.items()):
            errors.add(count, kind=kind)
    families += run_families

    by_state = Family("syncer_models", "gauge", "Catalog models by state in the listing.")
    for state in sorted(set(states) | {"synced", "unchanged", "failed", "unresolved"}):
        by_state.add(states.get(state, 0), state=str(state))
    families.append(by_state)
    families.append(
        Family("syncer_models_failing", "gauge", "Models whose last Hub lookup failed.").add(failing or 0)
    )
    snapshots = Family(
        "syncer_snapshot_timestamp_seconds", "gauge", "When each snapshot file was last replaced."
    )
    for name, file_name in snap.FILE_NAMES.items():
        with contextlib.suppress(OSError):
            snapshots.add((snapshot_dir / file_name).stat().st_mtime, name=name)
    families.append(snapshots)
    return families


def scheduler_families(scheduler: Any) -> list[Family]:
    ticks = Family("syncer_scheduler_ticks_total", "counter", "Scheduler ticks by result.")
    for result in ("ran", "lock_held", "overlap", "missed", "error"):
        ticks.add(scheduler.ticks.get(result, 0), result=result)
    next_run = scheduler.next_run_time()
    return [
        ticks,
        Family("syncer_scheduler_run_in_progress", "gauge", "1 while a scheduled run is going.").add(
            1 if scheduler.running else 0
        ),
        Family("syncer_scheduler_next_run_timestamp_seconds", "gauge", "The next scheduled tick.").add(
            _ts(next_run)
        ),
    ]


def render_for(settings: Settings, *, scheduler: Any = None) -> str:
    """The whole exposition for these settings (the store's metrics, plus the scheduler's if given)."""
    from syncer.store import check_schema, make_engine

    engine = make_engine(settings.database_url)
    try:
        families: list[Family] = []
        up = Family("syncer_store_up", "gauge", "1 when the store could be read for these metrics.")
        try:
            check_schema(engine, create_if_empty=False)
            families = store_families(engine, settings.snapshot_dir)
            up.add(1)
        except Exception as exc:
            log.warning("metrics: cannot read the store: %s", exc)
            up.add(0)
        families.insert(0, up)
        if scheduler is not None:
            families += scheduler_families(scheduler)
        return render(families)
    finally:
        engine.dispose()


def write_textfile(path: Path, text: str) -> None:
    """Write atomically (temp file in the same folder, then rename), as node_exporter wants."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def write_textfile_for(settings: Settings) -> None:
    """After a run: refresh ``SYNCER_METRICS_TEXTFILE`` if set. A failure is logged, never raised: metrics
    must not fail a sync that succeeded."""
    if settings.metrics_textfile is None:
        return
    try:
        write_textfile(settings.metrics_textfile, render_for(settings))
    except Exception as exc:
        log.warning("cannot write the metrics textfile %s: %s", settings.metrics_textfile, exc)
