"""Prices are exact decimals from the TOML file through every database to the JSON snapshot."""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from syncer.catalog import parse_catalog
from syncer.formats import PRICE_RE, format_price
from syncer.store.models import CatalogEntry, ModelPrice

# Non-negative, at most 18 decimal places, at most 20 integer digits: what the catalog admits.
prices = st.decimals(min_value=0, max_value=Decimal("99999999999999999999"), places=18, allow_nan=False,
                     allow_infinity=False).map(lambda d: Decimal(format_price(d)))  # fmt: skip


def _catalog_text(price: str) -> str:
    return f"""
[[models]]
id = "m"
hugging_face_id = "org/name"
max_output_length = 1
datacenters = ["JP"]
pricing = {{ prompt = "{price}", completion = "{price}" }}
"""


@given(price=prices)
def test_price_survives_toml_and_json_exactly(price: Decimal) -> None:
    text = format_price(price)
    assert PRICE_RE.match(text), text  # plain notation, never an exponent
    catalog = parse_catalog(tomllib.loads(_catalog_text(text)), path="catalog.toml")  # type: ignore[arg-type]
    parsed = catalog.models[0].pricing.prompt
    assert parsed == price
    assert Decimal(json.loads(json.dumps({"p": format_price(parsed)}))["p"]) == price


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=prices)
def test_price_survives_every_database_exactly(db_session: Session, price: Decimal) -> None:
    from datetime import UTC, datetime

    if db_session.get(CatalogEntry, "m") is None:
        now = datetime.now(UTC)
        db_session.add(CatalogEntry(model_id="m", hugging_face_id="org/name", revision=None, definition={},
                                    first_seen_at=now, updated_at=now))  # fmt: skip
        db_session.flush()
    db_session.execute(delete(ModelPrice))
    db_session.add(ModelPrice(model_id="m", price_key="prompt", amount=price))
    db_session.flush()
    db_session.expire_all()
    stored = db_session.scalars(select(ModelPrice.amount)).one()
    assert isinstance(stored, Decimal)
    assert stored == price
    assert format_price(stored) == format_price(price)


def test_known_awkward_prices() -> None:
    for text in ("0.00000009", "0.000000045", "0.1", "10", "0", "123456789.123456789012345678"):
        assert format_price(Decimal(text)) == text
    assert format_price(Decimal("0.000000090")) == "0.00000009"
    assert format_price(Decimal("9E-8")) == "0.00000009"
    assert format_price(Decimal("1E+1")) == "10"
