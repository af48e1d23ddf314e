"""``syncer explain`` for every model of config/catalog.toml, after a real sync through the mirror: every
field of both views, its value, and a recorded source (catalog key, [defaults], or Hub file + key + commit)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from syncer.cli import main

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CATALOG = PROJECT_ROOT / "config" / "catalog.toml"
CATALOG_IDS = sorted(m["id"] for m in tomllib.loads(EXAMPLE_CATALOG.read_text())["models"])


@pytest.fixture
def synced(database_url, mirror, tmp_path, monkeypatch, capsys) -> Path:
    snapshots = tmp_path / "snapshots"
    for name, value in {
        "SYNCER_DATABASE_URL": database_url,
        "SYNCER_SNAPSHOT_DIR": str(snapshots),
        "SYNCER_CATALOG": str(EXAMPLE_CATALOG),
        "HF_ENDPOINT": mirror.url,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
    }.items():
        monkeypatch.setenv(name, value)
    # --wait: the server databases may be shared with another test run holding the sync lock.
    assert main(["sync", "now", "--wait", "120"]) == 0
    capsys.readouterr()
    return snapshots


def _explain(model_id: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["explain", model_id, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def _entry(snapshots: Path, name: str, model_id: str) -> dict[str, Any] | None:
    data = json.loads((snapshots / f"{name}.json").read_text())["data"]
    return next((e for e in data if e["id"] == model_id), None)


def test_explain_covers_every_field_of_every_catalog_model(synced: Path, capsys) -> None:
    assert len(CATALOG_IDS) >= 6
    for model_id in CATALOG_IDS:
        explanation = _explain(model_id, capsys)
        catalog_entry = _entry(synced, "catalog", model_id)
        openrouter_entry = _entry(synced, "openrouter", model_id)
        assert catalog_entry is not None
        assert explanation["in_openrouter_view"] == (openrouter_entry is not None)
        fields = explanation["fields"]
        explained = {(f["field"], f["view"]) for f in fields}
        for key in catalog_entry:
            assert (key, "catalog") in explained or (key, "both") in explained, (model_id, key)
        for key in openrouter_entry or {}:
            assert (key, "openrouter") in explained or (key, "both") in explained, (model_id, key)
        for f in fields:
            views = {"catalog": catalog_entry, "openrouter-v2": _entry(synced, "openrouter-v2", model_id)}
            entry = views.get(f["view"], openrouter_entry)
            assert entry is not None and entry[f["field"]] == f["value"], (model_id, f)
            assert f["source"] != "unrecorded", (model_id, f["field"])
            assert f["source_kind"] in {"hub", "catalog", "defaults", "built-in default", "derived", "constant",
                                        "sync health", "first seen"} or f["source"].startswith(
                ("ready:", "staging:", "house parameter table", "vision:")), (model_id, f)  # fmt: skip
        commit = explanation["commit"]
        assert commit and len(commit) == 40
        for f in fields:
            if f["source_kind"] == "hub":
                assert f"@ {commit[:7]}" in f["source"] or "organisation" in f["source"], (model_id, f)

        assert main(["explain", model_id]) == 0
        text = capsys.readouterr().out
        for key in catalog_entry:
            assert re.search(rf"^{re.escape(key)}\s", text, re.MULTILINE), (model_id, key)


NEW_KEYS_CATALOG = PROJECT_ROOT / "tests" / "fixtures" / "openrouter" / "catalog-new-keys.toml"


@pytest.fixture
def synced_new_keys(database_url, mirror, tmp_path, monkeypatch, capsys) -> Path:
    snapshots = tmp_path / "snapshots"
    for name, value in {
        "SYNCER_DATABASE_URL": database_url,
        "SYNCER_SNAPSHOT_DIR": str(snapshots),
        "SYNCER_CATALOG": str(NEW_KEYS_CATALOG),
        "HF_ENDPOINT": mirror.url,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "now", "--wait", "120"]) == 0
    capsys.readouterr()
    return snapshots


def test_explain_names_the_source_of_every_issue_16_value(synced_new_keys: Path, capsys) -> None:
    """The example catalog that uses every new key: every field of the 2.4 entry is explained (its own row,
    or the flat row of the same value), and each new value names the catalog or [defaults] key it came from."""
    models = [m["id"] for m in tomllib.loads(NEW_KEYS_CATALOG.read_text())["models"]]
    by_model = {}
    for model_id in models:
        explanation = _explain(model_id, capsys)
        v2 = _entry(synced_new_keys, "openrouter-v2", model_id)
        flat = _entry(synced_new_keys, "openrouter", model_id)
        assert v2 is not None and flat is not None and explanation["in_openrouter_v2_view"]
        rows = {(f["field"], f["view"]): f for f in explanation["fields"]}
        for key, value in v2.items():
            row = rows.get((key, "openrouter-v2")) or rows.get((key, "openrouter")) or rows.get((key, "both"))
            assert row is not None and row["value"] == value, (model_id, key)
            assert "unrecorded" not in row["source"], (model_id, key, row["source"])
        by_model[model_id] = {(f["field"], f["view"]): f["source"] for f in explanation["fields"]}
        assert main(["explain", model_id]) == 0
        assert "openrouter-v2" in capsys.readouterr().out

    tiered = by_model["tiered"]
    inputs = tiered[("input_modalities", "openrouter-v2")]
    assert "cache_write/token: catalog: pricing.input_cache_write" in inputs
    assert "cached_prompt/token: catalog: pricing.input_cache_read" in inputs
    assert "tiers: catalog: pricing.overrides" in inputs
    assert "max_context_length: hub: config.json" in inputs
    assert "capacity prompt: defaults: capacity.prompt_tokens_per_minute" in inputs
    outputs = tiered[("output_modalities", "openrouter-v2")]
    assert "internal_reasoning/token: catalog: pricing.internal_reasoning" in outputs
    assert "max_length: defaults: max_output_length" in outputs
    assert "capacity completion: defaults: capacity.completion_tokens_per_minute" in outputs
    assert tiered[("pricing", "openrouter-v2")] == (
        "request/request: catalog: pricing.request; web_search/search: catalog: pricing.web_search"
    )
    assert tiered[("capacity", "openrouter-v2")] == (
        "capacity request: defaults: capacity.requests_per_minute; capacity concurrency: defaults: capacity.concurrency"
    )
    assert tiered[("datacenters", "openrouter-v2")] == "defaults: datacenters (country codes and regions)"
    assert tiered[("compliance", "openrouter-v2")] == "defaults: compliance"
    assert tiered[("tokenizer", "openrouter-v2")] == "defaults: tokenizer"
    assert tiered[("schema_version", "openrouter-v2")].startswith('constant: "2.4"')
    assert tiered[("capacity_tpm", "openrouter")] == "defaults: capacity.prompt_tokens_per_minute"
    assert tiered[("pricing", "openrouter")] == "catalog: pricing; tiers/windows: catalog: pricing.overrides"
    assert tiered[("pricing", "catalog")] == "catalog: pricing; tiers/windows: catalog: pricing.overrides"
    windowed = by_model["windowed"]
    assert (
        "prompt/token: catalog: pricing.overrides (window)" in windowed[("input_modalities", "openrouter-v2")]
    )
    assert windowed[("discount_to_user", "both")] == "catalog: discount_to_user"
    assert by_model["free"][("is_free", "both")] == "catalog: is_free"
    assert "prompt/image: catalog: pricing.image" in by_model["vision"][("input_modalities", "openrouter-v2")]


def test_yarn_context_length_names_file_key_factor_and_commit(synced: Path, capsys) -> None:
    explanation = _explain("gpt-oss-20b", capsys)
    context = next(f for f in explanation["fields"] if f["field"] == "context_length")
    sha7 = explanation["commit"][:7]
    assert context["value"] == 131072
    assert context["source"] == f"hub: config.json rope_scaling yarn 4096 x 32 @ {sha7}"
    assert main(["explain", "gpt-oss-20b"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("context_length "))
    assert re.search(rf"131072\s.*hub: config\.json rope_scaling yarn 4096 x 32 @ {sha7}$", line)


def test_sources_say_catalog_defaults_cap_and_hub(synced: Path, capsys) -> None:
    llama = {f["field"]: f for f in _explain("llama-3-1-8b-instruct", capsys)["fields"]}
    assert llama["context_length"]["value"] == 65536
    assert llama["context_length"]["source"].startswith("catalog: context_length cap 65536 (native 131072 @ ")
    assert llama["datacenters"]["source"] == "catalog: datacenters"
    assert llama["supported_sampling_parameters"]["source"] == "defaults: supported_sampling_parameters"
    llava = _explain("llava-1-5-7b", capsys)
    assert llava["in_openrouter_view"] is False
    fields = {f["field"]: f for f in llava["fields"]}
    assert {f["view"] for f in llava["fields"]} == {"catalog"}
    assert fields["input_modalities"]["value"] == ["text", "image"]
    assert "image: config.json vision_config" in fields["input_modalities"]["source"]
    assert fields["context_length"]["source"].startswith(
        "hub: config.json text_config.max_position_embeddings=4096"
    )


def test_explain_of_an_unknown_model_exits_2(synced: Path, capsys) -> None:
    assert main(["explain", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err
