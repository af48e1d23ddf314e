"""`syncer serve` under load while the snapshots are replaced 200 times (atomic writes, as the sync does):
every response is complete and equal to one published version, no 5xx, and the ETag changes exactly when
the content does."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from test_serve import documents  # the sibling test module (pytest puts tests/ on sys.path)

from syncer.formats import validate_catalog_document, validate_openrouter_document
from syncer.serve import ServerThread
from syncer.settings import load_settings
from syncer.snapshot import write_atomic

REPLACEMENTS = 200
MAX_REQUESTS_PER_CLIENT = 20_000  # bounds the loop even if the writer stalls


@dataclass
class Observed:
    """One client's responses, in order: (status, etag, decoded body or None for a 304)."""

    path: str
    gzip: bool
    conditional: bool
    responses: list[tuple[int, str, bytes | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _client_loop(base: str, observed: Observed, done: threading.Event) -> None:
    headers = {"Accept-Encoding": "gzip" if observed.gzip else "identity"}
    last_etag: str | None = None
    with httpx.Client(timeout=10) as http:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if done.is_set():
                break
            if observed.conditional and last_etag:
                headers["If-None-Match"] = last_etag
            try:
                with http.stream("GET", base + observed.path, headers=headers) as response:
                    raw = b"".join(response.iter_raw())
            except httpx.HTTPError as exc:  # a broken response is a failure, not noise
                observed.errors.append(repr(exc))
                continue
            etag = response.headers.get("etag", "")
            if response.status_code == 304:
                observed.responses.append((304, etag, None))
                continue
            if int(response.headers.get("content-length", -1)) != len(raw):
                observed.errors.append(
                    f"incomplete body: {len(raw)} of {response.headers.get('content-length')}"
                )
            if observed.gzip and response.status_code == 200:
                if response.headers.get("content-encoding") != "gzip":
                    observed.errors.append("not gzipped")
                raw = gzip.decompress(raw)
            observed.responses.append((response.status_code, etag, raw))
            last_etag = etag


@pytest.mark.slow
def test_responses_stay_whole_and_consistent_while_snapshots_are_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "snapshots"
    versions = [documents(v) for v in range(REPLACEMENTS + 1)]
    openrouter_versions = {data: i for i, (data, _catalog) in enumerate(versions)}
    catalog_versions = {data: i for i, (_openrouter, data) in enumerate(versions)}
    assert len(openrouter_versions) == len(catalog_versions) == REPLACEMENTS + 1  # all distinct
    write_atomic(folder / "openrouter.json", versions[0][0])
    write_atomic(folder / "catalog.json", versions[0][1])

    settings = load_settings(snapshot_dir=folder, serve_reload_interval=0.005, api_token=None)
    clients = [
        Observed("/v1/models?format=openrouter", gzip=False, conditional=False),
        Observed("/v1/models?format=openrouter", gzip=True, conditional=False),
        Observed("/v1/models", gzip=False, conditional=True),
        Observed("/v1/models", gzip=True, conditional=False),
    ]
    done = threading.Event()
    with ServerThread(settings) as server:
        source = server.api.source

        def current_hash(name: str) -> str | None:
            snapshot = source.current[name]
            return snapshot.content_hash if snapshot else None

        threads = [
            threading.Thread(target=_client_loop, args=(server.url, observed, done), daemon=True)
            for observed in clients
        ]
        for thread in threads:
            thread.start()
        try:
            for version in range(1, REPLACEMENTS + 1):
                openrouter, catalog = versions[version]
                write_atomic(folder / "openrouter.json", openrouter)
                write_atomic(folder / "catalog.json", catalog)
                # Each version is picked up before the next is written: none may be missed (same size,
                # same second, possibly a recycled inode).
                _wait(
                    lambda o=openrouter, c=catalog: (
                        current_hash("openrouter") == hashlib.sha256(o).hexdigest()
                        and current_hash("catalog") == hashlib.sha256(c).hexdigest()
                    ),
                    f"version {version} to be served",
                )
        finally:
            done.set()
            for thread in threads:
                thread.join(timeout=30)

        final = httpx.get(
            server.url + "/v1/models?format=openrouter", headers={"Accept-Encoding": "identity"}
        )
        assert final.content == versions[-1][0]

    for observed in clients:
        assert not observed.errors, (observed.path, observed.errors[:5])
        assert len(observed.responses) >= 20, observed.path
        known = openrouter_versions if "openrouter" in observed.path else catalog_versions
        validate = (
            validate_openrouter_document if "openrouter" in observed.path else validate_catalog_document
        )
        seen_versions: set[int] = set()
        previous: tuple[str, bytes] | None = None
        checked_valid: set[int] = set()
        for status, etag, body in observed.responses:
            assert status in (200, 304), (observed.path, status)
            if body is None:  # a 304 confirms the ETag the client sent, i.e. the previous one
                assert observed.conditional and previous is not None and etag == previous[0]
                continue
            assert body in known, f"{observed.path}: a response that is no published version"
            version = known[body]
            seen_versions.add(version)
            if version not in checked_valid:
                assert validate(json.loads(body)) == []
                checked_valid.add(version)
            digest = hashlib.sha256(body).hexdigest()
            assert etag == (f'"{digest}-gzip"' if observed.gzip else f'"{digest}"'), observed.path
            if previous is not None:
                assert (etag != previous[0]) == (body != previous[1]), "ETag changed iff content changed"
            previous = (etag, body)
        # The clients saw the listing change under them, many times.
        assert len(seen_versions) > 10, (observed.path, len(seen_versions))
    assert any(status == 304 for status, _e, _b in clients[2].responses)


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
