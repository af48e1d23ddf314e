"""The single-runner lock: one sync at a time across processes and hosts.

* PostgreSQL: a session-level advisory lock on a dedicated connection (never pooled, never
  transaction-level: those release silently). The session ends when the holder dies, and so does the lock.
* MariaDB/MySQL: ``GET_LOCK`` on a dedicated connection, same lifetime.
* SQLite: ``flock`` on a file beside the database; the kernel drops it when the holder dies.

Who holds it (host, pid, since when) is written beside the lock so a second run can say so.

A lock can be lost while its holder runs on: a failover or a pooler's idle timeout ends the PostgreSQL
session (``pg_terminate_backend``), a ``KILL`` ends the MariaDB connection, someone deletes the SQLite lock
file (a new run then creates and locks a new file at the same path). :meth:`HeldLock.check` tells: it asks
the lock's own connection whether it still holds the lock (the inode of our descriptor against the path's,
on SQLite) and raises :class:`~syncer.errors.LockLostError` when not. The store's fence (``sync_fence``)
does the rest: see :meth:`syncer.store.Store.check_fence`.
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

from syncer.errors import LockHeldError, LockLostError

LOCK_NAME = "syncer.sync"
# GET_LOCK names are server-wide on MariaDB/MySQL: scope ours to the database (two deployments sharing a
# server must not block each other). Names are limited to 64 characters.
_MYSQL_NAME_MAX = 64
# How long a second run keeps looking for the holder's description (a holder migrating a fresh database
# has not written its run row yet); it never takes the lock meanwhile.
DESCRIBE_WAIT = 5.0
_APP_NAME_PREFIX = "syncer-lock "
# pg_try_advisory_lock takes a bigint; a fixed key derived from the name keeps replicas agreeing.
PG_LOCK_KEY = int.from_bytes(LOCK_NAME.encode().ljust(8, b"\0")[:8], "big", signed=True)


def holder_description() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return "(holder unknown)"
    try:
        since = datetime.fromisoformat(str(holder["since"])).astimezone(UTC).strftime("%H:%M")
    except (KeyError, ValueError):
        since = "?"
    # The exact wording ("since HH:MM on HOST, pid N"), the clock named after it.
    return f"since {since} on {holder.get('host', '?')}, pid {holder.get('pid', '?')} (UTC)"


def mysql_lock_name(engine: Engine) -> str:
    return f"{LOCK_NAME}.{engine.url.database or ''}"[:_MYSQL_NAME_MAX]


def _sqlite_lock_path(engine: Engine) -> Path:
    database = make_url(str(engine.url)).database or ":memory:"
    if database == ":memory:":
        return Path(f"/tmp/syncer-memory-{os.getpid()}.lock")  # noqa: S108 - private in-memory db, one process
    return Path(database).with_name(Path(database).name + ".lock")


class HeldLock:
    """The lock as its holder has it: :meth:`check` says whether it still does."""

    def __init__(self, engine: Engine, *, connection: Any = None, fd: int | None = None,
                 path: Path | None = None) -> None:  # fmt: skip
        self.engine, self._connection, self._fd, self._path = engine, connection, fd, path
        self.released = False

    def check(self) -> None:
        """Raise LockLostError unless this process still holds the lock (a query on the lock's own
        connection; on SQLite, our descriptor's inode against the lock file's)."""
        if self.released:
            raise LockLostError("the lock was already released")
        if self._fd is not None and self._path is not None:
            try:
                ours, theirs = os.fstat(self._fd).st_ino, os.stat(self._path).st_ino
            except FileNotFoundError:
                raise LockLostError(f"the lock file {self._path} was deleted") from None
            except OSError as exc:
                raise LockLostError(f"cannot check the lock file {self._path}: {exc}") from exc
            if ours != theirs:
                raise LockLostError(f"the lock file {self._path} was replaced (another run may hold it now)")
            return
        backend = self.engine.url.get_backend_name()
        try:
            if backend == "postgresql":
                held = self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND objsubid = 1 AND pid = pg_backend_pid() "
                        "AND ((classid::bigint << 32) | objid::bigint) = :k"
                    ),
                    {"k": PG_LOCK_KEY},
                ).scalar()
            else:
                held = self._connection.execute(
                    text("SELECT IS_USED_LOCK(:n) = CONNECTION_ID()"), {"n": mysql_lock_name(self.engine)}
                ).scalar()
            self._connection.commit()
        except Exception as exc:  # the session is gone: killed, failed over, timed out
            cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise LockLostError(
                f"its database session ended ({cause[0][:200] if cause else type(exc).__name__})"
            ) from exc
        if not held:
            raise LockLostError("its database session no longer holds it")


@contextlib.contextmanager
def sync_lock(engine: Engine, *, wait: float = 0.0, poll: float = 0.5) -> Iterator[HeldLock]:
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
                        raise LockHeldError(
                            _describe(_retry_holder(lambda: _read_holder_file(path)))
                        ) from None
                    time.sleep(poll)
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder_description()).encode(), 0)
            handle = HeldLock(engine, fd=fd, path=path)
            try:
                yield handle
            finally:
                handle.released = True
        finally:
            os.close(fd)  # closing the descriptor drops the flock
        return

    connection = engine.connect()  # dedicated: held for the whole run, never returned mid-run
    try:
        while True:
            if backend == "postgresql":
                got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": PG_LOCK_KEY}).scalar()
            else:
                got = (
                    connection.execute(
                        text("SELECT GET_LOCK(:n, 0)"), {"n": mysql_lock_name(engine)}
                    ).scalar()
                    == 1
                )
            connection.commit()
            if got:
                break
            if time.monotonic() >= deadline:
                raise LockHeldError(_describe(_retry_holder(lambda: _server_holder(engine))))
            time.sleep(poll)
        if backend == "postgresql":
            # Say who we are on the lock's own session, so a second run can name us (pg_stat_activity).
            holder = holder_description()
            tag = f"{_APP_NAME_PREFIX}{int(time.time())} {holder['pid']} {holder['host']}"[:63]
            with contextlib.suppress(Exception):
                connection.execute(text("SELECT set_config('application_name', :v, false)"), {"v": tag})
                connection.commit()
        handle = HeldLock(engine, connection=connection)
        try:
            yield handle
        finally:
            handle.released = True
            with contextlib.suppress(Exception):
                if backend == "postgresql":
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
                else:
                    connection.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": mysql_lock_name(engine)})
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

    from syncer.states import RunOutcome
    from syncer.store.models import SyncRun

    with contextlib.suppress(Exception), Session(engine) as session:
        run = session.scalars(
            select(SyncRun).where(SyncRun.outcome == RunOutcome.RUNNING).order_by(SyncRun.id.desc()).limit(1)
        ).first()
        if run is not None:
            return {"host": run.host, "pid": run.pid, "since": run.started_at.isoformat()}
    return None


def _retry_holder(read: Any, wait: float = DESCRIBE_WAIT, poll: float = 0.2) -> dict[str, Any] | None:
    """Who holds the lock; a holder that just took it may not have said so yet: look again, briefly."""
    deadline = time.monotonic() + wait
    while True:
        holder: dict[str, Any] | None = read()
        if holder or time.monotonic() >= deadline:
            return holder
        time.sleep(poll)


def _server_holder(engine: Engine) -> dict[str, Any] | None:
    if engine.url.get_backend_name() == "postgresql":
        holder = _pg_holder(engine)
        if holder is not None:
            return holder
    return _running_holder(engine)


def _pg_holder(engine: Engine) -> dict[str, Any] | None:
    """The session holding our advisory lock, as it named itself in ``application_name``."""
    query = text(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
    )
    with contextlib.suppress(Exception), engine.connect() as conn:
        names = [str(n or "") for n in conn.execute(query, {"k": PG_LOCK_KEY}).scalars()]
        if not names:
            return None
        for name in names:
            if name.startswith(_APP_NAME_PREFIX):
                epoch, pid, host = [*name[len(_APP_NAME_PREFIX) :].split(" ", 2), "?", "?"][:3]
                with contextlib.suppress(ValueError):
                    since = datetime.fromtimestamp(int(epoch), UTC).isoformat()
                    return {"host": host, "pid": int(pid), "since": since}
    return None


def lock_holder(engine: Engine) -> dict[str, Any] | None:
    """Who holds the lock right now, without taking it (None when nobody does). For ``syncer status``."""
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_lock_path(engine)
        if not path.exists():
            return None
        return (_read_holder_file(path) or {}) if _sqlite_lock_taken(path) else None
    if backend == "postgresql":
        with engine.connect() as conn:
            held = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                    "AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": PG_LOCK_KEY},
            ).scalar()
        return (_server_holder(engine) or {}) if held else None
    with engine.connect() as conn:
        used = conn.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": mysql_lock_name(engine)}).scalar()
    return (_running_holder(engine) or {}) if used is not None else None


def describe_holder(holder: dict[str, Any] | None) -> str:
    return _describe(holder)


def _sqlite_lock_taken(path: Path) -> bool:
    """Whether someone holds the flock on ``path``, without taking it when the kernel can tell us."""
    inode = path.stat().st_ino
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        lines = []
    else:
        for line in lines:
            fields = line.split()
            if "->" in fields:  # a waiter, not a holder
                continue
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
                return True
        return False
    # No /proc/locks: a shared lock conflicts only with a holder's exclusive one; dropped at once.
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
