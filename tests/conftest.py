"""Shared test setup.

huggingface_hub reads every ``HF_*`` variable once, at import time: the environment must be set here, before any
test module imports it, so that tests never talk to the real Hub, never use the developer's token or cache, and
never send telemetry.
"""

from __future__ import annotations

import os
import tempfile

_HF_HOME = tempfile.mkdtemp(prefix="syncer-tests-hf-home-")

for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
    os.environ.pop(_name, None)

os.environ.update(
    {
        "HF_HOME": _HF_HOME,  # no stored token, no shared cache
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "HF_HUB_DISABLE_SYMLINKS_WARNING": "1",
        "HF_HUB_OFFLINE": "0",
        "HF_ENDPOINT": "http://127.0.0.1:9",  # anything that forgets endpoint= fails fast instead of reaching the Hub
    }
)


# ---------------------------------------------------------------------------------------------------------
# Databases, the local Hub mirror and settings, shared by the integration tests.
# (Imports below run after the HF_* environment above is in place.)
# ---------------------------------------------------------------------------------------------------------
import shutil  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from syncer.settings import Settings, load_settings  # noqa: E402
from syncer_mirror import HubMirror  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIRROR_REPOS = PROJECT_ROOT / "mirror" / "repos"
EXAMPLE_CATALOG = PROJECT_ROOT / "config" / "catalog.toml"

SERVER_URLS = {
    "postgresql": os.environ.get(
        "SYNCER_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/syncer_test"
    ),
    "mariadb": os.environ.get("SYNCER_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/syncer_test"),
}
BACKENDS = ("sqlite", "postgresql", "mariadb")


def _ensure_database(url: str) -> None:
    """Create the test database on a server if it is missing. A server that is down fails loudly."""
    parsed = make_url(url)
    admin_db = "postgres" if parsed.get_backend_name() == "postgresql" else "mysql"
    admin = sa.create_engine(parsed.set(database=admin_db), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if parsed.get_backend_name() == "postgresql":
                exists = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
                ).scalar()
                if not exists:
                    conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
            else:
                conn.execute(
                    sa.text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` CHARACTER SET utf8mb4")
                )
    except sa.exc.OperationalError as exc:  # pragma: no cover - the run must not skip a database
        pytest.fail(f"{parsed.get_backend_name()} is not reachable at {parsed.host}:{parsed.port}: {exc}")
    finally:
        admin.dispose()


def wipe_database(url: str) -> None:
    """Drop every table (ours and alembic_version) so a test starts from an empty database."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server_databases() -> dict[str, str]:
    for url in SERVER_URLS.values():
        _ensure_database(url)
    return SERVER_URLS


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path, server_databases: dict[str, str]) -> str:
    """An empty database of each kind, in turn."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'syncer.store.models'}"
    url = server_databases[request.param]
    wipe_database(url)
    return url


@pytest.fixture(scope="session")
def hub_mirror() -> Iterator[HubMirror]:
    """The project's local Hub mirror over the real fixture repos, over real HTTP on 127.0.0.1."""
    with HubMirror(MIRROR_REPOS, control=True).start() as mirror:
        yield mirror


@pytest.fixture
def mirror(hub_mirror: HubMirror) -> HubMirror:
    hub_mirror.reset()
    return hub_mirror


@pytest.fixture
def repo_tree(tmp_path: Path) -> Callable[..., Path]:
    """Copy chosen fixture repos into a private folder a test may edit (a new commit, a deletion)."""

    def make(*repo_ids: str) -> Path:
        root = tmp_path / "repos"
        for repo_id in repo_ids:
            shutil.copytree(MIRROR_REPOS / repo_id, root / repo_id)
        return root

    return make


@pytest.fixture
def private_mirror() -> Iterator[Callable[[Path], HubMirror]]:
    started: list[HubMirror] = []

    def start(root: Path, **kwargs: Any) -> HubMirror:
        mirror = HubMirror(root, control=True, **kwargs).start()
        started.append(mirror)
        return mirror

    yield start
    for mirror in started:
        mirror.stop()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(*, database_url: str, endpoint: str, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "hf_endpoint": endpoint,
            "hf_hub_cache": tmp_path / "hf-cache",
            "snapshot_dir": tmp_path / "snapshots",
            "catalog": EXAMPLE_CATALOG,
            "hub_retry_backoff": 0.01,
            "hub_timeout": 5.0,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture(scope="session")
def migrated_engines(
    server_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, sa.Engine]]:
    """One database of each kind migrated to head once per session, for rollback-per-test tests."""
    from syncer.store import make_engine, upgrade

    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('db') / 'migrated.db'}"}
    for name, url in server_databases.items():
        # A database of its own: the per-test wiping of `database_url` must not touch it.
        parsed = make_url(url)
        rollback_url = parsed.set(database=f"{parsed.database}_rb").render_as_string(hide_password=False)
        _ensure_database(rollback_url)
        wipe_database(rollback_url)
        urls[name] = rollback_url
    engines = {name: make_engine(url) for name, url in urls.items()}
    for engine in engines.values():
        upgrade(engine)
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_session(request: pytest.FixtureRequest, migrated_engines: dict[str, sa.Engine]) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test (savepoints for commits)."""
    engine = migrated_engines[request.param]
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
