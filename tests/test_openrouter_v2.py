"""Issue 16: OpenRouter's 2.4 document, the flat view's optional fields, the catalog's pricing vocabulary."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syncer import snapshot as snap
from syncer.catalog import load_catalog, parse_catalog
from syncer.errors import CatalogError
from syncer.formats.openrouter import validate_openrouter_document
from syncer.formats.openrouter_v2 import validate_openrouter_v2_document
from syncer.listing import Facts, merge_model
from syncer.publish.publisher import render_views

FIXTURES = Path(__file__).parent / "fixtures" / "openrouter"
V2_EXAMPLE = json.loads((FIXTURES / "guide-v2-example.json").read_text())
FLAT_EXAMPLE = json.loads((FIXTURES / "guide-flat-example.json").read_text())
#: the legacy page's example entry with its own long-context pricing block in place of the example's pricing
FLAT_WITH_OVERRIDES = copy.deepcopy(FLAT_EXAMPLE)
FLAT_WITH_OVERRIDES["data"][0].update(
    json.loads((FIXTURES / "guide-flat-snippets" / "overrides-long-context.json").read_text())
)


def _facts(repo: str, *, inputs: tuple[str, ...] = ("text",), outputs: tuple[str, ...] = ("text",)) -> Facts:
    return Facts(
        repo_id=repo,
        commit_sha="0123456789abcdef0123456789abcdef01234567",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        context_length=262144,
        input_modalities=inputs,
        output_modalities=outputs,
        template_features=("tools", "reasoning"),
        pipeline_tag=None,
        provenance={"context_length": "config.json max_position_embeddings"},
    )


def _views(path: Path) -> tuple[dict[str, Any], ...]:
    catalog = load_catalog(path)
    merged = {
        m.id: merge_model(
            model=m,
            facts=_facts(m.hugging_face_id),
            catalog_file=str(path),
            defaults_keys=catalog.defaulted.get(m.id, frozenset()),
        )
        for m in catalog.models
    }
    views = render_views(merged)  # validates all three files
    return tuple(json.loads(views.rendered[n]) for n in (snap.OPENROUTER, snap.OPENROUTER_V2, snap.CATALOG))


def test_guide_examples_pass_our_validators() -> None:
    assert validate_openrouter_v2_document(V2_EXAMPLE) == []
    assert validate_openrouter_document(FLAT_EXAMPLE) == []


def _snippets(folder: str) -> list[Path]:
    found = sorted((FIXTURES / folder).glob("*.json"))
    assert found, folder
    return found


@pytest.mark.parametrize("path", _snippets("guide-v2-snippets"), ids=lambda p: p.stem)
def test_every_code_block_of_the_v2_guide_passes_in_its_place(path: Path) -> None:
    """Each of the guide's modality, price and root blocks, put where the guide puts it in its own example,
    leaves the example valid (the guide's free implicit cache write "0" included)."""
    snippet = json.loads(path.read_text())
    document = copy.deepcopy(V2_EXAMPLE)
    entry = document["data"][0]
    kind, _, _ = path.stem.partition("-")
    if kind in ("in", "out"):
        scope = "input_modalities" if kind == "in" else "output_modalities"
        entry[scope] = [m for m in entry[scope] if m["type"] != snippet["type"]] + [snippet]
    elif snippet.get("type") == "prompt":  # an input price: the text input's base prompt price
        entry["input_modalities"][0]["pricing"][0] = snippet
    elif kind == "price":  # an output price, on an image output declaring the knobs its overrides name
        knobs = {
            "resolution": {"type": "enum", "values": ["1K", "2K", "4K"]},
            "steps": {"type": "integer", "min": 1, "max": 50},
        }
        entry["output_modalities"].append(
            {"type": "image", "supported_parameters": knobs, "pricing": [snippet]}
        )
    else:
        assert kind == "root"
        entry.update(snippet)
    assert validate_openrouter_v2_document(document) == []


@pytest.mark.parametrize("path", _snippets("guide-flat-snippets"), ids=lambda p: p.stem)
def test_every_pricing_block_of_the_legacy_guide_passes_in_the_flat_example(path: Path) -> None:
    """The legacy page's overrides (a long-context tier, a peak surcharge, an off-peak discount, a weekday
    window) and its discount block, in place of the flat example's own pricing."""
    snippet = json.loads(path.read_text())
    snippet.pop("id", None)
    document = copy.deepcopy(FLAT_EXAMPLE)
    document["data"][0].update(snippet)
    assert validate_openrouter_document(document) == []


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(entry: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = entry
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(entry: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = entry
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _append(path: str, value: object) -> Mutation:
    def mutate(entry: dict[str, Any]) -> None:
        node: Any = entry
        for part in path.split("/"):
            node = node[int(part)] if part.isdigit() else node[part]
        node.append(copy.deepcopy(value))

    return mutate


TEXT_IN = "input_modalities/0"
TEXT_OUT = "output_modalities/0"


def _when(predicate: object) -> Mutation:
    """The guide's text prompt price, given one override with this predicate."""
    return _set(f"{TEXT_IN}/pricing/0/overrides", [{"when": predicate, "cost_usd": "0.000016"}])


V2_BROKEN: list[tuple[str, Mutation, str]] = [
    ("object key at the root", _set("object", "model"), "unknown key 'object'"),
    ("owned_by at the root", _set("owned_by", "anthropic"), "unknown key 'owned_by'"),
    (
        "zero-stuffed price",
        _set(f"{TEXT_OUT}/pricing/1/cost_usd", "0"),
        "output_modalities[text].pricing[1].cost_usd",
    ),
    (
        "zero-stuffed override",
        _set(
            f"{TEXT_IN}/pricing/0/overrides", [{"when": {"prompt_tokens": {"gte": 200001}}, "cost_usd": "0"}]
        ),
        'input_modalities[text].pricing[0].overrides[0].cost_usd is "0"',
    ),
    (
        "zero-stuffed base cache price",
        _set(f"{TEXT_IN}/pricing/2/cost_usd", "0"),
        'input_modalities[text].pricing[2].cost_usd is "0"',
    ),
    (
        "cost_usd number",
        _set(f"{TEXT_IN}/pricing/0/cost_usd", 0.000008),
        "input_modalities[text].pricing[0].cost_usd",
    ),
    (
        "cost_usd scientific",
        _set(f"{TEXT_IN}/pricing/0/cost_usd", "8e-06"),
        "input_modalities[text].pricing[0].cost_usd",
    ),
    (
        "negative cost",
        _set(f"{TEXT_IN}/pricing/0/cost_usd", "-0.1"),
        "input_modalities[text].pricing[0].cost_usd",
    ),
    (
        "cache price on an output",
        _set(f"{TEXT_OUT}/pricing/1/type", "cached_prompt"),
        "output_modalities[text].pricing[1].type",
    ),
    (
        "cache write on an output",
        _append(f"{TEXT_OUT}/pricing", {"type": "cache_write", "unit": "token", "cost_usd": "0.00001"}),
        "output_modalities[text].pricing[2].type",
    ),
    (
        "duplicate pricing identity",
        _append(f"{TEXT_IN}/pricing", {"type": "cache_write", "unit": "token", "cost_usd": "0.00002"}),
        "input_modalities[text].pricing[3] repeats",
    ),
    (
        "duplicate identity other unit",
        _append(f"{TEXT_IN}/pricing", {"type": "prompt", "unit": "character", "cost_usd": "0.1"}),
        "pricing[3] repeats",
    ),
    (
        "duplicate window, days in another order",
        lambda e: e["input_modalities"][0]["pricing"].extend(
            {
                "type": "prompt",
                "unit": "token",
                "cost_usd": c,
                "utc_start": 800,
                "utc_end": 1630,
                "utc_days": d,
            }
            for c, d in (("0.00001", ["monday", "friday"]), ("0.00002", ["friday", "monday"]))
        ),
        "input_modalities[text].pricing[4] repeats",
    ),
    ("window without its end", _set(f"{TEXT_IN}/pricing/0/utc_start", 100), "utc_start and utc_end"),
    (
        "window start equals end",
        lambda e: e["input_modalities"][0]["pricing"][0].update(utc_start=100, utc_end=100),
        "both 100",
    ),
    (
        "window not a clock time",
        lambda e: e["input_modalities"][0]["pricing"][0].update(utc_start=170, utc_end=300),
        "170 is not a clock time",
    ),
    ("window at the root", _set("pricing/0/utc_start", 100), "unknown key 'utc_start' in pricing[0]"),
    (
        "utc_days not a weekday",
        _set(f"{TEXT_IN}/pricing/0/utc_days", ["mon"]),
        "input_modalities[text].pricing[0].utc_days: 'mon' is not allowed",
    ),
    (
        "utc_days twice the same day",
        _set(f"{TEXT_IN}/pricing/0/utc_days", ["monday", "monday"]),
        "utc_days: duplicate 'monday'",
    ),
    ("utc_days empty", _set(f"{TEXT_IN}/pricing/0/utc_days", []), "utc_days: must not be empty"),
    ("discount_to_user of 1", _set("discount_to_user", 1), "discount_to_user 1 must be below 1"),
    ("discount_to_user string", _set("discount_to_user", "0.1"), "discount_to_user"),
    (
        "concurrency with a per",
        _append(
            f"{TEXT_OUT}/capacity", {"type": "concurrency", "unit": "request", "per": "minute", "value": 4}
        ),
        "output_modalities[text].capacity[1]: concurrency has no per",
    ),
    (
        "concurrency per token",
        _append(f"{TEXT_OUT}/capacity", {"type": "concurrency", "unit": "token", "value": 4}),
        "concurrency is counted in request, not 'token'",
    ),
    (
        "capacity without per",
        _drop(f"{TEXT_IN}/capacity/0/per"),
        "input_modalities[text].capacity[0]: missing key 'per'",
    ),
    (
        "concurrency on an input",
        _set(f"{TEXT_IN}/capacity/0/type", "concurrency"),
        "input_modalities[text].capacity[0].type",
    ),
    (
        "duplicate capacity identity",
        _append(f"{TEXT_IN}/capacity", {"type": "prompt", "unit": "token", "per": "minute", "value": 5}),
        "input_modalities[text].capacity[2] repeats",
    ),
    ("root request capacity per search", _set("capacity/0/unit", "search"), "request is counted per request"),
    ("schema_version 3.0", _set("schema_version", "3.0"), "schema_version '3.0'"),
    ("schema_version a number", _set("schema_version", 2.4), "schema_version 2.4"),
    ("missing schema_version", _drop("schema_version"), "missing key 'schema_version'"),
    ("unknown input type", _set(f"{TEXT_IN}/type", "pdf"), "input_modalities[0].type 'pdf'"),
    ("input twice", _append("input_modalities", {"type": "file"}), "has 'file' twice"),
    (
        "max_length on an input",
        _set(f"{TEXT_IN}/max_length", {"value": 1}),
        "unknown key 'max_length' in input_modalities[text]",
    ),
    (
        "max_length on embeddings",
        _append(
            "output_modalities",
            {"type": "embeddings", "supported_parameters": {}, "max_length": {"value": 5}},
        ),
        "output_modalities[embeddings]",
    ),
    (
        "streaming on rerank",
        _append("output_modalities", {"type": "rerank", "supported_parameters": {}, "streaming": False}),
        "unknown key 'streaming' in output_modalities[rerank]",
    ),
    (
        "missing supported_parameters",
        _drop(f"{TEXT_OUT}/supported_parameters"),
        "missing key 'supported_parameters' in output_modalities[text]",
    ),
    (
        "range min above max",
        _set(f"{TEXT_OUT}/supported_parameters/temperature/min", 3),
        "temperature.min 3 is above",
    ),
    (
        "enum with duplicates",
        _set("passthrough_parameters/service_tier/values", ["standard", "standard"]),
        "passthrough_parameters.service_tier.values has duplicates",
    ),
    (
        "boolean with a unit",
        _set(f"{TEXT_OUT}/supported_parameters/tools/unit", "token"),
        "supported_parameters.tools.unit 'token' is not allowed",
    ),
    (
        "image format outside the domain",
        _set("input_modalities/1/supported_inputs/formats/values", ["image/tiff"]),
        "formats.values 'image/tiff'",
    ),
    (
        "ttl on a prompt price",
        _set(f"{TEXT_IN}/pricing/0/ttl_seconds", 60),
        "ttl_seconds and implicit qualify cache entries only",
    ),
    ("web_search per token", _set("pricing/0/unit", "token"), "pricing[0].unit 'token'"),
    (
        "predicate with two combinators",
        _when({"not": {}, "anyOf": []}),
        "exactly one of allOf/anyOf/not",
    ),
    (
        "condition with two operators",
        _when({"prompt_tokens": {"gte": 1, "lte": 2}}),
        "when.prompt_tokens must hold exactly one",
    ),
    (
        "condition gte a string",
        _when({"prompt_tokens": {"gte": "200001"}}),
        "prompt_tokens.gte must be a number",
    ),
    ("datacenter not ISO", _set("datacenters/0/country_code", "UK"), "'UK' is not an ISO 3166-1"),
    ("datacenter region empty", _set("datacenters/0/region", ""), "datacenters"),
    ("compliance not boolean", _set("compliance", {"zdr": "yes"}), "compliance.zdr must be a boolean"),
    ("quantization unknown", _set("quantization", "unknown"), "quantization 'unknown'"),
    ("service_tier unknown", _set("service_tier", "standard"), "service_tier 'standard' is not one of"),
    (
        "free variant with a service tier",
        _set("is_free", True),
        "is_free true and service_tier 'priority'",
    ),
    ("deployment_region empty", _set("deployment_region", ""), "deployment_region must be a non-empty"),
    (
        "limit not positive",
        _set(f"{TEXT_IN}/supported_inputs/max_context_length/value", 0),
        "max_context_length.value",
    ),
    (
        "deprecation_date not on the hour",
        _set("deprecation_date", "2025-06-01T15:30:00Z"),
        "deprecation_date must be YYYY-MM-DD or YYYY-MM-DDTHH:00:00Z",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in V2_BROKEN], ids=[n for n, _, _ in V2_BROKEN]
)
def test_broken_v2_variants_are_refused_naming_the_path(mutate: Mutation, expected: str) -> None:
    document = copy.deepcopy(V2_EXAMPLE)
    mutate(document["data"][0])
    problems = validate_openrouter_v2_document(document)
    assert any(expected in p for p in problems), problems


FLAT_BROKEN: list[tuple[str, Mutation, str]] = [
    ("object key", _set("object", "model"), "unknown key 'object'"),
    ("discount_to_user of 1", _set("discount_to_user", 1), "discount_to_user 1 must be below 1"),
    ("discount_to_user string", _set("discount_to_user", "0.05"), "discount_to_user must be a JSON number"),
    ("discount_to_user boolean", _set("discount_to_user", True), "discount_to_user must be a JSON number"),
    ("is_free string", _set("is_free", "false"), "is_free must be a boolean"),
    ("capacity_tpm zero", _set("capacity_tpm", 0), "capacity_tpm must be a positive integer"),
    ("capacity_tpm float", _set("capacity_tpm", 1.5), "capacity_tpm must be a positive integer"),
    ("override price number", _set("pricing/overrides/0/prompt", 0.000016), "pricing.overrides[0].prompt"),
    (
        "override price scientific",
        _set("pricing/overrides/0/prompt", "1.6e-05"),
        "pricing.overrides[0].prompt",
    ),
    (
        "override unknown key",
        _set("pricing/overrides/0/web_search", "0.01"),
        "unknown key 'web_search' in pricing.overrides[0]",
    ),
    (
        "three tiers",
        _set("pricing/overrides", [{"min_prompt_tokens": n, "prompt": "0.1"} for n in (1, 2, 3)]),
        "holds 3 overrides",
    ),
    (
        "tiers decrease",
        _append("pricing/overrides", {"min_prompt_tokens": 100000, "prompt": "0.1"}),
        "tiers do not increase",
    ),
    (
        "tiers equal",
        _append("pricing/overrides", {"min_prompt_tokens": 200000, "prompt": "0.1"}),
        "tiers do not increase",
    ),
    (
        "tier and window mixed",
        _append("pricing/overrides", {"utc_start": 100, "utc_end": 500, "prompt": "0.1"}),
        "mixes tiers and windows",
    ),
    (
        "window without its end",
        _set("pricing/overrides/0", {"utc_start": 100, "prompt": "0.1"}),
        "pricing.overrides[0] needs both utc_start and utc_end",
    ),
    (
        "window start equals end",
        _set("pricing/overrides/0", {"utc_start": 100, "utc_end": 100, "prompt": "0.1"}),
        "utc_start and utc_end are both 100",
    ),
    (
        "window minutes 75",
        _set("pricing/overrides/0", {"utc_start": 175, "utc_end": 300, "prompt": "0.1"}),
        "175 is not a clock time",
    ),
    (
        "window hour 24",
        _set("pricing/overrides/0", {"utc_start": 2400, "utc_end": 300, "prompt": "0.1"}),
        "pricing.overrides[0].utc_start 2400",
    ),
    (
        "windows with different prices",
        lambda e: e["pricing"].update(
            overrides=[
                {"utc_start": 100, "utc_end": 200, "prompt": "0.1"},
                {"utc_start": 300, "utc_end": 400, "prompt": "0.2"},
            ]
        ),
        "windows have different prices",
    ),
    ("override without condition", _set("pricing/overrides/0", {"prompt": "0.1"}), "needs min_prompt_tokens"),
    (
        "override changes nothing",
        _set("pricing/overrides/0", {"min_prompt_tokens": 1000}),
        "changes no price",
    ),
    ("overrides empty", _set("pricing/overrides", []), "holds 0 overrides"),
    (
        "overrides an object",
        _set("pricing/overrides", {"min_prompt_tokens": 1}),
        "pricing.overrides must be a list",
    ),
    (
        "negative threshold",
        _set("pricing/overrides/0/min_prompt_tokens", -1),
        "pricing.overrides[0].min_prompt_tokens",
    ),
    (
        "cache above prompt",
        _set("pricing/input_cache_read", "0.1"),
        "input_cache_read is above pricing.prompt",
    ),
    ("alias key", _set("max_completion_tokens", 5), "unknown key 'max_completion_tokens'"),
    ("service_tier unknown", _set("service_tier", "standard"), "service_tier 'standard' is not one of"),
    ("free variant with a service tier", _set("is_free", True), "is_free true and service_tier 'priority'"),
    (
        "utc_days not a weekday",
        _set("pricing/overrides/0", {"utc_days": ["sun"], "utc_start": 100, "utc_end": 500, "prompt": "0.1"}),
        "pricing.overrides[0].utc_days: 'sun' is not allowed",
    ),
    (
        "utc_days without a window",
        _set("pricing/overrides/0", {"utc_days": ["sunday"], "prompt": "0.1"}),
        "pricing.overrides[0] needs min_prompt_tokens, or utc_start and utc_end",
    ),
    (
        "windows with different days",
        lambda e: e["pricing"].update(
            overrides=[
                {"utc_days": ["monday"], "utc_start": 100, "utc_end": 200, "prompt": "0.1"},
                {"utc_start": 300, "utc_end": 400, "prompt": "0.1"},
            ]
        ),
        "windows have different utc_days",
    ),
    ("datacenter with a region", _set("datacenters/0/region", "us-east-1"), "datacenters entries must be"),
    (
        "input_cache_write has no place",
        _set("pricing/input_cache_write", "0.1"),
        "unknown pricing key 'input_cache_write'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [(m, e) for _, m, e in FLAT_BROKEN], ids=[n for n, _, _ in FLAT_BROKEN]
)
def test_broken_flat_variants_are_refused_naming_the_path(mutate: Mutation, expected: str) -> None:
    assert validate_openrouter_document(FLAT_WITH_OVERRIDES) == []
    document = copy.deepcopy(FLAT_WITH_OVERRIDES)
    mutate(document["data"][0])
    problems = validate_openrouter_document(document)
    assert any(expected in p for p in problems), problems


def test_at_least_25_broken_variants_of_each_example() -> None:
    for variants in (V2_BROKEN, FLAT_BROKEN):
        names = [name for name, _, _ in variants]
        assert len(set(names)) == len(names) >= 25
        assert all(expected for _, _, expected in variants)


def test_every_new_key_agrees_across_the_three_views() -> None:
    flat, v2, catalog = _views(FIXTURES / "catalog-new-keys.toml")
    assert (
        [e["id"] for e in flat["data"]]
        == [e["id"] for e in v2["data"]]
        == ["embed", "free", "tiered", "vision", "windowed"]
    )
    cat = {e["id"]: e for e in catalog["data"]}
    for f, t in zip(flat["data"], v2["data"], strict=True):
        ins = {m["type"]: m for m in t["input_modalities"]}
        outs = {m["type"]: m for m in t["output_modalities"]}
        assert list(ins) == f["input_modalities"] == cat[f["id"]]["input_modalities"]
        assert list(outs) == f["output_modalities"] == cat[f["id"]]["output_modalities"]
        assert (
            ins["text"]["supported_inputs"]["max_context_length"]["value"]
            == f["context_length"]
            == cat[f["id"]]["context_length"]
        )
        prices = {
            (p["type"], p["unit"]): p
            for m in t["input_modalities"] + t["output_modalities"]
            for p in m.get("pricing", [])
            if "utc_start" not in p
        }
        prices |= {(p["type"], p["unit"]): p for p in t.get("pricing", [])}
        names = {
            ("prompt", "token"): "prompt",
            ("completion", "token"): "completion",
            ("cached_prompt", "token"): "input_cache_read",
            ("prompt", "image"): "image",
            ("request", "request"): "request",
        }
        for identity, key in names.items():
            flat_price = f["pricing"].get(key)
            if flat_price is None or flat_price == "0":
                assert identity not in prices  # no zero-stuffing
            else:
                assert prices[identity]["cost_usd"] == flat_price
        cat_pricing = cat[f["id"]]["pricing"]
        cat_base = cat_pricing[0] if isinstance(cat_pricing, list) else cat_pricing
        both = names | {
            ("cache_write", "token"): "input_cache_write",
            ("internal_reasoning", "token"): "internal_reasoning",
            ("web_search", "search"): "web_search",
        }
        for identity, key in both.items():  # the catalog view lists every billed price of the 2.4 document
            if identity in prices:
                assert cat_base[key] == prices[identity]["cost_usd"], (f["id"], key)
        if "text" in outs:
            assert (
                outs["text"]["max_length"]["value"]
                == f["max_output_length"]
                == cat[f["id"]]["max_output_tokens"]
            )
            params = outs["text"]["supported_parameters"]
            assert params["max_tokens"] == {"type": "integer", "min": 1, "max": f["max_output_length"]}
            for sampling in f["supported_sampling_parameters"]:
                assert sampling in params
            for feature in f["supported_features"]:
                assert params[feature] == {"type": "boolean"}
        for key in ("is_free", "discount_to_user"):
            assert t.get(key) == f.get(key)
        assert f["capacity_tpm"] == ins["text"]["capacity"][0]["value"] == 1000000
        assert [d["country_code"] for d in t["datacenters"]] == ["JP", "US"]
        assert t["datacenters"][1]["region"] == "us-east-1" and f["datacenters"] == [
            {"country_code": "JP"},
            {"country_code": "US"},
        ]
        assert t["compliance"] == {"zdr": True, "hipaa": False} and t["tokenizer"] == "Qwen3"
    by_id = {e["id"]: e for e in v2["data"]}
    flat_by_id = {e["id"]: e for e in flat["data"]}
    tiered = by_id["tiered"]
    prompt = tiered["input_modalities"][0]["pricing"][0]
    assert prompt["overrides"] == [
        {"when": {"prompt_tokens": {"gte": 128001}}, "cost_usd": "0.000004"},
        {"when": {"prompt_tokens": {"gte": 200001}}, "cost_usd": "0.000006"},
    ]
    assert flat_by_id["tiered"]["pricing"]["overrides"] == [
        {"min_prompt_tokens": 128000, "prompt": "0.000004", "completion": "0.000018"},
        {"min_prompt_tokens": 200000, "prompt": "0.000006", "input_cache_read": "0.000002"},
    ]
    assert {p["type"]: p["cost_usd"] for p in tiered["input_modalities"][0]["pricing"]}[
        "cache_write"
    ] == "0.0000025"
    assert {p["type"]: p["cost_usd"] for p in tiered["output_modalities"][0]["pricing"]}[
        "internal_reasoning"
    ] == "0.000012"
    assert tiered["pricing"] == [
        {"type": "request", "unit": "request", "cost_usd": "0.001"},
        {"type": "web_search", "unit": "search", "cost_usd": "0.01"},
    ]
    catalog_tiered = cat["tiered"]["pricing"]
    assert [t.get("above_prompt_tokens") for t in catalog_tiered] == [None, 128000, 200000]
    assert catalog_tiered[0]["input_cache_write"] == "0.0000025" and catalog_tiered[2]["web_search"] == "0.01"
    assert (
        "input_cache_write" not in flat_by_id["tiered"]["pricing"]
        and "web_search" not in flat_by_id["tiered"]["pricing"]
    )
    windows = [p for p in by_id["windowed"]["input_modalities"][0]["pricing"] if "utc_start" in p]
    assert [(w["utc_start"], w["utc_end"], w["cost_usd"]) for w in windows] == [
        (100, 500, "0.00000025"),
        (2300, 30, "0.00000025"),
    ]
    assert flat_by_id["windowed"]["discount_to_user"] == 0.2 and by_id["vision"]["discount_to_user"] == -0.1
    assert by_id["vision"]["input_modalities"][1]["pricing"] == [
        {"type": "prompt", "unit": "image", "cost_usd": "0.0048"}
    ]
    assert by_id["embed"]["output_modalities"] == [{"type": "embeddings", "supported_parameters": {}}]
    assert by_id["free"]["is_free"] is True and "pricing" not in by_id["free"]["input_modalities"][0]


BASE_TOML = """[defaults]
datacenters = ["JP"]
max_output_length = 4096
supported_sampling_parameters = ["temperature", "top_p", "max_tokens"]
supported_features = ["tools"]

[[models]]
id = "qwen"
hugging_face_id = "Qwen/Qwen3.5-9B"
description = "a model"
quantization = "fp8"
openrouter = { slug = "qwen/qwen3.5-9b" }
pricing = { prompt = "0.00000009", completion = "0.00000013", image = "0", request = "0", input_cache_read = "0.000000045" }
"""
#: openrouter.json rendered from BASE_TOML by the code before issue 16 (main at f69b13b)
BASE_FLAT_BEFORE = (FIXTURES / "flat-before-issue-16.json").read_bytes()


def test_a_catalog_without_new_keys_gives_byte_identical_openrouter_json(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(BASE_TOML)
    catalog = load_catalog(path)
    merged = {
        m.id: merge_model(model=m, facts=_facts(m.hugging_face_id), catalog_file=str(path))
        for m in catalog.models
    }
    assert render_views(merged).rendered[snap.OPENROUTER] == BASE_FLAT_BEFORE


@pytest.mark.parametrize(
    ("pricing", "field", "message"),
    [
        ("input_cache_write = 0.1", "pricing.input_cache_write", "quoted decimal string"),
        ('web_search = "1e-2"', "pricing.web_search", ""),
        (
            'overrides = [{ min_prompt_tokens = 2000, prompt = "0.2" }, { min_prompt_tokens = 1000, prompt = "0.3" }]',
            "pricing.overrides",
            "tiers must increase",
        ),
        (
            'overrides = [{ utc_start = 100, prompt = "0.2" }]',
            "pricing.overrides.0",
            "both utc_start and utc_end",
        ),
        (
            'overrides = [{ utc_start = 100, utc_end = 100, prompt = "0.2" }]',
            "pricing.overrides.0",
            "must not be empty",
        ),
        (
            'overrides = [{ utc_start = 160, utc_end = 200, prompt = "0.2" }]',
            "pricing.overrides.0",
            "not a clock time",
        ),
        (
            'overrides = [{ utc_start = 100, utc_end = 200, prompt = "0.2" }, { min_prompt_tokens = 5, prompt = "0.3" }]',
            "pricing.overrides",
            "all tiers",
        ),
        (
            'overrides = [{ min_prompt_tokens = 1, prompt = "0.2" }, { min_prompt_tokens = 2, prompt = "0.3" }, { min_prompt_tokens = 3, prompt = "0.4" }]',
            "pricing.overrides",
            "at most 2",
        ),
    ],
)
def test_catalog_refuses_bad_new_prices_naming_the_field(
    tmp_path: Path, pricing: str, field: str, message: str
) -> None:
    text = BASE_TOML.replace(
        'input_cache_read = "0.000000045" }', f'input_cache_read = "0.000000045", {pricing} }}'
    )
    with pytest.raises(CatalogError) as caught:
        parse_catalog(__import__("tomllib").loads(text), path=tmp_path / "catalog.toml")
    issues = caught.value.issues
    assert any(
        i.field is not None and i.field.startswith(field) and message in i.message and i.model_id == "qwen"
        for i in issues
    ), issues


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("discount_to_user = 1", "discount_to_user", "below 1"),
        ('discount_to_user = "0.2.1"', "discount_to_user", "plain decimal"),
        ('is_free = "yes"', "is_free", ""),
        ("capacity = { concurrency = 0 }", "capacity.concurrency", ""),
        ("capacity = { tokens = 5 }", "capacity.tokens", ""),
        ('compliance = { zdr = "yes" }', "compliance.zdr", ""),
        ('datacenters = [{ country_code = "jp" }]', "datacenters.0.country_code", "upper case"),
        ('datacenters = [{ country_code = "JP", zone = "a" }]', "datacenters.0.zone", ""),
        ('tokenizer = ""', "tokenizer", ""),
    ],
)
def test_catalog_refuses_bad_new_keys_naming_the_field(
    tmp_path: Path, line: str, field: str, message: str
) -> None:
    text = BASE_TOML.replace('description = "a model"', f'description = "a model"\n{line}')
    with pytest.raises(CatalogError) as caught:
        parse_catalog(__import__("tomllib").loads(text), path=tmp_path / "catalog.toml")
    assert any(i.field == field and message in i.message for i in caught.value.issues), caught.value.issues


def test_free_variant_with_prices_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(BASE_TOML.replace('description = "a model"', 'description = "a model"\nis_free = true'))
    model = load_catalog(path).models[0]
    merged = merge_model(model=model, facts=_facts(model.hugging_face_id), catalog_file=str(path))
    assert any("is_free = true with non-zero prices" in w for w in merged.warnings)
    assert merged.openrouter_entry is not None and merged.openrouter_entry["is_free"] is True


@pytest.mark.parametrize(
    ("line", "field", "hint"),
    [
        (
            "capacity = { prompt_tokens_per_minut = 5 }",
            "capacity.prompt_tokens_per_minut",
            "prompt_tokens_per_minute",
        ),
        ("capacity = { tokens = 5 }", "capacity.tokens", "remove it"),  # not 'tokenizer', a key of the model
        ('compliance = { zdr = true }\ntokeniser = "Qwen3"', "tokeniser", "tokenizer"),
        ('datacenters = [{ country_code = "JP", regoin = "a" }]', "datacenters.0.regoin", "region"),
    ],
)
def test_an_unknown_nested_key_is_hinted_from_its_own_table(
    tmp_path: Path, line: str, field: str, hint: str
) -> None:
    text = BASE_TOML.replace('description = "a model"', f'description = "a model"\n{line}')
    with pytest.raises(CatalogError) as caught:
        parse_catalog(__import__("tomllib").loads(text), path=tmp_path / "catalog.toml")
    assert any(
        i.field == field and i.hint is not None and hint in i.hint and i.model_id == "qwen"
        for i in caught.value.issues
    ), caught.value.issues
