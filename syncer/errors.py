"""The one error hierarchy of syncer.

Every error the library raises on purpose derives from :class:`SyncerError` and carries the context an
operator needs (file, model id, field, repo, commit). The CLI turns them into messages and exit codes;
nothing below the CLI prints or exits.

    SyncerError
    ├── ConfigError                     bad input from the operator                     exit 2
    │   ├── SettingsError               a SYNCER_* variable is invalid
    │   └── CatalogError                the house catalog is invalid (one or many issues)
    ├── StoreError                      the SQL store cannot be used                    exit 2
    │   ├── StoreUnavailableError       the database cannot be reached or used          exit 69
    │   ├── SchemaBehindError           the database needs `syncer db upgrade`          exit 2
    │   └── SchemaAheadError            the database was migrated by newer code         exit 2
    ├── LockHeldError                   another sync holds the single-runner lock        exit 75
    ├── LockLostError                   this sync lost the lock mid-run: nothing committed
    │                                   or renamed after that (run recorded lost_lock)   exit 75
    ├── HubError                        one model's Hub lookup failed (kept per model)
    │   ├── HubNotFoundError            404/401: repo missing or no access (not proof of deletion)
    │   ├── HubGatedError               gated repo and our token has no access
    │   ├── HubRevisionError            the pinned revision or a file does not exist
    │   ├── HubTransientError           timeout, 5xx, 429, connection reset: worth retrying
    │   └── HubDataError                the Hub answered, but with data we refuse (malformed, oversized, absurd)
    │       └── HubBadBodyError         a truncated or garbled answer (worth another attempt)
    ├── DerivationError                 a Hub file holds data the derivation refuses (kept per model)
    ├── PublishError                    a snapshot could not be built, validated or written
    │   ├── SnapshotWriteError          SYNCER_SNAPSHOT_DIR cannot hold the snapshots        exit 73
    │   ├── SnapshotInvalidError        the snapshot breaks the listing spec (never written)
    │   └── PublishHeldError            the publish guard held a suspicious change
    └── SnapshotRejectedError           `syncer serve`: a file on disk is unreadable or invalid (the last good
                                        one keeps being served)

Library errors are mapped into this tree at the room that meets them: SQLAlchemy's connection errors and
Alembic's command errors in :mod:`syncer.store`, huggingface_hub's and the HTTP client's in :mod:`syncer.hub`.

HubError subclasses never abort a run: the sync records them per model and keeps the model's last good
facts. Everything else aborts before anything is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SyncerError(Exception):
    """Base of every error syncer raises on purpose."""

    exit_code: int = 1


class ConfigError(SyncerError):
    exit_code = 2


class SettingsError(ConfigError):
    pass


@dataclass(frozen=True)
class CatalogIssue:
    """One problem in the house catalog, located precisely."""

    file: str
    model_id: str | None
    field: str | None
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.model_id is not None:
            where += f": model {self.model_id!r}"
        if self.field:
            where += f", field {self.field!r}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class CatalogError(ConfigError):
    """The catalog is invalid. Holds every issue found, so the operator fixes them in one pass."""

    def __init__(self, path: Path | str, issues: list[CatalogIssue]) -> None:
        self.path = str(path)
        self.issues = issues
        lines = [f"invalid catalog {self.path}: {len(issues)} problem(s)"]
        lines += [f"  - {issue}" for issue in issues]
        super().__init__("\n".join(lines))


class StoreError(SyncerError):
    exit_code = 2


class StoreUnavailableError(StoreError):
    """The database cannot be reached or used (down, missing, refused, lost mid-transaction)."""

    exit_code = 69  # EX_UNAVAILABLE (sysexits.h)

    def __init__(self, url: str, cause: str) -> None:
        self.url, self.cause = url, cause
        super().__init__(f"cannot use the database SYNCER_DATABASE_URL={url}: {cause}")


class DatabaseMissingError(StoreError):
    """A read-only command was pointed at a SQLite file that does not exist (it never creates one)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"no database at {path} (SYNCER_DATABASE_URL): run `syncer db upgrade` or `syncer sync now` "
            "to create it, or point SYNCER_DATABASE_URL at the existing one"
        )


