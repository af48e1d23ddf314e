"""One sync run as `sync now` and the scheduler make it: ``run_sync``, the metrics textfile, the log line.

Kept apart from :mod:`syncer.ops.schedule` so that `sync now` imports neither APScheduler nor (unless
``SYNCER_METRICS_TEXTFILE`` is set) prometheus_client: both are start-up time a one-shot run does not need.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from syncer.errors import LockHeldError, SyncerError
from syncer.settings import Settings
from syncer.states import ModelStatus

if TYPE_CHECKING:
    from syncer.sync import SyncReport

__all__ = ["run_and_record", "run_record"]

log = logging.getLogger("syncer.schedule")  # the name the run's log line always had


def _write_textfile(settings: Settings) -> None:
    if settings.metrics_textfile is None:
        return
    from syncer.ops.metrics import write_textfile_for

    write_textfile_for(settings)


def run_and_record(*, settings: Settings, trigger: str, **options: Any) -> SyncReport:
    """``run_sync`` (``options`` are its keywords), then the metrics textfile when
    ``SYNCER_METRICS_TEXTFILE`` is set, also after a failed run (the store recorded it). A run that never
    got the lock changed nothing and writes nothing."""
    from syncer.sync import run_sync  # the pipeline is loaded when a run starts, not at import

    try:
        report = run_sync(settings=settings, trigger=trigger, **options)
    except LockHeldError:
        raise
    except SyncerError:
        _write_textfile(settings)
        raise
    _write_textfile(settings)
    log.info(
        "sync run %s finished (%s, %s): %d synced, %d unchanged, %d failed of %d models in %.1fs",
        report.run_id,
        trigger,
        report.outcome,
        report.count(ModelStatus.SYNCED),
        report.count(ModelStatus.UNCHANGED),
        len(report.failed),
        len(report.outcomes),
        _duration(report),
        extra={"run": run_record(report, trigger)},
    )
    return report


def _duration(report: SyncReport) -> float:
    return round(((report.finished_at or report.started_at) - report.started_at).total_seconds(), 3)


def run_record(report: SyncReport, trigger: str) -> dict[str, Any]:
    """A run's summary as one structured object (the ``run`` field of its JSON log record)."""
    return {
        "run_id": report.run_id,
        "trigger": str(trigger),
        "outcome": str(report.outcome),
        "counts": {
            "models": len(report.outcomes),
            "synced": report.count(ModelStatus.SYNCED),
            "unchanged": report.count(ModelStatus.UNCHANGED),
            "failed": len(report.failed),
            "skipped": report.count(ModelStatus.SKIPPED),
        },
        "hub_requests": dict(report.requests),
        "hub_errors": dict(report.errors),
        "duration_seconds": _duration(report),
        "started_at": report.started_at.isoformat(),
        "snapshots_changed": dict(report.changed),
        "held": list(report.held_reasons),
        "failing_models": sorted(o.model_id for o in report.failed),
    }
