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
            entry = catalog_entry if f["view"] == "catalog" else openrouter_entry
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
