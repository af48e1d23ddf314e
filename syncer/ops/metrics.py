"""Prometheus metrics, read from the store at every collection (prometheus_client custom collectors).

The same families are written as a textfile for node_exporter's textfile collector after every run
(``SYNCER_METRICS_TEXTFILE``, via ``write_to_textfile``: a temp file renamed over the old one) and served by
``syncer schedule --metrics-port`` (``start_http_server``), which adds the scheduler's own counters.
Everything comes from the store, so whichever process or replica ran the sync, every reader agrees.

    syncer_store_up                                  1 when the store could be read for these metrics
    syncer_last_success_timestamp_seconds            end of the last run that published (ok or partial); 0: never
    syncer_last_run_timestamp_seconds                end of the last finished run, whatever its outcome
    syncer_last_run_duration_seconds                 how long it took
    syncer_last_run_outcome{outcome}                 1 for its outcome (ok, partial, error, interrupted, lost_lock)
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
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, start_http_server, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncer import snapshot as snap
from syncer.settings import Settings
from syncer.states import ModelStatus, RunOutcome
from syncer.store import Store

log = logging.getLogger("syncer.metrics")

RUN_OUTCOMES = (
    RunOutcome.OK,
    RunOutcome.PARTIAL,
    RunOutcome.ERROR,
    RunOutcome.INTERRUPTED,
    RunOutcome.LOST_LOCK,
)
TICK_RESULTS = ("ran", "lock_held", "overlap", "missed", "error")


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def _store_metrics(store: Store, snapshot_dir: Path) -> list[Metric]:
    """The metric families the store and the snapshot folder tell."""
    last_success = store.last_success()
    last = store.last_run(finished=True)
    states = store.listing_states()
    failing = store.failing_count()

    families: list[Metric] = [
        GaugeMetricFamily(
            "syncer_last_success_timestamp_seconds",
            "End of the last sync run that published its snapshots (0: never).",
            value=_ts(last_success.finished_at if last_success else None),
        )
    ]
    ts = GaugeMetricFamily("syncer_last_run_timestamp_seconds", "End of the last finished sync run.")
    duration = GaugeMetricFamily(
        "syncer_last_run_duration_seconds", "Duration of the last finished sync run."
    )
    outcome = GaugeMetricFamily(
        "syncer_last_run_outcome", "Outcome of the last finished sync run (1 = this one).", labels=["outcome"]
    )
    models = GaugeMetricFamily(
        "syncer_last_run_models", "Models of the last finished run by result.", labels=["result"]
    )
    requests = GaugeMetricFamily(
        "syncer_last_run_hub_requests",
        "Hub requests made by the last finished run, by kind.",
        labels=["kind"],
    )
    errors = GaugeMetricFamily(
        "syncer_last_run_hub_errors", "Models the last finished run failed, by error kind.", labels=["kind"]
    )
    if last is not None and last.finished_at is not None:
        ts.add_metric([], _ts(last.finished_at))
        duration.add_metric([], max(0.0, (last.finished_at - last.started_at).total_seconds()))
        for word in RUN_OUTCOMES:
            outcome.add_metric([word], 1 if last.outcome == word else 0)
        models.add_metric([ModelStatus.SYNCED], last.synced)
        models.add_metric([ModelStatus.UNCHANGED], last.unchanged)
        models.add_metric([ModelStatus.FAILED], last.failed)
        for kind, count in sorted((last.hub_requests or {}).items()):
            requests.add_metric([str(kind)], count)
        error_kinds = Counter(
            str((e or {}).get("kind") or "unknown")
            for e in (last.errors or {}).values()
            if isinstance(e, dict)
        )
        for kind, count in sorted(error_kinds.items()):
            errors.add_metric([kind], count)
    families += [ts, duration, outcome, models, requests, errors]

    by_state = GaugeMetricFamily("syncer_models", "Catalog models by state in the listing.", labels=["state"])
    always = {
        str(s)
        for s in (ModelStatus.SYNCED, ModelStatus.UNCHANGED, ModelStatus.FAILED, ModelStatus.UNRESOLVED)
    }
    for state in sorted(set(states) | always):
        by_state.add_metric([state], states.get(state, 0))
    families.append(by_state)
    families.append(
        GaugeMetricFamily("syncer_models_failing", "Models whose last Hub lookup failed.", value=failing)
    )
    snapshots = GaugeMetricFamily(
        "syncer_snapshot_timestamp_seconds", "When each snapshot file was last replaced.", labels=["name"]
    )
    for name, file_name in snap.FILE_NAMES.items():
        with contextlib.suppress(OSError):
            snapshots.add_metric([name], (snapshot_dir / file_name).stat().st_mtime)
    families.append(snapshots)
    return families


class StoreCollector(Collector):
    """Reads the store at every collection; a store that cannot be read gives ``syncer_store_up 0``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        families: list[Metric] = []
        up = 1
        try:
            with Store.open(self.settings.database_url) as store:
                store.check_schema()
                families = _store_metrics(store, self.settings.snapshot_dir)
        except Exception as exc:
            log.warning("metrics: cannot read the store: %s", exc)
            up = 0
        yield GaugeMetricFamily(
            "syncer_store_up", "1 when the store could be read for these metrics.", value=up
        )
        yield from families


class SchedulerCollector(Collector):
    """The running scheduler's own counters (``ticks``, ``running``, ``next_run_time()``)."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def collect(self) -> Iterator[Metric]:
        ticks = CounterMetricFamily("syncer_scheduler_ticks", "Scheduler ticks by result.", labels=["result"])
        for result in TICK_RESULTS:
            ticks.add_metric([result], self.scheduler.ticks.get(result, 0))
        yield ticks
        yield GaugeMetricFamily(
            "syncer_scheduler_run_in_progress",
            "1 while a scheduled run is going.",
            value=1 if self.scheduler.running else 0,
        )
        yield GaugeMetricFamily(
            "syncer_scheduler_next_run_timestamp_seconds",
            "The next scheduled tick.",
            value=_ts(self.scheduler.next_run_time()),
        )


def registry_for(settings: Settings, *, scheduler: Any = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(settings))
    if scheduler is not None:
        registry.register(SchedulerCollector(scheduler))
    return registry


def render_for(settings: Settings, *, scheduler: Any = None) -> str:
    """The whole exposition for these settings (the store's metrics, plus the scheduler's if given)."""
    return generate_latest(registry_for(settings, scheduler=scheduler)).decode("utf-8")


def write_textfile_for(settings: Settings) -> None:
    """After a run: refresh ``SYNCER_METRICS_TEXTFILE`` if set. A failure is logged, never raised: metrics
    must not fail a sync that succeeded."""
    if settings.metrics_textfile is None:
        return
    try:
        settings.metrics_textfile.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(settings.metrics_textfile), registry_for(settings))
    except Exception as exc:
        log.warning("cannot write the metrics textfile %s: %s", settings.metrics_textfile, exc)


class MetricsServer:
    """``GET /metrics``: the store's metrics (as in the textfile) plus the scheduler's own counters."""

    def __init__(self, settings: Settings, scheduler: Any, *, host: str, port: int) -> None:
        self.registry = registry_for(settings, scheduler=scheduler)
        self.host, self.requested_port = host, port
        self.server: Any = None
        self.port = port

    def start(self) -> MetricsServer:
        self.server, _thread = start_http_server(self.requested_port, addr=self.host, registry=self.registry)
        self.port = int(self.server.server_port)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
