"""``syncer schedule``: cron parsing, coalescing, the lock, graceful stop, and a Hub that never answers."""

from __future__ import annotations

import itertools
import json
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_SUBMITTED
from conftest import MIRROR_REPOS
from test_lock import assert_snapshots_whole, runs, start_syncer, syncer_env, wait_until

from syncer.errors import SettingsError
from syncer.ops.schedule import JOB_ID, SyncScheduler, parse_schedule
from syncer.settings import load_settings
from syncer.store import make_engine
from syncer.store.lock import sync_lock

EVERY_SECOND = "* * * * * *"


# -- the cron expression ---------------------------------------------------------------------------------
def test_schedule_takes_five_fields_or_six_with_seconds_first():
    now = datetime(2030, 1, 7, 10, 7, 30, tzinfo=UTC)  # a Monday
    assert parse_schedule("*/30 * * * *").get_next_fire_time(None, now) == datetime(
        2030, 1, 7, 10, 30, tzinfo=UTC
    )
    assert parse_schedule("*/10 * * * * *").get_next_fire_time(None, now) == now
    assert parse_schedule("0 3 * * sat").get_next_fire_time(None, now) == datetime(
        2030, 1, 12, 3, 0, tzinfo=UTC
    )
    assert load_settings().schedule == "*/30 * * * *"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * * *", "5 fields"),
        ("* * * * * * *", "5 fields"),
        ("61 * * * *", "61"),
        ("0 3 * * 1-5", "names"),  # cron's 1 is Monday, APScheduler's is Tuesday: refused, not shifted
        ("0 3 * * 0", "names"),
    ],
)
def test_a_bad_schedule_is_refused_at_start_up(expression, problem, monkeypatch):
    with pytest.raises(ValueError, match=problem):
        parse_schedule(expression)
    monkeypatch.setenv("SYNCER_SCHEDULE", expression)
    with pytest.raises(SettingsError, match="SYNCER_SCHEDULE"):
        load_settings()


# -- in-process: coalescing and the lock -----------------------------------------------------------------
def test_missed_ticks_run_once_not_once_each(tmp_path):
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", schedule=EVERY_SECOND)
    calls: list[datetime] = []
    release = threading.Event()

    def fake_sync(stop: threading.Event) -> None:
        calls.append(datetime.now(UTC))
        release.wait(30)

    scheduler = SyncScheduler(settings, sync=fake_sync)
    submitted: list[list[datetime]] = []
    scheduler.scheduler.add_listener(
        lambda e: submitted.append(list(e.scheduled_run_times)), EVENT_JOB_SUBMITTED
    )
    job = scheduler.scheduler.get_job(JOB_ID)
    assert (job.coalesce, job.max_instances) == (True, 1)
    scheduler.start(paused=True)  # the process is "asleep": ticks go by unserved
    try:
        first_due = scheduler.next_run_time()
        assert first_due is not None
        wait_until(lambda: (datetime.now(UTC) - first_due).total_seconds() > 3.5, what="several missed ticks")
        scheduler.scheduler.resume()
        wait_until(lambda: calls, what="the late run")
        # The missed ticks (three or more) became one run; none was dropped as missed.
        assert len(calls) == 1
        assert len(submitted) == 1 and len(submitted[0]) == 1, submitted
        assert (scheduler.ticks["overlap"], scheduler.ticks["missed"]) == (0, 0)
        assert scheduler.next_run_time() > first_due
    finally:
        release.set()
        assert scheduler.stop(grace=30)


