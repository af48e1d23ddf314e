"""A hostile repo stays one model's problem, and every Hub wait is bounded (issue 13).

Each case goes through the real CLI pipeline (``run_sync``), the real huggingface_hub client and the local
mirror (or, for a listing that loops, a loopback HTTP server answering as the Hub would). The configs are
copies of the real fixture configs with one value made hostile (fault injection, not fixtures).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from catalogs import GEMMA, QWEN, TWO_MODELS, catalog_toml
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from syncer.errors import HubDataError
from syncer.hub import HubClient
from syncer.hub._client import MAX_JSON_DEPTH, _json_depth, _strict_json
from syncer.sync import run_sync

QWEN_7B = "Qwen/Qwen2.5-7B"


@pytest.fixture
def world(repo_tree, private_mirror, make_settings, tmp_path):
    root = repo_tree(QWEN, GEMMA, QWEN_7B)
    hub = private_mirror(root)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(catalog_toml(TWO_MODELS))
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


def _poison(root: Path, repo: str, transform: Any) -> None:
    path = root / repo / "config.json"
    path.write_text(transform(path.read_text()))


HOSTILE = {
    # RecursionError in the JSON parser, before: the run aborted with exit 70.
    "nested 100,000 levels": lambda text: (
        text[:-1].rstrip().rstrip("}") + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    ),
    # OverflowError in math.isfinite, before.
    "400-digit rope factor": lambda text: (
        text[:-1].rstrip().rstrip("}") + ', "rope_scaling": {"type": "linear", "factor": ' + "9" * 400 + "}}"
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_config_fails_only_its_model_and_keeps_its_last_good_facts(case, world) -> None:
    _, root, settings = world
    assert run_sync(settings=settings).exit_code == 0
    _poison(root, GEMMA, HOSTILE[case])

    report = run_sync(settings=settings)

    gemma, qwen = _outcome(report, "gemma"), _outcome(report, "qwen")
    assert (gemma.status, gemma.error_kind) == ("failed", "bad_data")
    assert gemma.context_length == 8192, "the last good facts stay"
    assert qwen.status in ("synced", "unchanged")
    assert report.exit_code == 1
    listed = json.loads((settings.snapshot_dir / "openrouter.json").read_text())
    assert sorted(e["id"] for e in listed["data"]) == ["gemma", "qwen"]


def test_json_bounds_are_checked_before_parsing() -> None:
    with pytest.raises(HubDataError, match="nested"):
        _strict_json(b'{"a": ' + b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1) + b"}", name="c")
    with pytest.raises(HubDataError, match="characters"):
        _strict_json(b'{"a": 1' + b"0" * 400 + b"}", name="c")
    # Brackets inside strings are not nesting.
    assert _strict_json(b'{"a": "' + b"[" * 1000 + b'"}', name="c") == {"a": "[" * 1000}


def _depth(value: object) -> int:
    """Nesting depth of a parsed JSON value, the obvious recursive way (the reference)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9,:'),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\x'), inner, max_size=4)
    ),
    max_leaves=40,
)


@examples(max_examples=300, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_the_depth_bound_counts_what_the_parser_nests(value: object, ascii_only: bool) -> None:
    """The byte-level depth (brackets inside strings and escaped quotes not counted) is the parsed depth."""
    raw = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _json_depth(raw) == _depth(value)


def test_an_oversized_file_is_refused_while_downloading_not_after(world, tmp_path) -> None:
    _, root, settings = world
    # Two Qwen repos: one bulk listing, which carries no file sizes.
    catalog = Path(settings.catalog)
    catalog.write_text(catalog_toml({"qwen": QWEN, "qwen7": QWEN_7B}))
    _poison(
        root, QWEN_7B, lambda text: text[:-1].rstrip().rstrip("}") + ', "pad": "' + "x" * 5_000_000 + '"}'
    )

    report = run_sync(settings=settings.model_copy(update={"max_config_bytes": 1_000_000}))

    qwen7 = _outcome(report, "qwen7")
    assert (qwen7.status, qwen7.error_kind) == ("unresolved", "bad_data")
    assert "cap" in qwen7.error
    cached = list((tmp_path / "hf-cache").rglob("*"))
    assert not [p for p in cached if p.is_file() and p.stat().st_size > 1_000_000], "nothing big was stored"


class _LoopingListing(BaseHTTPRequestHandler):
    """A Hub whose author listing answers ``Link: next`` pointing to itself."""

    disable_nagle_algorithm = True
    pages = 0

    def do_GET(self) -> None:
        type(self).pages += 1
        body = json.dumps([{"id": f"loop/m{type(self).pages}", "sha": "0" * 40}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        host, port = self.server.server_address[:2]
        self.send_header("Link", f'<http://{host}:{port}{self.path}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def looping_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LoopingListing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_listing_whose_next_link_repeats_stops(looping_hub, tmp_path) -> None:
    _LoopingListing.pages = 0
    client = HubClient(endpoint=looping_hub, token=None, cache_dir=tmp_path, timeout=2.0, retries=0)
    with pytest.raises(HubDataError, match="repeats"):
        client.list_author(author="loop")
    # The repeat is seen before it is asked for; before, it looped forever (50,000 pages in 85 s).
    assert _LoopingListing.pages == 1
    assert client.counter.requests["api"] == 1


@pytest.fixture
def full_disk(tmp_path) -> Iterator[Path]:
    """A real filesystem that fills up: a small tmpfs (needs the right to mount, as in the test container)."""
    import subprocess

    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def _fill(folder: Path) -> None:
    try:
        with (folder / "filler").open("wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:  # ENOSPC: the disk is full
        pass


def test_a_full_disk_mid_publish_renames_nothing_and_commits_nothing(world, full_disk) -> None:
    from syncer.errors import PublishError
    from syncer.snapshot import FILE_NAMES, content_hash
    from syncer.store import Store

    _, _, settings = world
    settings = settings.model_copy(update={"snapshot_dir": full_disk / "snapshots"})
    assert run_sync(settings=settings).exit_code == 0
    before = {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()}
    with Store.open(settings.database_url) as store:
        prices_before = store.load_prices()
    catalog = Path(settings.catalog)
    catalog.write_text(catalog_toml(TWO_MODELS, prompt="0.3"))  # the operator's new prices
    _fill(full_disk)

    with pytest.raises(PublishError, match="no file was renamed"):
        run_sync(settings=settings)

    assert {p.name: p.read_bytes() for p in settings.snapshot_dir.iterdir()} == before
    with Store.open(settings.database_url) as store:
        assert store.load_prices() == prices_before, "no new row committed for files that are not live"
        names = {file_name: key for key, file_name in FILE_NAMES.items()}
        for name, data in before.items():
            key = names[name]
            assert store.live_views([key])[key][0] == content_hash(data), "what is live is recorded"
        assert store.last_run(finished=True).outcome == "error"
