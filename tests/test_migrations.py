"""pytest-alembic's built-in migration tests, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from syncer.store import MIGRATIONS_DIR, current_revision, head_revision, make_engine, upgrade

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]


@pytest.fixture
def alembic_config() -> dict[str, str]:
    return {"script_location": str(MIGRATIONS_DIR)}


@pytest.fixture
def alembic_engine(database_url: str) -> Iterator[sa.Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_upgrade_then_current_is_head(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        names = set(sa.inspect(engine).get_table_names())
        assert {"catalog_entries", "model_prices", "hub_facts", "listing_entries", "sync_runs"} <= names
        # The naming convention reaches the database: constraint names are predictable.
        checks = {c["name"] for c in sa.inspect(engine).get_check_constraints("model_prices")}
        assert "ck_model_prices_amount_non_negative" in checks
    finally:
        engine.dispose()


def test_alembic_ini_points_at_the_migrations() -> None:
    text = (Path(__file__).resolve().parent.parent / "alembic.ini").read_text()
    assert "script_location = %(here)s/migrations" in text
