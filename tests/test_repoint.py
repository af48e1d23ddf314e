"""A changed hugging_face_id in the catalog is not a Hub rename, and the old repo's facts are not the new one's."""

from __future__ import annotations

from catalogs import TWO_MODELS, catalog_toml

from syncer.sync import run_sync


def test_pointing_a_model_at_another_repo_does_not_reuse_the_old_facts(
    repo_tree, private_mirror, make_settings, tmp_path
):
    # Before: gemma re-pointed at a repo the Hub does not (yet) have kept gemma-2-9b-it's facts as its
    # "last good facts" and warned "renamed on the Hub: nobody/gemma-3 -> google/gemma-2-9b-it".
    hub = private_mirror(repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it"))
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(TWO_MODELS))
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url, catalog=catalog
    )
    assert run_sync(settings=settings).exit_code == 0
    published = (settings.snapshot_dir / "catalog.json").read_bytes()

    catalog.write_text(catalog_toml({**TWO_MODELS, "gemma": "nobody/gemma-3"}).replace(
        'slug = "nobody/gemma-3"', 'slug = "google/gemma-2-9b-it"'))  # fmt: skip
    report = run_sync(settings=settings)
    gemma = next(o for o in report.outcomes if o.model_id == "gemma")
    assert (gemma.status, gemma.error_kind, gemma.listed) == ("unresolved", "not_found", False)
    assert not any("renamed on the Hub" in w for w in gemma.warnings), gemma.warnings
    assert (
        "the catalog changed hugging_face_id from google/gemma-2-9b-it to nobody/gemma-3:"
        " google/gemma-2-9b-it facts are not used for it"
    ) in gemma.warnings
    # the entry would disappear while the catalog still flags it: the guard holds it, the files stay
    assert report.outcome == "held"
    assert (settings.snapshot_dir / "catalog.json").read_bytes() == published

    # Pointed at a repo the Hub has: its own fresh facts, and still no rename warning.
    text = catalog_toml({**TWO_MODELS, "gemma": "Qwen/Qwen3.5-9B"})
    text = text.replace('slug = "qwen/qwen3.5-9b"', 'slug = "google/gemma-2-9b-it"', 2)
    catalog.write_text(text.replace('slug = "google/gemma-2-9b-it"', 'slug = "qwen/qwen3.5-9b"', 1))
    report = run_sync(settings=settings)
    gemma = next(o for o in report.outcomes if o.model_id == "gemma")
    assert gemma.status == "synced" and gemma.listed, gemma
    assert gemma.warnings == [
        "the catalog changed hugging_face_id from google/gemma-2-9b-it to Qwen/Qwen3.5-9B"
    ]
