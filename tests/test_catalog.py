"""Bad catalogs: exit 2, one message naming the file, the model and the field; nothing touched."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from syncer.catalog import load_catalog
from syncer.cli import main
from syncer.errors import CatalogError

GOOD_MODEL = """
[[models]]
id = "m1"
hugging_face_id = "Qwen/Qwen3.5-9B"
max_output_length = 1024
datacenters = ["JP"]
openrouter = { slug = "qwen/m1" }
[models.pricing]
prompt = "0.00000009"
completion = "0.00000013"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return path


BAD_CATALOGS = {
    "float price": (GOOD_MODEL.replace('prompt = "0.00000009"', "prompt = 0.00000009"), "m1", "pricing.prompt",
                    "quoted decimal string"),
    "unknown quantization": (GOOD_MODEL.replace('id = "m1"', 'id = "m1"\nquantization = "fp7"'), "m1",
                             "quantization", "fp8"),
    "duplicate id": (GOOD_MODEL + GOOD_MODEL.replace('slug = "qwen/m1"', 'slug = "qwen/m2"'), "m1", "id",
                     "duplicate id"),
    "bad country code": (GOOD_MODEL.replace('datacenters = ["JP"]', 'datacenters = ["XX"]'), "m1",
                         "datacenters.0", "ISO 3166-1"),
    "missing field": (GOOD_MODEL.replace("max_output_length = 1024\n", ""), "m1", "max_output_length",
                      "Field required"),
    "toml syntax error": (GOOD_MODEL.replace('id = "m1"', 'id = "m1'), None, None, "TOML syntax error"),
    "negative price": (GOOD_MODEL.replace('prompt = "0.00000009"', 'prompt = "-1"'), "m1", "pricing.prompt",
                       "plain non-negative decimal"),
    "exponent price": (GOOD_MODEL.replace('prompt = "0.00000009"', 'prompt = "9e-08"'), "m1", "pricing.prompt",
                       "plain non-negative decimal"),
    "cache above prompt": (GOOD_MODEL.replace('completion = "0.00000013"',
                                              'completion = "0.00000013"\ninput_cache_read = "0.1"'),
                           "m1", "pricing.input_cache_read", "above prompt '0.00000009'"),
    "max output above cap": (GOOD_MODEL.replace("max_output_length = 1024", "max_output_length = 1024\ncontext_length = 512"),
                             "m1", "max_output_length", "above context_length"),
    "unknown key": (GOOD_MODEL.replace('id = "m1"', 'id = "m1"\ncontext_window = 4096'), "m1", "context_window",
                    "did you mean 'context_length'"),
    "alias feature": (GOOD_MODEL.replace('id = "m1"', 'id = "m1"\nsupported_features = ["function_calling"]'), "m1",
                      "supported_features.0", "tools"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_CATALOGS))