def test_a_tick_that_finds_the_lock_held_is_skipped_and_the_scheduler_carries_on(
    database_url, mirror, make_settings, caplog
):
    settings = make_settings(database_url=database_url, endpoint=mirror.url, schedule=EVERY_SECOND)
    engine = make_engine(database_url)
    scheduler = SyncScheduler(settings)
    caplog.set_level(logging.WARNING, logger="syncer.schedule")
    try:
        with sync_lock(engine):  # an operator's `sync now`, or another replica
            scheduler.start()
            wait_until(lambda: scheduler.ticks["lock_held"] >= 1, what="a tick to meet the lock")
            assert scheduler.ticks["ran"] == 0
        wait_until(lambda: scheduler.ticks["ran"] >= 1, timeout=90, what="a tick after the lock is free")
    finally:
        assert scheduler.stop(grace=60)
        engine.dispose()
    assert scheduler.ticks["error"] == 0
    assert any("scheduled sync skipped: another sync is running" in r.getMessage() for r in caplog.records)
    history = runs(database_url)
    assert history and {r.trigger for r in history} == {"schedule"}
    assert {r.outcome for r in history} == {"ok"}


# -- the real process -------------------------------------------------------------------------------------
def _stop(proc: Any, log: Any) -> int:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    assert "Traceback" not in log.read_text(), log.read_text()
    return code


def test_schedule_runs_and_stops_cleanly_on_sigterm_in_a_run(database_url, private_mirror, tmp_path):
    hub = private_mirror(MIRROR_REPOS, latency=0.5)
    env = syncer_env(
        database_url, hub.url, tmp_path, SYNCER_SCHEDULE=EVERY_SECOND, SYNCER_HUB_CONCURRENCY="1"
    )
    log = tmp_path / "schedule.log"
    proc = start_syncer("schedule", env=env, log=log)
    try:
        first = wait_until(
            lambda: [r for r in runs(database_url) if r.outcome == "ok"], timeout=120, what="a scheduled run"
        )[0]
        hub.reset()  # from here on the request log is the next run's
        wait_until(
            lambda: (
                any(r.outcome == "running" and r.id > first.id for r in runs(database_url)) and hub.requests()
            ),
            timeout=60,
            what="the next run to be busy with the Hub",
        )
    finally:
        code = _stop(proc, log)
    assert code == 0, log.read_text()

    history = runs(database_url)
    assert {r.trigger for r in history} == {"schedule"}
    assert [r.outcome for r in history] == ["ok"] * len(history), (
        "the stopped run committed; none left running"
    )
    stopped = history[-1]
    assert stopped.message and "stopped early" in stopped.message, stopped.message
    assert stopped.synced + stopped.unchanged < 6, "models not yet looked up were left for the next run"
    for earlier, later in itertools.pairwise(history):
        assert later.started_at >= earlier.finished_at, "ticks coalesce: never two runs at once"
    assert_snapshots_whole(tmp_path / "snapshots")
    assert len(json.loads((tmp_path / "snapshots" / "catalog.json").read_bytes())["data"]) == 6


def test_a_hub_call_that_never_answers_cannot_wedge_the_scheduler(database_url, private_mirror, tmp_path):
    hub = private_mirror(MIRROR_REPOS)
    hub.set_faults({"microsoft/phi-4": {"mode": "hang", "seconds": 3600}})
    env = syncer_env(
        database_url,
        hub.url,
        tmp_path,
        SYNCER_SCHEDULE=EVERY_SECOND,
        SYNCER_HUB_TIMEOUT="0.5",
        SYNCER_HUB_MODEL_DEADLINE="1.5",
        SYNCER_HUB_RETRIES="1",
    )
    log = tmp_path / "schedule.log"
    proc = start_syncer("schedule", env=env, log=log)
    try:
        done = wait_until(
            lambda: [r for r in runs(database_url) if r.finished_at is not None][:2] if len(
                [r for r in runs(database_url) if r.finished_at is not None]) >= 2 else None,
            timeout=120,
            what="two scheduled runs past the hanging repo",
        )  # fmt: skip
    finally:
        code = _stop(proc, log)
    assert code == 0, log.read_text()
    for run in done:
        assert (run.outcome, run.synced + run.unchanged, run.failed) == ("partial", 5, 1)
        assert run.errors["phi-4"]["kind"] == "transient"
    assert_snapshots_whole(tmp_path / "snapshots")
