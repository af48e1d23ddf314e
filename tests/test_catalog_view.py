"""The standard catalog view (catalog.json, GET /v1/models) read the way its consumers read it: OpenAI SDKs
and public model databases. Every model of config/catalog.toml, after a real sync through the mirror."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from syncer.cli import main
from syncer.formats import (
    ISO_COUNTRY_CODES,
    Feature,
    InputModality,
    OutputModality,
    Quantization,
    validate_catalog_document,
)
from syncer.sync import run_sync

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = PROJECT_ROOT / "config" / "catalog.toml"
CATALOG_MODELS = {m["id"]: m for m in tomllib.loads(EXAMPLE_CATALOG.read_text())["models"]}

CORE_KEYS = ("id", "object", "created", "owned_by")
REQUIRED_KEYS = (
    *CORE_KEYS,
    "display_name",
    "provider",
    "hugging_face_id",
    "quantization",
    "category",
    "input_modalities",
    "output_modalities",
    "context_length",
    "max_output_tokens",
    "model_released_at",
    "pricing",
    "capabilities",
    "features",
    "supported_parameters",
    "served_from",
    "status",
)
CATEGORIES = {"text", "embedding", "rerank", "image", "audio", "video"}
CAPABILITIES = ("vision", "reasoning", "tools", "json_mode", "structured_outputs", "streaming")
PARAMETER_KEYS = {"name", "type", "default", "min", "max", "options"}
PARAMETER_TYPES = {"number", "integer", "boolean", "string", "array", "object"}
PRICE_UNITS = {
    "prompt": "USD per input token",
    "completion": "USD per output token",
    "image": "USD per input image",
    "request": "USD per request",
    "input_cache_read": "USD per cached input token",
}
#: the catalog view's aliases of OpenRouter feature words (the names model databases read)
FEATURE_ALIASES = {"tools": "function_calling", "structured_outputs": "structured_output"}
PLAIN_DECIMAL = re.compile(r"^(0|[1-9]\d*)(\.\d+)?$")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_parameter(p: dict[str, Any], entry: dict[str, Any]) -> None:
    assert set(p) <= PARAMETER_KEYS and {"name", "type"} <= set(p), p
    assert isinstance(p["name"], str) and p["type"] in PARAMETER_TYPES, p
    if "min" in p or "max" in p:
        assert p["type"] in ("number", "integer"), p
        for bound in ("min", "max"):
            if bound in p:
                assert (_is_int if p["type"] == "integer" else _is_number)(p[bound]), p
        if "min" in p and "max" in p:
            assert p["min"] <= p["max"], p
    if "default" in p:
        default = p["default"]
        expected_type = {
            "number": _is_number,
            "integer": _is_int,
            "boolean": lambda v: isinstance(v, bool),
            "string": lambda v: isinstance(v, str),
        }.get(p["type"], lambda v: True)
        assert expected_type(default), p
        if _is_number(default):
            assert p.get("min", default) <= default <= p.get("max", default), p
    if "options" in p:
        assert isinstance(p["options"], list) and p["options"], p
        assert len(set(p["options"])) == len(p["options"]), p
        if "default" in p:
            assert p["default"] in p["options"], p


def check_entry(entry: dict[str, Any]) -> None:
    """What a consumer of GET /v1/models may rely on, field by field."""
    where = entry.get("id")
    assert set(REQUIRED_KEYS) <= set(entry) <= {*REQUIRED_KEYS, "stale_since"}, where
    assert isinstance(entry["id"], str) and entry["id"]
    assert entry["object"] == "model"
    assert _is_int(entry["created"]) and 10**9 <= entry["created"] < 10**10, where  # seconds, not ms
    assert isinstance(entry["owned_by"], str) and entry["owned_by"]
    assert isinstance(entry["display_name"], str) and entry["display_name"].strip()
    assert isinstance(entry["provider"], str) and entry["provider"]
    assert entry["hugging_face_id"] == "" or re.fullmatch(
        r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", entry["hugging_face_id"]
    )
    assert entry["quantization"] is None or entry["quantization"] in set(Quantization)
    assert entry["category"] in CATEGORIES

    for key, allowed in (("input_modalities", InputModality), ("output_modalities", OutputModality)):
        values = entry[key]
        assert isinstance(values, list) and values and len(set(values)) == len(values), where
        assert set(values) <= set(allowed), where
    assert _is_int(entry["context_length"]) and entry["context_length"] > 0, where
    assert (
        _is_int(entry["max_output_tokens"]) and 0 < entry["max_output_tokens"] <= entry["context_length"]
    ), where

    released = entry["model_released_at"]
    assert isinstance(released, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", released), where
    assert date.fromisoformat(released) <= datetime.now(UTC).date()

    tiers = entry["pricing"] if isinstance(entry["pricing"], list) else [entry["pricing"]]
    assert tiers, where
    for index, pricing in enumerate(tiers):
        prices = {k: v for k, v in pricing.items() if k != "above_prompt_tokens"}
        assert {"prompt", "completion"} <= set(prices) <= set(PRICE_UNITS), where
        for price in prices.values():  # {key: "decimal string"}: what model databases parse
            assert isinstance(price, str) and PLAIN_DECIMAL.match(price), (where, price)
        if "input_cache_read" in prices:
            assert Decimal(prices["input_cache_read"]) <= Decimal(prices["prompt"])
        assert ("above_prompt_tokens" in pricing) == (index > 0), where

    capabilities = entry["capabilities"]
    assert list(capabilities) == list(CAPABILITIES) and all(
        isinstance(v, bool) for v in capabilities.values()
    )
    assert capabilities["vision"] == ("image" in entry["input_modalities"])
    features = entry["features"]
    assert (
        isinstance(features, list)
        and set(features) <= {*Feature, *FEATURE_ALIASES.values()}
        and len(set(features)) == len(features)
    )
    for feature in ("reasoning", "tools", "json_mode", "structured_outputs"):
        assert capabilities[feature] == (feature in features), (where, feature)
    for word, alias in FEATURE_ALIASES.items():
        assert (alias in features) == (word in features), (where, alias)

    parameters = entry["supported_parameters"]
    assert isinstance(parameters, list)
    names = [p["name"] for p in parameters]
    assert len(set(names)) == len(names), where
    for p in parameters:
        check_parameter(p, entry)
    by_name = {p["name"]: p for p in parameters}
    if entry["category"] == "text":
        assert by_name["max_tokens"]["type"] == "integer"
        assert (
            by_name["max_tokens"]["min"] == 1 and by_name["max_tokens"]["max"] == entry["max_output_tokens"]
        )
    if "temperature" in by_name:  # the house's 0-2, or a narrower range the catalog chose
        temperature = by_name["temperature"]
        assert temperature["type"] == "number" and 0 <= temperature["min"] <= temperature["max"] <= 2
    if not capabilities["reasoning"]:
        assert "reasoning_effort" not in by_name and "enable_thinking" not in by_name, where
    if "reasoning_effort" in by_name:
        assert by_name["reasoning_effort"]["type"] == "string" and by_name["reasoning_effort"]["options"]
    if "enable_thinking" in by_name:
        assert by_name["enable_thinking"]["type"] == "boolean"
    assert ("tools" in by_name) == capabilities["tools"], where

    served = entry["served_from"]
    assert isinstance(served, list) and served and set(served) <= ISO_COUNTRY_CODES
    assert entry["status"] in ("ready", "staging")
    if "stale_since" in entry:
        datetime.strptime(entry["stale_since"], "%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def synced(database_url, mirror, make_settings):
    settings = make_settings(database_url=database_url, endpoint=mirror.url)
    assert run_sync(settings=settings, wait=120).exit_code == 0
    return settings


def test_every_catalog_model_is_in_the_view_with_every_field(synced) -> None:
    document = json.loads((synced.snapshot_dir / "catalog.json").read_text())
    assert validate_catalog_document(document) == []
    entries = {e["id"]: e for e in document["data"]}
    assert sorted(entries) == sorted(CATALOG_MODELS)  # never filtered by the OpenRouter flag
    assert "openrouter" not in CATALOG_MODELS["llava-1-5-7b"]
    for entry in entries.values():
        check_entry(entry)

    openrouter = {
        e["id"]: e for e in json.loads((synced.snapshot_dir / "openrouter.json").read_text())["data"]
    }
    for model_id, entry in entries.items():
        house = CATALOG_MODELS[model_id]
        assert entry["max_output_tokens"] == house["max_output_length"]
        assert entry["pricing"] == house["pricing"]
        assert entry["served_from"] == house.get("datacenters", ["JP"])
        assert entry["quantization"] == house.get("quantization")
        assert entry["status"] == ("ready" if house.get("is_ready", True) else "staging")
        listed = openrouter.get(model_id)
        if listed is not None:
            assert entry["display_name"] == listed["name"]
            assert entry["created"] == listed["created"]
            assert entry["context_length"] == listed["context_length"]
            assert [f for f in entry["features"] if f not in FEATURE_ALIASES.values()] == listed[
                "supported_features"
            ]
            assert entry["pricing"] == listed["pricing"]
            assert entry["input_modalities"] == listed["input_modalities"]
            assert entry["model_released_at"] == datetime.fromtimestamp(listed["created"], UTC).strftime(
                "%Y-%m-%d"
            )


def test_the_view_says_what_each_model_is(synced) -> None:
    entries = {e["id"]: e for e in json.loads((synced.snapshot_dir / "catalog.json").read_text())["data"]}
    qwen = entries["qwen3-5-9b"]
    assert (qwen["category"], qwen["provider"], qwen["owned_by"]) == ("text", "Qwen", "Qwen")
    assert qwen["capabilities"] == {
        "vision": True,
        "reasoning": True,
        "tools": True,
        "json_mode": True,
        "structured_outputs": True,
        "streaming": True,
    }
    params = {p["name"]: p for p in qwen["supported_parameters"]}
    assert params["enable_thinking"] == {"name": "enable_thinking", "type": "boolean"}  # catalog override
    assert "reasoning_effort" not in params
    assert qwen["features"] == [
        "tools", "json_mode", "structured_outputs", "reasoning", "function_calling", "structured_output"
    ]  # fmt: skip
    gpt_oss = {p["name"]: p for p in entries["gpt-oss-20b"]["supported_parameters"]}
    assert gpt_oss["reasoning_effort"]["options"] == ["low", "medium", "high"]  # its template: free text
    assert "enable_thinking" not in gpt_oss
    assert params["response_format"]["options"] == ["text", "json_object", "json_schema"]
    assert params["max_tokens"] == {"name": "max_tokens", "type": "integer", "min": 1, "max": 32768}
    llava = entries["llava-1-5-7b"]
    assert llava["capabilities"]["vision"] is True and llava["capabilities"]["reasoning"] is False
    assert llava["pricing"]["image"] == "0.0001"
    assert entries["phi-4"]["status"] == "staging"
    assert entries["gemma-2-9b-it"]["input_modalities"] == ["text"]


def test_snapshot_show_catalog_prints_the_view(synced, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYNCER_SNAPSHOT_DIR", str(synced.snapshot_dir))
    monkeypatch.setenv("SYNCER_DATABASE_URL", synced.database_url)
    assert main(["snapshot", "show", "--format", "catalog"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in document["data"]] == sorted(CATALOG_MODELS)
    for entry in document["data"]:
        check_entry(entry)


OVERRIDES_CATALOG = """
[defaults]
datacenters = ["JP"]
max_output_length = 4096
pricing = { prompt = "0.0000001", completion = "0.0000002" }
[defaults.supported_parameters]
top_k = { enabled = false }
temperature = { default = 0.7 }

