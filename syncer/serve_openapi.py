"""The OpenAPI document of `syncer serve`, written as data.

The OpenRouter entry schema is generated from the listing spec's constants (``syncer.spec``), so it cannot
drift from what the snapshot validator enforces. The catalog entry schema requires the OpenAI-compatible core
(``id``, ``object``, ``created``, ``owned_by``) and describes the further fields the catalog view carries;
it admits additional fields, because the catalog view may grow without breaking its readers.
"""

from __future__ import annotations

from typing import Any

from syncer import __version__
from syncer.spec import (
    ENTRY_KEYS,
    FEATURES,
    INPUT_MODALITIES,
    OUTPUT_MODALITIES,
    PRICING_KEYS,
    QUANTIZATIONS,
    REQUIRED_ENTRY_KEYS,
    REQUIRED_PRICING_KEYS,
    SAMPLING_PARAMETERS,
)

PRICE = {"type": "string", "pattern": r"^(0|[1-9][0-9]*)(\.[0-9]+)?$", "example": "0.00000009"}
REF = "#/components/schemas/"


def _unique_list(items: dict[str, Any], *, min_items: int = 0) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": items, "uniqueItems": True}
    if min_items:
        schema["minItems"] = min_items
    return schema


def _openrouter_model() -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "string", "description": "the model id callers pass to the API"},
        "hugging_face_id": {
            "type": "string",
            "pattern": r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?$",
            "description": "org/name on the Hub; empty only for a model not on the Hub",
        },
        "name": {"type": "string", "minLength": 1},
        "created": {"type": "integer", "minimum": 1_000_000_000, "maximum": 9_999_999_999},
        "input_modalities": _unique_list({"type": "string", "enum": list(INPUT_MODALITIES)}, min_items=1),
        "output_modalities": _unique_list({"type": "string", "enum": list(OUTPUT_MODALITIES)}, min_items=1),
        "quantization": {"type": "string", "enum": list(QUANTIZATIONS)},
        "context_length": {"type": "integer", "minimum": 1},
        "max_output_length": {"type": "integer", "minimum": 1, "description": "<= context_length"},
        "pricing": {
            "type": "object",
            "description": "USD as exact decimal strings; per token unless the key says otherwise",
            "properties": {key: PRICE for key in PRICING_KEYS},
            "required": list(REQUIRED_PRICING_KEYS),
            "additionalProperties": False,
        },
        "supported_sampling_parameters": _unique_list({"type": "string", "enum": list(SAMPLING_PARAMETERS)}),
        "supported_features": _unique_list({"type": "string", "enum": list(FEATURES)}),
        "is_ready": {"type": "boolean"},
        "openrouter": {
            "type": "object",
            "properties": {"slug": {"type": "string", "minLength": 1}},
            "required": ["slug"],
            "additionalProperties": False,
        },
        "datacenters": _unique_list(
            {
                "type": "object",
                "properties": {"country_code": {"type": "string", "pattern": "^[A-Z]{2}$"}},
                "required": ["country_code"],
                "additionalProperties": False,
            }
        ),
        "description": {"type": "string"},
        "deprecation_date": {
            "type": "string",
            "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T([01][0-9]|2[0-3]):00:00Z)?$",
        },
    }
    assert list(properties) == list(ENTRY_KEYS), "the OpenAPI document must list exactly the spec's keys"
    return {
        "type": "object",
        "description": "one entry of OpenRouter's provider listing format (shared/spec/listing-format.md)",
        "properties": properties,
        "required": list(REQUIRED_ENTRY_KEYS),
        "additionalProperties": False,
    }


def _catalog_model() -> dict[str, Any]:
    nullable_string = {"type": "string", "nullable": True}
    return {
        "type": "object",
        "description": "one catalog entry: the OpenAI model object plus the provider's catalog fields",
        "properties": {
            "id": {"type": "string"},
            "object": {"type": "string", "enum": ["model"]},
            "created": {"type": "integer", "description": "Unix seconds"},
            "owned_by": {"type": "string", "minLength": 1},
            "display_name": {"type": "string"},
            "provider": {"type": "string"},
            "hugging_face_id": {"type": "string"},
            "quantization": nullable_string,
            "category": {"type": "string"},
            "input_modalities": {"type": "array", "items": {"type": "string"}},
            "output_modalities": {"type": "array", "items": {"type": "string"}},
            "context_length": {"type": "integer", "nullable": True},
            "max_output_tokens": {"type": "integer", "nullable": True},
            "model_released_at": {**nullable_string, "description": "YYYY-MM-DD"},
            "pricing": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"amount": PRICE, "unit": {"type": "string"}},
                    "required": ["amount", "unit"],
                },
            },
            "capabilities": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "features": {"type": "array", "items": {"type": "string"}},
            "supported_parameters": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "type": {"type": "string"}},
                    "required": ["name"],
                },
            },
            "supported_sampling_parameters": {"type": "array", "items": {"type": "string"}},
            "served_from": {"type": "array", "items": {"type": "string"}},
            "status": {"type": "string", "enum": ["ready", "staging"]},
            "stale_since": {"type": "string", "description": "when the Hub facts went stale (UTC)"},
        },
        "required": ["id", "object", "created", "owned_by"],
        "additionalProperties": True,
    }


