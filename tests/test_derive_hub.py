"""Issue 3's Hub-level rules through a real sync (real huggingface_hub client, local mirror): the chat
template contradicting a house claim, renamed and gated repos, and a pinned revision. The sync report
lists these warnings in a table and in ``--json``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from syncer.cli import main
from syncer.store import make_engine
from syncer.store.models import HubFacts, ListingEntry

LLAMA, QWEN3, GEMMA, R1 = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen3-8B",
    "google/gemma-2-9b-it",
    "deepseek-ai/DeepSeek-R1",
)

CATALOG = """
[defaults]
datacenters = ["JP"]
max_output_length = 4096
pricing = { prompt = "0.1", completion = "0.2" }

[[models]]
id = "llama"
hugging_face_id = "meta-llama/Llama-3.1-8B-Instruct"
supported_features = ["tools", "reasoning"]   # the template has tools, no reasoning
openrouter = { slug = "meta-llama/llama" }

[[models]]
id = "qwen3"
hugging_face_id = "Qwen/Qwen3-8B"
supported_features = ["tools", "reasoning"]   # both in the template: no warning

[[models]]
id = "r1"
hugging_face_id = "deepseek-ai/DeepSeek-R1"
supported_features = ["reasoning"]

[[models]]
id = "gemma"
hugging_face_id = "google/gemma-2-9b-chat"    # the repo's old name: the Hub redirects
"""


@pytest.fixture
def world(
    repo_tree: Callable[..., Path],
    private_mirror: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Any, Path, Path, str]:
    root = repo_tree(LLAMA, QWEN3, GEMMA, R1)
    (root / GEMMA / "_repo.json").write_text(json.dumps({"renamed_from": ["google/gemma-2-9b-chat"]}))
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    for name, value in {
        "SYNCER_DATABASE_URL": url,
        "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
        "SYNCER_CATALOG": str(catalog),
        "HF_ENDPOINT": hub.url,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "SYNCER_HUB_RETRIES": "0",
    }.items():
        monkeypatch.setenv(name, value)
    return hub, root, catalog, url


def _sync_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["sync", "now", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_contradicted_claims_and_renames_are_warnings_in_json_and_table(world, capsys) -> None:
    code, report = _sync_json(capsys)
    assert code == 0
    kinds = {(w["model"], w["kind"]) for w in report["warnings"]}
    assert kinds == {("llama", "claim_contradicted"), ("gemma", "renamed")}
    llama = next(w for w in report["warnings"] if w["model"] == "llama")
    assert "'reasoning'" in llama["warning"] and "chat_template.jinja" in llama["warning"]

    assert main(["sync", "now"]) == 0
    out = capsys.readouterr().out
    assert "warnings:" in out
    table_lines = [line for line in out.splitlines() if line.startswith(("llama ", "gemma "))]
    assert any("claim_contradicted" in line for line in table_lines)
    assert any("renamed" in line and "google/gemma-2-9b-it" in line for line in table_lines)


def test_claims_are_still_listed_as_the_house_says(world, capsys) -> None:
    assert _sync_json(capsys)[0] == 0
    snapshot_dir = Path(os.environ["SYNCER_SNAPSHOT_DIR"])
    entry = json.loads((snapshot_dir / "openrouter.json").read_text())["data"][0]
    assert entry["id"] == "llama" and entry["supported_features"] == ["tools", "reasoning"]


def test_renamed_repo_records_the_canonical_id_beside_the_house_id(world, capsys) -> None:
    _, _, _, url = world
    assert _sync_json(capsys)[0] == 0
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(HubFacts.requested_repo, HubFacts.repo_id).where(HubFacts.model_id == "gemma")
        ).one()
        entry = conn.execute(sa.select(ListingEntry.catalog_entry, ListingEntry.provenance).where(
            ListingEntry.model_id == "gemma")).one()  # fmt: skip
    engine.dispose()
    assert tuple(row) == ("google/gemma-2-9b-chat", GEMMA)
    assert entry.catalog_entry["hugging_face_id"] == GEMMA
    assert "canonical id" in entry.provenance["hugging_face_id"]
    capsys.readouterr()
    assert main(["explain", "gemma"]) == 0
    assert "renamed; the catalog says google/gemma-2-9b-chat" in capsys.readouterr().out


def test_gated_repo_is_reported_as_gated_not_as_not_found(world, capsys) -> None:
    _, root, catalog, _ = world
    (root / QWEN3 / "_repo.json").write_text(json.dumps({"gated": "manual"}))
    catalog.write_text(CATALOG + '\n[[models]]\nid = "ghost"\nhugging_face_id = "nobody/nothing"\n')
    code, report = _sync_json(capsys)
    assert code == 1
    errors = {m["model_id"]: m["error_kind"] for m in report["models"]}
    assert errors["qwen3"] == "gated_no_access" and errors["ghost"] == "not_found"
    gated = [w for w in report["warnings"] if w["kind"] == "gated"]
    assert [w["model"] for w in gated] == ["qwen3"]
    assert gated[0]["warning"].startswith("gated: no access")

    assert main(["sync", "now"]) == 1
    out = capsys.readouterr().out
    qwen_line = next(line for line in out.splitlines() if line.startswith("qwen3 "))
    ghost_line = next(line for line in out.splitlines() if line.startswith("ghost "))
    assert "gated: no access" in qwen_line and "not found" not in qwen_line
    assert "not found" in ghost_line and "gated" not in ghost_line


def test_a_pinned_revision_is_honoured_and_its_commit_stored(world, capsys) -> None:
    _, root, catalog, url = world
    pinned = "1234567890abcdef1234567890abcdef12345678"
    (root / R1 / "_repo.json").write_text(json.dumps({"revisions": {"v1.0": pinned}}))
    catalog.write_text(CATALOG.replace('hugging_face_id = "deepseek-ai/DeepSeek-R1"',
                                       'hugging_face_id = "deepseek-ai/DeepSeek-R1"\nrevision = "v1.0"'))  # fmt: skip
    code, report = _sync_json(capsys)
    assert code == 0
    r1 = next(m for m in report["models"] if m["model_id"] == "r1")
    assert r1["commit"] == pinned
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(HubFacts.revision, HubFacts.commit_sha, ListingEntry.provenance)
            .join(ListingEntry, ListingEntry.model_id == HubFacts.model_id)
            .where(HubFacts.model_id == "r1")
        ).one()
    engine.dispose()
    assert (row.revision, row.commit_sha) == ("v1.0", pinned)
    assert row.provenance["context_length"] == f"hub: config.json rope_scaling yarn 4096 x 40 @ {pinned[:7]}"

    catalog.write_text(CATALOG.replace('hugging_face_id = "deepseek-ai/DeepSeek-R1"',
                                       'hugging_face_id = "deepseek-ai/DeepSeek-R1"\nrevision = "v9.9"'))  # fmt: skip
    code, report = _sync_json(capsys)
    r1 = next(m for m in report["models"] if m["model_id"] == "r1")
    assert (code, r1["error_kind"], r1["commit"]) == (1, "revision_not_found", pinned)
