"""The SQL store's schema: SQLAlchemy 2 typed models, one naming convention, portable types.

SQLite, PostgreSQL and MariaDB/MySQL are all first-class. Two types keep them equal:
:class:`ExactDecimal` (prices never pass through a binary float, SQLite included) and :class:`UTCDateTime`
(timezone-aware in Python, naive UTC in every database, microseconds kept on MariaDB).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from syncer.formats import format_price
from syncer.states import SnapshotState

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODEL_ID = String(200)


class LongText(TypeDecorator[str]):
    """TEXT, and LONGTEXT on MySQL/MariaDB (whose TEXT stops at 64 KiB). A TypeDecorator rather than
    ``Text().with_variant(mysql.LONGTEXT(), ...)`` so that the MySQL dialect is imported only when the URL
    uses it (start-up time; see the README's Performance section)."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.LONGTEXT())
        return self.impl_instance


LONG_TEXT = LongText()


class ExactDecimal(TypeDecorator[Decimal]):
    """NUMERIC(38, 18) where the database has exact decimals; canonical decimal text on SQLite."""

    impl = Numeric(38, 18)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(64))
        return dialect.type_descriptor(Numeric(38, 18, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"prices must be Decimal, got {type(value).__name__}")
        return format_price(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(format_price(Decimal(str(value))))


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime()
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects import mysql

            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CatalogEntry(Base):
    """One model of the house catalog as last loaded (prices in :class:`ModelPrice`)."""

    __tablename__ = "catalog_entries"

    model_id: Mapped[str] = mapped_column(MODEL_ID, primary_key=True)
    hugging_face_id: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str | None] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ModelPrice(Base):
    __tablename__ = "model_prices"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_non_negative"),)

    model_id: Mapped[str] = mapped_column(
        MODEL_ID, ForeignKey("catalog_entries.model_id", ondelete="CASCADE"), primary_key=True
    )
    price_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal())


class HubFacts(Base):
    """The last good facts of one model's checkpoint, the commit they came from, and its health."""

    __tablename__ = "hub_facts"

    model_id: Mapped[str] = mapped_column(
        MODEL_ID, ForeignKey("catalog_entries.model_id", ondelete="CASCADE"), primary_key=True
    )
    requested_repo: Mapped[str] = mapped_column(String(200))
    repo_id: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[str | None] = mapped_column(String(200))
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    repo_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gated: Mapped[str | None] = mapped_column(String(16))
    pipeline_tag: Mapped[str | None] = mapped_column(String(64))
    context_length: Mapped[int | None] = mapped_column(Integer)
    input_modalities: Mapped[list[str] | None] = mapped_column(JSON)
    output_modalities: Mapped[list[str] | None] = mapped_column(JSON)
    template_features: Mapped[list[str] | None] = mapped_column(JSON)
    provenance: Mapped[dict[str, str] | None] = mapped_column(JSON)
    #: the key of what the facts were derived from (commit, listed metadata, deriving code); see
    #: syncer.resolve.derivation_key. None for rows written before migration 0005: always re-derived.
    derived_from: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error_kind: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    stale_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ListingEntry(Base):
    """The merged record: catalog + Hub facts, as each snapshot shows it."""

    __tablename__ = "listing_entries"

    model_id: Mapped[str] = mapped_column(
        MODEL_ID, ForeignKey("catalog_entries.model_id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    openrouter_entry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    catalog_entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    provenance: Mapped[dict[str, str]] = mapped_column(JSON)
    warnings: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: the model in OpenRouter's 2.4 document (None: not listed there, or written before migration 0005)
    openrouter_v2_entry: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the key of what the entries were merged from (syncer.merge.merge_key); None: never reused
    merged_from: Mapped[str | None] = mapped_column(String(64))
    #: what a run reports of the entries (listed, context_length, input_modalities), read when they are reused
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: sha256 of the three entries as built (syncer.listing.Merged.digest); None: written before 0006
    entries_digest: Mapped[str | None] = mapped_column(String(64))


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index(None, "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    trigger: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    synced: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    hub_requests: Mapped[dict[str, int] | None] = mapped_column(JSON)
    message: Mapped[str | None] = mapped_column(Text)


class PublishedSnapshot(Base):
    """Every snapshot file ever published, so an earlier one can be republished."""

    __tablename__ = "published_snapshots"
    __table_args__ = (Index(None, "name", "published_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(LONG_TEXT)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    #: published (written to the snapshot folder), held (stopped by the publish guard) or rollback
    status: Mapped[str] = mapped_column(String(16), server_default=SnapshotState.PUBLISHED.value)
    note: Mapped[str | None] = mapped_column(Text)
    #: the key of every entry of the file and the code that rendered it (syncer.publish.views_key): a run
    #: with the same key would write these very bytes
    views_key: Mapped[str | None] = mapped_column(String(64))


class HubSpend(Base):
    """Hub requests spent, by kind and second (UTC): the 5-minute rate window every run of this database
    shares. Rows older than the window are pruned as new ones are written."""

    __tablename__ = "hub_spend"
    __table_args__ = (Index(None, "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    requests: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))


class SyncFence(Base):
    """The fencing token of the single-runner lock: one row, naming the run that took the lock last.

    ``Store.begin_run`` writes it (under the lock); every store write of a run and every rename of its
    publish first checks, in the same transaction, that the row still names that run (a conditional UPDATE,
    which also locks the row until the write commits). A run that lost its lock and was overtaken finds
    another run's id here, and stops."""

    __tablename__ = "sync_fence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: how many fenced writes and renames the holder made (the conditional UPDATE always changes the row)
    checks: Mapped[int] = mapped_column(Integer, default=0)
