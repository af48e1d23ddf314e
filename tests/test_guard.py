"""The publish guard: suspicious changes are held, the old snapshot stays, a human approves or rolls back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalogs import TWO_MODELS, catalog_toml

from syncer.cli import main
from syncer.publish.guard import diff_listings, diff_v2_prices, suspicious, v2_prices
from syncer.sync import run_sync


def _entry(model_id: str, prompt: str = "0.1", context: int = 8192) -> dict:
    return {"id": model_id, "pricing": {"prompt": prompt, "completion": "0.2"}, "context_length": context}


def _doc(*entries: dict) -> dict:
    return {"data": list(entries)}


def test_diff_lists_added_removed_and_changed_fields() -> None:
    diff = diff_listings(_doc(_entry("a"), _entry("b")), _doc(_entry("b", prompt="0.2"), _entry("c")))
    assert diff.added == ["c"]
    assert diff.removed == ["a"]
    assert [(c.model_id, c.field, c.old, c.new) for c in diff.changed] == [
        ("b", "pricing.prompt", "0.1", "0.2")
    ]


@pytest.mark.parametrize(
    ("old", "new", "held"),
    [
        ("0.1", "0.2", False),
        ("0.1", "1.0", False),  # exactly 10x is allowed
        ("0.1", "1.01", True),  # above 10x
        ("0.1", "0.0099", True),  # below a tenth
        ("0.1", "0", True),  # to zero
        ("0", "0.1", True),  # from zero
        ("0", "0", False),
    ],
)
def test_price_moves(old: str, new: str, held: bool) -> None:
    diff = diff_listings(_doc(_entry("a", prompt=old)), _doc(_entry("a", prompt=new)))
    reasons = suspicious(diff, old_count=1, still_flagged=["a"], max_removed_share=0.1)
    assert bool(reasons) is held, reasons


def test_context_shrinking_by_more_than_half_is_held() -> None:
    half = diff_listings(_doc(_entry("a", context=8192)), _doc(_entry("a", context=4096)))
    less = diff_listings(_doc(_entry("a", context=8192)), _doc(_entry("a", context=4095)))
    assert suspicious(half, old_count=1, still_flagged=["a"], max_removed_share=0.1) == []
    assert "shrinks" in suspicious(less, old_count=1, still_flagged=["a"], max_removed_share=0.1)[0]


def test_removals() -> None:
    old = _doc(*[_entry(f"m{i:02d}") for i in range(20)])
    one_gone = _doc(*[_entry(f"m{i:02d}") for i in range(1, 20)])
    three_gone = _doc(*[_entry(f"m{i:02d}") for i in range(3, 20)])
    # One of 20 (5%) removed deliberately from the catalog: allowed.
    assert (
        suspicious(diff_listings(old, one_gone), old_count=20, still_flagged=[], max_removed_share=0.1) == []
    )
    # Three of 20 (15%): held.
    assert suspicious(diff_listings(old, three_gone), old_count=20, still_flagged=[], max_removed_share=0.1)
    # One of 20, but the catalog still flags it: held.
    reasons = suspicious(
        diff_listings(old, one_gone), old_count=20, still_flagged=["m00"], max_removed_share=0.1
    )
    assert reasons and "m00" in reasons[0]


def _v2(
    model_id: str, *, cache_write: str | None = "0.0000025", tier: str | None = None, web: str | None = None
) -> dict:
    """A 2.4 entry as openrouter_v2_entry_of writes it: a text input with prompt and cache-write prices."""
    write: dict = {"type": "cache_write", "unit": "token", "cost_usd": cache_write}
    if tier is not None:
        write["overrides"] = [{"when": {"prompt_tokens": {"gte": 200001}}, "cost_usd": tier}]
    prices = [{"type": "prompt", "unit": "token", "cost_usd": "0.000002"}] + ([write] if cache_write else [])
    entry: dict = {
        "id": model_id,
        "input_modalities": [{"type": "text", "pricing": prices}],
        "output_modalities": [
            {
                "type": "text",
                "pricing": [{"type": "internal_reasoning", "unit": "token", "cost_usd": "0.000012"}],
            }
        ],
    }
    if web is not None:
        entry["pricing"] = [{"type": "web_search", "unit": "search", "cost_usd": web}]
    return entry


def test_v2_prices_names_each_2_4_only_price_by_its_identity() -> None:
    assert v2_prices(_v2("a", tier="0.000005", web="0.01")) == {
        "pricing.input.text.cache_write": "0.0000025",
        "pricing.input.text.cache_write.prompt_tokens_gte_200001": "0.000005",
        "pricing.output.text.internal_reasoning": "0.000012",
        "pricing.root.web_search": "0.01",
    }  # the prompt price is the flat listing's, watched there


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (
            _v2("a"),
            _v2("a", cache_write="0.00025"),
            "cache_write moves from 0.0000025 to 0.00025 (more than 10x)",
        ),
        (_v2("a"), _v2("a", cache_write="0.0000025"), None),
        (_v2("a"), _v2("a", cache_write="0.000025"), None),  # exactly 10x is allowed
        (
            _v2("a"),
            _v2("a", cache_write=None),
            "cache_write moves from 0.0000025 to 0 (to/from zero)",
        ),  # unbilled
        (_v2("a"), _v2("a", web="0.01"), "web_search moves from 0 to 0.01 (to/from zero)"),  # newly billed
        (_v2("a", tier="0.000003"), _v2("a", tier="0.0003"), "prompt_tokens_gte_200001 moves from 0.000003"),
        (_v2("a", tier="0.000003"), _v2("a"), None),  # a tier dropped: the base price applies again
    ],
)
def test_2_4_only_prices_are_watched(old: dict, new: dict, reason: str | None) -> None:
    reasons = suspicious(
        diff_v2_prices(_doc(old), _doc(new)), old_count=0, still_flagged=(), max_removed_share=1.0
    )
    if reason is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and reason in reasons[0] and reasons[0].startswith("a: pricing."), reasons


def test_catalog_view_tiers_are_compared_tier_by_tier() -> None:
    def tiered(top: str) -> dict:
        base = {"prompt": "0.000002", "completion": "0.000012"}
        return {"id": "a", "pricing": [base, {**base, "prompt": top, "above_prompt_tokens": 200000}]}

    reasons = suspicious(
        diff_listings(_doc(tiered("0.000004")), _doc(tiered("0.0004"))),
        old_count=0, still_flagged=(), max_removed_share=1.0,
    )  # fmt: skip
    assert reasons == [
        "a: pricing.above_prompt_tokens_200000.prompt moves from 0.000004 to 0.0004 (more than 10x)"
    ]
    untiered = {"id": "a", "pricing": {"prompt": "0.000002", "completion": "0.000012"}}
    assert diff_listings(_doc(untiered), _doc(tiered("0.000004"))).changed[0].field == (
        "pricing.above_prompt_tokens_200000.completion"
    )  # adding a tier keeps the base prices' names: pricing.prompt did not change
    cached = {"id": "a", "pricing": {"prompt": "0.1", "completion": "0.2", "input_cache_write": "0.1"}}
    uncached = {"id": "a", "pricing": {"prompt": "0.1", "completion": "0.2", "input_cache_write": "0"}}
    assert suspicious(
        diff_listings(_doc(cached), _doc(uncached)), old_count=0, still_flagged=(), max_removed_share=1.0
    ) == [
        "a: pricing.input_cache_write moves from 0.1 to 0 (to/from zero)"
    ]  # a catalog-only model's new price


def test_a_cache_write_typo_is_held_by_the_2_4_document(
    mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    catalog, settings = _setup(tmp_path, mirror, make_settings, monkeypatch)
    phi = """
