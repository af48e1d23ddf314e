"""The listing formats (syncer.formats): one vocabulary, from which the validators and the OpenAPI schemas are
both built. A real snapshot passes both; a word outside the vocabulary fails both."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from test_serve import _validator  # the sibling test module (pytest puts tests/ on sys.path)

from syncer.formats import (
    ISO_COUNTRY_CODES,
    CountryCode,
    validate_catalog_document,
    validate_openrouter_document,
)
from syncer.serve.openapi import openapi_document
from syncer.settings import Settings
from syncer.sync import run_sync


@pytest.fixture
def snapshot(mirror: Any, make_settings: Callable[..., Settings], tmp_path: Path) -> dict[str, Any]:
    """Both snapshot files of a real sync of config/catalog.toml through the mirror."""
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'syncer.db'}", endpoint=mirror.url)
    assert run_sync(settings=settings, wait=120).exit_code == 0
    return {
        name: json.loads((settings.snapshot_dir / f"{name}.json").read_text())
        for name in ("openrouter", "catalog")
    }


@pytest.fixture(scope="module")
def schemas() -> dict[str, jsonschema_rs.Draft4Validator]:
    document = openapi_document()
    return {
        "openrouter": _validator(document, "OpenRouterListing"),
        "catalog": _validator(document, "CatalogList"),
    }


VALIDATORS = {"openrouter": validate_openrouter_document, "catalog": validate_catalog_document}

# (view, a change to the first entry, a fragment of the validator's message)
OUTSIDE_THE_VOCABULARY: dict[str, tuple[str, Callable[[dict[str, Any]], None], str]] = {
    "country code not ISO": (
        "openrouter",
        lambda e: e.update(datacenters=[{"country_code": "XX"}]),
        "'XX' is not an ISO 3166-1 alpha-2 code",
    ),
    "country code lower case": (
        "openrouter",
        lambda e: e.update(datacenters=[{"country_code": "jp"}]),
        "'jp' is not an ISO 3166-1 alpha-2 code",
    ),
    "quantization": (
        "openrouter",
        lambda e: e.update(quantization="fp7"),
        "quantization 'fp7' is not allowed",
    ),
    "input modality": (
        "openrouter",
        lambda e: e["input_modalities"].append("speech"),
        ".input_modalities: 'speech' is not allowed",
    ),
    "feature alias": (
        "openrouter",
        lambda e: e["supported_features"].append("function_calling"),
        ".supported_features: 'function_calling' is not allowed",
    ),
    "sampling alias": (
        "openrouter",
        lambda e: e["supported_sampling_parameters"].append("max_completion_tokens"),
        ".supported_sampling_parameters: 'max_completion_tokens' is not allowed",
    ),
    "pricing key": ("openrouter", lambda e: e["pricing"].update(web="0"), "unknown pricing key 'web'"),
    "served from not ISO": ("catalog", lambda e: e.update(served_from=["XX"]), "'XX' is not allowed"),
    "catalog quantization": (
        "catalog",
        lambda e: e.update(quantization="unknown"),
        "'unknown' is not allowed",
    ),
    "catalog feature": ("catalog", lambda e: e.update(features=["functions"]), "is not allowed"),
    "catalog price object": (  # {amount, unit} objects fail models.dev's parse: prices are plain strings
        "catalog",
        lambda e: e["pricing"].update(prompt={"amount": "0.1", "unit": "USD per input token"}),
        "is not a plain decimal string",
    ),
}


def test_a_real_snapshot_passes_the_validators_and_the_openapi_schemas(
    snapshot: dict[str, Any], schemas: dict[str, jsonschema_rs.Draft4Validator]
) -> None:
    for name, document in snapshot.items():
        assert document["data"], name
        assert VALIDATORS[name](document) == [], name
        schemas[name].validate(document)


@pytest.mark.parametrize("case", sorted(OUTSIDE_THE_VOCABULARY))
def test_a_word_outside_the_vocabulary_fails_the_validator_and_the_schema(
    case: str, snapshot: dict[str, Any], schemas: dict[str, jsonschema_rs.Draft4Validator]
) -> None:
    name, change, fragment = OUTSIDE_THE_VOCABULARY[case]
    document = copy.deepcopy(snapshot[name])
    change(document["data"][0])
    problems = VALIDATORS[name](document)
    assert len(problems) == 1 and fragment in problems[0], problems
    assert problems[0].startswith(f"model {document['data'][0]['id']!r}")
    assert not schemas[name].is_valid(document)


def test_every_iso_code_is_in_the_schema_and_nothing_else(
    snapshot: dict[str, Any], schemas: dict[str, jsonschema_rs.Draft4Validator]
) -> None:
    assert len(ISO_COUNTRY_CODES) == 249 and set(CountryCode) == ISO_COUNTRY_CODES
    document = copy.deepcopy(snapshot["openrouter"])
    document["data"][0]["datacenters"] = [{"country_code": code} for code in sorted(ISO_COUNTRY_CODES)]
    assert validate_openrouter_document(document) == []
    schemas["openrouter"].validate(document)
    schema = openapi_document()["components"]["schemas"]["OpenRouterModel"]
    code = schema["properties"]["datacenters"]["items"]["properties"]["country_code"]
    assert set(code["enum"]) == ISO_COUNTRY_CODES


BROKEN_ENTRY: dict[str, Any] = {
    "id": "m",
    "hugging_face_id": "not an id",
    "name": " ",
    "created": 1778976000000,
    "input_modalities": [],
    "output_modalities": ["text", "text"],
    "context_length": 1024,
    "max_output_length": 4096,
    "pricing": {"prompt": "0.1", "completion": 9e-08, "input_cache_read": "0.2"},
    "is_ready": "yes",
    "openrouter": {"slug": "a/b", "extra": 1},
    "datacenters": [{"country_code": "XX"}, {"code": "JP"}],
    "deprecation_date": "2026-13",
    "context_window": 1,
}


def test_the_validator_reports_every_problem_with_its_path() -> None:
    problems = validate_openrouter_document({"data": [BROKEN_ENTRY]})
    assert sorted(problems) == sorted(
        [
            "model 'm': unknown key 'context_window'",
            "model 'm': hugging_face_id 'not an id' is not org/name",
            "model 'm': name must be a non-empty string",
            "model 'm': created 1778976000000 is not whole Unix seconds",
            "model 'm'.input_modalities: must not be empty",
            "model 'm'.output_modalities: duplicate 'text'",
            "model 'm': pricing.completion 9e-08 is not a plain decimal string",
            "model 'm': pricing.input_cache_read is above pricing.prompt",
            "model 'm': max_output_length exceeds context_length",
            "model 'm': is_ready must be a boolean",
            'model \'m\': openrouter must be exactly {"slug": "..."}',
            "model 'm': 'XX' is not an ISO 3166-1 alpha-2 code",
            'model \'m\': datacenters entries must be {"country_code": "XX"}',
            "model 'm': deprecation_date must be YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z",
        ]
    )
    missing = {k: v for k, v in BROKEN_ENTRY.items() if k not in ("pricing", "context_length")}
    assert validate_openrouter_document({"data": [missing, missing]})[:3] == [
        "model 'm': unknown key 'context_window'",
        "model 'm': missing key 'context_length'",
        "model 'm': missing key 'pricing'",
    ]
    assert validate_openrouter_document({"data": [missing, missing]})[-1] == "ids are not unique"
    assert validate_openrouter_document([]) == ['the document must be exactly {"data": [...]}']
    assert validate_catalog_document({"data": []}) == [
        'the document must be {"object": "list", "data": [...]}'
    ]


def test_the_formats_import_only_the_standard_library() -> None:
    """The read-only server imports syncer.formats: it must not pull in the database or the Hub client."""
    code = (
        "import sys; before = set(sys.modules); import syncer.formats; "
        "print(sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.replace("'", '"')) == ["syncer"]
