"""The listing formats, written once: their vocabulary and, built from it, each document's validator and
JSON Schema. Imports nothing but the standard library (the read-only HTTP server imports it).

- :mod:`syncer.formats.vocabulary`: the shared words (modalities, quantizations, features, sampling
  parameters, pricing keys, country codes, patterns) and the exact price functions;
- :mod:`syncer.formats.rules`: field rules that both check a value and state it as JSON Schema;
- :mod:`syncer.formats.openrouter`: OpenRouter's flat listing (``openrouter.json``);
- :mod:`syncer.formats.catalog_view`: the house's catalog view (``catalog.json``).
"""

from syncer.formats import catalog_view, openrouter
from syncer.formats.catalog_view import validate_catalog_document
from syncer.formats.openrouter import validate_openrouter_document, validate_openrouter_entry
from syncer.formats.vocabulary import (
    CATALOG_FEATURE_ALIASES,
    CATALOG_FEATURES,
    DATE_PATTERN,
    DEPRECATION_DATE_PATTERN,
    DEPRECATION_DATE_RE,
    HF_ID_OR_EMPTY_PATTERN,
    HF_ID_PATTERN,
    HF_ID_RE,
    ISO_COUNTRY_CODES,
    MODEL_ID_PATTERN,
    MODEL_ID_RE,
    PRICE_PATTERN,
    PRICE_RE,
    PRICE_UNITS,
    REQUIRED_PRICING_KEYS,
    SLUG_PATTERN,
    TIER_THRESHOLD_KEY,
    UNIX_SECONDS_MAX,
    UNIX_SECONDS_MIN,
    Category,
    CountryCode,
    Feature,
    InputModality,
    OutputModality,
    ParameterType,
    PricingKey,
    Quantization,
    SamplingParameter,
    Status,
    format_price,
    parse_price,
)

__all__ = [
    "CATALOG_FEATURES",
    "CATALOG_FEATURE_ALIASES",
    "DATE_PATTERN",
    "DEPRECATION_DATE_PATTERN",
    "DEPRECATION_DATE_RE",
    "HF_ID_OR_EMPTY_PATTERN",
    "HF_ID_PATTERN",
    "HF_ID_RE",
    "ISO_COUNTRY_CODES",
    "MODEL_ID_PATTERN",
    "MODEL_ID_RE",
    "PRICE_PATTERN",
    "PRICE_RE",
    "PRICE_UNITS",
    "REQUIRED_PRICING_KEYS",
    "SLUG_PATTERN",
    "TIER_THRESHOLD_KEY",
    "UNIX_SECONDS_MAX",
    "UNIX_SECONDS_MIN",
    "Category",
    "CountryCode",
    "Feature",
    "InputModality",
    "OutputModality",
    "ParameterType",
    "PricingKey",
    "Quantization",
    "SamplingParameter",
    "Status",
    "catalog_view",
    "format_price",
    "openrouter",
    "parse_price",
    "validate_catalog_document",
    "validate_openrouter_document",
    "validate_openrouter_entry",
]