[[models]]
id = "phi"
hugging_face_id = "microsoft/phi-4"
openrouter = {{ slug = "microsoft/phi-4" }}
pricing = {{ prompt = "0.000002", completion = "0.000012", input_cache_write = "{write}", web_search = "0.01" }}
"""
    catalog.write_text(catalog_toml(TWO_MODELS) + phi.format(write="0.0000025"))
    assert run_sync(settings=settings).exit_code == 0
    published = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}

    catalog.write_text(catalog_toml(TWO_MODELS) + phi.format(write="0.00025"))  # a typo: 100x
    report = run_sync(settings=settings)
    assert report.exit_code == 1
    assert report.held_reasons == [
        "openrouter-v2.json: phi: pricing.input.text.cache_write moves from 0.0000025 to 0.00025 (more than 10x)"
    ]  # openrouter.json has no place for the price: only the 2.4 document shows the typo
    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == published
    capsys.readouterr()
    assert main(["snapshot", "diff", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["openrouter_v2_diff"]["changed"] == [
        {"model_id": "phi", "field": "pricing.input.text.cache_write", "old": "0.0000025", "new": "0.00025"}
    ]
    assert main(["snapshot", "diff"]) == 0
    assert "openrouter-v2.json" in (out := capsys.readouterr().out) and "0.00025" in out
    assert run_sync(settings=settings, approve=True).exit_code == 0
    v2 = json.loads((settings.snapshot_dir / "openrouter-v2.json").read_text())
    phi_entry = next(e for e in v2["data"] if e["id"] == "phi")
    assert {p["type"]: p["cost_usd"] for p in phi_entry["input_modalities"][0]["pricing"]}[
        "cache_write"
    ] == "0.00025"


def _setup(tmp_path: Path, mirror, make_settings, monkeypatch, database_url: str | None = None):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(TWO_MODELS))
    settings = make_settings(
        database_url=database_url or f"sqlite:///{tmp_path / 'db.sqlite'}",
        endpoint=mirror.url,
        catalog=catalog,
    )
    for name, value in {
        "SYNCER_DATABASE_URL": settings.database_url,
        "SYNCER_SNAPSHOT_DIR": str(settings.snapshot_dir),
        "SYNCER_CATALOG": str(catalog),
        "HF_ENDPOINT": mirror.url,
        "HF_HUB_CACHE": str(settings.hub_cache_dir),
    }.items():
        monkeypatch.setenv(name, value)
    return catalog, settings


def test_price_typo_is_held_then_approved_then_rolled_back(
    database_url, mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    catalog, settings = _setup(tmp_path, mirror, make_settings, monkeypatch, database_url)
    assert run_sync(settings=settings).exit_code == 0
    published = (settings.snapshot_dir / "openrouter.json").read_bytes()

    catalog.write_text(catalog_toml(TWO_MODELS, prompt={"qwen": "10"}))  # a typo: 100x
    report = run_sync(settings=settings)
    assert report.exit_code == 1
    assert report.held and "more than 10x" in report.held_reasons[0]
    assert (settings.snapshot_dir / "openrouter.json").read_bytes() == published

    capsys.readouterr()
    assert main(["snapshot", "diff", "--json"]) == 0
    pending = json.loads(capsys.readouterr().out)
    assert pending["state"] == "pending"
    assert {"model_id": "qwen", "field": "pricing.prompt", "old": "0.1", "new": "10"} in pending["diff"][
        "changed"
    ]

    assert main(["sync", "now", "--approve"]) == 0
    listed = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    assert next(e for e in listed["data"] if e["id"] == "qwen")["pricing"]["prompt"] == "10"

    capsys.readouterr()
    assert main(["snapshot", "rollback"]) == 0
    assert (settings.snapshot_dir / "openrouter.json").read_bytes() == published


def test_model_vanishing_from_the_hub_is_kept_then_dropped_only_with_approval(
    repo_tree, private_mirror, make_settings, monkeypatch, tmp_path
) -> None:
    import shutil

    root = repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it")
    hub = private_mirror(root)
    _, settings = _setup(tmp_path, hub, make_settings, monkeypatch)
    assert run_sync(settings=settings).exit_code == 0
    published = (settings.snapshot_dir / "openrouter.json").read_bytes()

    shutil.rmtree(root / "google/gemma-2-9b-it")  # 404 from now on: not proof of deletion
    for run in (1, 2):
        report = run_sync(settings=settings)
        gemma = next(o for o in report.outcomes if o.model_id == "gemma")
        assert (gemma.status, gemma.error_kind) == ("failed", "not_found"), run
        assert (settings.snapshot_dir / "openrouter.json").read_bytes() == published
    catalog_view = json.loads((settings.snapshot_dir / "catalog.json").read_text())
    assert "stale_since" in next(e for e in catalog_view["data"] if e["id"] == "gemma")

    report = run_sync(settings=settings)  # third consecutive failure: dropped, which the guard holds
    gemma = next(o for o in report.outcomes if o.model_id == "gemma")
    assert gemma.status == "dropped" and any("DROPPED" in w for w in gemma.warnings)
    assert report.held and "gemma" in " ".join(report.held_reasons)
    assert (settings.snapshot_dir / "openrouter.json").read_bytes() == published

    report = run_sync(settings=settings, approve=True)
    ids = [e["id"] for e in json.loads((settings.snapshot_dir / "openrouter.json").read_text())["data"]]
    assert ids == ["qwen"]


def test_stale_model_becomes_not_ready_by_house_policy(
    repo_tree, private_mirror, make_settings, monkeypatch, tmp_path
) -> None:
    import shutil

    root = repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it")
    hub = private_mirror(root)
    _, settings = _setup(tmp_path, hub, make_settings, monkeypatch)
    run_sync(settings=settings)
    shutil.rmtree(root / "google/gemma-2-9b-it")
    run_sync(settings=settings)  # stale from now on
    strict = settings.model_copy(update={"stale_not_ready_after_hours": 1e-9})
    run_sync(settings=strict)
    listed = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    ready = {e["id"]: e["is_ready"] for e in listed["data"]}
    assert ready == {"gemma": False, "qwen": True}


def test_price_typo_on_a_catalog_only_model_is_held_too(mirror, make_settings, monkeypatch, tmp_path) -> None:
    catalog, settings = _setup(tmp_path, mirror, make_settings, monkeypatch)
    catalog_only = """