def _error() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "OpenAI's error shape",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "code": {"type": "string", "nullable": True},
                    "param": {"type": "string", "nullable": True},
                    "accepted": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["message", "type"],
            }
        },
        "required": ["error"],
    }


def _health() -> dict[str, Any]:
    loaded = {
        "type": "object",
        "properties": {
            "loaded": {"type": "boolean"},
            "file": {"type": "string"},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "etag": {"type": "string"},
            "models": {"type": "integer", "minimum": 0},
            "written_at": {"type": "string", "format": "date-time"},
            "age_seconds": {"type": "number", "minimum": 0},
            "loaded_at": {"type": "string", "format": "date-time"},
            "last_error": {
                "type": "string",
                "nullable": True,
                "description": "why the newest file on disk was not swapped in, if it was not",
            },
        },
        "required": ["loaded"],
    }
    return {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "problems": {"type": "array", "items": {"type": "string"}},
            "max_snapshot_age_seconds": {"type": "number", "nullable": True},
            "snapshots": {
                "type": "object",
                "properties": {"catalog": loaded, "openrouter": loaded},
                "required": ["catalog", "openrouter"],
            },
        },
        "required": ["status", "problems", "snapshots"],
    }


def _json(schema_name: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF + schema_name}}},
    }


CACHE_HEADERS = {
    "ETag": {"description": "the content hash of the body", "schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
    "Vary": {"schema": {"type": "string", "enum": ["Accept-Encoding"]}},
}
CONDITIONAL_PARAMETERS = [
    {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "ETags from an earlier response: 304 when one still matches",
        "schema": {"type": "string"},
    },
    {
        "name": "Accept-Encoding",
        "in": "header",
        "required": False,
        "description": "`gzip` gets the pre-compressed body",
        "schema": {"type": "string"},
    },
]


def openapi_document(*, protected: bool = False) -> dict[str, Any]:
    """The whole document. ``protected``: the OpenRouter view needs the bearer token (SYNCER_API_TOKEN)."""
    not_modified = {"description": "the If-None-Match ETag still matches; no body", "headers": CACHE_HEADERS}
    unavailable = _json("Error", "no snapshot of this view was loaded yet")
    list_responses: dict[str, Any] = {
        "200": {
            "description": "the catalog view (default) or the OpenRouter view (`format=openrouter`), "
            "the snapshot file byte for byte",
            "headers": CACHE_HEADERS,
            "content": {
                "application/json": {
                    "schema": {"oneOf": [{"$ref": REF + "CatalogList"}, {"$ref": REF + "OpenRouterListing"}]}
                }
            },
        },
        "304": not_modified,
        "400": _json("Error", "unknown `format`; the error lists the accepted values"),
        "503": unavailable,
    }
    if protected:
        list_responses["401"] = _json("Error", "`format=openrouter` without the right bearer token")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "syncer models API",
            "version": __version__,
            "description": "Read-only: the model listing snapshots published by `syncer sync`.",
        },
        "paths": {
            "/v1/models": {
                "get": {
                    "operationId": "listModels",
                    "summary": "the model listing",
                    "parameters": [
                        {
                            "name": "format",
                            "in": "query",
                            "required": False,
                            "description": "`catalog` (default): OpenAI-compatible list; `openrouter`: "
                            "OpenRouter's provider listing format"
                            + (" (needs `Authorization: Bearer <token>`)" if protected else ""),
                            "schema": {
                                "type": "string",
                                "enum": ["catalog", "openrouter"],
                                "default": "catalog",
                            },
                        },
                        *CONDITIONAL_PARAMETERS,
                    ],
                    **({"security": [{}, {"bearerAuth": []}]} if protected else {}),
                    "responses": list_responses,
                }
            },
            "/v1/models/{model_id}": {
                "get": {
                    "operationId": "retrieveModel",
                    "summary": "one catalog entry",
                    "parameters": [
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "description": "a model id; may contain `/`",
                            "schema": {"type": "string"},
                        },
                        *CONDITIONAL_PARAMETERS,
                    ],
                    "responses": {
                        "200": {
                            "description": "the catalog entry",
                            "headers": CACHE_HEADERS,
                            "content": {"application/json": {"schema": {"$ref": REF + "CatalogModel"}}},
                        },
                        "304": not_modified,
                        "404": _json("Error", "no model with this id"),
                        "503": unavailable,
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "summary": "snapshot age and hash",
                    "responses": {
                        "200": _json("Health", "both snapshots loaded and not older than the limit"),
                        "503": _json("Health", "a snapshot was never loaded or is older than the limit"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "this document",
                    "responses": {
                        "200": {"description": "OpenAPI 3.0", "content": {"application/json": {"schema": {}}}}
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "OpenRouterListing": {
                    "type": "object",
                    "properties": {"data": {"type": "array", "items": {"$ref": REF + "OpenRouterModel"}}},
                    "required": ["data"],
                    "additionalProperties": False,
                },
                "OpenRouterModel": _openrouter_model(),
                "CatalogList": {
                    "type": "object",
                    "properties": {
                        "object": {"type": "string", "enum": ["list"]},
                        "data": {"type": "array", "items": {"$ref": REF + "CatalogModel"}},
                    },
                    "required": ["object", "data"],
                },
                "CatalogModel": _catalog_model(),
                "Error": _error(),
                "Health": _health(),
            },
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
