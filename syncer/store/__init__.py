"""The store room: the SQL models, every query, the single-runner lock and the migrations' glue.

Its one door is :class:`Store` (``with Store.open(url) as store: ...``); nothing outside this package writes
SQL or opens a session. The engine and Alembic helpers are re-exported for ``syncer db`` and the tests.
"""

from __future__ import annotations

from syncer.store.queries import (
    FactsUpdate,
    HubLedger,
    Prior,
    SnapshotRecord,
    Store,
    StoredMerged,
    facts_from_row,
)
from syncer.store.schema import (
    MIGRATIONS_DIR,
    check_schema,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)

__all__ = [
    "MIGRATIONS_DIR",
    "FactsUpdate",
    "HubLedger",
    "Prior",
    "SnapshotRecord",
    "Store",
    "StoredMerged",
    "check_schema",
    "current_revision",
    "facts_from_row",
    "head_revision",
    "make_engine",
    "upgrade",
]