[[models]]
id = "llama"
hugging_face_id = "meta-llama/Llama-3.1-8B-Instruct"
supported_sampling_parameters = ["temperature", "top_k", "max_tokens"]

[[models]]
id = "r1"
hugging_face_id = "deepseek-ai/DeepSeek-R1"
name = "DeepSeek R1"
provider = "DeepSeek"
release_date = 2025-01-20
supported_features = ["reasoning", "tools"]
supported_sampling_parameters = ["temperature", "top_p", "top_k", "max_tokens"]
[models.supported_parameters]
temperature = { default = 0.6, max = 1.5 }
reasoning_effort = { options = ["high"], default = "high" }
thinking_budget = { type = "integer", min = 0, max = 32768 }

[[models]]
id = "bge-m3"
hugging_face_id = "BAAI/bge-m3"
supported_sampling_parameters = []
max_output_length = 1

[[models]]
id = "bge-reranker"
hugging_face_id = "BAAI/bge-reranker-v2-m3"
supported_sampling_parameters = []
max_output_length = 1

[[models]]
id = "gpt2"
hugging_face_id = "openai-community/gpt2"
max_output_length = 512
category = "text"
provider = "OpenAI"
release_date = "2019-11-05"
supported_sampling_parameters = ["temperature"]
[models.supported_parameters]
top_k = { type = "integer", min = 0, max = 100 }
"""


def test_catalog_overrides_and_hub_derived_categories(mirror, make_settings, tmp_path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(OVERRIDES_CATALOG)
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url, catalog=catalog
    )
    assert run_sync(settings=settings).exit_code == 0
    document = json.loads((settings.snapshot_dir / "catalog.json").read_text())
    assert validate_catalog_document(document) == []
    entries = {e["id"]: e for e in document["data"]}
    for entry in entries.values():
        check_entry(entry)

    r1 = entries["r1"]
    assert (r1["display_name"], r1["provider"], r1["owned_by"]) == ("DeepSeek R1", "DeepSeek", "DeepSeek")
    assert r1["model_released_at"] == "2025-01-20"
    assert r1["context_length"] == 163840
    params = {p["name"]: p for p in r1["supported_parameters"]}
    assert params["temperature"] == {
        "name": "temperature",
        "type": "number",
        "default": 0.6,
        "min": 0,
        "max": 1.5,
    }
    assert params["reasoning_effort"] == {"name": "reasoning_effort", "type": "string", "default": "high",
                                          "options": ["high"]}  # fmt: skip
    assert params["thinking_budget"] == {"name": "thinking_budget", "type": "integer", "min": 0, "max": 32768}
    assert "top_k" in params  # the model's own table replaces the [defaults] one whole
    llama = {p["name"]: p for p in entries["llama"]["supported_parameters"]}
    assert "top_k" not in llama  # dropped by [defaults]
    assert llama["temperature"]["default"] == 0.7
    assert params["max_tokens"]["max"] == 4096

    assert entries["bge-m3"]["category"] == "embedding"
    assert entries["bge-m3"]["output_modalities"] == ["embeddings"]
    assert entries["bge-m3"]["capabilities"]["streaming"] is False
    assert entries["bge-m3"]["supported_parameters"] == []
    assert entries["bge-reranker"]["category"] == "rerank"

    gpt2 = entries["gpt2"]
    assert (gpt2["category"], gpt2["provider"], gpt2["model_released_at"]) == ("text", "OpenAI", "2019-11-05")
    assert {p["name"]: p for p in gpt2["supported_parameters"]}["top_k"]["max"] == 100  # the model's own wins


@pytest.mark.parametrize(
    ("snippet", "field", "message"),
    [
        ('[models.supported_parameters]\ntemperature = { min = 2, max = 1 }', "supported_parameters", "above max"),
        ('[models.supported_parameters]\nmystery = { default = 1 }', "supported_parameters", "give its type"),
        ('[models.supported_parameters]\nmax_tokens = { max = 999999 }', None, "max_output_length"),
        ('[models.supported_parameters]\ntemperature = { default = 3, max = 2 }', "supported_parameters", "outside"),
        ('[models.supported_parameters]\ntool_choice = { options = ["auto"], default = "none" }', "supported_parameters",
         "not one of the options"),
        ('release_date = "20 Jan 2025"', "release_date", "YYYY-MM-DD"),
        ('category = "chat"', "category", None),
    ],
)  # fmt: skip
def test_bad_catalog_view_keys_exit_2_naming_the_field(
    snippet, field, message, mirror, make_settings, tmp_path, monkeypatch, capsys
) -> None:
    catalog = tmp_path / "catalog.toml"
    base = (
        '[[models]]\nid = "r1"\nhugging_face_id = "deepseek-ai/DeepSeek-R1"\nmax_output_length = 4096\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0.2" }\n'
    )
    catalog.write_text(base + snippet + "\n")
    for name, value in {
        "SYNCER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "HF_ENDPOINT": mirror.url,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "now", "--catalog", str(catalog)]) == 2
    err = capsys.readouterr().err
    assert "'r1'" in err or "r1" in err
    if field:
        assert field in err
    if message:
        assert message in err
    assert not (tmp_path / "snapshots").exists()


def test_stale_hub_facts_are_flagged_with_stale_since(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    root = repo_tree("google/gemma-2-9b-it")
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[models]]\nid = "gemma"\nhugging_face_id = "google/gemma-2-9b-it"\nmax_output_length = 4096\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0.2" }\n'
    )
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url, catalog=catalog
    )
    assert run_sync(settings=settings).exit_code == 0
    fresh = json.loads((settings.snapshot_dir / "catalog.json").read_text())["data"][0]
    assert "stale_since" not in fresh

    (root / "google" / "gemma-2-9b-it" / "_repo.json").write_text(json.dumps({"private": True}))  # now a 404
    report = run_sync(settings=settings)
    assert report.exit_code == 1
    stale = json.loads((settings.snapshot_dir / "catalog.json").read_text())["data"][0]
    check_entry(stale)
    assert stale["context_length"] == fresh["context_length"]  # last good facts kept
    since = datetime.strptime(stale["stale_since"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert report.started_at.replace(microsecond=0) <= since <= report.finished_at  # marked by this run


# models.dev's hourly sync of this provider (anomalyco/models.dev, packages/core/src/sync/providers/
# empiriolabs.ts, PR #2707), its reading rules as read in that file, stated as facts:
#  - the response is {"data": [...]}; each entry needs a string "id"; pricing, if present, is ONE object or a
#    LIST of objects whose prompt/completion/input_cache_read are strings (anything else fails the parse);
#    context_length / max_output_tokens are numbers or null; features, input/output_modalities are string
#    lists; supported_parameters a list of {name: string, type?: string, options?: string[]};
#  - kept: category "text" (case-insensitive) and an id without ":";
#  - price = pricing[0] when a list; per-token strings, times 1e6;
#  - context = context_length ?? context_window (skipped without one); output = max_output_tokens ?? context;
#  - reasoning = capabilities.reasoning === true or "reasoning" in features; tool call = "tools" or
#    "function_calling" in features; structured output = "structured_output" (singular) in features;
#  - reasoning control: reasoning_effort's options among EFFORT_VALUES, else enable_thinking (a toggle), else
#    none; name = display_name ?? name ?? id; release date = model_released_at.
SYNC_EFFORT_VALUES = ("none", "minimal", "low", "medium", "high", "xhigh", "max", "default")
SYNC_PRICE_KEYS = ("prompt", "completion", "input_cache_read")


def sync_parse_problems(entry: dict[str, Any]) -> list[str]:
    problems = []
    if not isinstance(entry.get("id"), str):
        problems.append("id")
    pricing = entry.get("pricing")
    if pricing is not None:
        tiers = pricing if isinstance(pricing, list) else [pricing]
        if not all(isinstance(t, dict) for t in tiers):
            problems.append("pricing")
        for tier in tiers:
            problems += [k for k in SYNC_PRICE_KEYS if k in tier and not isinstance(tier[k], str)]
    for key in ("context_length", "max_output_tokens"):
        if entry.get(key) is not None and not _is_number(entry[key]):
            problems.append(key)
    for key in ("features", "input_modalities", "output_modalities"):
        if key in entry and not (
            isinstance(entry[key], list) and all(isinstance(v, str) for v in entry[key])
        ):
            problems.append(key)
    for p in entry.get("supported_parameters", []):
        if not isinstance(p.get("name"), str) or not all(isinstance(o, str) for o in p.get("options", [])):
            problems.append("supported_parameters")
    return problems


def sync_reads(entry: dict[str, Any]) -> dict[str, Any]:
    features = set(entry.get("features") or [])
    tier = entry["pricing"][0] if isinstance(entry["pricing"], list) else entry["pricing"]
    params = {p["name"]: p for p in entry.get("supported_parameters") or []}
    reasoning = entry.get("capabilities", {}).get("reasoning") is True or "reasoning" in features
    efforts = [v for v in params.get("reasoning_effort", {}).get("options", []) if v in SYNC_EFFORT_VALUES]
    control = ("effort", efforts) if efforts else ("toggle",) if "enable_thinking" in params else None
    context = entry.get("context_length") or entry.get("context_window")
    return {
        "cost": {k: Decimal(tier[k]) * 1_000_000 for k in SYNC_PRICE_KEYS if k in tier},
        "context": context,
        "output": entry.get("max_output_tokens") or context,
        "name": entry.get("display_name") or entry.get("name") or entry["id"],
        "release_date": entry.get("model_released_at"),
        "input": entry.get("input_modalities"),
        "output_modalities": entry.get("output_modalities"),
        "reasoning": reasoning,
        "tool_call": "tools" in features or "function_calling" in features,
        "structured_output": "structured_output" in features,
        "reasoning_control": control if reasoning else None,
    }


def openrouter_says(listed: dict[str, Any]) -> dict[str, Any]:
    """The same facts as the OpenRouter view states them."""
    features = set(listed["supported_features"])
    return {
        "cost": {
            k: Decimal(listed["pricing"][k]) * 1_000_000 for k in SYNC_PRICE_KEYS if k in listed["pricing"]
        },
        "context": listed["context_length"],
        "output": listed["max_output_length"],
        "name": listed["name"],
        "release_date": datetime.fromtimestamp(listed["created"], UTC).strftime("%Y-%m-%d"),
        "input": listed["input_modalities"],
        "output_modalities": listed["output_modalities"],
        "reasoning": "reasoning" in features,
        "tool_call": "tools" in features,
        "structured_output": "structured_outputs" in features,
    }


def test_models_dev_sync_reads_every_text_model_as_the_openrouter_view_says(synced) -> None:
    from syncer.serve import ServerThread

    with ServerThread(synced) as server:
        import httpx

        document = httpx.get(f"{server.url}/v1/models", timeout=10).json()
    assert isinstance(document.get("data"), list)
    for entry in document["data"]:
        assert sync_parse_problems(entry) == [], entry["id"]  # one bad entry rejects the whole sync
    kept = {
        e["id"]: e
        for e in document["data"]
        if str(e.get("category", "")).lower() == "text" and ":" not in e["id"]
    }
    text_models = {e["id"] for e in document["data"] if e["category"] == "text"}
    assert set(kept) == text_models and {"qwen3-5-9b", "gpt-oss-20b", "llava-1-5-7b"} <= set(kept)
    openrouter = {
        e["id"]: e for e in json.loads((synced.snapshot_dir / "openrouter.json").read_text())["data"]
    }
    controls = {}
    for model_id, entry in kept.items():
        read = sync_reads(entry)
        assert read["context"] is not None, model_id  # else the sync skips the model
        controls[model_id] = read.pop("reasoning_control")
        house = CATALOG_MODELS[model_id]
        if model_id in openrouter:
            assert read == openrouter_says(openrouter[model_id]), model_id
        else:  # not flagged for OpenRouter (llava): the catalog's own values
            assert read["cost"] == {k: Decimal(house["pricing"][k]) * 1_000_000 for k in SYNC_PRICE_KEYS
                                    if k in house["pricing"]}  # fmt: skip
            assert read["output"] == house["max_output_length"]
    assert controls["gpt-oss-20b"] == (
        "effort",
        ["low", "medium", "high"],
    )  # its template reads reasoning_effort
    assert controls["qwen3-5-9b"] == ("toggle",)  # the catalog's enable_thinking override
    assert controls["llama-3-1-8b-instruct"] is None  # not a reasoning model


REASONING_CATALOG = """
[defaults]
datacenters = ["JP"]
max_output_length = 4096
pricing = { prompt = "0.0000001", completion = "0.0000002" }
supported_features = ["reasoning"]
supported_sampling_parameters = ["temperature", "max_tokens"]