[[models]]
id = "llava"
hugging_face_id = "llava-hf/llava-1.5-7b-hf"
max_output_length = 1024
pricing = {{ prompt = "{price}", completion = "0.2" }}
"""
    catalog.write_text(catalog_toml(TWO_MODELS) + catalog_only.format(price="0.1"))
    assert run_sync(settings=settings).exit_code == 0
    published = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}

    catalog.write_text(catalog_toml(TWO_MODELS) + catalog_only.format(price="0"))  # to zero
    report = run_sync(settings=settings)

    assert report.held_reasons == ["catalog view: llava: pricing.prompt moves from 0.1 to 0 (to/from zero)"]
    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == published
    assert run_sync(settings=settings, approve=True).exit_code == 0


def test_approve_publishes_only_the_held_change_that_was_reviewed(
    database_url, mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    catalog, settings = _setup(tmp_path, mirror, make_settings, monkeypatch, database_url)
    assert main(["sync", "now"]) == 0
    published = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}

    catalog.write_text(catalog_toml(TWO_MODELS, prompt={"qwen": "10"}))  # 100x: held, then reviewed
    assert main(["sync", "now"]) == 1
    capsys.readouterr()
    assert main(["snapshot", "diff", "--json"]) == 0
    reviewed = json.loads(capsys.readouterr().out)
    assert {"model_id": "qwen", "field": "pricing.prompt", "old": "0.1", "new": "10"} in reviewed["diff"][
        "changed"
    ]

    catalog.write_text(catalog_toml(TWO_MODELS, prompt={"qwen": "100000"}))  # a worse typo, never reviewed
    assert main(["sync", "now", "--approve"]) == 1
    out = capsys.readouterr().out
    assert "PUBLISH HELD" in out and "no longer what this run produced" in out
    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == published

    assert main(["snapshot", "diff", "--json"]) == 0  # the new result is what is pending now
    pending = json.loads(capsys.readouterr().out)
    assert pending["snapshot_id"] != reviewed["snapshot_id"]
    assert {"model_id": "qwen", "field": "pricing.prompt", "old": "0.1", "new": "100000"} in pending["diff"][
        "changed"
    ]

    assert main(["sync", "now", "--approve"]) == 0  # the same result again: exactly what diff showed
    listed = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    assert next(e for e in listed["data"] if e["id"] == "qwen")["pricing"]["prompt"] == "100000"

    capsys.readouterr()
    assert main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert (
        "approved by " in runs[0]["message"]
        and f"held snapshot {pending['snapshot_id']}" in runs[0]["message"]
    )
    assert "--approve refused" in runs[1]["message"] and runs[1]["outcome"] == "held"
    assert main(["snapshot", "list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[reviewed["snapshot_id"]]["status"] == "rejected"
    assert rows[pending["snapshot_id"]]["status"] == "approved"
    assert any(
        (r["note"] or "").startswith("approved by ") and r["status"] == "published" for r in rows.values()
    )


def test_rollback_refuses_a_held_or_rejected_snapshot(
    mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    catalog, settings = _setup(tmp_path, mirror, make_settings, monkeypatch)
    assert main(["sync", "now"]) == 0
    published = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in settings.snapshot_dir.iterdir()}
    catalog.write_text(catalog_toml(TWO_MODELS, prompt={"qwen": "10"}))
    assert main(["sync", "now"]) == 1
    capsys.readouterr()
    assert main(["snapshot", "diff", "--json"]) == 0
    held_id = json.loads(capsys.readouterr().out)["snapshot_id"]

    assert main(["snapshot", "rollback", str(held_id)]) == 2
    err = capsys.readouterr().err
    assert f"snapshot {held_id}" in err and "held" in err and "--approve" in err
    assert {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in settings.snapshot_dir.iterdir()
    } == published

    catalog.write_text(
        catalog_toml(TWO_MODELS, prompt={"qwen": "11"})
    )  # held again: the first one is rejected
    assert main(["sync", "now"]) == 1
    capsys.readouterr()
    assert main(["snapshot", "rollback", str(held_id)]) == 2
    assert "rejected" in capsys.readouterr().err
    assert {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in settings.snapshot_dir.iterdir()
    } == published


def test_diff_shows_a_held_change_of_the_catalog_view(
    mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    catalog, _ = _setup(tmp_path, mirror, make_settings, monkeypatch)
    catalog_only = """
