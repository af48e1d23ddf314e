"""Every checkpoint of the corpus (tests/fixtures/expected.toml), fetched through the real huggingface_hub
client from the local mirror, derives the context length and modalities written down from its model card or
the engines' rules (never from running this code)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from syncer.derive import derive_facts
from syncer.hub import HubClient
from syncer_mirror import HubMirror

EXPECTED_FILE = Path(__file__).parent / "fixtures" / "expected.toml"
MIRROR_REPOS = Path(__file__).resolve().parent.parent / "mirror" / "repos"

# Expected values we believe to be wrong are marked here, never edited in expected.toml.
KNOWN_WRONG: dict[str, str] = {}


def _expected() -> dict[str, dict[str, Any]]:
    with EXPECTED_FILE.open("rb") as fh:
        models: dict[str, dict[str, Any]] = tomllib.load(fh)["models"]
    return models


def _cases() -> list[Any]:
    cases = []
    for repo_id, expected in sorted(_expected().items()):
        marks = (
            [pytest.mark.xfail(strict=True, reason=KNOWN_WRONG[repo_id])] if repo_id in KNOWN_WRONG else []
        )
        cases.append(pytest.param(repo_id, expected, id=repo_id, marks=marks))
    return cases


def test_the_corpus_is_large_and_every_table_has_its_repo_and_source() -> None:
    expected = _expected()
    assert len(expected) >= 25
    for repo_id, table in expected.items():
        assert (MIRROR_REPOS / repo_id / "config.json").is_file(), repo_id
        assert (MIRROR_REPOS / repo_id / "SOURCE.md").is_file(), repo_id
        assert table.get("source"), f"{repo_id}: the expected values must name their source"


@pytest.mark.parametrize(("repo_id", "expected"), _cases())
def test_corpus_model_derives_its_expected_facts(
    repo_id: str, expected: dict[str, Any], mirror: HubMirror, tmp_path: Path
) -> None:
    client = HubClient(endpoint=mirror.url, token=None, cache_dir=tmp_path / "hf-cache", retries=0)
    repo = client.fetch(model_id=repo_id, repo_id=repo_id, revision=None)
    facts = derive_facts(repo.files)

    assert repo.repo_id == repo_id
    assert len(repo.sha) == 40
    got_length = facts.context_length.value if facts.context_length else None
    assert got_length == expected["context_length"], facts.context_length
    # Order is not a fact about the checkpoint; the set is.
    assert sorted(facts.input_modalities.value) == sorted(expected["input_modalities"]), (
        facts.input_modalities.source
    )
    if "output_modalities" in expected:
        assert sorted(facts.output_modalities.value) == sorted(expected["output_modalities"]), (
            facts.output_modalities.source
        )
