"""The store's engine and schema state: one engine per URL, and the Alembic glue (head, current, upgrade).

The migrations are the top-level ``migrations/`` folder of the project; a wheel ships that folder as
``syncer/_migrations`` (see setup.py), and :data:`MIGRATIONS_DIR` is whichever of the two exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

from syncer.errors import DatabaseMissingError, SchemaAheadError, SchemaBehindError, StoreError
from syncer.store.models import Base


def _migrations_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    installed = package / "_migrations"  # an installed wheel
    if (installed / "env.py").is_file():
        return installed
    return package.parent / "migrations"  # a checkout (editable install)


MIGRATIONS_DIR = _migrations_dir()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for any supported URL; enforces a SQLite file's FKs.

    ``create``: a SQLite file (and its folder) is created when missing. Read-only commands pass False: a
    missing file is then a :class:`DatabaseMissingError`, and the file is opened ``mode=rw`` so that SQLite
    cannot create it either (PostgreSQL and MariaDB never create a database on connect).
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
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
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    head = script.get_current_head()
    if head is None:  # pragma: no cover - the project always ships a migration
        raise StoreError("no migrations found")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
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
    head = head_revision()
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
