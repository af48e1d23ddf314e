"""The whole path, through the real huggingface_hub client and the local mirror, on every database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from catalogs import TWO_MODELS, catalog_toml

from syncer import snapshot
from syncer.errors import SchemaAheadError, SchemaBehindError
from syncer.formats import validate_catalog_document, validate_openrouter_document
from syncer.store import make_engine, upgrade
from syncer.store.models import HubFacts, ListingEntry, ModelPrice, PublishedSnapshot, SyncRun
from syncer.sync import run_sync

SPEC_EXAMPLE = {
    "id": "qwen3-5-9b",
    "hugging_face_id": "Qwen/Qwen3.5-9B",
    "name": "Qwen3.5 9B",
    "input_modalities": ["text", "image", "video"],
    "output_modalities": ["text"],
    "quantization": "fp8",
    "context_length": 262144,
    "max_output_length": 32768,
    "pricing": {
        "prompt": "0.00000009",
        "completion": "0.00000013",
        "image": "0",
        "request": "0",
        "input_cache_read": "0.000000045",
    },
    "supported_sampling_parameters": [
        "temperature", "top_p", "top_k", "min_p", "frequency_penalty", "presence_penalty",
        "repetition_penalty", "stop", "seed", "max_tokens", "logit_bias",
    ],
    "supported_features": ["tools", "json_mode", "structured_outputs", "reasoning"],
    "is_ready": True,
    "openrouter": {"slug": "qwen/qwen3.5-9b"},
    "datacenters": [{"country_code": "JP"}],
}  # fmt: skip

CATALOG_IDS = ["gemma-2-9b-it", "gpt-oss-20b", "llama-3-1-8b-instruct", "llava-1-5-7b", "phi-4", "qwen3-5-9b"]


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_full_sync_publishes_valid_snapshots_on_every_database(database_url, mirror, make_settings):
    settings = make_settings(database_url=database_url, endpoint=mirror.url)
    report = run_sync(settings=settings)

    assert report.exit_code == 0, [o.error for o in report.failed]
    assert [o.model_id for o in report.outcomes] == CATALOG_IDS
    openrouter = _load(settings.snapshot_dir / "openrouter.json")
    catalog = _load(settings.snapshot_dir / "catalog.json")
    assert validate_openrouter_document(openrouter) == []
    assert validate_catalog_document(catalog) == []
    # llava is not flagged for OpenRouter: catalog view only.
    assert [e["id"] for e in openrouter["data"]] == [i for i in CATALOG_IDS if i != "llava-1-5-7b"]
    assert [e["id"] for e in catalog["data"]] == CATALOG_IDS

    seed = next(e for e in openrouter["data"] if e["id"] == "qwen3-5-9b")
    created = seed.pop("created")
    assert seed == SPEC_EXAMPLE
    assert list(seed) == list(SPEC_EXAMPLE)  # the spec's key order
    assert isinstance(created, int) and 10**9 <= created < 10**10

    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(HubFacts)).scalar() == 6
        assert conn.execute(sa.select(sa.func.count()).select_from(ListingEntry)).scalar() == 6
        sha = conn.execute(sa.select(HubFacts.commit_sha).where(HubFacts.model_id == "qwen3-5-9b")).scalar()
        run = conn.execute(sa.select(SyncRun)).one()
        published = conn.execute(sa.select(sa.func.count()).select_from(PublishedSnapshot)).scalar()
    engine.dispose()
    assert sha is not None and len(sha) == 40
    assert (run.outcome, run.synced, run.failed) == ("ok", 6, 0)
    assert published == 3  # openrouter.json, openrouter-v2.json, catalog.json


def test_prices_reach_the_database_exactly(database_url, mirror, make_settings):
    settings = make_settings(database_url=database_url, endpoint=mirror.url)
    run_sync(settings=settings)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                sa.select(ModelPrice.price_key, ModelPrice.amount).where(ModelPrice.model_id == "qwen3-5-9b")
            ).all()
        )
    engine.dispose()
    from decimal import Decimal

    assert rows == {
        "prompt": Decimal("0.00000009"),
        "completion": Decimal("0.00000013"),
        "image": Decimal("0"),
        "request": Decimal("0"),
        "input_cache_read": Decimal("0.000000045"),
    }
    assert all(isinstance(v, Decimal) for v in rows.values())


def test_second_run_is_byte_identical_and_downloads_nothing(mirror, make_settings, tmp_path):
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url)
    run_sync(settings=settings)
    first = {n: (settings.snapshot_dir / f).read_bytes() for n, f in snapshot.FILE_NAMES.items()}
    mirror.reset()

    report = run_sync(settings=settings)

    second = {n: (settings.snapshot_dir / f).read_bytes() for n, f in snapshot.FILE_NAMES.items()}
    assert second == first
    assert report.changed == {"openrouter": False, "openrouter-v2": False, "catalog": False}
    assert {o.status for o in report.outcomes} == {"unchanged"}
    kinds = [r["kind"] for r in mirror.requests()]
    assert kinds.count("resolve") == 0, "configs are fetched at the commit sha and served from the cache"
    assert kinds.count("api") == 6


def test_a_new_commit_is_picked_up(repo_tree, private_mirror, make_settings, tmp_path):
    root = repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it")
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(TWO_MODELS))
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url, catalog=catalog
    )
    first = run_sync(settings=settings)
    assert first.exit_code == 0

    readme = root / "google/gemma-2-9b-it/README.md"
    readme.write_text("a new commit\n")  # any file change is a new commit on the mirror
    second = run_sync(settings=settings)

    status = {o.model_id: o.status for o in second.outcomes}
    assert status == {"gemma": "synced", "qwen": "unchanged"}
    commits = {o.model_id: o.commit for o in second.outcomes}
    assert commits["gemma"] != next(o.commit for o in first.outcomes if o.model_id == "gemma")


def test_failed_model_keeps_last_good_facts_and_never_resolved_is_left_out(
    repo_tree, private_mirror, make_settings, tmp_path
):
    root = repo_tree("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it")
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(TWO_MODELS))
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=hub.url, catalog=catalog
    )
    run_sync(settings=settings)
    before = (settings.snapshot_dir / "openrouter.json").read_bytes()

    hub.set_faults({"google/gemma-2-9b-it": {"mode": "status", "status": 503}})
    report = run_sync(settings=settings)

    assert report.exit_code == 1
    gemma = next(o for o in report.outcomes if o.model_id == "gemma")
    assert (gemma.status, gemma.error_kind, gemma.listed) == ("failed", "transient", True)
    assert (settings.snapshot_dir / "openrouter.json").read_bytes() == before

    # A model the Hub never resolved is reported and stays out of the OpenRouter view.
    catalog.write_text(catalog_toml({**TWO_MODELS, "ghost": "nobody/does-not-exist"}))
    hub.set_faults({})
    report = run_sync(settings=settings)
    ghost = next(o for o in report.outcomes if o.model_id == "ghost")
    assert (ghost.status, ghost.error_kind, ghost.listed) == ("unresolved", "not_found", False)
    ids = [e["id"] for e in _load(settings.snapshot_dir / "openrouter.json")["data"]]
    assert ids == ["gemma", "qwen"]
    catalog_ids = [e["id"] for e in _load(settings.snapshot_dir / "catalog.json")["data"]]
    assert "ghost" in catalog_ids


def test_database_with_tables_but_not_at_head_is_refused(mirror, make_settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:  # tables exist, but the database does not say it is at head
        conn.execute(sa.text("DELETE FROM alembic_version"))
    engine.dispose()
    settings = make_settings(database_url=url, endpoint=mirror.url)
    with pytest.raises(SchemaBehindError, match="syncer db upgrade"):
        run_sync(settings=settings)
    assert not settings.snapshot_dir.exists()


def test_schema_ahead_of_the_code_is_refused(mirror, make_settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(SchemaAheadError, match="schema ahead"):
        run_sync(settings=make_settings(database_url=url, endpoint=mirror.url))


def test_snapshot_files_are_replaced_atomically(tmp_path):
    target = tmp_path / "openrouter.json"
    snapshot.write_atomic(target, b'{"data": []}\n')
    inode = target.stat().st_ino
    snapshot.write_atomic(target, b'{"data": [1]}\n')
    assert target.read_bytes() == b'{"data": [1]}\n'
    assert target.stat().st_ino != inode, "a new file renamed over the old one, never rewritten in place"
    assert [p.name for p in tmp_path.iterdir()] == ["openrouter.json"]


def test_missing_snapshot_folder_parent_is_created(mirror, make_settings, tmp_path):
    deep = tmp_path / "a" / "b" / "snapshots"
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'x' / 'db.sqlite'}", endpoint=mirror.url,
                             snapshot_dir=deep)  # fmt: skip
    assert run_sync(settings=settings).exit_code == 0
    assert sorted(p.name for p in deep.iterdir()) == ["catalog.json", "openrouter-v2.json", "openrouter.json"]
    shutil.rmtree(deep)


def test_an_unchanged_snapshot_is_confirmed_not_rewritten(mirror, make_settings, tmp_path):
    import os

    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", endpoint=mirror.url)
    run_sync(settings=settings)
    path = settings.snapshot_dir / "openrouter.json"
    os.utime(path, (1_000_000_000, 1_000_000_000))  # as if published long ago
    inode = path.stat().st_ino
    report = run_sync(settings=settings)
    assert report.changed["openrouter"] is False
    assert path.stat().st_ino == inode, "same file, not rewritten"
    assert path.stat().st_mtime > 1_000_000_000, "its age restarts: a sync confirmed it"


def _file_lines(path: Path) -> dict[str, str]:
    """Each entry's line of a snapshot file (one entry per line), by id, as its text."""
    lines = {}
    for line in path.read_text().splitlines():
        if line.startswith("    {"):
            text = line.strip().removesuffix(",")
            lines[json.loads(text)["id"]] = text
    return lines


