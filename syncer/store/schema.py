"""The store's engine and schema state: one engine per URL, and the Alembic glue (head, current, upgrade).

The migrations are the top-level ``migrations/`` folder of the project; a wheel ships that folder as
``syncer/_migrations`` (see setup.py), and :data:`MIGRATIONS_DIR` is whichever of the two exists.

Alembic is imported only when it is needed: the every-run check "the schema is at head" reads
``alembic_version`` with a plain query and the head from the ``revision = "..."`` / ``down_revision = ...``
lines of the version files (:func:`_parsed_head`). Only when the two differ (a fresh database to migrate, a
schema behind or ahead) does :func:`check_schema` ask Alembic, whose own walk decides behind from ahead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from syncer.errors import DatabaseMissingError, SchemaAheadError, SchemaBehindError, StoreError
from syncer.store.models import Base

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py does not change it


def _migrations_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    installed = package / "_migrations"  # an installed wheel
    if (installed / "env.py").is_file():
        return installed
    return package.parent / "migrations"  # a checkout (editable install)


MIGRATIONS_DIR = _migrations_dir()


class JSONText(str):
    """A JSON column's value already encoded (``syncer.listing.Merged.texts``): written as this text,
    not encoded again. Any other value of a JSON column is encoded by ``json.dumps``, as SQLAlchemy's own
    default does."""

    __slots__ = ()


def _json_serializer(value: Any) -> str:
    # The engine's serializer for every JSON column (SQLAlchemy's default is json.dumps): a cold run of
    # 1,000 models spent 0.08 s encoding entries it had encoded already (for the digest and the files).
    return str.__str__(value) if type(value) is JSONText else json.dumps(value)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for any supported URL; enforces a SQLite file's FKs.

    ``create``: a SQLite file (and its folder) is created when missing. Read-only commands pass False: a
    missing file is then a :class:`DatabaseMissingError`, and the file is opened ``mode=rw`` so that SQLite
    cannot create it either (PostgreSQL and MariaDB never create a database on connect).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True, "json_serializer": _json_serializer}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            if create:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            else:
                if not Path(database).is_file():
                    raise DatabaseMissingError(database)
                parsed = parsed.set(
                    database=f"file:{Path(database).resolve()}",
                    query={**parsed.query, "mode": "rw", "uri": "true"},
                )
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


_REVISION_LINE = re.compile(
    r'^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|\'([^\']*)\'|(None))\s*$', re.M
)


def _parsed_head() -> str | None:
    """The head revision read from the version files' ``revision`` / ``down_revision`` lines, without
    Alembic; None when the files are not the simple linear chain this parser reads (a merge revision, a
    ``down_revision`` that is not one string or None, two heads): then the caller asks Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    files = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    for path in files:
        found: dict[str, str | None] = {}
        for match in _REVISION_LINE.finditer(path.read_text(encoding="utf-8")):
            name, double, single, none = match.groups()
            found[name] = None if none else (double if double is not None else single)
        if "revision" not in found or found["revision"] is None or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    linear = len(revisions) == len(files) and parents <= revisions
    return heads.pop() if len(heads) == 1 and linear else None


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:  # pragma: no cover - the project always ships a migration
        raise StoreError("no migrations found")
    return head


def head_revision() -> str:
    return _parsed_head() or _alembic_head()


def current_revision(engine: Engine) -> str | None:
    """The database's revision: a plain read of ``alembic_version`` (None when the table is missing or
    empty). More than one row (a branched history) is left to Alembic, which raises its own error."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(rows) <= 1:
            return rows[0] if rows else None
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, revision)
        except CommandError as exc:  # an unknown revision, a broken script folder
            raise StoreError(f"cannot migrate the database to {revision}: {exc}") from exc


def check_schema(engine: Engine, *, create_if_empty: bool) -> None:
    """Refuse to run on a schema behind or ahead of the code; migrate a fresh database if asked."""
    current = current_revision(engine)
    if current is not None and current == _parsed_head():
        return  # the every-run case: at head, decided without importing Alembic
    from alembic.script import ScriptDirectory

    head = _alembic_head()
    if current == head:
        return
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise SchemaAheadError(current, head)
    if current is None and create_if_empty:
        tables = set(inspect(engine).get_table_names())
        if not tables & set(Base.metadata.tables):
            upgrade(engine)
            return
    raise SchemaBehindError(current, head)
