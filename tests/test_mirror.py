"""The Hub mirror, exercised through the real huggingface_hub client (the environment is set in conftest.py)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi, HfFileSystem, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from syncer_mirror import DEFAULT_CREATED_AT, HubMirror, git_blob_sha1

ROOT = Path(__file__).resolve().parents[1]
SHA_RE = re.compile(r"[0-9a-f]{40}")
CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 64,
    "vocab_size": 32000,
}
TOKEN = "hf_test_token"


def write_repo(
    root: Path, repo_id: str, files: dict[str, str | bytes], meta: dict[str, object] | None = None
) -> Path:
    folder = root / repo_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    if meta is not None:
        (folder / "_repo.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    write_repo(
        root,
        "acme/llama-7b",
        {
            "config.json": json.dumps(CONFIG),
            "tokenizer_config.json": json.dumps({"bos_token": "<s>", "eos_token": "</s>"}),
            "chat_template.jinja": "{% for m in messages %}{{ m.content }}{% endfor %}",
            "SOURCE.md": "# llama-7b\nupstream: meta\n",
            "_notes.txt": "private to the mirror",
        },
        {
            "pipeline_tag": "text-generation",
            "tags": ["transformers", "llama"],
            "library_name": "transformers",
            "revisions": {"v1.0": "1" * 40, "refs/pr/1": "2" * 40},
        },
    )
    write_repo(root, "acme/plain", {"config.json": "{not json", "README.md": "plain\n"})
    write_repo(
        root,
        "acme/fixed",
        {"config.json": json.dumps(CONFIG)},
        {
            "sha": "a" * 40,
            "createdAt": "2024-03-04T05:06:07.000Z",
            "lastModified": "2024-05-06T07:08:09.123Z",
            "renamed_from": ["oldorg/old-name"],
        },
    )
    write_repo(root, "acme/gated", {"config.json": json.dumps(CONFIG)}, {"gated": "manual"})
    write_repo(root, "acme/private", {"config.json": json.dumps(CONFIG)}, {"private": True})
    write_repo(root, "other/thing", {"config.json": json.dumps(CONFIG)})
    return root


@pytest.fixture
def mirror(root: Path) -> Iterator[HubMirror]:
    with HubMirror(root, tokens=[TOKEN], control=True) as m:
        yield m


@pytest.fixture
def api(mirror: HubMirror) -> HfApi:
    return HfApi(endpoint=mirror.url, token=False)


def counts(mirror: HubMirror) -> list[tuple[str, str, int]]:
    return [(str(r["method"]), str(r["kind"]), int(str(r["status"]))) for r in mirror.requests()]


# ----------------------------------------------------------------------------------------------------------
# model_info
# ----------------------------------------------------------------------------------------------------------


def test_model_info_fields(api: HfApi, mirror: HubMirror) -> None:
    info = api.model_info("acme/llama-7b", timeout=5)
    assert info.id == "acme/llama-7b"
    assert info.sha is not None and SHA_RE.fullmatch(info.sha)
    assert info.created_at is not None and info.created_at.isoformat() == "2025-01-01T00:00:00+00:00"
    assert info.last_modified is not None and info.last_modified.tzinfo is not None
    assert info.gated is False
    assert info.private is False
    assert info.disabled is False
    assert info.pipeline_tag == "text-generation"
    assert info.tags == ["transformers", "llama"]
    assert info.library_name == "transformers"
    assert info.config == {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    assert info.siblings is not None
    assert sorted(s.rfilename for s in info.siblings) == [
        "SOURCE.md",
        "chat_template.jinja",
        "config.json",
        "tokenizer_config.json",
    ]
    assert counts(mirror) == [("GET", "api", 200)]
    assert mirror.requests()[0]["path"] == "/api/models/acme/llama-7b"


def test_model_info_defaults_and_overrides(api: HfApi) -> None:
    plain = api.model_info("acme/plain", timeout=5)
    assert plain.config is None  # unparseable config.json: no config key, as the Hub does
    assert plain.pipeline_tag is None and plain.library_name is None and plain.tags == []
    assert plain.created_at is not None
    assert plain.created_at.strftime("%Y-%m-%dT%H:%M:%S.000Z") == DEFAULT_CREATED_AT

    fixed = api.model_info("acme/fixed", timeout=5)
    assert fixed.sha == "a" * 40
    assert fixed.created_at is not None and fixed.created_at.isoformat() == "2024-03-04T05:06:07+00:00"
    assert (
        fixed.last_modified is not None
        and fixed.last_modified.isoformat() == "2024-05-06T07:08:09.123000+00:00"
    )


def test_model_info_expand_answers_only_the_keys_asked(api: HfApi, mirror: HubMirror) -> None:
    info = api.model_info("acme/llama-7b", expand=["sha", "createdAt", "gated", "siblings"], timeout=5)
    assert info.id == "acme/llama-7b"
    assert info.sha is not None and SHA_RE.fullmatch(info.sha)
    assert info.created_at is not None
    assert info.gated is False
    assert info.siblings is not None and len(info.siblings) == 4
    # not asked => not sent
    assert info.last_modified is None
    assert info.config is None
    assert info.tags is None
    assert info.pipeline_tag is None
    assert info.private is None
    assert mirror.requests()[0]["query"] == "expand=sha&expand=createdAt&expand=gated&expand=siblings"

    cfg = api.model_info("acme/llama-7b", expand=["config", "pipeline_tag", "tags"], timeout=5)
    assert cfg.config == {"architectures": ["LlamaForCausalLM"], "model_type": "llama"}
    assert cfg.pipeline_tag == "text-generation" and cfg.tags == ["transformers", "llama"]
    assert cfg.sha is None and cfg.siblings is None


def test_model_info_of_gated_repo_answers_metadata(api: HfApi) -> None:
    info = api.model_info("acme/gated", timeout=5)
    assert info.gated == "manual"
    assert info.sha is not None and SHA_RE.fullmatch(info.sha)


def test_sha_is_deterministic_and_changes_with_files(root: Path, api: HfApi) -> None:
    first = api.model_info("acme/llama-7b", timeout=5).sha
    with HubMirror(root) as other:
        assert HfApi(endpoint=other.url).model_info("acme/llama-7b", timeout=5).sha == first
    assert api.model_info("acme/llama-7b", timeout=5).sha == first  # cached scan, same answer

    # Same-size edit within one mtime tick (simulated by restoring the old mtime): still seen, because files
    # written less than 2 s before a scan are re-hashed (git's "racy" rule).
    source = root / "acme/llama-7b/SOURCE.md"
    text, st = source.read_text(), source.stat()
    source.write_text(text.replace("meta", "mEta"))
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert source.stat().st_size == st.st_size
    second = api.model_info("acme/llama-7b", timeout=5).sha
    assert second is not None and second != first

    (root / "acme/llama-7b/generation_config.json").write_text("{}")
    info = api.model_info("acme/llama-7b", timeout=5)
    assert info.sha not in (first, second)
    assert info.siblings is not None and "generation_config.json" in {s.rfilename for s in info.siblings}

    # Files starting with "_" are not part of the commit.
    (root / "acme/llama-7b/_scratch").write_text("x")
    assert api.model_info("acme/llama-7b", timeout=5).sha == info.sha


def test_model_info_by_revision(api: HfApi, mirror: HubMirror) -> None:
    sha = api.model_info("acme/llama-7b", timeout=5).sha
    assert sha is not None
    assert api.model_info("acme/llama-7b", revision=sha, timeout=5).sha == sha
    assert api.model_info("acme/llama-7b", revision="main", timeout=5).sha == sha
    assert api.model_info("acme/llama-7b", revision="v1.0", timeout=5).sha == "1" * 40
    assert api.model_info("acme/llama-7b", revision="refs/pr/1", timeout=5).sha == "2" * 40
    with pytest.raises(RevisionNotFoundError):
        api.model_info("acme/llama-7b", revision="nope", timeout=5)
    paths = [r["path"] for r in mirror.requests()]
    assert "/api/models/acme/llama-7b/revision/refs%2Fpr%2F1" in paths
    assert counts(mirror)[-1] == ("GET", "api", 404)


def test_not_found_errors(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError) as excinfo:
        api.model_info("acme/missing", timeout=5)
    assert not isinstance(excinfo.value, GatedRepoError)
    assert excinfo.value.response.headers["X-Error-Code"] == "RepoNotFound"
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("acme/missing", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("acme/llama-7b", "missing.json", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    with pytest.raises(EntryNotFoundError):  # "_" files are never served
        hf_hub_download("acme/llama-7b", "_notes.txt", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(
            "acme/llama-7b",
            "config.json",
            revision="v9",
            endpoint=mirror.url,
            cache_dir=tmp_path,
            token=False,
        )
    assert [s for _, _, s in counts(mirror)] == [404, 404, 404, 404, 404]


def test_private_repo_needs_a_token(mirror: HubMirror) -> None:
    with pytest.raises(RepositoryNotFoundError) as excinfo:
        HfApi(endpoint=mirror.url, token=False).model_info("acme/private", timeout=5)
    assert excinfo.value.response.status_code == 401
    assert HfApi(endpoint=mirror.url, token=TOKEN).model_info("acme/private", timeout=5).private is True
    assert "acme/private" not in {
        m.id for m in HfApi(endpoint=mirror.url, token=False).list_models(author="acme")
    }


# ----------------------------------------------------------------------------------------------------------
# downloads
# ----------------------------------------------------------------------------------------------------------


def test_download_cold_warm_and_by_sha(root: Path, mirror: HubMirror, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = hf_hub_download("acme/llama-7b", "config.json", endpoint=mirror.url, cache_dir=cache, token=False)
    assert Path(path).read_bytes() == (root / "acme/llama-7b/config.json").read_bytes()
    assert counts(mirror) == [("HEAD", "resolve", 200), ("GET", "resolve", 200)]
    sha = Path(path).parent.name
    assert SHA_RE.fullmatch(sha)
    blob = os.path.realpath(path)
    assert Path(blob).name == git_blob_sha1(
        (root / "acme/llama-7b/config.json").read_bytes()
    )  # ETag = blob sha

    mirror.reset()
    again = hf_hub_download("acme/llama-7b", "config.json", endpoint=mirror.url, cache_dir=cache, token=False)
    assert again == path
    assert counts(mirror) == [("HEAD", "resolve", 200)]  # warm by branch: HEAD only

    mirror.reset()
    by_sha = hf_hub_download(
        "acme/llama-7b", "config.json", revision=sha, endpoint=mirror.url, cache_dir=cache, token=False
    )
    assert by_sha == path
    assert mirror.requests() == []  # cached by sha: no request at all

    mirror.reset()
    tagged = hf_hub_download(
        "acme/llama-7b", "SOURCE.md", revision="v1.0", endpoint=mirror.url, cache_dir=cache, token=False
    )
    assert Path(tagged).parent.name == "1" * 40  # X-Repo-Commit of a named revision is its sha
    assert [r["path"] for r in mirror.requests()] == ["/acme/llama-7b/resolve/v1.0/SOURCE.md"] * 2


def test_download_after_edit_gets_new_commit(root: Path, mirror: HubMirror, tmp_path: Path) -> None:
    first = hf_hub_download(
        "acme/llama-7b", "SOURCE.md", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    (root / "acme/llama-7b/SOURCE.md").write_text("# llama-7b\nupstream: meta\nlicense: llama2\n")
    second = hf_hub_download(
        "acme/llama-7b", "SOURCE.md", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    assert Path(first).parent.name != Path(second).parent.name
    assert Path(second).read_text().endswith("license: llama2\n")
    assert counts(mirror) == [("HEAD", "resolve", 200), ("GET", "resolve", 200)] * 2


def test_range_request_via_hf_filesystem(root: Path, mirror: HubMirror) -> None:
    data = (root / "acme/llama-7b/config.json").read_bytes()
    fs = HfFileSystem(endpoint=mirror.url, token=False, skip_instance_cache=True)
    assert fs.cat_file("acme/llama-7b/config.json", start=5, end=20) == data[5:20]
    assert counts(mirror)[-1] == ("GET", "resolve", 206)
    assert fs.ls("acme/llama-7b", detail=False) is not None


def test_gated_repo_download(mirror: HubMirror, tmp_path: Path) -> None:
    with pytest.raises(GatedRepoError) as excinfo:
        hf_hub_download("acme/gated", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    assert excinfo.value.response.status_code == 401
    with pytest.raises(GatedRepoError):
        hf_hub_download("acme/gated", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token="wrong")
    path = hf_hub_download("acme/gated", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=TOKEN)
    assert json.loads(Path(path).read_text())["model_type"] == "llama"
    assert [s for _, _, s in counts(mirror)] == [401, 401, 200, 200]


def test_list_repo_files_and_tree(root: Path, api: HfApi) -> None:
    write_repo(root, "acme/nested", {"config.json": "{}", "sub/dir/weights.bin": b"\0" * 10})
    assert api.list_repo_files("acme/nested") == ["config.json", "sub/dir/weights.bin"]
    entries = {e.path: e for e in api.list_repo_tree("acme/nested", recursive=False)}
    assert set(entries) == {"config.json", "sub"}
    weights = next(e for e in api.list_repo_tree("acme/nested", recursive=True) if e.path.endswith(".bin"))
    assert weights.size == 10
    assert weights.blob_id == git_blob_sha1(b"\0" * 10)  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------------------------------
# renames and listing
# ----------------------------------------------------------------------------------------------------------


def test_rename_redirect_is_followed(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    info = api.model_info("oldorg/old-name", timeout=5)
    assert info.id == "acme/fixed"
    assert counts(mirror) == [("GET", "api", 307), ("GET", "api", 200)]
    assert [r["path"] for r in mirror.requests()] == ["/api/models/oldorg/old-name", "/api/models/acme/fixed"]

    mirror.reset()
    expanded = api.model_info("oldorg/old-name", expand=["sha"], timeout=5)
    assert expanded.sha == "a" * 40
    assert mirror.requests()[1]["query"] == "expand=sha"  # same query on the canonical path

    mirror.reset()
    path = hf_hub_download(
        "oldorg/old-name", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    assert json.loads(Path(path).read_text()) == CONFIG
    assert [(r["method"], r["status"]) for r in mirror.requests()] == [
        ("HEAD", 307),
        ("HEAD", 200),
        ("GET", 200),
    ]


def test_rename_between_syncs_is_seen_at_once(root: Path, api: HfApi) -> None:
    write_repo(root, "acme/before", {"config.json": "{}"})
    assert api.model_info("acme/before", timeout=5).id == "acme/before"
    with pytest.raises(RepositoryNotFoundError):  # a miss builds the rename index...
        api.model_info("acme/gone", timeout=5)
    (root / "acme/before").rename(root / "acme/after")
    (root / "acme/after/_repo.json").write_text(json.dumps({"renamed_from": ["acme/before"]}))
    assert api.model_info("acme/before", timeout=5).id == "acme/after"  # ...which must not be stale


def test_list_models_paginates(root: Path, tmp_path: Path) -> None:
    for i in range(5):
        write_repo(root, f"paged/model-{i}", {"config.json": json.dumps(CONFIG), "SOURCE.md": f"{i}\n"})
    with HubMirror(root, page_size=2, control=True) as m:
        api = HfApi(endpoint=m.url, token=False)
        models = list(api.list_models(author="paged", expand=["sha", "createdAt", "siblings"]))
        assert [x.id for x in models] == [f"paged/model-{i}" for i in range(5)]
        assert all(x.sha and SHA_RE.fullmatch(x.sha) for x in models)
        assert all(x.siblings is not None and len(x.siblings) == 2 for x in models)
        assert all(x.last_modified is None for x in models)  # not expanded
        log = m.requests()
        assert [(r["path"], r["status"]) for r in log] == [("/api/models", 200)] * 3
        assert "cursor=" not in str(log[0]["query"])
        assert all("cursor=" in str(r["query"]) and "author=paged" in str(r["query"]) for r in log[1:])

        m.reset()
        assert len(list(api.list_models(author="paged", limit=3))) == 3  # page size 2: two pages needed
        assert len(m.requests()) == 2

        m.reset()
        assert [x.id for x in api.list_models(search="model-3")] == ["paged/model-3"]
        assert [x.id for x in api.list_models(author="nobody")] == []

    with HubMirror(root, control=True) as m:
        api = HfApi(endpoint=m.url, token=False)
        # limit=2 on the real client: the server pages by `limit`, the client stops after 2 items.
        assert [x.id for x in api.list_models(author="paged", limit=2)] == ["paged/model-0", "paged/model-1"]
        assert len(m.requests()) == 1
        m.reset()
        assert len(list(api.list_models(author="paged"))) == 5
        assert len(m.requests()) == 1  # default page size (1000) holds them all


def test_many_repos_start_fast_and_scan_lazily(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for i in range(2000):
        folder = root / "bulk" / f"m{i:05d}"
        folder.mkdir(parents=True)
        (folder / "config.json").write_text("{}")
    with HubMirror(root) as m:
        assert len(m.store._cache) == 0  # nothing scanned at start-up
        info = HfApi(endpoint=m.url).model_info("bulk/m01234", timeout=5)
        assert info.id == "bulk/m01234"
        assert len(m.store._cache) == 1  # only the repo asked about was scanned


# ----------------------------------------------------------------------------------------------------------
# faults
# ----------------------------------------------------------------------------------------------------------


def test_fault_status_forever_and_times(api: HfApi, mirror: HubMirror) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "status", "status": 503, "error_code": "Overloaded"}})
    for _ in range(3):
        with pytest.raises(HfHubHTTPError) as excinfo:
            api.model_info("acme/llama-7b", timeout=5)
        assert excinfo.value.response.status_code == 503
        assert excinfo.value.response.headers["X-Error-Code"] == "Overloaded"
    assert api.model_info("acme/plain", timeout=5).id == "acme/plain"  # other repos unaffected

    mirror.set_faults({"acme/llama-7b": {"mode": "status", "status": 500, "times": 2}})
    statuses = []
    for _ in range(3):
        try:
            api.model_info("acme/llama-7b", timeout=5)
            statuses.append(200)
        except HfHubHTTPError as e:
            statuses.append(e.response.status_code)
    assert statuses == [500, 500, 200]


def test_fault_status_on_resolve_is_retried_by_download(mirror: HubMirror, tmp_path: Path) -> None:
    mirror.set_faults({"*": {"mode": "status", "status": 503, "times": 1, "kinds": ["resolve"]}})
    path = hf_hub_download(
        "acme/llama-7b", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    assert json.loads(Path(path).read_text()) == CONFIG
    assert counts(mirror) == [("HEAD", "resolve", 503), ("HEAD", "resolve", 200), ("GET", "resolve", 200)]


def test_fault_kinds_limit_where_it_applies(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "status", "status": 502, "kinds": ["api"]}})
    path = hf_hub_download("acme/llama-7b", "SOURCE.md", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    assert Path(path).exists()
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.model_info("acme/llama-7b", timeout=5)
    assert excinfo.value.response.status_code == 502


def test_fault_hang_times_out_without_blocking_others(api: HfApi, mirror: HubMirror) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "hang"}})
    errors: list[BaseException] = []

    def hung() -> None:
        try:
            api.model_info("acme/llama-7b", timeout=3)
        except BaseException as e:
            errors.append(e)

    t = threading.Thread(target=hung)
    start = time.perf_counter()
    t.start()
    time.sleep(0.1)
    assert api.model_info("acme/plain", timeout=5).id == "acme/plain"
    assert t.is_alive(), "the other repo was served while the first request hung"
    t.join(10)
    elapsed = time.perf_counter() - start
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], httpx2.ReadTimeout)
    assert elapsed >= 2.9  # it did wait for its timeout (a lower bound: never flaky under load)


def test_fault_slow_body(api: HfApi, mirror: HubMirror) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "slow_body", "delay": 0.1}})
    start = time.perf_counter()
    info = api.model_info("acme/llama-7b", timeout=5)
    slow = time.perf_counter() - start
    assert info.id == "acme/llama-7b"
    assert slow >= 0.7  # 8 chunks, 7 pauses of 0.1 s
    with pytest.raises(httpx2.ReadTimeout):
        mirror.set_faults({"acme/llama-7b": {"mode": "slow_body", "delay": 1.0}})
        api.model_info("acme/llama-7b", timeout=0.3)


def test_fault_truncate(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "truncate", "kinds": ["api"]}})
    with pytest.raises(httpx2.RemoteProtocolError, match=r"incomplete|complete message body"):
        api.model_info("acme/llama-7b", timeout=5)
    # On a download the client resumes/retries the GET after 1 s and succeeds once the fault is spent.
    mirror.reset()
    mirror.set_faults({"acme/llama-7b": {"mode": "truncate", "kinds": ["resolve"], "times": 1}})
    path = hf_hub_download(
        "acme/llama-7b", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    assert json.loads(Path(path).read_text()) == CONFIG
    assert [r["method"] for r in mirror.requests()] == ["HEAD", "GET", "GET"]  # HEADs are never truncated


def test_fault_not_json(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    mirror.set_faults({"*": {"mode": "not_json"}})
    with pytest.raises(json.JSONDecodeError):
        api.model_info("acme/llama-7b", timeout=5)
    # not_json only affects API answers: downloads still work.
    assert Path(
        hf_hub_download("acme/llama-7b", "SOURCE.md", endpoint=mirror.url, cache_dir=tmp_path, token=False)
    ).exists()


def test_fault_rate_limit(api: HfApi, mirror: HubMirror) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "rate_limit", "seconds": 7}})
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.model_info("acme/llama-7b", timeout=5)
    response = excinfo.value.response
    assert response.status_code == 429
    assert response.headers["RateLimit"] == '"api";r=0;t=7'
    assert response.headers["Retry-After"] == "7"
    assert "rate limit" in str(excinfo.value)

    # list_models retries a 429 after RateLimit t + 1 s.
    mirror.reset()
    mirror.set_faults({"*": {"mode": "rate_limit", "seconds": 0, "times": 1}})
    start = time.perf_counter()
    assert len(list(api.list_models(author="acme"))) == 4
    assert time.perf_counter() - start >= 0.9
    assert [r["status"] for r in mirror.requests()] == [429, 200]


def test_fault_reset(api: HfApi, mirror: HubMirror) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "reset", "times": 1}})
    with pytest.raises(httpx2.RemoteProtocolError):
        api.model_info("acme/llama-7b", timeout=5)
    assert api.model_info("acme/llama-7b", timeout=5).id == "acme/llama-7b"
    assert [r["status"] for r in mirror.requests()] == [0, 200]


def test_fault_redirect(api: HfApi, mirror: HubMirror, tmp_path: Path) -> None:
    mirror.set_faults({"acme/llama-7b": {"mode": "redirect", "to": "other/thing"}})
    assert api.model_info("acme/llama-7b", timeout=5).id == "other/thing"
    path = hf_hub_download(
        "acme/llama-7b", "config.json", endpoint=mirror.url, cache_dir=tmp_path, token=False
    )
    assert json.loads(Path(path).read_text()) == CONFIG
    assert [(r["path"], r["status"]) for r in mirror.requests()][:2] == [
        ("/api/models/acme/llama-7b", 307),
        ("/api/models/other/thing", 200),
    ]


def test_bad_faults_are_rejected(mirror: HubMirror) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        mirror.set_faults({"*": {"mode": "explode"}})
    with pytest.raises(ValueError, match="org"):
        mirror.set_faults({"not-a-repo": {"mode": "hang"}})
    with pytest.raises(ValueError, match="redirect"):
        mirror.set_faults({"*": {"mode": "redirect"}})


def test_control_api_over_http(api: HfApi, mirror: HubMirror) -> None:
    def call(method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(mirror.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=5) as resp:
            return json.loads(resp.read())

    api.model_info("acme/plain", timeout=5)
    log = call("GET", "/_mirror/requests")
    assert log == [
        {"method": "GET", "path": "/api/models/acme/plain", "query": "", "status": 200, "kind": "api"}
    ]
    call("PUT", "/_mirror/faults", {"acme/plain": {"mode": "status", "status": 418}})
    with pytest.raises(HfHubHTTPError) as excinfo:
        api.model_info("acme/plain", timeout=5)
    assert excinfo.value.response.status_code == 418
    call("POST", "/_mirror/reset")
    assert call("GET", "/_mirror/requests") == []  # control calls are not logged; reset cleared the log
    assert api.model_info("acme/plain", timeout=5).id == "acme/plain"  # and the faults


def test_stop_closes_keep_alive_connections(root: Path) -> None:
    m = HubMirror(root).start()
    api = HfApi(endpoint=m.url)
    assert api.model_info("acme/plain", timeout=5).id == "acme/plain"  # leaves a pooled keep-alive connection
    m.stop()
    with pytest.raises((httpx2.ConnectError, httpx2.RemoteProtocolError, httpx2.ReadError)):
        api.model_info("acme/plain", timeout=2)


def test_latency(root: Path) -> None:
    with HubMirror(root, latency=0.2) as m:
        api = HfApi(endpoint=m.url)
        start = time.perf_counter()
        api.model_info("acme/plain", timeout=5)
        api.model_info("acme/plain", timeout=5)
        assert time.perf_counter() - start >= 0.4


# ----------------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------------


def test_cli_serves_until_sigterm(root: Path, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer_mirror", str(root), "--port", "0", "--port-file", str(port_file)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("mirror listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert port_file.read_text().strip() == url
        assert HfApi(endpoint=url).model_info("acme/llama-7b", timeout=5).id == "acme/llama-7b"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ----------------------------------------------------------------------------------------------------------
# The control API is off by default; hardening of a mirror that faces a network
# ----------------------------------------------------------------------------------------------------------


def _status(url: str, method: str, path: str, body: bytes | None = None) -> int:
    split = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname or "", split.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def test_control_api_is_off_unless_turned_on(root: Path) -> None:
    fault = json.dumps({"*": {"mode": "status", "status": 503}}).encode()
    with HubMirror(root) as m:
        assert _status(m.url, "POST", "/_mirror/faults", fault) == 404
        assert _status(m.url, "PUT", "/_mirror/faults", fault) == 404
        assert _status(m.url, "GET", "/_mirror/faults") == 404
        assert _status(m.url, "GET", "/_mirror/requests") == 404
        assert _status(m.url, "POST", "/_mirror/reset") == 404
        assert _status(m.url, "GET", "/_mirror/health") == 404
        # The POSTed fault was not set: the mirror still answers normally.
        assert HfApi(endpoint=m.url, token=False).model_info("acme/plain", timeout=5).id == "acme/plain"
        assert _status(m.url, "GET", "/api/models/acme/plain") == 200
        with pytest.raises(RuntimeError, match="control"):
            m.set_faults({"*": {"mode": "status", "status": 503}})
        with pytest.raises(RuntimeError, match="control"):
            m.requests()
    with HubMirror(root, control=True) as m:
        assert _status(m.url, "GET", "/_mirror/faults") == 200
        assert _status(m.url, "POST", "/_mirror/faults", fault) == 200
        assert _status(m.url, "GET", "/api/models/acme/plain") == 503


def test_control_flag_of_python_m_syncer_mirror(root: Path, tmp_path: Path) -> None:
    for flags, expected in (([], 404), (["--control"], 200)):
        port_file = tmp_path / f"port{len(flags)}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncer_mirror",
                str(root),
                "--port",
                "0",
                "--port-file",
                str(port_file),
                *flags,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists():
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            url = port_file.read_text().strip()
            assert _status(url, "GET", "/_mirror/requests") == expected
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_syncer_mirror_command_passes_its_options(root: Path, tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "mirror", str(root), "--port", "0", "--port-file", str(port_file),
         "--token", TOKEN, "--latency", "0.2", "--page-size", "1"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        url = port_file.read_text().strip()
        start = time.perf_counter()
        assert HfApi(endpoint=url, token=TOKEN).model_info("acme/private", timeout=5).private  # --token
        assert time.perf_counter() - start >= 0.2  # --latency
        with urllib.request.urlopen(url + "/api/models?author=acme", timeout=5) as resp:
            assert len(json.loads(resp.read())) == 1  # --page-size
            assert 'rel="next"' in resp.headers["Link"]
        assert _status(url, "GET", "/_mirror/requests") == 404  # no control API on `syncer mirror`
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_symlinks_out_of_the_root_are_not_served(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_repo(outside, "evil/repo", {"config.json": json.dumps(CONFIG), "secret.txt": "top secret\n"})
    plain = root / "acme" / "plain"
    (plain / "passwd").symlink_to("/etc/passwd")
    (plain / "secret.txt").symlink_to(outside / "evil/repo/secret.txt")
    (plain / "sub").mkdir()
    (plain / "sub" / "secret.txt").symlink_to(outside / "evil/repo/secret.txt")
    (plain / "README-link.md").symlink_to(plain / "README.md")  # inside the root: still served
    (root / "acme" / "linked").symlink_to(outside / "evil/repo")  # a repo folder resolving outside
    (root / "evil").symlink_to(outside / "evil")  # an org folder resolving outside
    (plain / "_repo.json").symlink_to(outside / "evil/repo/config.json")  # metadata from outside: ignored
    with HubMirror(root) as m:
        api = HfApi(endpoint=m.url, token=False)
        files = api.list_repo_files("acme/plain")
        assert sorted(files) == ["README-link.md", "README.md", "config.json"]
        for name in ("passwd", "secret.txt", "sub/secret.txt"):
            assert _status(m.url, "GET", f"/acme/plain/resolve/main/{name}") == 404
            assert _status(m.url, "HEAD", f"/acme/plain/resolve/main/{name}") == 404
        with urllib.request.urlopen(m.url + "/acme/plain/resolve/main/README-link.md", timeout=5) as resp:
            assert resp.read() == b"plain\n"
        for repo_id in ("acme/linked", "evil/repo"):
            with pytest.raises(RepositoryNotFoundError):
                api.model_info(repo_id, timeout=5)
            assert _status(m.url, "GET", f"/{repo_id}/resolve/main/secret.txt") == 404
        assert [x.id for x in api.list_models(author="acme")] == [
            "acme/fixed",
            "acme/gated",
            "acme/llama-7b",
            "acme/plain",
        ]  # (acme/private: not listed without a token)
        assert [x.id for x in api.list_models(author="evil")] == []

        # A file swapped for a symlink after the scan is not served either.
        target = plain / "README.md"
        target.unlink()
        target.symlink_to(outside / "evil/repo/secret.txt")
        assert _status(m.url, "GET", "/acme/plain/resolve/main/README.md") == 404


def _raw(url: str, data: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes, then read until the server closes the connection (or ``timeout``)."""
    split = urllib.parse.urlsplit(url)
    with socket.create_connection((split.hostname or "", split.port or 80), timeout=timeout) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_large_request_bodies_are_not_read(root: Path) -> None:
    with HubMirror(root) as m:
        # Announces 1 GiB, sends 64 KiB: answered (405, the API takes no POST) and closed, not waited on.
        head = b"POST /api/models/acme/plain HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741824\r\n\r\n"
        answer = _raw(m.url, head + b"x" * 65536)
        assert answer.startswith(b"HTTP/1.1 405 ")
        assert answer.count(b"HTTP/1.1") == 1
        # A chunked body is not parsed as the next request: answered once, then closed.
        chunked = b"POST /api/models/acme/plain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        answer = _raw(m.url, chunked + b"5\r\nhello\r\n0\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 405 ") and answer.count(b"HTTP/1.1") == 1

        # A body within the cap is read and dropped; the keep-alive connection goes on.
        split = urllib.parse.urlsplit(m.url)
        conn = http.client.HTTPConnection(split.hostname or "", split.port, timeout=5)
        try:
            conn.request("POST", "/api/models/acme/plain", body=b"x" * 500_000)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 405
            conn.request("GET", "/api/models/acme/plain")
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["id"] == "acme/plain"
        finally:
            conn.close()


def test_idle_connections_are_closed(root: Path) -> None:
    with HubMirror(root, idle_timeout=0.3) as m:
        start = time.monotonic()
        assert _raw(m.url, b"") == b""  # connected, sent nothing: closed by the mirror
        assert _raw(m.url, b"GET /api/models/acme/plain HTTP/1.1\r\n") == b""  # headers never finished
        # A finished request is answered; then the idle keep-alive connection is closed.
        answer = _raw(m.url, b"GET /api/models/acme/plain HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 ") and b'"id":"acme/plain"' in answer
        assert time.monotonic() - start < 9  # each closed by the mirror, not by the client's 10 s timeout