[[models]]
id = "qwen3-8b"
hugging_face_id = "Qwen/Qwen3-8B"

[[models]]
id = "gpt-oss"
hugging_face_id = "openai/gpt-oss-20b"

[[models]]
id = "r1"
hugging_face_id = "deepseek-ai/DeepSeek-R1"

[[models]]
id = "r1-effort"
hugging_face_id = "deepseek-ai/DeepSeek-R1"
[models.supported_parameters]
reasoning_effort = { options = ["high"] }

[[models]]
id = "qwen3-8b-no-switch"
hugging_face_id = "Qwen/Qwen3-8B"
[models.supported_parameters]
enable_thinking = { enabled = false }
"""


def test_reasoning_controls_follow_the_chat_template_and_the_catalog_override(
    mirror, make_settings, tmp_path
) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(REASONING_CATALOG)
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url, catalog=catalog
    )
    assert run_sync(settings=settings).exit_code == 0
    entries = {e["id"]: e for e in json.loads((settings.snapshot_dir / "catalog.json").read_text())["data"]}

    def controls(model_id: str) -> dict[str, Any]:
        params = {p["name"]: p for p in entries[model_id]["supported_parameters"]}
        return {n: params[n] for n in ("enable_thinking", "reasoning_effort") if n in params}

    # Qwen3's template reads enable_thinking: a toggle, passed through chat_template_kwargs.
    assert controls("qwen3-8b") == {"enable_thinking": {"name": "enable_thinking", "type": "boolean"}}
    # gpt-oss' Harmony template reads reasoning_effort as free text (default "medium"): the three levels.
    assert controls("gpt-oss") == {
        "reasoning_effort": {
            "name": "reasoning_effort",
            "type": "string",
            "options": ["low", "medium", "high"],
        }
    }
    # DeepSeek-R1's template always opens <think>: it reasons with no switch.
    assert controls("r1") == {}
    assert sync_reads(entries["r1"])["reasoning_control"] is None
    # the catalog overrides per model: add a control, or drop one the template has
    assert controls("r1-effort") == {
        "reasoning_effort": {"name": "reasoning_effort", "type": "string", "options": ["high"]}
    }
    assert controls("qwen3-8b-no-switch") == {}


def test_claims_that_make_no_sense_are_claim_contradicted_warnings(mirror, make_settings, tmp_path) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[models]]\nid = "bge-m3"\nhugging_face_id = "BAAI/bge-m3"\nmax_output_length = 1\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0" }\n'
        'supported_features = ["tools", "json_mode"]\nsupported_sampling_parameters = []\n'
        '[[models]]\nid = "gemma"\nhugging_face_id = "google/gemma-2-9b-it"\nmax_output_length = 8192\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0.2" }\n'
        '[[models]]\nid = "reranker"\nhugging_face_id = "BAAI/bge-reranker-v2-m3"\nmax_output_length = 1\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0" }\n'
        'supported_features = ["reasoning", "structured_outputs"]\nsupported_sampling_parameters = []\n'
        '[[models]]\nid = "whisper"\nhugging_face_id = "openai/whisper-large-v3"\nmax_output_length = 256\n'
        'datacenters = ["JP"]\npricing = { prompt = "0.1", completion = "0.2" }\ncategory = "audio"\n'
        'supported_features = ["tools"]\n'
    )
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url, catalog=catalog
    )
    report = run_sync(settings=settings)
    assert report.exit_code == 0
    warnings = {o.model_id: o.warnings for o in report.outcomes}
    assert any("catalog claims 'tools' for an embedding model" in w for w in warnings["bge-m3"])
    assert any("catalog claims 'json_mode' for an embedding model" in w for w in warnings["bge-m3"])
    assert any("max_output_length 8192 equal to context_length 8192" in w for w in warnings["gemma"])
    assert not any("equal to context_length" in w for w in warnings["bge-m3"])
    for feature in ("reasoning", "structured_outputs"):
        assert any(f"catalog claims {feature!r} for a rerank model" in w for w in warnings["reranker"])
    assert any("catalog claims 'tools' for a speech model (category audio)" in w for w in warnings["whisper"])
    assert "gemma" not in {
        o.model_id for o in report.outcomes if any("makes no sense" in w for w in o.warnings)
    }


# Facts that generalise: a checkpoint that declares no length (state-spaces/mamba-2.8b-hf: no length key, and
# transformers' MambaConfig has none) is served by vLLM with its assumed 2048 window and a logged warning
# (vllm/config/model.py _get_and_verify_max_len); --max-model-len is then taken as given. One whose text config
# lacks the key gets its configuration class's default (google/gemma-3-4b-it: Gemma3TextConfig, 131072).
ASSUMED_WINDOW_CATALOG = """
[defaults]
datacenters = ["JP"]
max_output_length = 1024
pricing = { prompt = "0.0000001", completion = "0.0000002" }

