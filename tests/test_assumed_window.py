"""The merge rule for a checkpoint that declares no length (syncer.listing.merge_model, syncer.merge.merge_one):
listed with vLLM's assumed window and a warning, unless the catalog's context_length says what is served.

Pure: the facts are derived from the real fixture config (mirror/repos/state-spaces/mamba-2.8b-hf), no Hub."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syncer.catalog import Catalog, load_catalog
from syncer.derive import (
    VLLM_DEFAULT_MAX_LEN,
    HubFiles,
    assumed_window,
    assumed_window_warning,
    derive_facts,
)
from syncer.listing import Facts, Merged, merge_model
from syncer.merge import StalePolicy, merge_one

MAMBA = Path(__file__).resolve().parent.parent / "mirror" / "repos" / "state-spaces" / "mamba-2.8b-hf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _facts(config: dict[str, object]) -> Facts:
    derived = derive_facts(HubFiles(config=config))
    assert derived.context_length is not None
    return Facts(
        repo_id="state-spaces/mamba-2.8b-hf",
        commit_sha=COMMIT,
        created_at=datetime(2024, 3, 5, tzinfo=UTC),
        context_length=derived.context_length.value,
        input_modalities=derived.input_modalities.value,
        output_modalities=derived.output_modalities.value,
        template_features=None,
        pipeline_tag=None,
        provenance={"context_length": derived.context_length.source},
    )


MAMBA_CONFIG = json.loads((MAMBA / "config.json").read_text())


def _catalog(tmp_path: Path, extra: str = "", max_output_length: int = 1024) -> Catalog:
    path = tmp_path / "catalog.toml"
    path.write_text(
        '[[models]]\nid = "mamba"\nhugging_face_id = "state-spaces/mamba-2.8b-hf"\n'
        f'max_output_length = {max_output_length}\ndatacenters = ["JP"]\n'
        'pricing = { prompt = "0.0000001", completion = "0.0000002" }\n'
        'openrouter = { slug = "state-spaces/mamba-2.8b" }\n' + extra
    )
    return load_catalog(path)


def _merge(catalog: Catalog, facts: Facts) -> Merged:
    return merge_model(model=catalog.models[0], facts=facts, catalog_file=str(catalog.path))


def test_the_fixture_declares_no_length_so_its_window_is_the_assumed_one() -> None:
    facts = _facts(MAMBA_CONFIG)
    assert facts.context_length == VLLM_DEFAULT_MAX_LEN == 2048
    assert assumed_window(facts.provenance["context_length"])


def test_without_a_cap_the_assumed_window_is_listed_with_a_warning_that_asks_for_one(tmp_path: Path) -> None:
    merged = _merge(_catalog(tmp_path), _facts(MAMBA_CONFIG))
    assert merged.issues == ()
    assert merged.openrouter_entry is not None and merged.openrouter_entry["context_length"] == 2048
    assert merged.catalog_entry["context_length"] == 2048
    assert merged.warnings == (assumed_window_warning(2048),)
    assert "confirm the served window with context_length in the catalog" in merged.warnings[0]
    assert merged.provenance["context_length"] == (
        f"hub: config.json no length declared: vLLM assumes 2048 @ {COMMIT[:7]}"
    )


@pytest.mark.parametrize("cap", [1024, 2048, 8192, 131072])
def test_a_cap_is_the_served_window_below_or_above_the_assumed_one_and_silences_the_warning(
    tmp_path: Path, cap: int
) -> None:
    merged = _merge(
        _catalog(tmp_path, f"context_length = {cap}\n", max_output_length=512), _facts(MAMBA_CONFIG)
    )
    assert merged.issues == () and merged.warnings == ()
    assert merged.openrouter_entry is not None and merged.openrouter_entry["context_length"] == cap
    assert merged.catalog_entry["context_length"] == cap
    assert merged.provenance["context_length"] == (
        f"catalog: context_length (the Hub config declares none; vLLM would assume 2048 @ {COMMIT[:7]})"
    )


def test_a_declared_window_is_still_a_ceiling_for_the_cap(tmp_path: Path) -> None:
    # the same checkpoint with a declared length: a cap above it is refused, not taken as the window
    declared = _facts({**MAMBA_CONFIG, "max_position_embeddings": 2048})
    assert not assumed_window(declared.provenance["context_length"])
    merged = _merge(_catalog(tmp_path, "context_length = 8192\n"), declared)
    assert merged.warnings == ()
    assert [(i.field, i.message) for i in merged.issues] == [
        ("context_length", f"cap 8192 is above the checkpoint's native window 2048 @ {COMMIT[:7]}")
    ]
    assert merged.openrouter_entry is None and merged.catalog_entry["context_length"] == 2048


def test_a_rope_scaled_assumed_window_warns_with_the_scaled_length(tmp_path: Path) -> None:
    scaled = _facts({**MAMBA_CONFIG, "rope_scaling": {"type": "linear", "factor": 4.0}})
    assert scaled.context_length == 8192 and assumed_window(scaled.provenance["context_length"])
    merged = _merge(_catalog(tmp_path), scaled)
    assert merged.warnings == (assumed_window_warning(8192),)
    assert merged.catalog_entry["context_length"] == 8192


def test_max_output_length_equal_to_the_assumed_window_warns_twice(tmp_path: Path) -> None:
    merged = _merge(_catalog(tmp_path, max_output_length=2048), _facts(MAMBA_CONFIG))
    assert merged.issues == ()
    assumed, equal = merged.warnings
    assert assumed == assumed_window_warning(2048)
    assert equal.startswith("catalog claims max_output_length 2048 equal to context_length 2048")


def test_merge_one_carries_the_warning_to_the_run_outcome(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    policy = StalePolicy(drop_after_runs=3, drop_after_days=None, not_ready_after_hours=None)
    merged, outcome, update = merge_one(
        catalog.models[0], _facts(MAMBA_CONFIG), None, catalog=catalog, policy=policy, now=NOW
    )
    assert outcome.context_length == 2048 and outcome.listed and merged.openrouter_entry is not None
    assert outcome.warnings == [assumed_window_warning(2048)]
    assert update is not None and update.facts is not None
    assert assumed_window(update.facts.provenance["context_length"])
