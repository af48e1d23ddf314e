"""The OpenAPI document of `syncer serve`, written as data.

The schemas of both listings are generated from the listing formats (:mod:`syncer.formats`): the same rule
objects validate a snapshot before it is published or served, so the document cannot drift from what is
enforced. The catalog entry schema requires the OpenAI-compatible core (``id``, ``object``, ``created``,
``owned_by``) and admits additional fields, because the catalog view may grow without breaking its readers.
"""

from __future__ import annotations

from typing import Any

from syncer import __version__
from syncer.formats import PRICE_UNITS, TIER_THRESHOLD_KEY, catalog_view, openrouter, openrouter_v2

REF = "#/components/schemas/"

#: The catalog view's pricing shape and units, in words (issue 14): the units live here and in the README, never
#: in ``pricing`` itself. Built from the format's own tables, so it names exactly the keys that are validated.
CATALOG_PRICING = (
    'In the catalog view, `pricing` is an object `{key: "decimal string"}` (plain decimals, the same exact '
    'strings as the OpenRouter view, e.g. `{"prompt": "0.00000009", "completion": "0.00000013"}`); '
    "a model with long-context tiers has a list of such objects instead, the base tier first, each later tier "
    f"with `{TIER_THRESHOLD_KEY}` (the tier applies to requests whose prompt is longer than that many tokens). "
    "Units: " + "; ".join(f"`{key}` {unit}" for key, unit in PRICE_UNITS.items()) + "."
)


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
            "file": {
                "type": "string",
                "description": "the file's name in the snapshot directory (never a path)",
            },
            "sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "only with the bearer token when SYNCER_API_TOKEN is set",
            },
            "etag": {
                "type": "string",
                "description": "only with the bearer token when SYNCER_API_TOKEN is set",
            },
            "rejected_sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "the rejected file's hash; only with the bearer token when SYNCER_API_TOKEN is set",
            },
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
        "required": ["loaded", "file"],
    }
    return {
        "type": "object",
        "properties": {
            "status": {
                "type": "string",
                "enum": ["ok", "degraded", "unavailable"],
                "description": "`degraded` (200): a file on disk was rejected and the last good one is served",
            },
            "problems": {"type": "array", "items": {"type": "string"}},
            "max_snapshot_age_seconds": {"type": "number", "nullable": True},
            "snapshots": {
                "type": "object",
                "properties": {"catalog": loaded, "openrouter": loaded, "openrouter-v2": loaded},
                "required": ["catalog", "openrouter", "openrouter-v2"],
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
            "description": "the catalog view (default), the OpenRouter flat view (`format=openrouter`) or "
            "OpenRouter's 2.4 document (`format=openrouter&schema_version=2.4`), the snapshot file byte for byte",
            "headers": CACHE_HEADERS,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": REF + "CatalogList"},
                            {"$ref": REF + "OpenRouterListing"},
                            {"$ref": REF + "OpenRouterV2Listing"},
                        ]
                    }
                }
            },
        },
        "304": not_modified,
        "400": _json("Error", "unknown `format` or `schema_version`; the error lists the accepted values"),
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
                    "description": "The catalog view (default, OpenAI-compatible), OpenRouter's flat provider "
                    "listing (`format=openrouter`) or OpenRouter's typed 2.4 document "
                    "(`format=openrouter&schema_version=2.4`), each the published snapshot file byte for byte. "
                    + CATALOG_PRICING,
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
                        {
                            "name": "schema_version",
                            "in": "query",
                            "required": False,
                            "description": "with `format=openrouter`: `2.4` gets OpenRouter's typed provider "
                            "document (openrouter-v2.json) instead of the flat one",
                            "schema": {"type": "string", "enum": ["2.4"]},
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
                    "description": "One entry of the catalog view, as in the listing. " + CATALOG_PRICING,
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
                    "summary": "snapshot file names and ages (hashes with the token)",
                    **({"security": [{}, {"bearerAuth": []}]} if protected else {}),
                    "responses": {
                        "200": _json(
                            "Health",
                            "every snapshot loaded and not older than the limit (`degraded`: a newer file on "
                            "disk was rejected, the last good one is served); file names and ages for anyone, "
                            "hashes only with the bearer token when SYNCER_API_TOKEN is set",
                        ),
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
                "OpenRouterListing": openrouter.document_schema(REF + "OpenRouterModel"),
                "OpenRouterModel": openrouter.entry_schema(),
                "OpenRouterV2Listing": openrouter_v2.document_schema(REF + "OpenRouterV2Model"),
                "OpenRouterV2Model": openrouter_v2.entry_schema(),
                **openrouter_v2.component_schemas(),
                "CatalogList": catalog_view.document_schema(REF + "CatalogModel"),
                "CatalogModel": catalog_view.entry_schema(),
                "Error": _error(),
                "Health": _health(),
            },
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
