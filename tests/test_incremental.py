"""Request counts (not times): bulk commit listing, incremental downloads, the request budget."""

from __future__ import annotations

from pathlib import Path

from catalogs import catalog_toml

from syncer.sync import run_sync

QWEN_REPOS = ("Qwen/Qwen3.5-9B", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen2.5-7B")


def _catalog(repos: tuple[str, ...]) -> str:
    return catalog_toml({f"m{i}": repo for i, repo in enumerate(repos)})


def _setup(repo_tree, private_mirror, make_settings, tmp_path: Path, repos: tuple[str, ...], **overrides):
    root = repo_tree(*repos)
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(_catalog(repos))
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url,
                             catalog=catalog, **overrides)  # fmt: skip
    return root, hub, settings


def _count(hub, kind: str, path_part: str = "") -> int:
    return sum(1 for r in hub.requests() if r["kind"] == kind and path_part in str(r["path"]))


def test_warm_unchanged_sync_makes_one_listing_call_and_no_file_request(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    cold = run_sync(settings=settings)
    assert cold.exit_code == 0
    # Cold: one listing for the author, then no model_info at all, and files fetched once each.
    assert _count(hub, "api") == 1
    assert _count(hub, "api", "/api/models/") == 0
    hub.reset()

    warm = run_sync(settings=settings)

    assert {o.status for o in warm.outcomes} == {"unchanged"}
    assert _count(hub, "api") == 1, "one paginated listing call for the author, none per model"
    assert _count(hub, "resolve") == 0, "configs at an unchanged commit come from the cache"
    assert warm.requests == {"api": 1}


def test_a_new_commit_costs_only_that_repos_files(repo_tree, private_mirror, make_settings, tmp_path) -> None:
    root, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)
    (root / "Qwen/Qwen3-8B/README.md").write_text("new commit\n")
    hub.reset()

    report = run_sync(settings=settings)

    status = {o.model_id: o.status for o in report.outcomes}
    assert status == {"m0": "unchanged", "m1": "synced", "m2": "unchanged", "m3": "unchanged"}
    resolve_paths = {str(r["path"]).split("/resolve/")[0] for r in hub.requests() if r["kind"] == "resolve"}
    assert resolve_paths == {"/Qwen/Qwen3-8B"}
    assert _count(hub, "api") == 1


def test_pinned_revision_uses_a_per_model_call(repo_tree, private_mirror, make_settings, tmp_path) -> None:
    root, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)
    sha = next(o.commit for o in run_sync(settings=settings).outcomes if o.model_id == "m1")
    Path(settings.catalog).write_text(
        _catalog(QWEN_REPOS).replace(
            'hugging_face_id = "Qwen/Qwen3-8B"', f'hugging_face_id = "Qwen/Qwen3-8B"\nrevision = "{sha}"'
        )
    )
    (root / "Qwen/Qwen3-8B/README.md").write_text("main moved on\n")
    hub.reset()

    report = run_sync(settings=settings)

    pinned = next(o for o in report.outcomes if o.model_id == "m1")
    assert pinned.commit == sha, "the pinned commit, not main's new one"
    assert _count(hub, "api", f"/api/models/Qwen/Qwen3-8B/revision/{sha}") == 1


def test_failed_bulk_listing_falls_back_to_per_model_calls(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS,
                              hub_timeout=0.5, hub_model_deadline=2.0)  # fmt: skip
    hub.set_faults({"*": {"mode": "status", "status": 400, "times": 1}})  # the listing fails, not retried
    report = run_sync(settings=settings)
    assert report.exit_code == 0, [o.error for o in report.failed]
    assert _count(hub, "api", "/api/models/Qwen/") >= len(QWEN_REPOS)


def test_request_budget_is_never_exceeded(repo_tree, private_mirror, make_settings, tmp_path) -> None:
    repos = ("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it", "microsoft/phi-4", "openai/gpt-oss-20b")
    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, repos,
                              hub_api_budget=2, hub_concurrency=1)  # fmt: skip
    report = run_sync(settings=settings)
    assert _count(hub, "api") == 2
    failed = [o for o in report.outcomes if o.error_kind]
    assert len(failed) == 2 and all("budget" in o.error for o in failed)


def test_report_shows_requests_by_kind(repo_tree, private_mirror, make_settings, tmp_path) -> None:
    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, ("Qwen/Qwen3.5-9B",))
    report = run_sync(settings=settings)
    assert report.requests == {"api": _count(hub, "api"), "resolve": _count(hub, "resolve")}