[[models]]
id = "llava"
hugging_face_id = "llava-hf/llava-1.5-7b-hf"
max_output_length = 1024
pricing = {{ prompt = "{price}", completion = "0.2" }}
"""
    catalog.write_text(catalog_toml(TWO_MODELS) + catalog_only.format(price="0.1"))
    assert main(["sync", "now"]) == 0
    catalog.write_text(catalog_toml(TWO_MODELS) + catalog_only.format(price="0"))
    assert main(["sync", "now"]) == 1
    capsys.readouterr()
    assert main(["snapshot", "diff"]) == 0
    out = capsys.readouterr().out
    assert "catalog view" in out and "llava" in out and "pricing.prompt" in out
    assert main(["snapshot", "diff", "--json"]) == 0
    changed = json.loads(capsys.readouterr().out)["catalog_diff"]["changed"]
    assert {"model_id": "llava", "field": "pricing.prompt", "old": "0.1", "new": "0"} in changed


def test_context_more_than_doubling_is_held_like_halving() -> None:
    # Before: 8192 -> 131072 (a wrong rope_scaling read) published silently; only shrinking was held.
    double = diff_listings(_doc(_entry("a", context=8192)), _doc(_entry("a", context=16384)))
    more = diff_listings(_doc(_entry("a", context=8192)), _doc(_entry("a", context=16385)))
    assert suspicious(double, old_count=1, still_flagged=["a"], max_removed_share=0.1) == []
    assert suspicious(more, old_count=1, still_flagged=["a"], max_removed_share=0.1) == [
        "a: context_length grows from 8192 to 16385 (more than double)"
    ]
