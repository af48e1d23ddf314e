"""The house's standard catalog view (``catalog.json``, ``GET /v1/models``): OpenAI's list shape.

Each entry is OpenAI's model object (``id``, ``object``, ``created``, ``owned_by``: required) plus the
catalog fields model databases read. The view may grow without breaking its readers, so other keys are
admitted; the fields it lists obey :data:`ENTRY`, the rules of both :func:`validate_catalog_document` and
:func:`entry_schema`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncer.formats.rules import (
    LISTED_WORD,
    Boolean,
    Field,
    Integer,
    Items,
    Map,
    Number,
    ObjectOrList,
    OneOf,
    Problems,
    Record,
    Scalar,
    Text,
    entry_problems,
    listing_problems,
    model_where,
)
from syncer.formats.vocabulary import (
    CATALOG_FEATURE_ALIASES,
    CATALOG_FEATURES,
    DATE_PATTERN,
    HF_ID_OR_EMPTY_PATTERN,
    PRICE_PATTERN,
    PRICE_UNITS,
    TIER_THRESHOLD_KEY,
    Category,
    CountryCode,
    InputModality,
    OutputModality,
    ParameterType,
    Quantization,
    Status,
)

AMOUNT = Text(
    message="{where}: {key} {value!r} is not a plain decimal string",
    pattern=PRICE_PATTERN,
    example="0.00000009",
)

_UNITS = "; ".join(f"{key}: {unit}" for key, unit in PRICE_UNITS.items())


def _tier(*, later: bool) -> Record:
    fields = [Field(key, AMOUNT, description=unit) for key, unit in PRICE_UNITS.items()]
    if later:
        fields.append(
            Field(
                TIER_THRESHOLD_KEY,
                Integer(minimum=1),
                required=True,
                description="the tier applies to requests whose prompt is longer than this many tokens",
            )
        )
    return Record(
        fields,
        unknown_message="{where}: unknown pricing key {value!r}",
        missing_message="{where}: {key} has no {value!r}",
        description=(
            "prices as plain decimal strings (the same exact strings as the OpenRouter view); " + _UNITS
        ),
    )


PRICING = ObjectOrList(single=_tier(later=False), first=_tier(later=False), rest=_tier(later=True))

PARAMETER = Record(
    [
        Field("name", Text(min_length=1), required=True),
        Field("type", OneOf(ParameterType), required=True),
        Field("default", Scalar()),
        Field("min", Number()),
        Field("max", Number()),
        Field("options", Items(Text())),
    ],
    closed=False,
    description="one request parameter: its JSON type, default and bounds",
)
_NON_EMPTY = "{where}: {key} must be a non-empty string"

ENTRY = Record(
    [
        Field("id", Text(message="{where}: id must be a non-empty string", min_length=1), required=True),
        Field("object", OneOf(("model",), message='{where}: object must be "model"'), required=True),
        Field(
            "created",
            Integer(message="{where}: created must be whole Unix seconds"),
            required=True,
            description="Unix seconds",
        ),
        Field("owned_by", Text(message=_NON_EMPTY, min_length=1), required=True),
        Field("display_name", Text()),
        Field("provider", Text(message=_NON_EMPTY, min_length=1)),
        Field(
            "hugging_face_id",
            Text(
                message="{where}: hugging_face_id {value!r} is not org/name", pattern=HF_ID_OR_EMPTY_PATTERN
            ),
        ),
        Field("quantization", OneOf(Quantization), nullable=True),
        Field("category", OneOf(Category)),
        Field("input_modalities", Items(OneOf(InputModality, message=LISTED_WORD), nonempty=True)),
        Field("output_modalities", Items(OneOf(OutputModality, message=LISTED_WORD), nonempty=True)),
        Field("context_length", Integer(minimum=1), nullable=True),
        Field("max_output_tokens", Integer(minimum=1), nullable=True),
        Field(
            "model_released_at",
            Text(message="{where}: {key} {value!r} is not YYYY-MM-DD", pattern=DATE_PATTERN),
            nullable=True,
            description="YYYY-MM-DD",
        ),
        Field(
            "pricing",
            PRICING,
            description=(
                "one object {key: decimal string}, or with long-context tiers a list of them: the base tier"
                f" first, each later one with its {TIER_THRESHOLD_KEY}. Units: {_UNITS}"
            ),
        ),
        Field("capabilities", Map(Boolean())),
        Field(
            "features",
            Items(OneOf(CATALOG_FEATURES, message=LISTED_WORD)),
            description=(
                "the OpenRouter view's supported_features, in its order, then the aliases model databases"
                " read: "
                + ", ".join(f"{alias} (with {word})" for word, alias in CATALOG_FEATURE_ALIASES.items())
            ),
        ),
        Field(
            "supported_parameters",
            Items(PARAMETER, unique_by="name"),
            description="the request parameters, names unique",
        ),
        Field(
            "served_from",
            Items(OneOf(CountryCode, message=LISTED_WORD)),
            description="ISO 3166-1 alpha-2 codes",
        ),
        Field("status", OneOf(Status)),
        Field("stale_since", Text(), description="when the Hub facts went stale (UTC)"),
    ],
    closed=False,
    missing_message=None,
    check_missing=True,
    description="one catalog entry: the OpenAI model object plus the provider's catalog fields",
)

DOCUMENT_MESSAGE = 'the document must be {"object": "list", "data": [...]}'


def validate_catalog_entry(entry: Mapping[str, Any]) -> Problems:
    """Every rule one entry must obey; returns the problems (empty when valid)."""
    return entry_problems(ENTRY, entry)


def validate_catalog_document(document: object, *, entries: bool = True) -> Problems:
    """The OpenAI-compatible list shape of ``catalog.json``, every entry obeying :data:`ENTRY`. With ``entries`` False, the
    document's own rules only: its shape, unique ids, order (each entry was validated when it was made)."""
    if (
        not isinstance(document, Mapping)
        or document.get("object") != "list"
        or not isinstance(document.get("data"), list)
    ):
        return [DOCUMENT_MESSAGE]
    return listing_problems(document["data"], ENTRY if entries else None, where=model_where)


def entry_schema() -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.0) of one entry."""
    return ENTRY.schema()


def document_schema(entry_ref: str) -> dict[str, Any]:
    """JSON Schema of the whole list, its entries given by ``entry_ref`` (a ``$ref`` target)."""
    return {
        "type": "object",
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": {"$ref": entry_ref}},
        },
        "required": ["object", "data"],
    }
