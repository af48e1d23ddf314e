"""The words a run, a model and a snapshot can be in: one ``StrEnum`` each, stored and printed as is.

A ``StrEnum`` member *is* its string (``RunOutcome.OK == "ok"``), so the store's columns, the JSON reports and
the metrics labels keep the same words; the code just cannot misspell them.
"""

from __future__ import annotations

from enum import StrEnum


class RunOutcome(StrEnum):
    """How a sync run ended (``sync_runs.outcome``)."""

    RUNNING = "running"  # not finished (or its holder died: the next run relabels it interrupted)
    OK = "ok"  # published; every model resolved
    PARTIAL = "partial"  # published; some models failed and kept their last good facts
    HELD = "held"  # the publish guard held the change; nothing published
    ERROR = "error"  # aborted before publishing
    INTERRUPTED = "interrupted"  # its process died mid-run
    LOST_LOCK = "lost_lock"  # lost the single-runner lock mid-run; stopped before its next write or rename

    @classmethod
    def completed(cls) -> tuple[RunOutcome, ...]:
        """The outcomes of a run that published its snapshots."""
        return (cls.OK, cls.PARTIAL)


class ModelStatus(StrEnum):
    """What one run did with one model (``listing_entries.status`` and the report)."""

    SYNCED = "synced"  # fresh facts from the Hub, different from the stored ones
    UNCHANGED = "unchanged"  # fresh facts, equal to the stored ones
    FAILED = "failed"  # the lookup failed; the model keeps its last good facts
    UNRESOLVED = "unresolved"  # the lookup failed and there are no last good facts: not listed
    SKIPPED = "skipped"  # not looked up this run (--only, or the run was stopped)
    DROPPED = "dropped"  # gone from the Hub for longer than the stale policy allows

    @classmethod
    def failures(cls) -> tuple[ModelStatus, ...]:
        return (cls.FAILED, cls.UNRESOLVED, cls.DROPPED)


class SnapshotState(StrEnum):
    """A row of ``published_snapshots``."""

    PUBLISHED = "published"  # written to the snapshot folder by a run
    HELD = "held"  # stopped by the publish guard, never written
    ROLLBACK = "rollback"  # an earlier snapshot written again by `syncer snapshot rollback`
    APPROVED = "approved"  # held, then published unchanged by `sync now --approve` (see its published row)
    REJECTED = "rejected"  # held, never published: a later run, approval or rollback replaced it

    @classmethod
    def live(cls) -> tuple[SnapshotState, ...]:
        """The states of a snapshot that was written to the folder."""
        return (cls.PUBLISHED, cls.ROLLBACK)


class Trigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