[[models]]
id = "mamba"
hugging_face_id = "state-spaces/mamba-2.8b-hf"
openrouter = { slug = "state-spaces/mamba-2.8b" }

[[models]]
id = "mamba-8k"
hugging_face_id = "state-spaces/mamba-2.8b-hf"
context_length = 8192
openrouter = { slug = "state-spaces/mamba-2.8b-8k" }

[[models]]
id = "mamba-1k"
hugging_face_id = "state-spaces/mamba-2.8b-hf"
context_length = 1536
openrouter = { slug = "state-spaces/mamba-2.8b-1k" }

[[models]]
id = "gemma3"
hugging_face_id = "google/gemma-3-4b-it"
openrouter = { slug = "google/gemma-3-4b-it" }
"""


def test_a_model_that_declares_no_length_is_listed_with_vllms_assumed_window_and_a_warning(
    mirror, tmp_path, monkeypatch, capsys
) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(ASSUMED_WINDOW_CATALOG)
    for name, value in {
        "SYNCER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "HF_ENDPOINT": mirror.url,
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "now", "--catalog", str(catalog), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    warnings = {}
    for row in run["warnings"]:
        warnings.setdefault(row["model"], []).append(row)

    # listed (both views), with 2048, and the run says it is an assumption to confirm with a catalog cap
    openrouter = {
        e["id"]: e for e in json.loads((tmp_path / "snapshots" / "openrouter.json").read_text())["data"]
    }
    entries = {e["id"]: e for e in json.loads((tmp_path / "snapshots" / "catalog.json").read_text())["data"]}
    for entry in entries.values():
        check_entry(entry)
    assert openrouter["mamba"]["context_length"] == entries["mamba"]["context_length"] == 2048
    assert [(w["kind"], w["warning"]) for w in warnings["mamba"]] == [
        (
            "assumed_window",
            "context_length 2048 is vLLM's assumed default: config.json and its transformers configuration"
            " class declare no length, and vLLM reads none from tokenizer_config.json (vLLM logs the same"
            " warning); confirm the served window with context_length in the catalog",
        )
    ]
    # the catalog's context_length is the served window (vLLM takes --max-model-len as given): no warning
    assert openrouter["mamba-8k"]["context_length"] == entries["mamba-8k"]["context_length"] == 8192
    assert openrouter["mamba-1k"]["context_length"] == entries["mamba-1k"]["context_length"] == 1536
    assert "mamba-8k" not in warnings and "mamba-1k" not in warnings
    # a class default is a fact, not an assumption: listed without a warning
    assert openrouter["gemma3"]["context_length"] == entries["gemma3"]["context_length"] == 131072
    assert "gemma3" not in warnings

    def explained(model_id: str) -> dict[str, Any]:
        assert main(["explain", model_id, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    def context_source(explanation: dict[str, Any]) -> str:
        sources = {f["source"] for f in explanation["fields"] if f["field"] == "context_length"}
        assert len(sources) == 1, sources
        return sources.pop()

    mamba = explained("mamba")
    assert mamba["warnings"] == [w["warning"] for w in warnings["mamba"]]
    assert context_source(mamba).startswith("hub: config.json no length declared: vLLM assumes 2048 @ ")
    assert "no length declared: vLLM assumes 2048" in mamba["hub_provenance"]["context_length"]
    capped = explained("mamba-8k")
    assert capped["warnings"] == []
    assert context_source(capped).startswith(
        "catalog: context_length (the Hub config declares none; vLLM would assume 2048 @ "
    )
    gemma = explained("gemma3")
    assert gemma["warnings"] == []
    assert context_source(gemma).startswith(
        "hub: config.json text_config.max_position_embeddings (absent: transformers Gemma3TextConfig default):"
        " 131072 (gemma3: rope scaling not applied) @ "
    )
    # the text summary names the kind too
    assert main(["explain", "mamba"]) == 0
    assert "vLLM's assumed default" in capsys.readouterr().out