class SchemaBehindError(StoreError):
    def __init__(self, current: str | None, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"database schema is at {current or 'an empty revision'}, code expects {head}: "
            "run `syncer db upgrade`"
        )


class SchemaAheadError(StoreError):
    def __init__(self, current: str, head: str) -> None:
        self.current, self.head = current, head
        super().__init__(
            f"schema ahead: the database is at revision {current}, which this version of syncer does "
            f"not know (its head is {head}); upgrade syncer before syncing"
        )


class RunInterruptedError(SyncerError):
    """``sync now`` was stopped (SIGINT/SIGTERM): the run is recorded ``interrupted``, nothing written."""

    exit_code = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

    def __init__(self, signal_name: str, looked_up: int, total: int) -> None:
        super().__init__(
            f"stopped by {signal_name} after looking up {looked_up} of {total} models; nothing was committed"
            " or published (the run is recorded interrupted)"
        )


class LockHeldError(SyncerError):
    exit_code = 75

    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(f"another sync is running {holder}; nothing done")


class LockLostError(SyncerError):
    """This run no longer holds the single-runner lock (its database session was killed, or the SQLite
    lock file replaced): it stops before its next store write or file rename, so whatever the run that
    took the lock over wrote stands. EX_TEMPFAIL, like LockHeldError: the next run simply goes again."""

    exit_code = 75

    def __init__(self, cause: str, *, run_id: int | None = None) -> None:
        self.cause, self.run_id = cause, run_id
        who = f"run {run_id}" if run_id is not None else "this run"
        super().__init__(
            f"{who} lost the sync lock: {cause}; nothing more was written or published by it "
            "(what another run wrote since stands)"
        )


class HubError(SyncerError):
    """A Hub lookup for one model failed. ``kind`` is a short stable word for reports and metrics."""

    kind = "hub_error"
    #: worth another attempt (timeouts, 5xx, 429, truncated bodies)
    retryable = False

    def __init__(
        self,
        reason: str,
        *,
        model_id: str | None = None,
        repo: str | None = None,
        revision: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.model_id, self.repo, self.revision = model_id, repo, revision
        self.status, self.retry_after = status, retry_after

    def __str__(self) -> str:
        context = [
            f"model {self.model_id!r}" if self.model_id else "",
            f"repo {self.repo}" if self.repo else "",
            f"revision {self.revision}" if self.revision else "",
        ]
        where = ", ".join(c for c in context if c)
        return f"{self.reason} ({where})" if where else self.reason


class HubNotFoundError(HubError):
    kind = "not_found"


class HubGatedError(HubError):
    kind = "gated_no_access"


class HubRevisionError(HubError):
    kind = "revision_not_found"


class HubTransientError(HubError):
    kind = "transient"
    retryable = True


class HubDataError(HubError):
    kind = "bad_data"


class DerivationError(SyncerError, ValueError):
    """The Hub files hold data we refuse (absurd values, wrong types); the message names the key."""


class HubBadBodyError(HubDataError):
    """A truncated or garbled answer: unlike refused data, worth another attempt."""

    kind = "bad_body"
    retryable = True


class PublishError(SyncerError):
    pass


class SnapshotWriteError(PublishError):
    """The snapshot folder cannot be used: not a directory, not writable, a file's name taken by a folder."""

    exit_code = 73  # EX_CANTCREAT (sysexits.h)

    def __init__(self, folder: Path | str, cause: str) -> None:
        self.folder, self.cause = str(folder), cause
        super().__init__(
            f"cannot write the snapshots to SYNCER_SNAPSHOT_DIR={self.folder}: {cause}; "
            "the published snapshots are untouched"
        )


class SnapshotRejectedError(SyncerError):
    """The file could not be read, is not JSON, or breaks the listing spec: the last good one stays."""


class SnapshotInvalidError(PublishError):
    def __init__(self, name: str, problems: list[str]) -> None:
        self.name, self.problems = name, problems
        super().__init__(
            f"refusing to publish {name}: {len(problems)} rule(s) of the listing spec broken:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


class PublishHeldError(PublishError):
    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            "publish held by the guard (run `syncer snapshot diff`, then `syncer sync now --approve`):\n"
            + "\n".join(f"  - {r}" for r in reasons)
        )
