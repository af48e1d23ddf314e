"""The single-runner lock: one sync at a time across processes and hosts.

* PostgreSQL: a session-level advisory lock on a dedicated connection (never pooled, never
  transaction-level: those release silently). The session ends when the holder dies, and so does the lock.
* MariaDB/MySQL: ``GET_LOCK`` on a dedicated connection, same lifetime.
* SQLite: ``flock`` on a file beside the database; the kernel drops it when the holder dies.

Who holds it (host, pid, since when) is written beside the lock so a second run can say so.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from syncer.errors import LockHeldError

LOCK_NAME = "syncer.sync"
# pg_try_advisory_lock takes a bigint; a fixed key derived from the name keeps replicas agreeing.
PG_LOCK_KEY = int.from_bytes(LOCK_NAME.encode().ljust(8, b"\0")[:8], "big", signed=True)


def holder_description() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "(holder unknown)"
    try:
        since = datetime.fromisoformat(str(holder["since"])).astimezone(UTC).strftime("%H:%M UTC")
    except (KeyError, ValueError):
        since = "?"
    return f"since {since} on {holder.get('host', '?')}, pid {holder.get('pid', '?')}"


def _sqlite_lock_path(engine: Engine) -> Path:
    database = make_url(str(engine.url)).database or ":memory:"
    if database == ":memory:":
        return Path(f"/tmp/syncer-memory-{os.getpid()}.lock")  # noqa: S108 - private in-memory db, one process
    return Path(database).with_name(Path(database).name + ".lock")


@contextlib.contextmanager
def sync_lock(engine: Engine, *, wait: float = 0.0, poll: float = 0.5) -> Iterator[None]:
    """Hold the lock for the body; raise LockHeldError (exit 75) if another run holds it past ``wait``."""
    backend = engine.url.get_backend_name()
    deadline = time.monotonic() + wait
    if backend == "sqlite":
        path = _sqlite_lock_path(engine)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockHeldError(_describe(_read_holder_file(path))) from None
                    time.sleep(poll)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder_description()).encode(), 0)
            yield
        finally:
            os.close(fd)  # closing the descriptor drops the flock
        return

    connection = engine.connect()  # dedicated: held for the whole run, never returned mid-run
    try:
        while True:
            if backend == "postgresql":
                got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
            else:
                got = connection.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": LOCK_NAME}).scalar() == 1
            connection.commit()
            if got:
                break
            if time.monotonic() >= deadline:
                raise LockHeldError(_describe(_running_holder(engine)))
            time.sleep(poll)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                if backend == "postgresql":
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                else:
                    connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": LOCK_NAME})
                connection.commit()
    finally:
        # Invalidate instead of returning to the pool: the session ends, and any lock with it.
        connection.invalidate()
        connection.close()


def _read_holder_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _running_holder(engine: Engine) -> dict[str, Any] | None:
    """The newest run still marked running: who holds the lock on a server database."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from syncer.db import SyncRun

    with contextlib.suppress(Exception), Session(engine) as session:
        run = session.scalars(
            select(SyncRun).where(SyncRun.outcome == "running").order_by(SyncRun.id.desc()).limit(1)
        ).first()
        if run is not None:
            return {"host": run.host, "pid": run.pid, "since": run.started_at.isoformat()}
    return None