def test_warm_unchanged_sync_reuses_stored_facts_without_reading_a_file(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    """An unchanged listing (same commit, metadata, files, deriving code) gives the stored facts back: with
    the Hub cache gone, nothing is downloaded again, and every model keeps its facts and listing bytes."""
    import shutil

    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    cold = run_sync(settings=settings)
    assert cold.exit_code == 0
    before = {n: (settings.snapshot_dir / f).read_bytes() for n, f in _snapshot_files().items()}
    shutil.rmtree(settings.hub_cache_dir)
    hub.reset()

    warm = run_sync(settings=settings)

    assert {o.status for o in warm.outcomes} == {"unchanged"}
    assert _count(hub, "resolve") == 0, "stored facts are reused: no file is read, cached or not"
    assert warm.requests == {"api": 1}
    assert not settings.hub_cache_dir.exists() or not any(settings.hub_cache_dir.rglob("config.json"))
    after = {n: (settings.snapshot_dir / f).read_bytes() for n, f in _snapshot_files().items()}
    assert after == before


def test_listed_metadata_change_without_a_new_commit_derives_again(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    """The mirror's commit covers the files, not ``_repo.json`` (the Hub's listed metadata): a new
    pipeline tag at the same commit changes the derivation key, so that one model is derived again."""
    import json
    import shutil

    root, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    cold = run_sync(settings=settings)
    commits = {o.model_id: o.commit for o in cold.outcomes}
    meta = root / "Qwen/Qwen3-14B/_repo.json"
    data = json.loads(meta.read_text()) if meta.exists() else {}
    meta.write_text(json.dumps(data | {"pipeline_tag": "text-generation", "tags": ["derive-again"]}))
    shutil.rmtree(settings.hub_cache_dir)
    hub.reset()

    report = run_sync(settings=settings)

    assert {o.model_id: o.commit for o in report.outcomes} == commits, "no new commit"
    resolve_paths = {str(r["path"]).split("/resolve/")[0] for r in hub.requests() if r["kind"] == "resolve"}
    assert resolve_paths == {"/Qwen/Qwen3-14B"}


def _entry_loads(monkeypatch) -> list[int]:
    """A spy on the store's seam: how many stored entries each ``Store.load_entries`` call reads back."""
    from syncer.store import Store

    loads: list[int] = []
    original = Store.load_entries

    def counted(self, model_ids):
        found = original(self, model_ids)
        loads.append(len(found))
        return found

    monkeypatch.setattr(Store, "load_entries", counted)
    return loads


def _snapshot_files() -> dict[str, str]:
    from syncer.snapshot import FILE_NAMES

    return dict(FILE_NAMES)


def _warm(repo_tree, private_mirror, make_settings, tmp_path: Path):
    """The Qwen world synced cold then warm (so every snapshot row has its views key): its repo tree, mirror,
    settings and the live files' bytes by file name."""
    root, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)
    run_sync(settings=settings)
    folder = settings.snapshot_dir
    return root, hub, settings, {name: (folder / name).read_bytes() for name in _snapshot_files().values()}


def test_stored_entries_are_reused_until_their_model_changes(
    repo_tree, private_mirror, make_settings, tmp_path
) -> None:
    """A warm run reuses each model's stored entries (same merge key): their rows are not rewritten and keep
    their provenance; a price edit changes that model's key, so its entries are merged and written again."""
    import json

    from syncer.store import Store

    _, _hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)  # cold: every model synced
    run_sync(settings=settings)  # warm: the status moves to unchanged, nothing else

    def rows() -> dict[str, tuple[str, object, dict[str, str]]]:
        with Store.open(settings.database_url) as store:
            found = {}
            for i in range(len(QWEN_REPOS)):
                entry, _facts = store.listing_entry(f"m{i}")
                assert entry is not None
                found[entry.model_id] = (entry.status, entry.updated_at, dict(entry.provenance))
            return found

    before = rows()
    assert {status for status, _, _ in before.values()} == {"unchanged"}
    assert all(prov.get("pricing") and prov.get("context_length") for _, _, prov in before.values())

    run_sync(settings=settings)  # warm again: every entry reused, no row touched
    assert rows() == before

    Path(settings.catalog).write_text(
        catalog_toml({f"m{i}": r for i, r in enumerate(QWEN_REPOS)}, prompt={"m2": "0.3"})
    )
    report = run_sync(settings=settings)

    assert report.exit_code == 0
    after = rows()
    assert {m: after[m] for m in after if m != "m2"} == {m: before[m] for m in before if m != "m2"}
    assert after["m2"][1] != before["m2"][1], "the edited model's row is written again"
    listing = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    prices = {e["id"]: e["pricing"]["prompt"] for e in listing["data"]}
    assert prices == {"m0": "0.1", "m1": "0.1", "m2": "0.3", "m3": "0.1"}


