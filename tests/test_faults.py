"""Hub faults, injected per repo by the local mirror and met through the real huggingface_hub client.

Each fault hits one model; the other model syncs normally, the faulted one keeps its last good facts (or, never
resolved, stays out of the OpenRouter view), and the run reports what happened in words.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from catalogs import GEMMA, QWEN, TWO_MODELS, catalog_toml

from syncer.sync import run_sync

CATALOG = catalog_toml(TWO_MODELS)


@pytest.fixture
def world(repo_tree, private_mirror, make_settings, tmp_path):
    """Two real repos on a private mirror, a two-model catalog, fast retry settings."""
    root = repo_tree(QWEN, GEMMA)
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        endpoint=hub.url,
        catalog=catalog,
        hub_timeout=0.5,
        hub_retries=2,
        hub_retry_backoff=0.01,
        hub_model_deadline=3.0,
    )
    return hub, root, settings


def _outcome(report: Any, model_id: str) -> Any:
    return next(o for o in report.outcomes if o.model_id == model_id)


def _api_requests(hub: Any, repo: str) -> int:
    return sum(1 for r in hub.requests() if r["kind"] == "api" and repo in str(r["path"]))


FAULTS = {
    # name: (fault spec, expected error kind, extra settings)
    "503 forever": ({"mode": "status", "status": 503}, "transient"),
    "500 forever": ({"mode": "status", "status": 500}, "transient"),
    "hang": ({"mode": "hang", "seconds": 30}, "transient"),
    "connection reset": ({"mode": "reset"}, "transient"),
    "not json": ({"mode": "not_json"}, "bad_body"),
    "404 repo not found": ({"mode": "status", "status": 404, "error_code": "RepoNotFound"}, "not_found"),
    "401 no access": ({"mode": "status", "status": 401, "error_code": "RepoNotFound"}, "not_found"),
    "403 forbidden": ({"mode": "status", "status": 403}, "not_found"),
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_fault_on_a_never_synced_model_fails_only_that_model(case, world) -> None:
    hub, _, settings = world
    fault, kind = FAULTS[case]
    hub.set_faults({GEMMA: fault})

    report = run_sync(settings=settings)

    gemma, qwen = _outcome(report, "gemma"), _outcome(report, "qwen")
    assert (gemma.status, gemma.error_kind, gemma.listed) == ("unresolved", kind, False)
    assert "gemma" in gemma.error and GEMMA in gemma.error
    assert (qwen.status, qwen.listed) == ("synced", True)
    assert report.exit_code == 1
    listed = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    assert [e["id"] for e in listed["data"]] == ["qwen"]


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_fault_on_a_synced_model_keeps_its_last_good_facts(case, world) -> None:
    hub, _, settings = world
    assert run_sync(settings=settings).exit_code == 0
    before = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}
    fault, kind = FAULTS[case]
    hub.set_faults({GEMMA: fault})

    report = run_sync(settings=settings)

    gemma = _outcome(report, "gemma")
    assert (gemma.status, gemma.error_kind, gemma.listed) == ("failed", kind, True)
    assert gemma.context_length == 8192, "the last good facts stay"
    after = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}
    assert after["openrouter.json"] == before["openrouter.json"]
    if kind == "not_found":  # stale, marked in the catalog view
        entry = next(e for e in json.loads(after["catalog.json"])["data"] if e["id"] == "gemma")
        assert "stale_since" in entry
    else:
        assert after == before


def test_transient_error_is_retried_with_a_bounded_number_of_attempts(world) -> None:
    hub, _, settings = world
    hub.set_faults({GEMMA: {"mode": "status", "status": 503, "kinds": ["api"]}})
    run_sync(settings=settings)
    assert _api_requests(hub, GEMMA) == 1 + settings.hub_retries


def test_one_transient_error_is_absorbed_by_a_retry(world) -> None:
    hub, _, settings = world
    hub.set_faults({GEMMA: {"mode": "status", "status": 502, "times": 1}})
    report = run_sync(settings=settings)
    assert report.exit_code == 0
    assert _api_requests(hub, GEMMA) == 2


def test_rate_limit_is_honoured_then_the_model_syncs(world) -> None:
    hub, _, settings = world
    hub.set_faults({GEMMA: {"mode": "rate_limit", "seconds": 1, "times": 1, "kinds": ["api"]}})
    report = run_sync(settings=settings)
    assert report.exit_code == 0
    statuses = [r["status"] for r in hub.requests() if r["kind"] == "api" and GEMMA in str(r["path"])]
    assert statuses == [429, 200]


def test_a_long_rate_limit_slows_the_whole_run_instead_of_hammering(world) -> None:
    hub, _, settings = world
    hub.set_faults(
        {"*": {"mode": "rate_limit", "seconds": 30}}
    )  # the Hub's limit is per account, not per repo
    report = run_sync(settings=settings)
    assert {(o.status, o.error_kind) for o in report.outcomes} == {("unresolved", "transient")}
    assert all("429" in o.error or "rate limited" in o.error for o in report.outcomes)
    # One attempt per model, then nobody asks again within the Retry-After window.
    assert sum(1 for r in hub.requests() if r["kind"] == "api") == 2


def test_truncated_config_download_fails_with_bad_body(world) -> None:
    hub, _, settings = world
    hub.set_faults({GEMMA: {"mode": "truncate", "kinds": ["resolve"]}})
    report = run_sync(settings=settings)
    gemma = _outcome(report, "gemma")
    assert gemma.status == "unresolved"
    assert gemma.error_kind in ("bad_body", "transient")


def test_slow_body_within_the_timeout_still_syncs(world) -> None:
    hub, _, settings = world
    hub.set_faults({GEMMA: {"mode": "slow_body", "delay": 0.05, "chunk_size": 512, "kinds": ["resolve"]}})
    assert run_sync(settings=settings).exit_code == 0


def test_a_hanging_hub_costs_at_most_the_model_deadline(world) -> None:
    hub, _, settings = world
    hub.set_faults({"*": {"mode": "hang", "seconds": 60}})
    report = run_sync(settings=settings)  # would take 60 s per call without timeouts
    assert {o.status for o in report.outcomes} == {"unresolved"}
    took = (report.finished_at - report.started_at).total_seconds()
    # Not a timing assertion on speed: a bound that proves no call waited for the 60 s hang.
    assert took < 30


def test_rename_is_followed_and_reported(world) -> None:
    _, root, settings = world
    (root / GEMMA / "_repo.json").write_text(json.dumps({"renamed_from": ["google/gemma-2-9b-chat"]}))
    catalog = Path(settings.catalog)
    catalog.write_text(catalog_toml({"qwen": QWEN, "gemma": "google/gemma-2-9b-chat"}))
    report = run_sync(settings=settings)
    gemma = _outcome(report, "gemma")
    assert gemma.status == "synced"
    assert any("renamed" in w for w in gemma.warnings)
    entry = next(
        e
        for e in json.loads((settings.snapshot_dir / "openrouter.json").read_text())["data"]
        if e["id"] == "gemma"
    )
    assert entry["hugging_face_id"] == GEMMA


def test_gated_repo_without_access_is_an_access_problem(world) -> None:
    _, root, settings = world
    (root / GEMMA / "_repo.json").write_text(json.dumps({"gated": "manual"}))
    report = run_sync(settings=settings)
    gemma = _outcome(report, "gemma")
    assert (gemma.status, gemma.error_kind) == ("unresolved", "gated_no_access")
    assert "gated" in gemma.error


def test_gated_repo_with_a_token_syncs(repo_tree, private_mirror, make_settings, tmp_path) -> None:
    root = repo_tree(QWEN, GEMMA)
    (root / GEMMA / "_repo.json").write_text(json.dumps({"gated": "auto"}))
    hub = private_mirror(root, tokens=["hf_reader_token_for_tests"])
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url,
                             catalog=catalog, hf_token="hf_reader_token_for_tests")  # fmt: skip
    assert run_sync(settings=settings).exit_code == 0


def test_oversized_config_is_refused(world) -> None:
    _, _, settings = world
    report = run_sync(settings=settings.model_copy(update={"max_config_bytes": 1024}))
    qwen = _outcome(report, "qwen")  # its config.json is ~3 KB
    assert (qwen.status, qwen.error_kind) == ("unresolved", "bad_data")
    assert "above the cap" in qwen.error


# Fault injection: a copy of the real config with one value made absurd (these are not fixtures of real
# checkpoints; they model a broken upload).
ABSURD = {
    "negative": -8192,
    "string": "8192",
    "sentinel 1e30": 1e30,
}


@pytest.mark.parametrize("case", sorted(ABSURD))
def test_absurd_context_value_keeps_last_good_facts(case, world) -> None:
    _, root, settings = world
    assert run_sync(settings=settings).exit_code == 0
    config_path = root / GEMMA / "config.json"
    config = json.loads(config_path.read_text())
    config["max_position_embeddings"] = ABSURD[case]
    config_path.write_text(json.dumps(config))

    report = run_sync(settings=settings)

    gemma = _outcome(report, "gemma")
    assert (gemma.status, gemma.error_kind) == ("failed", "bad_data")
    assert gemma.context_length == 8192


def test_a_null_length_is_absent_as_in_vllm_and_nothing_is_published_past_the_catalog_cap(world) -> None:
    # vLLM skips a length key that is null and, with no other length, assumes 2048 (issue 14): so does the
    # derivation. The catalog's max_output_length 4096 is then above the window: a catalog rule that needs the
    # Hub's answer fails the run before anything is written, and the published listing stays as it was.
    from syncer.errors import CatalogError

    _, root, settings = world
    assert run_sync(settings=settings).exit_code == 0
    before = (settings.snapshot_dir / "openrouter.json").read_bytes()
    config_path = root / GEMMA / "config.json"
    config = json.loads(config_path.read_text())
    config["max_position_embeddings"] = None
    config_path.write_text(json.dumps(config))

    with pytest.raises(
        CatalogError, match="max_output_length': 4096 is above the listed context length 2048"
    ):
        run_sync(settings=settings)
    assert (settings.snapshot_dir / "openrouter.json").read_bytes() == before


def test_nan_in_config_is_refused(world) -> None:
    _, root, settings = world
    config_path = root / GEMMA / "config.json"
    config_path.write_text(
        config_path.read_text().replace('"max_position_embeddings": 8192', '"max_position_embeddings": NaN')
    )
    report = run_sync(settings=settings)
    gemma = _outcome(report, "gemma")
    assert gemma.error_kind == "bad_data" and "NaN" in gemma.error


def test_full_hub_outage_keeps_snapshots_byte_identical(world) -> None:
    hub, _, settings = world
    assert run_sync(settings=settings).exit_code == 0
    before = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}
    hub.stop()  # connection refused from now on

    report = run_sync(settings=settings)

    assert report.exit_code == 1
    assert {o.status for o in report.outcomes} == {"failed"}
    assert report.message and "every Hub lookup failed" in report.message
    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == before


TOKEN = "hf_SyncerLeakCanary0123456789abcdefXYZ"


def test_the_token_never_leaks(repo_tree, private_mirror, make_settings, tmp_path, caplog, capsys) -> None:
    """A recognisable token through every error path: logs, errors, store, snapshots, run history."""
    from syncer.cli import main
    from syncer.logs import configure_logging

    root = repo_tree(QWEN, GEMMA)
    (root / QWEN / "_repo.json").write_text(json.dumps({"gated": "manual"}))  # token not accepted: 401
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml({**TWO_MODELS, "ghost": "nobody/missing"}))
    db = tmp_path / "db.sqlite"
    settings = make_settings(database_url=f"sqlite:///{db}", endpoint=hub.url, catalog=catalog, hf_token=TOKEN,
                             hub_timeout=0.5, hub_model_deadline=2.0)  # fmt: skip
    configure_logging("json")
    caplog.set_level(logging.DEBUG)
    hub.set_faults({GEMMA: {"mode": "status", "status": 503}})
    first = run_sync(settings=settings)
    hub.set_faults({GEMMA: {"mode": "hang", "seconds": 30}})
    second = run_sync(settings=settings)
    assert {o.error_kind for o in first.outcomes + second.outcomes} >= {
        "gated_no_access",
        "not_found",
        "transient",
    }

    import os

    os.environ.update(
        {"SYNCER_DATABASE_URL": settings.database_url, "SYNCER_SNAPSHOT_DIR": str(settings.snapshot_dir)}
    )
    try:
        main(["runs", "--json"])
        main(["explain", "gemma", "--json"])
    finally:
        os.environ.pop("SYNCER_DATABASE_URL")
        os.environ.pop("SYNCER_SNAPSHOT_DIR")
    seen = [json.dumps(first.as_dict()), json.dumps(second.as_dict()), caplog.text, *capsys.readouterr()]
    seen += [p.read_text() for p in settings.snapshot_dir.iterdir()]
    seen.append(db.read_bytes().decode("utf-8", "replace"))
    seen.append(repr(settings))
    assert all(TOKEN not in text for text in seen)
    # The token did reach the mirror (so the test exercised authenticated calls).
    assert hub.requests()