def test_each_entry_is_one_text_in_the_store_the_files_and_its_digest(database_url, mirror, make_settings):
    """An entry is encoded once: its store row holds the very text its file line has, and its digest hashes
    those texts as the JSON list of the three (as digests stored before were made). On every database."""
    import hashlib

    settings = make_settings(database_url=database_url, endpoint=mirror.url)
    assert run_sync(settings=settings).exit_code == 0
    files = {name: _file_lines(settings.snapshot_dir / f"{name}.json") for name in ("openrouter", "catalog",
             "openrouter-v2")}  # fmt: skip
    columns = "model_id, openrouter_entry, catalog_entry, openrouter_v2_entry, entries_digest"
    engine = make_engine(database_url)
    with engine.connect() as conn:  # the columns' raw text, not SQLAlchemy's decoding of it
        cast = "::text" if engine.dialect.name == "postgresql" else ""
        query = columns.replace("_entry", f"_entry{cast}") if cast else columns
        rows = conn.execute(sa.text(f"SELECT {query} FROM listing_entries")).all()
    engine.dispose()
    assert sorted(r[0] for r in rows) == CATALOG_IDS
    for model_id, openrouter, catalog, v2, digest in rows:
        assert catalog == files["catalog"][model_id]
        assert openrouter == files["openrouter"].get(model_id, "null")  # JSON null: a model not flagged
        assert v2 == files["openrouter-v2"].get(model_id, "null")
        texts = [openrouter, catalog, v2]
        assert digest == hashlib.sha256(("[" + ", ".join(texts) + "]").encode()).hexdigest()
        assert digest == hashlib.sha256(json.dumps(
            [json.loads(t) for t in texts], ensure_ascii=False).encode()).hexdigest()  # fmt: skip
    assert "llava-1-5-7b" not in files["openrouter"] and "null" in [r[1] for r in rows]


def test_a_plain_string_in_a_json_column_is_still_encoded_as_a_json_string(database_url):
    """Only the store's own marker of an encoded text skips the encoding; any other str is a JSON string."""
    from syncer.store.schema import JSONText

    engine = make_engine(database_url)
    probe = sa.Table("json_probe", sa.MetaData(), sa.Column("id", sa.String(20), primary_key=True),
                     sa.Column("doc", sa.JSON))  # fmt: skip
    probe.create(engine)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(probe), [{"id": "plain", "doc": '{"a": 1}'},
                                            {"id": "marked", "doc": JSONText('{"a": 1}')},
                                            {"id": "value", "doc": {"a": [1, "é"]}}])  # fmt: skip
        with engine.connect() as conn:
            got = dict(conn.execute(sa.select(probe.c.id, probe.c.doc)).all())
    finally:
        probe.drop(engine)
        engine.dispose()
    assert got == {"plain": '{"a": 1}', "marked": {"a": 1}, "value": {"a": [1, "é"]}}