def test_a_warm_run_keeps_the_live_files_and_renders_them_again_only_when_they_differ(
    repo_tree, private_mirror, make_settings, tmp_path, monkeypatch
) -> None:
    """Every model's entries unchanged and the live files what they render (their snapshot's views key and
    hash): the run reads no stored entry and renders nothing. A missing or edited file is rendered again."""
    loads = _entry_loads(monkeypatch)
    _, _hub, settings, good = _warm(repo_tree, private_mirror, make_settings, tmp_path)
    folder = settings.snapshot_dir
    loads.clear()

    assert run_sync(settings=settings).exit_code == 0
    assert loads == [], "no stored entry read: the live files are this run's views"
    assert {name: (folder / name).read_bytes() for name in good} == good

    (folder / "catalog.json").unlink()
    (folder / "openrouter.json").write_bytes(good["openrouter.json"].replace(b'"0.1"', b'"0.9"', 1))
    report = run_sync(settings=settings)

    assert report.exit_code == 0
    assert loads == [len(QWEN_REPOS)], "the views were rendered again from every stored entry"
    assert {name: (folder / name).read_bytes() for name in good} == good


def test_new_deriving_or_merging_code_derives_and_merges_every_model_again(
    repo_tree, private_mirror, make_settings, tmp_path, monkeypatch
) -> None:
    """The code is part of every reuse key: after an upgrade (here: other stamps), nothing stored is reused,
    yet equal facts and entries still read as unchanged and the files keep their bytes."""
    import shutil

    import syncer.resolve
    import syncer.sync

    _, hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)
    files = {name: (settings.snapshot_dir / name).read_bytes() for name in _snapshot_files().values()}
    shutil.rmtree(settings.hub_cache_dir)
    hub.reset()
    monkeypatch.setattr(syncer.resolve, "derivation_stamp", lambda: "a newer derivation")
    monkeypatch.setattr(syncer.sync, "merge_stamp", lambda: "a newer merge")

    report = run_sync(settings=settings)

    assert {o.status for o in report.outcomes} == {"unchanged"}
    repos = {str(r["path"]).split("/resolve/")[0] for r in hub.requests() if r["kind"] == "resolve"}
    assert repos == {f"/{r}" for r in QWEN_REPOS}, "every model's files read and derived again"
    assert {name: (settings.snapshot_dir / name).read_bytes() for name in files} == files


def test_a_new_commit_with_the_same_entries_keeps_the_live_files(
    repo_tree, private_mirror, make_settings, tmp_path, monkeypatch
) -> None:
    """The views key is made of the entries themselves (their digests), not of what they were merged from: a
    repo at a new commit whose facts, and so entries, come out the same is merged again, yet the live files
    stay as they are without reading any other model's entries. An edit that changes an entry renders again."""
    loads = _entry_loads(monkeypatch)
    root, hub, settings, good = _warm(repo_tree, private_mirror, make_settings, tmp_path)
    folder = settings.snapshot_dir
    (root / "Qwen/Qwen3-8B/README.md").write_text("a new commit, same config\n")
    hub.reset()
    loads.clear()

    report = run_sync(settings=settings)

    assert report.exit_code == 0
    assert {o.model_id: o.status for o in report.outcomes}["m1"] == "synced", "merged again at its new commit"
    assert _count(hub, "resolve") > 0, "its files were read at the new commit"
    assert loads == [], "no other model's entries read: the live files are this run's views"
    assert {name: (folder / name).read_bytes() for name in good} == good
    assert report.changed == dict.fromkeys(_snapshot_files(), False)

    Path(settings.catalog).write_text(
        catalog_toml({f"m{i}": r for i, r in enumerate(QWEN_REPOS)}, prompt={"m2": "0.3"})
    )
    report = run_sync(settings=settings)
    assert report.exit_code == 0
    assert loads == [len(QWEN_REPOS) - 1], "the views rendered again from the other models' stored entries"
    assert b'"0.3"' in (folder / "openrouter.json").read_bytes()


def test_entries_stored_before_their_digest_are_rendered_once_then_kept(
    repo_tree, private_mirror, make_settings, tmp_path, monkeypatch
) -> None:
    """Rows written before migration 0006 have no entries digest: the first run renders the views from
    them (same bytes) and stores the digests, the next keeps the live files."""
    import sqlalchemy as sa

    loads = _entry_loads(monkeypatch)
    _, _hub, settings = _setup(repo_tree, private_mirror, make_settings, tmp_path, QWEN_REPOS)
    run_sync(settings=settings)
    folder = settings.snapshot_dir
    good = {name: (folder / name).read_bytes() for name in _snapshot_files().values()}
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE listing_entries SET entries_digest = NULL"))
    loads.clear()

    assert run_sync(settings=settings).exit_code == 0
    assert loads == [len(QWEN_REPOS)], "rendered from every stored entry"
    with engine.connect() as conn:
        digests = conn.execute(sa.text("SELECT entries_digest FROM listing_entries")).scalars().all()
    engine.dispose()
    assert len(digests) == len(QWEN_REPOS) and all(d and len(d) == 64 for d in digests)
    assert {name: (folder / name).read_bytes() for name in good} == good

    assert run_sync(settings=settings).exit_code == 0
    assert loads == [len(QWEN_REPOS)], "the next run read no entry"