def test_bad_catalog_is_refused_with_file_model_and_field(case: str, tmp_path: Path) -> None:
    text, model_id, field, fragment = BAD_CATALOGS[case]
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message
    if model_id:
        assert f"model {model_id!r}" in message
    if field:
        assert f"field {field!r}" in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD_MODEL.replace('prompt = "0.00000009"', "prompt = 0.1").replace('"JP"', '"jp"')
    text += (
        GOOD_MODEL.replace('id = "m1"', 'id = "m2"')
        .replace('slug = "qwen/m1"', 'slug = "qwen/m2"')
        .replace("quantization", "x")
        .replace("max_output_length = 1024", "max_output_length = -5")
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(_write(tmp_path, text))
    fields = {(i.model_id, i.field) for i in info.value.issues}
    assert ("m1", "pricing.prompt") in fields
    assert ("m1", "datacenters.0") in fields
    assert ("m2", "max_output_length") in fields
    assert "upper case" in str(info.value)


def test_the_example_catalog_is_valid() -> None:
    catalog = load_catalog(Path(__file__).resolve().parent.parent / "config" / "catalog.toml")
    seed = catalog.by_id()["qwen3-5-9b"]
    assert seed.hugging_face_id == "Qwen/Qwen3.5-9B"
    assert str(seed.pricing.prompt) == "9E-8" or format(seed.pricing.prompt, "f") == "0.00000009"
    assert "max_output_length" not in catalog.defaulted["qwen3-5-9b"]
    assert "datacenters" in catalog.defaulted["qwen3-5-9b"]


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.mark.parametrize("case", ["float price", "duplicate id", "toml syntax error", "bad country code"])
def test_bad_catalog_leaves_snapshot_and_database_untouched(
    case, database_url, mirror, make_settings, monkeypatch, tmp_path, capsys
) -> None:
    good = _write(tmp_path, GOOD_MODEL)
    settings = make_settings(database_url=database_url, endpoint=mirror.url, catalog=good)
    for name, value in {
        "SYNCER_DATABASE_URL": database_url,
        "SYNCER_SNAPSHOT_DIR": str(settings.snapshot_dir),
        "HF_ENDPOINT": mirror.url,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["sync", "now", "--catalog", str(good)]) == 0
    snapshots = {p.name: _digest(p) for p in settings.snapshot_dir.iterdir()}
    sqlite_file = tmp_path / "syncer.store.models"
    db_before = _digest(sqlite_file) if database_url.startswith("sqlite") else _dump(database_url)
    capsys.readouterr()

    bad = tmp_path / "bad.toml"
    bad.write_text(BAD_CATALOGS[case][0])
    assert main(["sync", "now", "--catalog", str(bad)]) == 2

    err = capsys.readouterr().err
    assert str(bad) in err and "invalid catalog" in err
    assert {p.name: _digest(p) for p in settings.snapshot_dir.iterdir()} == snapshots
    db_after = _digest(sqlite_file) if database_url.startswith("sqlite") else _dump(database_url)
    assert db_after == db_before


def _dump(url: str) -> list:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            meta = sa.MetaData()
            meta.reflect(conn)
            return [
                (t, sorted(map(str, conn.execute(sa.select(meta.tables[t])).all())))
                for t in sorted(meta.tables)
            ]
    finally:
        engine.dispose()


def test_console_script_exits_2_on_a_float_price(tmp_path: Path) -> None:
    bad = _write(tmp_path, GOOD_MODEL.replace('prompt = "0.00000009"', "prompt = 0.00000009"))
    result = subprocess.run(
        [sys.executable, "-m", "syncer", "sync", "now", "--catalog", str(bad)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SYNCER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
             "SYNCER_SNAPSHOT_DIR": str(tmp_path / "snap"), "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "model 'm1', field 'pricing.prompt'" in result.stderr
    assert not (tmp_path / "db.sqlite").exists()
    assert not (tmp_path / "snap").exists()


def test_usage_error_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sync", "later"])
    assert info.value.code == 2


def test_bad_setting_exits_2_naming_the_variable(monkeypatch, capsys) -> None:
    monkeypatch.setenv("SYNCER_HUB_TIMEOUT", "-3")
    assert main(["sync", "now"]) == 2
    assert "SYNCER_HUB_TIMEOUT" in capsys.readouterr().err


def test_one_pass_reports_cross_field_rules_beside_broken_fields(tmp_path: Path) -> None:
    # Before: a model with one broken field hid its cross-field problems (pydantic's model validators never
    # ran), and a broken model's duplicate slug went unseen, so the operator needed three passes.
    bad = (
        GOOD_MODEL.replace('datacenters = ["JP"]', 'datacenters = ["XX"]')
        .replace('completion = "0.00000013"', 'completion = "0.00000013"\ninput_cache_read = "0.1"')
        .replace("max_output_length = 1024", "max_output_length = 1024\ncontext_length = 512")
    )
    twin = GOOD_MODEL.replace('id = "m1"', 'id = "m2"').replace(
        "max_output_length = 1024", "max_output_length = 0"
    )
    off_hub = (
        GOOD_MODEL.replace('id = "m1"', 'id = "m3"')
        .replace('"Qwen/Qwen3.5-9B"', '""')
        .replace('slug = "qwen/m1"', 'slug = "qwen/m3"')
    )
    path = _write(tmp_path, bad + twin + off_hub + '[[models]]\nid = "m4"\nhugging_face_id = "../.."\n')
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    found = {(i.model_id, i.field): i.message for i in info.value.issues}
    assert "'XX'" in found[("m1", "datacenters.0")]
    assert found[("m1", "pricing.input_cache_read")] == "input_cache_read '0.1' is above prompt '0.00000009'"
    assert found[("m1", "max_output_length")] == "max_output_length 1024 is above context_length 512"
    assert found[("m1", "openrouter.slug")] == "slug 'qwen/m1' is also used by model 'm2'"
    assert found[("m2", "openrouter.slug")] == "slug 'qwen/m1' is also used by model 'm1'"
    assert found[("m2", "max_output_length")] == "Input should be greater than 0, got 0"  # the value echoed
    for key in ("name", "created", "input_modalities", "context_length"):
        assert found[("m3", key)] == 'required for a model not on the Hub (hugging_face_id = "")'
    assert "'../..' is not org/name" in found[("m4", "hugging_face_id")]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('deprecation_date = "2025-13-01"', "deprecation_date '2025-13-01' is not a calendar date"),
        ('deprecation_date = "2025-02-30T10:00:00Z"', "'2025-02-30T10:00:00Z' is not a calendar date"),
        ('release_date = "2025-13-01"', "release_date '2025-13-01' is not a calendar date"),
        ("release_date = 2025-06-01T10:00:00Z", "release_date must be a date"),
        ("deprecation_date = 2025-06-01T10:30:00Z", "must be a date or a whole hour in UTC"),
    ],
)
def test_dates_are_calendar_dates(line: str, fragment: str, tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_MODEL.replace('id = "m1"', f'id = "m1"\n{line}'))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert fragment in str(info.value)


def test_a_toml_date_is_a_deprecation_date_like_a_release_date(tmp_path: Path) -> None:
    # Before: deprecation_date = 2026-06-30 (a TOML date, as release_date takes) was refused.
    text = GOOD_MODEL.replace(
        'id = "m1"', 'id = "m1"\ndeprecation_date = 2026-06-30\nrelease_date = 2025-01-31'
    )
    model = load_catalog(_write(tmp_path, text)).by_id()["m1"]
    assert model.deprecation_date == "2026-06-30"
    text = GOOD_MODEL.replace('id = "m1"', 'id = "m1"\ndeprecation_date = 2026-06-30T10:00:00Z')
    assert load_catalog(_write(tmp_path, text)).by_id()["m1"].deprecation_date == "2026-06-30T10:00:00Z"


def test_a_byte_order_mark_is_named(tmp_path: Path, capsys) -> None:
    # Before: "TOML syntax error: Invalid statement (at line 1, column 1)", which names nothing visible.
    path = tmp_path / "catalog.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_MODEL.encode())
    assert main(["sync", "now", "--catalog", str(path)]) == 2
    err = capsys.readouterr().err
    assert "byte-order mark (BOM, bytes EF BB BF)" in err and str(path) in err
    assert "save the file as UTF-8 without BOM" in err


@pytest.mark.parametrize("hf_id", ["Qwen/Qwen3.5-9B\n", "../..", "org/..", "./name", "org/a..b", "org/-x"])
def test_hugging_face_ids_must_match_whole(hf_id: str, tmp_path: Path) -> None:
    from syncer.formats import HF_ID_RE, openrouter

    path = _write(tmp_path, GOOD_MODEL.replace('"Qwen/Qwen3.5-9B"', '"' + hf_id.replace("\n", "\\n") + '"'))
    with pytest.raises(CatalogError, match="is not org/name"):
        load_catalog(path)
    assert HF_ID_RE.fullmatch(hf_id) is None
    problems = [str(p) for p in openrouter.validate_openrouter_entry({"hugging_face_id": hf_id})]
    assert any("hugging_face_id" in p and "is not org/name" in p for p in problems), problems


def test_hub_ids_that_are_fine_still_pass() -> None:
    from syncer.formats import HF_ID_RE

    for hf_id in ("Qwen/Qwen3.5-9B", "google/gemma-2-9b-it", "a_b/c.d-e", "org/x-.y", "1/2"):
        assert HF_ID_RE.fullmatch(hf_id), hf_id


TOML_FILES = sorted(
    p
    for pattern in ("config/*.toml", "tests/fixtures/**/*.toml", "syncer/_demo/*.toml", "mirror/*.toml")
    for p in Path(__file__).resolve().parent.parent.glob(pattern)
)


@pytest.mark.parametrize("path", TOML_FILES, ids=lambda p: p.name)
def test_the_fast_toml_parser_reads_every_catalog_of_the_repo_as_tomllib_does(path: Path) -> None:
    import tomllib

    from syncer.catalog import parse_toml

    text = path.read_text(encoding="utf-8")
    assert parse_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        'id = "m1',  # an unterminated string
        "a = 1\na = 2",  # a key defined twice
        "[models]\n[[models]]",  # a table then an array of tables of the same name
        "x = 01",  # a leading zero
    ],
)
def test_toml_that_tomllib_refuses_is_refused_with_tomllibs_own_message(text: str) -> None:
    import tomllib

    from syncer.catalog import parse_toml

    with pytest.raises(tomllib.TOMLDecodeError) as refused:
        tomllib.loads(text)
    with pytest.raises(tomllib.TOMLDecodeError) as ours:
        parse_toml(text)
    assert str(ours.value) == str(refused.value)  # its line and column, or "at end of document"
