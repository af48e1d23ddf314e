"""``syncer schedule``: the long-running worker. An APScheduler 3.x scheduler runs the sync on a cron.

* Jobs are defined here, in code, in the in-memory job store: no pickled job state in the database.
* ``coalesce=True``, ``max_instances=1`` and a misfire grace: ticks missed while the process was busy or
  asleep run once, late, instead of once each; a tick that comes while a run is still going is skipped.
* Every run (scheduled or ``sync now``) takes the same single-runner lock: a tick that finds it held (an
  operator's ``sync now``, another replica) is skipped with a log line, and the scheduler carries on.
* SIGTERM/SIGINT set a stop event: the run in progress starts no new Hub lookup, finishes the lookups in
  flight (each bounded by ``SYNCER_HUB_TIMEOUT`` and ``SYNCER_HUB_MODEL_DEADLINE``), commits, publishes,
  and the process exits 0. If that takes longer than ``SYNCER_STOP_GRACE`` the process exits 1 anyway (the
  lock dies with it; the next run records the unfinished one as interrupted). A second signal exits at once.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from syncer.errors import LockHeldError, SyncerError
from syncer.ops.metrics import MetricsServer
from syncer.ops.run import run_and_record, run_record
from syncer.settings import Settings, parse_schedule
from syncer.states import Trigger

__all__ = [
    "JOB_ID",
    "MetricsServer",
    "SyncScheduler",
    "parse_schedule",
    "run_and_record",
    "run_record",
    "serve",
]

log = logging.getLogger("syncer.schedule")

JOB_ID = "sync"
EX_STOP_TIMEOUT = 1  # the run did not finish within SYNCER_STOP_GRACE
EX_FORCED = 130  # a second SIGTERM/SIGINT


# -- the scheduler -----------------------------------------------------------------------------------------
class SyncScheduler:
    """A BackgroundScheduler with one job, the sync; ``stop_event`` is what the running sync watches."""

    def __init__(
        self,
        settings: Settings,
        *,
        trigger: BaseTrigger | None = None,
        sync: Callable[[threading.Event], object] | None = None,
    ) -> None:
        self.settings = settings
        self.stop_event = threading.Event()
        self.ticks: Counter[str] = Counter()  # ran, lock_held, error, overlap, missed
        self.last_report: Any = None
        self._sync = sync or self._default_sync
        self._state = threading.Lock()
        self._running = 0
        self._idle = threading.Condition(self._state)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            timezone=UTC,
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self.scheduler.add_job(
            self._tick,
            trigger or parse_schedule(settings.schedule),
            id=JOB_ID,
            name="sync",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, round(settings.schedule_misfire_grace)),
            replace_existing=True,
        )

    # lifecycle
    def start(self, *, run_now: bool = False, paused: bool = False) -> None:
        self.scheduler.start(paused=paused)
        if run_now:
            self.scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))
        log.info("scheduler started (%s); next run at %s", self.settings.schedule, self.next_run_time())

    def next_run_time(self) -> datetime | None:
        job = self.scheduler.get_job(JOB_ID)
        return getattr(job, "next_run_time", None) if job is not None else None

    @property
    def running(self) -> bool:
        with self._state:
            return self._running > 0

    def stop(self, grace: float) -> bool:
        """Stop ticking, tell the run in progress to wind down, wait up to ``grace`` seconds for it.
        Returns whether no run is left in progress."""
        with self._state:
            self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout=grace)

    # the job
    def _tick(self) -> None:
        with self._state:
            if self.stop_event.is_set():
                return
            self._running += 1
        try:
            self.last_report = self._sync(self.stop_event)
            self.ticks["ran"] += 1
        except LockHeldError as exc:
            self.ticks["lock_held"] += 1
            log.warning("scheduled sync skipped: %s", exc)
        except SyncerError as exc:
            self.ticks["error"] += 1
            log.error("scheduled sync failed: %s", exc)
        except Exception:
            self.ticks["error"] += 1
            log.exception("scheduled sync crashed; the scheduler carries on")
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _default_sync(self, stop: threading.Event) -> object:
        return run_and_record(settings=self.settings, trigger=Trigger.SCHEDULE, stop=stop)

    def _on_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        if event.code == EVENT_JOB_MAX_INSTANCES:
            self.ticks["overlap"] += 1
            log.warning("tick skipped: the previous scheduled run is still going")
        elif event.code == EVENT_JOB_MISSED:
            self.ticks["missed"] += 1
            log.warning("tick missed by more than the misfire grace; waiting for the next one")


# -- the process -----------------------------------------------------------------------------------------
def serve(
    settings: Settings,
    *,
    run_now: bool = False,
    metrics_port: int | None = None,
    metrics_host: str = "0.0.0.0",  # noqa: S104 - scraped from outside the pod/host
    port_file: Path | None = None,
) -> int:
    """Run the scheduler until SIGTERM/SIGINT; returns the exit status (0 after a clean stop)."""
    scheduler = SyncScheduler(settings)
    signals = {"count": 0}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals["count"] += 1
        if signals["count"] > 1:
            log.error("second %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(EX_FORCED)
        log.info("%s: stopping after the current model(s)", signal.Signals(signum).name)
        scheduler.stop_event.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    metrics: MetricsServer | None = None
    try:
        if metrics_port is not None:
            metrics = MetricsServer(settings, scheduler, host=metrics_host, port=metrics_port).start()
            log.info("metrics on http://%s:%s/metrics", metrics_host, metrics.port)
            if port_file is not None:
                port_file.write_text(str(metrics.port))
        scheduler.start(run_now=run_now)
        while not scheduler.stop_event.wait(0.5):
            pass
        clean = scheduler.stop(settings.stop_grace)
    finally:
        if metrics is not None:
            metrics.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not clean:
        log.error("the run did not finish within SYNCER_STOP_GRACE=%ss; exiting anyway", settings.stop_grace)
        logging.shutdown()
        os._exit(EX_STOP_TIMEOUT)  # the executor thread would otherwise keep the process alive
    log.info("scheduler stopped")
    return 0
